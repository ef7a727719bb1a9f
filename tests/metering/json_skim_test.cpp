#include "metering/json_skim.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "metering/json_skim_kernel.hpp"  // escaped_bits and its reference
#include "tap_test_util.hpp"

using namespace gm::metering;

namespace {

// The response tap's watch list, caps shrunk so that too_large is reachable.
constexpr std::array<json_watch, 9> watches{{
    {"usageMetadata", 0, 400},
    {"modelVersion", 0, 64},
    {"responseId", 0, 64},
    {"finishReason", 2, 32},
    {"error", 0, 400},
    {"usage", 0, 400},
    {"model", 0, 64},
    {"id", 0, 64},
    {"finish_reason", 2, 32},
}};

const json_skim_keys keys(watches);

struct hit {
    std::size_t watch;
    json_value_kind kind;
    std::string raw;
    bool operator==(const hit&) const = default;
};

struct scan_outcome {
    std::vector<hit> hits;
    std::uint32_t flags = 0;
    bool idle = false;
};

struct collector : json_scan_handler {
    std::vector<hit> hits;
    void on_value(std::size_t w, json_value_kind k, std::string_view raw) override {
        hits.push_back({w, k, std::string(raw)});
    }
};

// The reference: json_scanner reading doc as one SSE event (or, with in_array, as an
// element of a root array: "[" + doc, the element then closed by the array).
scan_outcome scan(std::string_view doc, bool in_array = false) {
    collector c;
    json_scanner s(watches, c);
    if (in_array) s.feed("[");
    s.feed(doc);
    if (in_array) s.feed("]");
    scan_outcome o;
    o.hits = std::move(c.hits);
    o.flags = s.flags();
    o.idle = in_array ? s.complete() : s.idle();  // in an array: the element closed, then the array
    return o;
}

struct skim_outcome {
    bool ok = false;
    std::vector<hit> hits;
};

skim_outcome skim(json_skimmer& k, std::string_view doc, int extra_depth = 0) {
    skim_outcome o;
    o.ok = k.skim(doc, extra_depth);
    for (const auto& h : k.hits()) o.hits.push_back({h.watch, h.kind, std::string(h.raw)});
    return o;
}

// Where the skimmer answers, it must answer as the scanner does: the same hits, no flags
// and a document that ended whole. Returns whether it answered.
bool agrees(json_skimmer& k, const std::string& doc) {
    INFO("document: " << doc);
    const auto fast = skim(k, doc);
    if (!fast.ok) return false;
    const auto ref = scan(doc);
    CHECK(ref.flags == 0);
    CHECK(ref.idle);
    CHECK(fast.hits == ref.hits);
    return true;
}

std::vector<std::string> sse_events(const std::string& body) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while ((pos = body.find("data: ", pos)) != std::string::npos) {
        const auto end = body.find('\n', pos);
        out.push_back(body.substr(pos + 6, end - pos - 6));
        pos = end;
    }
    return out;
}

std::vector<std::string> corpus() {
    using gm::metering::test::read_sample;
    std::vector<std::string> docs;
    for (const char* f : {"stream.sse", "openai_stream.sse"})
        for (auto& e : sse_events(read_sample(f))) docs.push_back(e);
    for (const char* f : {"generate_content.json", "openai_chat.json", "audio_usage.json", "error_429.json",
                          "count_tokens.json", "embed_content.json"})
        docs.push_back(read_sample(f));
    docs.push_back(
        R"({"candidates":[{"content":{"parts":[{"text":"say \"usageMetadata\": {1}","functionCall":{"args":{"usageMetadata":{"x":1}}}}]},"finishReason":"STOP"}],)"
        R"("usageMetadata":{"promptTokenCount":3,"nested":{"a":[1,2]}},"modelVersion":"gemini-2.5-flash","id":true})");
    docs.push_back(R"({"text":"a\\\\","x":"b\"usageMetadata\":{}","modelVersion":"m"})");
    docs.push_back(R"( {"modelVersion" :  "spaced" , "usageMetadata"	:
{"promptTokenCount": 1}, "responseId":null, "id": 12.5e3}	)");
    docs.push_back(R"({"model": "id": 5, "usage": [1, {"a": 2}], "error": {"message": "m"}})");
    docs.push_back(R"({"model": , "id": } )");
    docs.push_back(R"({"usageMetadata": {"modelVersion": "inner"}, "modelVersion": "outer"})");
    docs.push_back(R"({"choices": [{"finish_reason": "stop", "x": {"finish_reason": "deeper"}}], "usage": null})");
    docs.push_back(R"({"usageMetadata": {"pad": ")" + std::string(500, 'x') + R"("}, "modelVersion": "after"})");
    docs.push_back(R"({"a": "\\", "modelVersion": "\\\"", "responseId": "\u0041\"\\\\\\"})");
    docs.push_back(R"({"a": [1, {"finishReason": "STOP"}}, "modelVersion": "m"])");  // brackets of mixed kinds
    return docs;
}

// Mutations that break documents in the ways that matter to a scanner: quotes,
// backslashes, brackets, colons, whitespace, and key names spelled elsewhere.
std::string mutate(std::string doc, std::mt19937& rng) {
    static const std::string alphabet = "\"\\{}[]:, \n\tax0";
    static const char* const words[] = {"\"usageMetadata\":", "\"modelVersion\"", "\"id\":", "\"error\": ", "\\\"",
                                        "\"finishReason\": \"S\"", "{\"model\":", "]", "}"};
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits && !doc.empty(); ++e) {
        const std::size_t at = rng() % doc.size();
        switch (rng() % 4) {
            case 0: doc.erase(at, 1 + rng() % 3); break;
            case 1: doc[at] = alphabet[rng() % alphabet.size()]; break;
            case 2: doc.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
            default: doc.insert(at, words[rng() % std::size(words)]); break;
        }
    }
    return doc;
}

}  // namespace

TEST_CASE("json_skimmer answers for real responses, as json_scanner does") {
    json_skimmer k(keys);
    for (const auto& doc : corpus()) {
        // Every alignment of the document against the 64-byte blocks.
        for (std::size_t pad = 0; pad < 64; ++pad) agrees(k, std::string(pad, ' ') + doc);
    }
    // The real responses are documents it takes (else the fast path would never run).
    for (auto& e : sse_events(gm::metering::test::read_sample("stream.sse"))) CHECK(skim(k, e).ok);
    for (const char* f : {"generate_content.json", "openai_chat.json", "error_429.json"})
        CHECK(skim(k, gm::metering::test::read_sample(f)).ok);
}

TEST_CASE("json_skimmer gives json_scanner's hits in order, including nested and oversized values") {
    json_skimmer k(keys);
    auto r = skim(k, R"({"usageMetadata": {"modelVersion": "inner"}, "model": "id": 5, "modelVersion": "outer",)"
                     R"( "candidates": [{"finishReason": "STOP", "x": {"finishReason": "no"}}], "id": tru,)"
                     R"( "error": {"pad": ")" + std::string(500, 'x') + R"("}})");
    REQUIRE(r.ok);
    const std::vector<hit> want{
        {0, json_value_kind::object, R"({"modelVersion": "inner"})"},
        {6, json_value_kind::string, R"("id")"},
        {1, json_value_kind::string, R"("outer")"},
        {3, json_value_kind::string, R"("STOP")"},
        {7, json_value_kind::scalar, "tru"},
        {4, json_value_kind::too_large, ""},
    };
    CHECK(r.hits == want);
}

TEST_CASE("json_skimmer declines what it does not answer for") {
    json_skimmer k(keys);
    for (const char* doc : {
             "",
             "   ",
             "[DONE]",
             R"([{"modelVersion": "m"}])",                      // a root array
             R"({"modelVersion": "m"} {"id": "x"})",            // two documents
             R"({"modelVersion": "m"} x)",                       // something after it
             R"(x {"modelVersion": "m"})",                       // something before it
             R"({"modelVersion": "m")",                          // truncated
             R"({"modelVersion": "m)",                           // truncated inside a string
             R"({"modelVersion": "m"}})",                        // unbalanced
             R"({"a": \"modelVersion": "m"})",                  // a backslash outside a string
             R"({"modelVersion": : "m"})",                       // the scanner's odd case
         }) {
        INFO(doc);
        CHECK_FALSE(k.skim(doc));
    }
    std::string deep = R"({"a": )" + std::string(63, '[') + std::string(63, ']') + "}";  // 64 levels
    CHECK(k.skim(deep));
    CHECK_FALSE(k.skim(deep, 1));  // an array element: 65 levels for the scanner
    CHECK_FALSE(k.skim(R"({"a": )" + std::string(64, '[') + std::string(64, ']') + "}"));
}

TEST_CASE("json_skimmer agrees with json_scanner on thousands of damaged documents") {
    json_skimmer k(keys);
    std::mt19937 rng(20251128);
    const auto docs = corpus();
    std::size_t answered = 0, total = 0;
    for (int round = 0; round < 40; ++round) {
        for (const auto& doc : docs) {
            std::string d = mutate(doc, rng);
            if (round % 5 == 0) d = std::string(rng() % 64, ' ') + d;
            ++total;
            if (agrees(k, d)) ++answered;
        }
    }
    // Most damage is outside what the skimmer takes; enough must remain inside it for the
    // comparison to mean something.
    CHECK(answered * 5 > total);
}

TEST_CASE("json_skimmer as an array element agrees with json_scanner inside the array") {
    json_skimmer k(keys);
    std::mt19937 rng(7);
    for (const auto& doc : corpus()) {
        for (int round = 0; round < 20; ++round) {
            const std::string d = round == 0 ? doc : mutate(doc, rng);
            INFO("element: " << d);
            const auto fast = skim(k, d, 1);
            if (!fast.ok) continue;
            const auto ref = scan(d, true);
            CHECK(ref.flags == 0);
            CHECK(ref.idle);
            CHECK(fast.hits == ref.hits);
        }
    }
}

TEST_CASE("json_skimmer's branch-free escape bits equal the one-backslash-at-a-time reference") {
    std::mt19937_64 rng(99);
    for (int i = 0; i < 200000; ++i) {
        std::uint64_t m = rng();
        for (int k = 0; k < i % 4; ++k) m &= rng() | rng();  // sparser and denser runs
        std::uint64_t carry_a = static_cast<std::uint64_t>(i & 1), carry_b = carry_a;
        const auto a = escaped_bits_loop(m, carry_a);
        const auto b = escaped_bits(m, carry_b);
        INFO("backslashes " << std::hex << m << " carry " << (i & 1));
        REQUIRE(a == b);
        REQUIRE(carry_a == carry_b);
    }
}

TEST_CASE("json_skim_keys refuses keys the kernel cannot match") {
    const std::array<json_watch, 1> quote{{{"a\"b", 0, 16}}};
    const std::array<json_watch, 1> empty{{{"", 0, 16}}};
    const std::array<json_watch, 1> too_long{{{"abcdefghijklmnopqrstuvwxyz0123456", 0, 16}}};  // 33 bytes
    CHECK_THROWS_AS(json_skim_keys(quote), std::invalid_argument);
    CHECK_THROWS_AS(json_skim_keys(empty), std::invalid_argument);
    CHECK_THROWS_AS(json_skim_keys(too_long), std::invalid_argument);
    CHECK_NOTHROW(json_skim_keys(watches));
}

TEST_CASE("find_line_break and json_find_close see every byte, whatever the alignment") {
    for (std::size_t pad = 0; pad < 70; ++pad) {
        const std::string line = std::string(pad, 'x') + "\r\n";
        CHECK(find_line_break(line.data(), line.data() + line.size()) == line.data() + pad);
        CHECK(find_line_break(line.data(), line.data() + pad) == line.data() + pad);  // none: the end
        // An element whose closing brace sits at every offset, the string before it full
        // of brackets, escaped quotes and a backslash pair.
        const std::string element = "{\"t\": \"" + std::string(pad, '}') + "\\\"]\\\\\"}, next";
        json_bracket_state st;
        CHECK(json_find_close(element, st) == element.find(", next"));
        json_bracket_state split_state;  // the same, one byte at a time
        std::size_t at = std::string::npos;
        for (std::size_t i = 0; i < element.size() && at == std::string::npos; ++i) {
            const auto r = json_find_close(std::string_view(element).substr(i, 1), split_state);
            if (r != std::string_view::npos) at = i + r;
        }
        CHECK(at == element.find(", next"));
    }
}

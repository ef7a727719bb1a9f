#include "storage/record_codec.hpp"

#include <catch2/catch.hpp>

#include "test_records.hpp"

using namespace gm::storage;
using gm::test::make_record;

namespace {
gm::metering::usage_record full_record() {
    gm::test::record_spec s;
    s.id = "01JC0000000000000000000001";
    s.ms = gm::test::at("2024-11-06T10:30:00.123Z");
    s.user = "u1";
    s.email = "a@example.com";
    s.bot = "g-socratic";
    s.prompt = 1844;
    s.cached = 901;
    s.candidates = 51;
    s.thoughts = 91;
    s.tool_use = 1934;
    s.cost = 123456789;
    s.duration = 1200;
    s.tags = {{"team", "red"}, {"campaign", "q4 \"launch\""}, {"team", "blue"}};
    auto r = make_record(s);
    r.streamed = true;
    r.partial = true;
    r.ending = gm::metering::call_ending::client_gone;
    r.model_version = "gemini-2.5-flash-001";
    r.response_id = "resp-1";
    r.problems = {"truncated stream"};
    r.tokens.prompt_audio = 7;
    r.tokens.cached_audio = 3;
    r.request_bytes = 10;
    r.response_bytes = 20;
    r.error_message = "line\nbreak";
    return r;
}

}  // namespace

TEST_CASE("record_codec: a journal line brings back every field", "[record_codec]") {
    const auto r = full_record();
    const std::string line = encode_journal_line(r);
    REQUIRE(line.back() == '\n');
    REQUIRE(line.find('\n') == line.size() - 1);  // one line, even with a newline in a field
    const auto back = decode_journal_line(std::string_view(line).substr(0, line.size() - 1));
    REQUIRE(back);
    CHECK(gm::test::same_record(*back, r));
}

TEST_CASE("record_codec: a torn or altered journal line is rejected", "[record_codec]") {
    const std::string line = encode_journal_line(full_record());
    const std::string body = line.substr(0, line.size() - 1);
    CHECK_FALSE(decode_journal_line(body.substr(0, body.size() / 2)));
    std::string altered = body;
    altered[altered.size() - 5] ^= 1;
    CHECK_FALSE(decode_journal_line(altered));
    CHECK_FALSE(decode_journal_line(""));
    CHECK_FALSE(decode_journal_line("garbage"));
}

TEST_CASE("record_codec: metadata keeps what has no column", "[record_codec]") {
    const auto r = full_record();
    gm::metering::usage_record back;
    decode_metadata(encode_metadata(r), back);
    CHECK(back.model_version == "gemini-2.5-flash-001");
    CHECK(back.response_id == "resp-1");
    CHECK(back.ending == gm::metering::call_ending::client_gone);
    CHECK(back.source == gm::metering::usage_source::response);
    CHECK(back.problems == std::vector<std::string>{"truncated stream"});
    CHECK(back.tokens.prompt_audio == 7);
    CHECK(back.tokens.cached_audio == 3);
    CHECK(back.ttfb_ms == 600);
    REQUIRE(back.tags.size() == 3);
    CHECK(back.tags[1] == std::pair<std::string, std::string>{"campaign", "q4 \"launch\""});
}

// The writer renders metadata by hand; the archive renders the same members with rapidjson.
// Both must give the same bytes, escapes included.
TEST_CASE("record_codec: metadata is rendered byte for byte as rapidjson renders it", "[record_codec]") {
    auto r = full_record();
    r.tags.emplace_back("ctl", std::string("tab\there, nul \0 and \x01, \x1f", 25));
    r.tags.emplace_back("utf8 \xc3\xa9", "back\\slash \"q\" \b\f\n\r \xe2\x82\xac");
    r.problems.push_back("");
    r.path = "/v1beta/models/x:streamGenerateContent?alt=sse";
    auto bare = make_record({});
    for (const auto& rec : {r, bare}) {
        const std::string row = encode_row_json(rec);
        const auto from = row.find("\"metadata\":") + 11;
        const auto to = row.find(",\"createdAt\":", from);
        REQUIRE(to != std::string::npos);
        CHECK(encode_metadata(rec) == row.substr(from, to - from));
        std::string appended = "prefix";  // appends, as the writer's reused buffer needs
        encode_metadata(rec, appended);
        CHECK(appended == "prefix" + row.substr(from, to - from));
    }
}

TEST_CASE("record_codec: pico-USD renders as decimal USD", "[record_codec]") {
    CHECK(pico_to_usd(0) == 0.0);
    CHECK(pico_to_usd(24'000'000'000) == Approx(0.024).epsilon(1e-15));
    CHECK(pico_to_usd(12'500'000'000'000) == 12.5);
}

namespace {
// A record whose metadata fields all differ from the defaults, so that a decoder that
// wrongly resets, or wrongly leaves, a field shows; tags and problems are appended to.
gm::metering::usage_record prefilled() {
    gm::metering::usage_record r;
    r.tags = {{"before", "1"}};
    r.problems = {"earlier"};
    r.response_id = "old-id";
    r.model_version = "old-version";
    r.ending = gm::metering::call_ending::upstream_timeout;
    r.source = gm::metering::usage_source::estimated;
    r.ttfb_ms = 11;
    r.request_bytes = 12;
    r.response_bytes = 13;
    r.http_method = "OLD";
    r.path = "/old";
    r.tokens.prompt_audio = 14;
    r.tokens.cached_audio = 15;
    return r;
}

// decode_metadata (in place where it can) against decode_metadata_dom (rapidjson) on one text.
void same_as_dom(const std::string& json) {
    auto fast = prefilled(), dom = prefilled();
    decode_metadata(json, fast);
    decode_metadata_dom(json, dom);
    INFO(json);
    CHECK(gm::test::same_record(fast, dom));
}
}  // namespace

TEST_CASE("record_codec: metadata of other shapes is read as the DOM reads it", "[record_codec]") {
    const std::string written = encode_metadata(full_record());
    same_as_dom(written);
    // Unknown keys, another order, whitespace, escapes in tags and strings, other number forms.
    for (const char* json : {
             R"({"tags":{"a":"b"},"ending":"completed","source":"response","ttfbMs":1,"requestBytes":2,"responseBytes":3,"extra":[1,{"x":null}]})",
             R"({"extra":true,"tags":{},"ending":"rejected","source":"none","ttfbMs":1,"requestBytes":2,"responseBytes":3})",
             R"({"source":"response","tags":{"z":"1","a":"2"},"ending":"completed","ttfbMs":1,"requestBytes":2,"responseBytes":3})",
             R"( { "tags" : { "a" : "b" } , "ending" : "completed" , "ttfbMs" : 5 } )",
             R"({"tags":{"q\"uote":"back\\slash","tab\t":"\u00e9\ud83d\ude00"},"ending":"completed","source":"response","ttfbMs":1,"requestBytes":2,"responseBytes":3})",
             R"({"tags":{},"responseId":"r\/1","ending":"completed","source":"response","ttfbMs":-0,"requestBytes":2,"responseBytes":3})",
             R"({"tags":{},"ending":"completed","source":"response","ttfbMs":1.5,"requestBytes":2e3,"responseBytes":-3})",
             R"({"tags":{},"ending":"completed","source":"response","ttfbMs":123456789012345678,"requestBytes":1234567890123456789,"responseBytes":99999999999999999999})",
             R"({"tags":{},"ending":"completed","source":"response","ttfbMs":1,"requestBytes":2,"responseBytes":3,"promptAudioTokens":4,"cachedAudioTokens":5})",
             R"({"tags":{},"ending":"completed","source":"response","ttfbMs":1,"requestBytes":2,"responseBytes":3,"cachedAudioTokens":5})",
             // Duplicate keys: the DOM's first one counts.
             R"({"tags":{"a":"1"},"tags":{"b":"2"},"ending":"completed","ending":"rejected","source":"response","ttfbMs":1,"requestBytes":2,"responseBytes":3})",
             R"({"tags":{"a":"1","a":"2"},"ending":"completed","source":"response","ttfbMs":1,"requestBytes":2,"responseBytes":3})",
             // Unknown names for ending and source leave them as they were.
             R"({"tags":{},"ending":"exploded","source":"guessed","ttfbMs":1,"requestBytes":2,"responseBytes":3})",
             R"({})",
         })
        same_as_dom(json);
}

TEST_CASE("record_codec: metadata with values of the wrong type is read as the DOM reads it", "[record_codec]") {
    for (const char* json : {
             R"({"tags":[],"problems":{},"ending":"completed","source":"response","ttfbMs":1,"requestBytes":2,"responseBytes":3})",
             R"({"tags":{"a":1,"b":"2","c":null,"d":{"e":"f"}},"ending":"completed","source":"response","ttfbMs":1,"requestBytes":2,"responseBytes":3})",
             R"({"tags":{},"problems":["a",1,null,"b"],"ending":"completed","source":"response","ttfbMs":1,"requestBytes":2,"responseBytes":3})",
             R"({"tags":{},"responseId":5,"modelVersion":null,"ending":3,"source":true,"ttfbMs":"1","requestBytes":null,"responseBytes":[3]})",
             R"({"tags":{},"ending":"completed","source":"response","ttfbMs":1,"requestBytes":2,"responseBytes":3,"httpMethod":7,"path":false})",
             R"({"tags":{},"ending":"completed","source":"response","ttfbMs":1,"requestBytes":2,"responseBytes":3,"promptAudioTokens":"4","cachedAudioTokens":5})",
             R"({"tags":{},"ending":"completed","source":"response","ttfbMs":1,"requestBytes":2,"responseBytes":3,"promptAudioTokens":01,"cachedAudioTokens":5})",
             R"({"tags":{},"ending":"completed","source":"response","ttfbMs":1,"requestBytes":2,"responseBytes":3,"promptAudioTokens":-,"cachedAudioTokens":5})",
             R"({"tags":{},"ending":"completed","source":"response","ttfbMs":1,"requestBytes":2,"responseBytes":3,"path":"/a\nb"})",
             R"([1,2])",
             R"("tags")",
             R"(null)",
         })
        same_as_dom(json);
}

TEST_CASE("record_codec: malformed metadata changes nothing and never crashes", "[record_codec]") {
    const std::string written = encode_metadata(full_record());
    std::vector<std::string> texts = {"{", "}", "{\"tags\":{", "{\"tags\":{}", "\"", "{\"tags\":{\"a\":\"b}}", "nul"};
    for (std::size_t n = 1; n < written.size(); ++n) texts.push_back(written.substr(0, n));  // every truncation
    texts.push_back(written + "}");
    texts.push_back(written + "x");
    texts.push_back(std::string(written).insert(10, 1, '\0'));
    for (const auto& json : texts) {
        auto fast = prefilled();
        decode_metadata(json, fast);
        INFO(json);
        CHECK(gm::test::same_record(fast, prefilled()));
        same_as_dom(json);
    }
}

TEST_CASE("record_codec: random edits of written metadata are read as the DOM reads them", "[record_codec]") {
    auto audio = full_record();
    audio.tags.clear();
    audio.problems.clear();
    audio.response_id.clear();
    auto escaped = full_record();
    escaped.tags.emplace_back("ctl", "tab\there \x01 \"q\" back\\slash");
    auto bare = make_record({});
    bare.http_method.clear();
    bare.path.clear();
    std::vector<std::string> bases;
    for (const auto& r : {full_record(), audio, escaped, bare}) bases.push_back(encode_metadata(r));
    // Characters that matter to JSON, and a few that do not.
    const std::string alphabet = "{}[]:,\"\\-0123456789.eE tnulfrsa\x01\x7f\xc3";
    std::uint64_t seed = 0x9e3779b97f4a7c15ull;
    auto next = [&](std::uint64_t n) {  // splitmix64: the same edits on every run
        seed += 0x9e3779b97f4a7c15ull;
        std::uint64_t z = seed;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return (z ^ (z >> 31)) % n;
    };
    int mismatches = 0;
    for (int i = 0; i < 20000; ++i) {
        std::string json = bases[next(bases.size())];
        for (auto edits = 1 + next(3); edits > 0; --edits) {
            const auto at = next(json.size() + 1);
            switch (next(4)) {
            case 0: if (at < json.size()) json.erase(at, 1); break;
            case 1: json.insert(at, 1, alphabet[next(alphabet.size())]); break;
            case 2: if (at < json.size()) json[at] = alphabet[next(alphabet.size())]; break;
            default: json.insert(at, json.substr(next(json.size()), next(12))); break;
            }
        }
        auto fast = prefilled(), dom = prefilled();
        decode_metadata(json, fast);
        decode_metadata_dom(json, dom);
        if (!gm::test::same_record(fast, dom) && ++mismatches <= 5) {
            INFO(json);
            CHECK(gm::test::same_record(fast, dom));
        }
    }
    CHECK(mismatches == 0);
}

TEST_CASE("record_codec: a quote, backslash or control byte at any place in a string is found", "[record_codec]") {
    // The fast reader scans strings eight bytes at a time; every length and position, around
    // bytes that look alike (0x1f/0x20, 0x7f, UTF-8 with the high bit set).
    const std::string specials[] = {"\\\"", "\\\\", "\\n", "\\u0041", std::string(1, '\x1f'), std::string(1, '\0'),
                                    "\"", " ", "\x7f", "\xc3\xa9", "!", "#", "[", "]"};
    for (std::size_t len = 0; len <= 20; ++len)
        for (std::size_t at = 0; at <= len; ++at)
            for (const auto& sp : specials) {
                std::string value(len, 'x');
                value.insert(at, sp);
                same_as_dom(R"({"tags":{"k":")" + value + R"("},"responseId":")" + value +
                            R"(","ending":"completed","source":"response","ttfbMs":1,"requestBytes":2,"responseBytes":3})");
            }
}

#include "metering/response_tap.hpp"

#include <catch2/catch.hpp>
#include <malloc.h>

#include <random>
#include <string>

#include "tap_test_util.hpp"

using namespace gm::metering;
using namespace gm::metering::test;

namespace {

response_tap_options json_opts(std::string_view encoding = "", std::string_view method = "generateContent") {
    response_tap_options o;
    o.content_type = "application/json; charset=UTF-8";
    o.content_encoding = encoding;
    o.http_status = 200;
    o.gemini_method = method;
    return o;
}

response_tap_options sse_opts(std::string_view encoding = "") {
    response_tap_options o;
    o.content_type = "text/event-stream";
    o.content_encoding = encoding;
    o.http_status = 200;
    o.gemini_method = "streamGenerateContent";
    return o;
}

token_counts generate_content_tokens() {
    token_counts t;
    t.prompt = 1844;
    t.cached = 901;
    t.candidates = 51;
    t.thoughts = 91;
    t.tool_use_prompt = 1934;
    t.total = 3920;
    return t;
}

token_counts last_stream_tokens() {
    token_counts t;
    t.prompt = 14;
    t.candidates = 20;
    t.thoughts = 39;
    t.total = 73;
    return t;
}

void check_generate_content(const tap_result& r) {
    CHECK(r.has_usage);
    CHECK(r.source == usage_source::response);
    CHECK(r.tokens == generate_content_tokens());
    CHECK(r.model_version == "gemini-2.5-flash");
    CHECK(r.response_id == "mMvWaNGzJ6PQz7IPvd2kgQ4");
    CHECK(r.finished);
    CHECK(r.error_message.empty());
    CHECK(r.problems.empty());
}

void check_stream(const tap_result& r) {
    CHECK(r.has_usage);
    CHECK(r.tokens == last_stream_tokens());  // the last usage, never a sum
    CHECK(r.model_version == "gemini-2.5-flash");
    CHECK(r.response_id == "f8vWaLKnEc-pz7IP2cWX8Qk");
    CHECK(r.finished);
    CHECK(r.problems.empty());
}

}  // namespace

TEST_CASE("response_tap reads a JSON body however its bytes arrive") {
    for_every_split(json_opts(), read_sample("generate_content.json"), check_generate_content);
}

TEST_CASE("response_tap reads gzip, deflate and br compressed JSON bodies at every split") {
    const std::string body = read_sample("generate_content.json");
    for_every_split(json_opts("gzip"), gzip(body), check_generate_content);
    for_every_split(json_opts("br"), brotli(body), check_generate_content);
    for_every_split(json_opts("deflate"), zlib_deflate(body), check_generate_content);
    for_every_split(json_opts("deflate"), raw_deflate(body), check_generate_content);
    for_every_split(json_opts("zstd"), zstd(body), check_generate_content);
    for_every_split(json_opts("gzip, br"), brotli(gzip(body)), check_generate_content);
}

TEST_CASE("response_tap reads an alt=sse stream with LF, CRLF and CR separators at every split") {
    const std::string lf = read_sample("stream.sse");
    for_every_split(sse_opts(), lf, check_stream);
    for_every_split(sse_opts(), replace_all(lf, "\n", "\r\n"), check_stream);
    for_every_split(sse_opts(), replace_all(lf, "\n", "\r"), check_stream);
}

TEST_CASE("response_tap reads compressed SSE streams at every split") {
    const std::string lf = read_sample("stream.sse");
    for_every_split(sse_opts("gzip"), gzip(lf), check_stream);
    for_every_split(sse_opts("br"), brotli(replace_all(lf, "\n", "\r\n")), check_stream);
}

TEST_CASE("response_tap reads a JSON-array stream (streamGenerateContent without alt) at every split") {
    auto o = json_opts("", "streamGenerateContent");
    for_every_split(o, read_sample("stream_array.json"), [](const tap_result& r) {
        token_counts t;
        t.prompt = 8;
        t.candidates = 30;
        t.thoughts = 82;
        t.total = 120;
        CHECK(r.tokens == t);
        CHECK(r.model_version == "gemini-2.5-pro");
        CHECK(r.response_id == "arr-1");
        CHECK(r.finished);
        CHECK(r.problems.empty());
    });
}

TEST_CASE("response_tap reads OpenAI-compatible bodies and streams") {
    auto o = json_opts("", "chat/completions");
    o.openai_compat = true;
    for_every_split(o, read_sample("openai_chat.json"), [](const tap_result& r) {
        CHECK(r.tokens.prompt == 5);
        CHECK(r.tokens.candidates == 9);
        CHECK(r.tokens.thoughts == 26);
        CHECK(r.tokens.total == 40);
        CHECK(r.model_version == "gemini-2.5-flash");
        CHECK(r.response_id == "oai-resp-1");
        CHECK(r.finished);
        CHECK(r.problems.empty());
    });
    auto s = sse_opts();
    s.openai_compat = true;
    s.gemini_method = "chat/completions";
    for_every_split(s, read_sample("openai_stream.sse"), [](const tap_result& r) {
        CHECK(r.tokens.prompt == 5);
        CHECK(r.tokens.candidates == 3);
        CHECK(r.tokens.thoughts == 25);
        CHECK(r.response_id == "oai-stream-1");
        CHECK(r.finished);
        CHECK(r.problems.empty());
    });
}

TEST_CASE("response_tap reads AUDIO modality details") {
    auto r = run_tap(json_opts(), read_sample("audio_usage.json"), {100});
    CHECK(r.tokens.prompt == 1200);
    CHECK(r.tokens.prompt_audio == 1000);
    CHECK(r.tokens.cached == 400);
    CHECK(r.tokens.cached_audio == 300);
    CHECK(r.problems.empty());
}

TEST_CASE("response_tap takes Google's error message from error bodies, even labelled as SSE") {
    auto o = json_opts("gzip");
    o.http_status = 429;
    for_every_split(o, gzip(read_sample("error_429.json")), [](const tap_result& r) {
        CHECK_FALSE(r.has_usage);
        CHECK(r.source == usage_source::none);
        CHECK(r.error_message ==
              "You exceeded your current quota, please check your plan and billing details. Please retry in 53.0s.");
        CHECK(r.problems.empty());
        CHECK(r.finished);
    });
    auto s = sse_opts();
    s.http_status = 404;
    auto r = run_tap(s, R"({"error": {"code": 404, "message": "models/nope is not found", "status": "NOT_FOUND"}})", {});
    CHECK(r.error_message == "models/nope is not found");
    CHECK(r.problems.empty());
}

TEST_CASE("response_tap keeps the usage seen before a mid-stream error event") {
    std::string body = read_sample("stream.sse");
    body = body.substr(0, body.find("data:", 10));  // first event only
    body += "data: {\"error\": {\"code\": 500, \"message\": \"Internal error encountered.\", \"status\": \"INTERNAL\"}}\n\n";
    auto r = run_tap(sse_opts(), body, {50});
    CHECK(r.has_usage);
    CHECK(r.tokens.prompt == 12);
    CHECK(r.error_message == "Internal error encountered.");
    CHECK_FALSE(r.finished);
}

TEST_CASE("response_tap marks calls without usage as source none, and only complains when usage was due") {
    for (const char* method : {"embedContent", "batchEmbedContents", "countTokens"}) {
        INFO(method);
        auto r = run_tap(json_opts("", method),
                         read_sample(std::string(method) == "countTokens" ? "count_tokens.json" : "embed_content.json"), {});
        CHECK_FALSE(r.has_usage);
        CHECK(r.source == usage_source::none);
        CHECK(r.tokens == token_counts{});  // countTokens's totalTokens is not billed usage
        CHECK(r.problems.empty());
        CHECK(r.finished);
    }
    auto r = run_tap(json_opts(), R"({"candidates": [{"finishReason": "STOP"}]})", {});
    CHECK_FALSE(r.has_usage);
    CHECK(r.problems == std::vector<std::string>{"no usage in response"});
}

TEST_CASE("response_tap on a truncated stream keeps the last usage and says it is partial") {
    const std::string body = read_sample("stream.sse");
    const auto third = body.rfind("data:");
    auto r = run_tap(sse_opts(), body.substr(0, third + 40), {third}, false);
    CHECK(r.has_usage);
    CHECK(r.tokens.total == 60);  // second event's usage
    CHECK_FALSE(r.finished);
    CHECK(r.problems == std::vector<std::string>{"truncated JSON in an SSE event", "body incomplete",
                                                 "stream ended without finishReason"});

    const std::string json = read_sample("generate_content.json");
    auto cut = run_tap(json_opts("gzip"), gzip(json).substr(0, 300), {}, false);
    CHECK_FALSE(cut.finished);
    CHECK_FALSE(cut.problems.empty());
}

TEST_CASE("response_tap bad input: never invents numbers, says what was wrong") {
    SECTION("malformed usage object") {
        auto r = run_tap(json_opts(), R"({"usageMetadata": {"promptTokenCount": 5,, "x": }, "modelVersion": "m"})", {});
        CHECK_FALSE(r.has_usage);
        CHECK(r.tokens == token_counts{});
        REQUIRE_FALSE(r.problems.empty());
        CHECK(r.problems[0].starts_with("usage rejected: malformed usage JSON"));
    }
    SECTION("a later bad usage keeps the earlier valid one") {
        std::string body = "data: {\"usageMetadata\": {\"promptTokenCount\": 7, \"totalTokenCount\": 7}}\n\n"
                           "data: {\"usageMetadata\": {\"promptTokenCount\": -7}, \"candidates\": [{\"finishReason\": \"STOP\"}]}\n\n";
        auto r = run_tap(sse_opts(), body, {});
        CHECK(r.has_usage);
        CHECK(r.tokens.prompt == 7);
        CHECK(r.problems == std::vector<std::string>{"usage rejected: usageMetadata.promptTokenCount is negative (-7)"});
    }
    SECTION("duplicated, non-integer and huge values") {
        for (const char* u : {R"({"promptTokenCount": 5, "promptTokenCount": 500000})", R"({"candidatesTokenCount": 2.5})",
                              R"({"thoughtsTokenCount": 123456789012345678901234567890})"}) {
            INFO(u);
            auto r = run_tap(json_opts(), std::string(R"({"usageMetadata": )") + u + "}", {});
            CHECK_FALSE(r.has_usage);
            CHECK(r.tokens == token_counts{});
            CHECK(r.problems.size() == 2);  // the rejection, then "no valid usage in response"
            CHECK(r.problems.back() == "no valid usage in response");
        }
    }
    SECTION("invalid gzip") {
        auto r = run_tap(json_opts("gzip"), read_sample("generate_content.json"), {10});
        CHECK_FALSE(r.has_usage);
        CHECK_FALSE(r.finished);
        REQUIRE_FALSE(r.problems.empty());
        CHECK(r.problems[0].starts_with("invalid gzip data"));
    }
    SECTION("deep nesting") {
        std::string deep = std::string(100000, '[') + std::string(100000, ']');
        auto r = run_tap(json_opts(), R"({"x": )" + deep + R"(, "usageMetadata": {"promptTokenCount": 3}})", {4096});
        CHECK(r.has_usage);  // the scanner has no stack to overflow: depth is a counter
        CHECK(r.tokens.prompt == 3);
        CHECK(r.problems == std::vector<std::string>{"JSON nested deeper than 64 levels"});
    }
    SECTION("not JSON at all") {
        auto o = json_opts();
        o.http_status = 502;
        o.content_type = "text/html";
        auto r = run_tap(o, "<html><body>Bad Gateway</body></html>", {});
        CHECK_FALSE(r.has_usage);
        CHECK(r.problems == std::vector<std::string>{"response body is not JSON"});
    }
    SECTION("usage object too large to hold") {
        std::string big = R"({"usageMetadata": {"promptTokenCount": 3, "pad": ")" + std::string(20000, 'x') + "\"}}";
        auto r = run_tap(json_opts(), big, {});
        CHECK_FALSE(r.has_usage);
        CHECK(r.problems[0] == "usageMetadata larger than 16384 bytes: ignored");
    }
    SECTION("unsupported encoding") {
        auto r = run_tap(json_opts("compress"), "\x1f\x9d\x90", {});
        CHECK_FALSE(r.has_usage);
        CHECK(r.problems[0] == "unsupported content-encoding 'compress'");
    }
}

TEST_CASE("response_tap memory does not grow with the body: 50 MB of streamed text") {
    response_tap tap(sse_opts());
    const std::string head = R"(data: {"candidates": [{"content": {"parts": [{"text": ")";
    const std::string tail =
        R"("}]}}], "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 1000, "totalTokenCount": 1010}})"
        "\n\n";
    std::string filler(64 * 1024, 'a');
    for (std::size_t i = 0; i < filler.size(); i += 97) filler[i] = '\\', filler[i + 1] = '"';
    // Warm up: the first event allocates what the tap will ever need.
    tap.feed(head);
    tap.feed(filler);
    tap.feed(tail);
    const auto before = mallinfo2().uordblks;
    for (int event = 0; event < 8; ++event) {
        tap.feed(head);
        for (int i = 0; i < 100; ++i) tap.feed(filler);  // 6.5 MB of text per event
        tap.feed(tail);
    }
    const auto after = mallinfo2().uordblks;
    CHECK(after <= before + 64 * 1024);
    auto r = tap.finish(true);
    CHECK(r.tokens.candidates == 1000);
    CHECK(tap.bytes_seen() > 50'000'000u);
}

namespace {

void check_same(const tap_result& a, const tap_result& b) {
    CHECK(a.has_usage == b.has_usage);
    CHECK(a.source == b.source);
    CHECK(a.tokens == b.tokens);
    CHECK(a.model_version == b.model_version);
    CHECK(a.response_id == b.response_id);
    CHECK(a.finished == b.finished);
    CHECK(a.error_message == b.error_message);
    CHECK(a.problems == b.problems);
}

// Random cuts, so that events arrive whole, split and glued to their neighbours.
std::vector<std::size_t> random_cuts(std::size_t size, std::mt19937& rng) {
    std::vector<std::size_t> cuts;
    std::size_t pos = 0;
    const std::size_t most = 1 + rng() % 700;
    while (size > 0 && (pos += 1 + rng() % most) < size) cuts.push_back(pos);
    return cuts;
}

}  // namespace

TEST_CASE("response_tap gives the same result with the skimmer as with json_scanner alone") {
    std::mt19937 rng(42);
    const std::string sse = read_sample("stream.sse");
    std::string with_error = sse.substr(0, sse.find("data:", 10)) +
                             "data: {\"error\": {\"code\": 500, \"message\": \"Internal\"}}\n\n";
    std::vector<std::pair<response_tap_options, std::string>> bodies{
        {sse_opts(), sse},
        {sse_opts(), replace_all(sse, "\n", "\r\n")},
        {sse_opts(), replace_all(sse, "\n", "\r")},
        {sse_opts(), with_error},
        {sse_opts(), "data: {\"usageMetadata\":\ndata: {\"promptTokenCount\": 4}}\n\n"},  // two data lines
    };
    auto oai = sse_opts();
    oai.openai_compat = true;
    oai.gemini_method = "chat/completions";
    bodies.emplace_back(oai, read_sample("openai_stream.sse"));
    auto arr = json_opts("", "streamGenerateContent");
    bodies.emplace_back(arr, read_sample("stream_array.json"));
    for (int levels : {62, 63, 64})  // at the depth limit, counting the array's own level
        bodies.emplace_back(arr, "[{\"x\": " + std::string(levels, '[') + std::string(levels, ']') +
                                     ", \"usageMetadata\": {\"promptTokenCount\": 3}}]");
    bodies.emplace_back(arr, "[{\"usageMetadata\": {\"promptTokenCount\": 3}}, 5, {\"modelVersion\": \"m\"}]");
    bodies.emplace_back(json_opts(), read_sample("generate_content.json"));

    for (const auto& [opts, body] : bodies) {
        for (int round = 0; round < 60; ++round) {
            // Damage some copies: the two paths must also agree on what is wrong.
            std::string b = body;
            for (int e = 0; round > 0 && e < round % 4; ++e) {
                const std::size_t at = rng() % b.size();
                static const std::string alphabet = "\"\\{}[]:, \n\rx";
                if (rng() % 2)
                    b[at] = alphabet[rng() % alphabet.size()];
                else
                    b.erase(at, 1);
            }
            const auto cuts = random_cuts(b.size(), rng);
            auto fast = opts, slow = opts;
            slow.fast_path = false;
            INFO("body: " << b);
            check_same(run_tap(fast, b, cuts), run_tap(slow, b, cuts));
        }
    }
}

TEST_CASE("response_tap: SSE events and array elements around the 64 KiB skim limit read the same either way") {
    for (std::size_t text : {65536 - 400, 65536 - 220, 65536 - 200, 65536, 200000}) {
        INFO("text bytes " << text);
        std::string body;
        for (int i = 1; i <= 3; ++i) {
            body += "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"" + std::string(text, 'a') +
                    "\"}]}" + (i == 3 ? ", \"finishReason\": \"STOP\"" : "") +
                    "}], \"usageMetadata\": {\"promptTokenCount\": 10, \"candidatesTokenCount\": " +
                    std::to_string(i) + ", \"totalTokenCount\": " + std::to_string(10 + i) +
                    "}, \"modelVersion\": \"gemini-2.5-flash\"}\n\n";
        }
        auto slow = sse_opts();
        slow.fast_path = false;
        auto arr = json_opts("", "streamGenerateContent");
        auto arr_slow = arr;
        arr_slow.fast_path = false;
        std::string array = "[" + replace_all(replace_all(body.substr(6), "\n\ndata: ", ",\n"), "\n\n", "]");
        for (std::vector<std::size_t> cuts : {std::vector<std::size_t>{}, std::vector<std::size_t>{100, 70000, 130000}}) {
            const auto r = run_tap(arr, array, cuts);
            check_same(r, run_tap(arr_slow, array, cuts));
            CHECK(r.tokens.candidates == 3);
            CHECK(r.finished);
            CHECK(r.problems.empty());
        }
        for (std::vector<std::size_t> cuts : {std::vector<std::size_t>{}, std::vector<std::size_t>{100, 70000, 130000},
                                              std::vector<std::size_t>{65000, 65600}}) {
            const auto r = run_tap(sse_opts(), body, cuts);
            check_same(r, run_tap(slow, body, cuts));
            CHECK(r.tokens.candidates == 3);
            CHECK(r.finished);
            CHECK(r.problems.empty());
        }
    }
}

// Found by response_tap_fuzz: a br decoder emits part of what it decoded before it notices
// invalid data, and how much depends on how the input was split.
TEST_CASE("response_tap on invalid compressed data gives one result for every split") {
    const std::string sse = read_sample("stream.sse");
    for (std::string_view encoding : {"br", "gzip", "zstd"}) {
        std::string body = encoding == "br" ? brotli(sse) : encoding == "gzip" ? gzip(sse) : zstd(sse);
        for (std::size_t i = body.size() / 3; i < body.size() / 3 + 8; ++i) body[i] = static_cast<char>(body[i] ^ 0x5a);
        INFO(encoding);
        const auto whole = run_tap(sse_opts(encoding), body, {});
        REQUIRE_FALSE(whole.problems.empty());
        if (encoding != "zstd") {  // without a checksum, zstd decodes damaged literals as text
            INFO(whole.problems[0]);
            CHECK(whole.problems[0].starts_with("invalid "));
            CHECK_FALSE(whole.has_usage);
            CHECK_FALSE(whole.finished);
            CHECK(whole.model_version.empty());
        }
        for_every_split(sse_opts(encoding), body, [&](const tap_result& r) { check_same(r, whole); });
    }
    // The fuzzer's input: a few bytes that are not br at all.
    const std::string junk("\x00\x00\x00\x00\x00\x00\xcd\x05\xff\xff\x1b\xff\xff\xff\xff\xff\xff\xff\xff\xff\xbf\xff\xff\xff"
                           "\x02\x3e\xfe\x0a\x0a",
                           29);
    auto o = sse_opts("br");
    o.openai_compat = true;
    o.gemini_method = "chat/completions";
    const auto whole = run_tap(o, junk, {});
    for_every_split(o, junk, [&](const tap_result& r) { check_same(r, whole); });
}

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

bool same(const gm::metering::usage_record& a, const gm::metering::usage_record& b) {
    return a.id == b.id && a.created_at_ms == b.created_at_ms && a.user_id == b.user_id &&
           a.user_email == b.user_email && a.is_guest == b.is_guest && a.endpoint == b.endpoint &&
           a.bot_id == b.bot_id && a.tags == b.tags && a.http_method == b.http_method && a.path == b.path &&
           a.gemini_method == b.gemini_method && a.model == b.model && a.model_version == b.model_version &&
           a.response_id == b.response_id && a.streamed == b.streamed && a.http_status == b.http_status &&
           a.ending == b.ending && a.success == b.success && a.partial == b.partial &&
           a.error_message == b.error_message && a.source == b.source && a.tokens == b.tokens &&
           a.priced == b.priced && a.cost_pico_usd == b.cost_pico_usd && a.price_version == b.price_version &&
           a.duration_ms == b.duration_ms && a.ttfb_ms == b.ttfb_ms && a.request_bytes == b.request_bytes &&
           a.response_bytes == b.response_bytes && a.problems == b.problems;
}
}  // namespace

TEST_CASE("record_codec: a journal line brings back every field", "[record_codec]") {
    const auto r = full_record();
    const std::string line = encode_journal_line(r);
    REQUIRE(line.back() == '\n');
    REQUIRE(line.find('\n') == line.size() - 1);  // one line, even with a newline in a field
    const auto back = decode_journal_line(std::string_view(line).substr(0, line.size() - 1));
    REQUIRE(back);
    CHECK(same(*back, r));
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

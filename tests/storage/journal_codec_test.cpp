#include "storage/journal_codec.hpp"

#include <catch2/catch.hpp>

#include <rapidjson/document.h>

#include "storage/record_codec.hpp"
#include "test_records.hpp"

using namespace gm::storage;

namespace {

gm::metering::usage_record full_record(const std::string& id = "01JC0000000000000000000001") {
    gm::test::record_spec s;
    s.id = id;
    s.ms = gm::test::at("2024-11-06T10:30:00.123Z");
    s.user = "u1";
    s.email = "a@example.com";
    s.bot = "g-socratic";
    s.prompt = 1844;
    s.cached = 901;
    s.candidates = 51;
    s.thoughts = 91;
    s.tool_use = 1934;
    s.cost = 123456789012345;
    s.duration = 1200;
    s.tags = {{"team", "red"}, {"campaign", "q4 \"launch\""}, {"team", "blue"}};
    auto r = gm::test::make_record(s);
    r.streamed = true;
    r.partial = true;
    r.ending = gm::metering::call_ending::client_gone;
    r.source = gm::metering::usage_source::estimated;
    r.model_version = "gemini-2.5-flash-001";
    r.response_id = "resp-1";
    r.problems = {"truncated stream", std::string("nul\0byte", 8)};
    r.tokens.prompt_audio = 7;
    r.tokens.cached_audio = 3;
    r.request_bytes = 10;
    r.response_bytes = 20;
    r.ttfb_ms = -1;
    r.error_message = "line\nbreak \xc2\xb1 \xb1";
    return r;
}

}  // namespace

TEST_CASE("journal_codec: a binary record brings back every field", "[journal_codec]") {
    const auto r = full_record();
    std::string buf = "prefix";
    encode_journal_record(r, buf);
    REQUIRE(buf.compare(0, 6, "prefix") == 0);  // appends, never clears
    std::size_t n = 0;
    const auto back = decode_journal_record(std::string_view(buf).substr(6), &n);
    REQUIRE(back);
    CHECK(n == buf.size() - 6);
    CHECK(gm::test::same_record(*back, r));

    gm::metering::usage_record empty;
    empty.id = "x";
    empty.created_at_ms = -5;
    buf.clear();
    encode_journal_record(empty, buf);
    const auto e = decode_journal_record(buf);
    REQUIRE(e);
    CHECK(gm::test::same_record(*e, empty));
}

TEST_CASE("journal_codec: torn, altered and id-less records are rejected", "[journal_codec]") {
    std::string buf;
    encode_journal_record(full_record(), buf);
    for (std::size_t cut : {std::size_t{0}, std::size_t{5}, std::size_t{9}, buf.size() / 2, buf.size() - 1})
        CHECK_FALSE(decode_journal_record(std::string_view(buf).substr(0, cut)));
    std::string altered = buf;
    altered[altered.size() - 3] ^= 1;
    CHECK_FALSE(decode_journal_record(altered));
    gm::metering::usage_record no_id;
    buf.clear();
    encode_journal_record(no_id, buf);
    CHECK_FALSE(decode_journal_record(buf));
}

TEST_CASE("journal_codec: a segment mixing old text lines and binary records replays both, skipping damage",
          "[journal_codec]") {
    std::string seg;
    seg += encode_journal_line(full_record("old-1"));
    encode_journal_record(full_record("new-1"), seg);
    seg += encode_journal_line(full_record("old-2"));
    // A failed partial write, then the newline the journal writes after one.
    std::string torn;
    encode_journal_record(full_record("torn"), torn);
    seg += torn.substr(0, torn.size() / 2);
    seg += '\n';
    encode_journal_record(full_record("new-2"), seg);
    seg += "0badc0de {\"not\": \"valid\"}\n";
    encode_journal_record(full_record("new-3"), seg);
    // A torn last record after a crash.
    seg += torn.substr(0, torn.size() - 4);

    std::uint64_t skipped = 0;
    const auto records = decode_journal_segment(seg, &skipped);
    std::vector<std::string> ids;
    for (const auto& r : records) ids.push_back(r.id);
    CHECK(ids == std::vector<std::string>{"old-1", "new-1", "old-2", "new-2", "new-3"});
    CHECK(skipped == 3);
    CHECK(gm::test::same_record(records[1], full_record("new-1")));
    CHECK(gm::test::same_record(records[2], full_record("old-2")));
}

TEST_CASE("record_codec: the fast metadata encoder writes JSON that parses back to the same values",
          "[journal_codec]") {
    auto r = full_record();
    r.tags.emplace_back("ctl\x01\t", "back\\slash\x1f");
    const std::string json = encode_metadata(r);
    rapidjson::Document d;
    d.Parse(json.data(), json.size());
    REQUIRE_FALSE(d.HasParseError());
    REQUIRE(d.IsObject());
    CHECK(std::string(d["path"].GetString()) == r.path);
    CHECK(d["ttfbMs"].GetInt64() == -1);
    CHECK(d["ending"] == "client_gone");
    CHECK(d["problems"][1].GetStringLength() == 8);
    gm::metering::usage_record back;
    decode_metadata(json, back);
    CHECK(back.tags == r.tags);
    CHECK(back.problems == r.problems);
    CHECK(back.response_id == r.response_id);
    CHECK(back.tokens.prompt_audio == 7);
    // Appending form: same bytes after what is already in the buffer.
    std::string buf = "x";
    encode_metadata(r, buf);
    CHECK(buf == "x" + json);
}

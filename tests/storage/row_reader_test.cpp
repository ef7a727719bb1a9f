#include "storage/row_reader.hpp"

#include <catch2/catch.hpp>

#include "storage/sqlite_store.hpp"
#include "support/temp_dir.hpp"
#include "test_records.hpp"

using namespace gm::storage;

namespace {

// Rows that set every metadata member, then rows that set none, alternating, so that a
// reused record shows anything the row before left behind.
gm::metering::usage_record full(int n) {
    gm::test::record_spec s;
    s.id = fmt::format("full-{:02}", n);
    s.ms = gm::test::at("2024-11-06T10:00:00Z") + 2 * n;
    s.user = "user-with-a-long-enough-name";
    s.bot = "bot";
    s.prompt = 100;
    s.candidates = 20;
    s.thoughts = 5;
    s.cached = 7;
    s.tool_use = 3;
    s.cost = 12345;
    s.duration = 900;
    s.tags = {{"team", "red"}, {"note", "a \"quoted\" tag"}};
    auto r = gm::test::make_record(s);
    r.model_version = "gemini-2.5-flash-001";
    r.response_id = "resp-with-a-long-enough-identifier";
    r.problems = {"truncated stream"};
    r.ending = gm::metering::call_ending::client_gone;
    r.source = gm::metering::usage_source::estimated;
    r.tokens.prompt_audio = 4;
    r.tokens.cached_audio = 2;
    r.request_bytes = 1000;
    r.response_bytes = 2000;
    r.streamed = true;
    r.partial = true;
    return r;
}

gm::metering::usage_record sparse(int n) {
    gm::test::record_spec s;
    s.id = fmt::format("sparse-{:02}", n);
    s.ms = gm::test::at("2024-11-06T10:00:00Z") + 2 * n + 1;
    s.success = false;
    auto r = gm::test::make_record(s);
    r.http_method.clear();
    r.path.clear();
    r.ttfb_ms = -1;
    return r;
}

}  // namespace

TEST_CASE("row_reader: a record reused from row to row reads each row as a fresh one does", "[row_reader]") {
    gm::test::temp_dir dir;
    const std::string db = dir.file("usage.db");
    {
        auto store = sqlite_store::open(db);
        for (int n = 0; n < 4; ++n) {
            store->sink().submit(full(n));
            store->sink().submit(sparse(n));
        }
        REQUIRE(store->flush(std::chrono::seconds(30)));
    }
    {
        // Metadata the writer never writes: none at all, and an empty object.
        sqlite_conn w(db, sqlite_conn::mode::read_write);
        w.exec("UPDATE ApiUsage SET metadata = NULL WHERE id = 'sparse-01'");
        w.exec("UPDATE ApiUsage SET metadata = '{}' WHERE id = 'sparse-02'");
    }
    sqlite_conn c(db, sqlite_conn::mode::read_only);
    auto st = c.prepare(std::string("SELECT ") + record_select + " FROM ApiUsage a ORDER BY a.createdAtMs");
    gm::metering::usage_record reused;
    reused.user_email = "from the caller's join";
    int rows = 0;
    while (st.step()) {
        const auto fresh = read_record(st);
        read_record(st, 0, reused);
        INFO(fresh.id);
        CHECK(gm::test::same_record(reused, fresh));
        const auto written = fresh.id.starts_with("full") ? full(rows / 2) : sparse(rows / 2);
        if (fresh.id != "sparse-01" && fresh.id != "sparse-02") CHECK(gm::test::same_record(fresh, written));
        ++rows;
    }
    CHECK(rows == 8);
}

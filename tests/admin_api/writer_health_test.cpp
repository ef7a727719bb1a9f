// The writer's counters as /readyz and /metrics show them, on a real SQLite store whose
// database is locked by another connection: records past the writer's memory cap wait only
// in the journal, /readyz and /metrics say how many, and both fall back to 0 once the
// database is writable again.
#include "admin_api/writer_health.hpp"

#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <unistd.h>

#include "http_client.hpp"
#include "promtool_check.hpp"
#include "server_fixture.hpp"
#include "storage/sqlite_conn.hpp"
#include "storage/sqlite_store.hpp"
#include "support/parse_json.hpp"
#include "support/eventually.hpp"

using namespace gm::admin_api;
using namespace std::chrono_literals;
using gm::test::http_request;

using gm::test::parse_json;
using gm::test::eventually;

namespace {

// "name value" from the exposition text, -1 when the line is missing.
long long metric(const std::string& text, const std::string& name) {
    const auto at = text.find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    return std::stoll(text.substr(at + name.size() + 2));
}

gm::metering::usage_record numbered(int i) {
    gm::metering::usage_record r;
    r.id = "outage-" + std::to_string(i);
    r.created_at_ms = 1730889000000 + i;
    r.model = "gemini-2.5-flash";
    r.endpoint = "chat";
    r.http_status = 200;
    r.success = true;
    return r;
}

struct temp_dir {
    std::filesystem::path path =
        std::filesystem::temp_directory_path() / ("gm_writer_health_" + std::to_string(::getpid()));
    temp_dir() {
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
    }
    ~temp_dir() { std::filesystem::remove_all(path); }
};

}  // namespace

TEST_CASE("health_from_writer maps every writer counter /readyz and /metrics show") {
    gm::storage::writer_stats s;
    s.queued = 3;
    s.written = 100;
    s.batches = 7;
    s.failures = 2;
    s.journal_backlog = 40;
    s.journal_only = 30;
    s.journal_errors = 1;
    s.db_writable = false;
    s.last_error = "database is locked";
    const auto h = health_from_writer(s);
    CHECK(h.queued == 3);
    CHECK(h.written == 100);
    CHECK(h.batches == 7);
    CHECK(h.failures == 2);
    CHECK(h.journal_backlog == 40);
    CHECK(h.journal_only == 30);
    CHECK(h.journal_errors == 1);
    CHECK_FALSE(h.db_writable);
    CHECK(h.last_error == "database is locked");
}

TEST_CASE("outage past the writer's memory cap: journal-only records rise on /readyz and /metrics, then fall to 0") {
    temp_dir dir;
    const std::string db = (dir.path / "usage.db").string();
    gm::storage::store_options so;
    so.max_queued = 50;  // 1,000 records overflow it many times
    so.retry_initial = 5ms;
    so.retry_max = 50ms;
    so.busy_timeout_ms = 10;
    auto store = gm::storage::sqlite_store::open(db, so);

    admin_options o;
    o.tokens = {"tok"};
    o.query_threads = 1;
    admin_deps d;
    d.health = [&store] { return health_from_writer(store->stats()); };
    gm::test::admin_fixture f(std::move(o), std::move(d));

    const int n = 1000;
    {
        gm::storage::sqlite_conn blocker(db, gm::storage::sqlite_conn::mode::read_write);
        blocker.exec("BEGIN EXCLUSIVE");
        for (int i = 0; i < n; ++i) store->sink().submit(numbered(i));
        REQUIRE(eventually([&] { return store->stats().failures > 0; }));

        auto r = http_request(f.port(), "/readyz");
        CHECK(r.status == 503);
        auto j = parse_json(r.body);
        CHECK(j["status"].GetString() == std::string("not ready"));
        CHECK_FALSE(j["databaseWritable"].GetBool());
        CHECK(j["journalBacklog"].GetInt64() == n);
        // At most a full queue and the batch in the writer's hands are in memory.
        CHECK(j["journalOnly"].GetInt64() >= n - 2 * 50);
        CHECK(j["journalOnly"].GetInt64() <= n);
        CHECK(j["writerQueued"].GetInt64() <= 50);
        CHECK(j["journalErrors"].GetInt64() == 0);

        r = http_request(f.port(), "/metrics");
        CHECK(r.status == 200);
        CHECK(metric(r.body, "gemini_meter_journal_only") >= n - 2 * 50);
        CHECK(metric(r.body, "gemini_meter_journal_backlog") == n);
        CHECK(metric(r.body, "gemini_meter_journal_errors_total") == 0);
        CHECK(metric(r.body, "gemini_meter_database_writable") == 0);
        auto check = gm::test::promtool_check(r.body);
        if (check.available) {
            INFO(check.output);
            CHECK(check.exit_code == 0);
        }
        blocker.exec("ROLLBACK");
    }

    REQUIRE(store->flush(60s));
    auto r = http_request(f.port(), "/readyz");
    CHECK(r.status == 200);
    auto j = parse_json(r.body);
    CHECK(j["status"].GetString() == std::string("ready"));
    CHECK(j["databaseWritable"].GetBool());
    CHECK(j["journalOnly"].GetInt64() == 0);
    CHECK(j["journalBacklog"].GetInt64() == 0);
    CHECK(j["writerWritten"].GetInt64() == n);
    r = http_request(f.port(), "/metrics");
    CHECK(metric(r.body, "gemini_meter_journal_only") == 0);
    CHECK(metric(r.body, "gemini_meter_writer_written_total") == n);
    CHECK(metric(r.body, "gemini_meter_database_writable") == 1);
    store->shutdown();
}

TEST_CASE("journal-only records while the database is writable again: /readyz stays 200 and shows the count") {
    health_snapshot h;
    h.journal_backlog = 5000;
    h.journal_only = 4000;  // the writer is reading back what an outage left
    admin_deps d;
    d.health = [h] { return h; };
    admin_options o;
    o.tokens = {"tok"};
    o.query_threads = 1;
    gm::test::admin_fixture f(std::move(o), std::move(d));
    auto r = http_request(f.port(), "/readyz");
    CHECK(r.status == 200);
    auto j = parse_json(r.body);
    CHECK(j["status"].GetString() == std::string("ready"));
    CHECK(j["journalOnly"].GetInt64() == 4000);
    CHECK(j["journalBacklog"].GetInt64() == 5000);
}

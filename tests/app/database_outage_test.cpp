// The real binary while its database is locked by another connection: calls keep flowing,
// /readyz says the database is not writable and how many records wait in the journal
// (journal-only past the writer's memory cap, --writer-max-queued), /metrics says the same,
// and both return to ready with an empty backlog once the lock is gone, with every call
// stored once.
#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include <functional>
#include <memory>
#include <thread>

#include "meter_process.hpp"
#include "storage/sqlite_conn.hpp"
#include "support/parse_json.hpp"
#include "support/eventually.hpp"

using namespace gm::test;
using namespace std::chrono_literals;

using gm::test::parse_json;
using gm::test::eventually;

namespace {

raw_response admin_get(const meter_process& m, const std::string& target) {
    raw_http_client c;
    c.connect("127.0.0.1", m.admin_port);
    c.send(raw_http_client::make_request("GET", target));
    return c.read_response();
}

// "name value" from the exposition text, -1 when the line is missing.
long long metric(const std::string& text, const std::string& name) {
    const auto at = text.find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    return std::stoll(text.substr(at + name.size() + 2));
}

// Locks the database from another connection, then makes `calls` proxied calls, each
// answered 200 while the lock holds. The lock lasts as long as the returned connection's
// transaction (ROLLBACK ends it).
std::unique_ptr<gm::storage::sqlite_conn> lock_database_and_call(meter_process& m, int calls) {
    auto blocker = std::make_unique<gm::storage::sqlite_conn>(m.db_path, gm::storage::sqlite_conn::mode::read_write,
                                                              30000);
    blocker->exec("BEGIN EXCLUSIVE");
    auto c = m.connect();
    for (int i = 0; i < calls; ++i) {
        c->send(raw_http_client::make_request("GET", "/v1beta/models?pageSize=5"));
        REQUIRE(c->read_response().status == 200);
    }
    return blocker;
}

// The /readyz answer once the instance is ready again with an empty journal backlog.
raw_response await_ready_and_drained(const meter_process& m) {
    raw_response r;
    REQUIRE(eventually([&] {
        r = admin_get(m, "/readyz");
        return r.status == 200 && parse_json(r.body)["journalBacklog"].GetInt64() == 0;
    }));
    return r;
}

}  // namespace

TEST_CASE("database locked: calls flow, /readyz is 503 with the journal backlog, then ready again with every call stored") {
    meter_process m;
    const int calls = 20;
    {
        auto blocker = lock_database_and_call(m, calls);
        rapidjson::Document j;
        raw_response r;
        REQUIRE(eventually([&] {
            r = admin_get(m, "/readyz");
            return r.status == 503;
        }));
        j = parse_json(r.body);
        CHECK(j["status"].GetString() == std::string("not ready"));
        CHECK_FALSE(j["databaseWritable"].GetBool());
        CHECK(j["journalBacklog"].GetInt64() == calls);
        CHECK(j["journalOnly"].GetInt64() == 0);
        CHECK(j["journalErrors"].GetInt64() == 0);
        CHECK(j["writerFailures"].GetInt64() > 0);
        CHECK(std::string(j["lastError"].GetString()).find("locked") != std::string::npos);
        r = admin_get(m, "/metrics");
        CHECK(metric(r.body, "gemini_meter_database_writable") == 0);
        CHECK(metric(r.body, "gemini_meter_journal_backlog") == calls);
        CHECK(metric(r.body, "gemini_meter_journal_only") == 0);
        blocker->exec("ROLLBACK");
    }
    raw_response r = await_ready_and_drained(m);
    auto j = parse_json(r.body);
    CHECK(j["databaseWritable"].GetBool());
    CHECK(j["journalOnly"].GetInt64() == 0);
    CHECK(j["writerWritten"].GetInt64() == calls);
    r = admin_get(m, "/metrics");
    CHECK(metric(r.body, "gemini_meter_database_writable") == 1);
    CHECK(metric(r.body, "gemini_meter_journal_backlog") == 0);
    m.stop();
    CHECK(m.rows().size() == calls);
}

TEST_CASE("database locked past --writer-max-queued: later calls wait only in the journal and are all stored after") {
    // A cap of 5 records in the writer's queue: of 20 calls made during the outage, 10 or
    // more are held only in the journal. The writer also holds the batch it keeps retrying,
    // taken from the queue before the queue filled again: 1 to 5 records, depending on how
    // many calls arrived within its batch delay (fewer on a loaded machine).
    meter_process m({"--writer-max-queued", "5"});
    const int calls = 20;
    {
        auto blocker = lock_database_and_call(m, calls);
        raw_response r;
        REQUIRE(eventually([&] {
            r = admin_get(m, "/readyz");
            return r.status == 503 && parse_json(r.body)["journalBacklog"].GetInt64() == calls;
        }));
        auto j = parse_json(r.body);
        const auto journal_only = j["journalOnly"].GetInt64();
        CHECK(journal_only >= calls - 2 * 5);
        CHECK(journal_only < calls);
        r = admin_get(m, "/metrics");
        CHECK(metric(r.body, "gemini_meter_journal_only") == journal_only);
        blocker->exec("ROLLBACK");
    }
    raw_response r = await_ready_and_drained(m);
    CHECK(parse_json(r.body)["journalOnly"].GetInt64() == 0);
    m.stop();
    const auto rows = m.rows();
    CHECK(rows.size() == calls);
}

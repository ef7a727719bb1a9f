// `gemini-meter report` on a real SQLite file of known rows: every figure of the text and
// JSON reports computed by hand here, the filters and range as the admin API reads them, and
// each bad flag or database refused with a clear error and the file left as it was.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "app/config.hpp"
#include "app/report_command.hpp"
#include "storage/migrations.hpp"
#include "storage/sqlite_batch_inserter.hpp"
#include "storage/test_records.hpp"
#include "support/parse_json.hpp"
#include "support/temp_dir.hpp"

using namespace gm;
using namespace gm::test;

namespace {

const std::int64_t now = at("2024-11-30T12:00:00Z");

// Four calls in the default 30 days (and one before): hand-computed figures below.
std::string known_database(temp_dir& dir) {
    const auto db = dir.file("usage.db");
    storage::migrate(db);
    std::vector<metering::usage_record> rows;
    // id, time, user (empty: guest), model, endpoint, bot, success, prompt, candidates, cost (pico-USD), duration
    auto add = [&](const char* id, const char* iso, const char* user, const char* model, const char* endpoint,
                   const char* bot, bool success, std::int64_t prompt, std::int64_t candidates, std::int64_t cost,
                   std::int64_t duration) {
        record_spec s;
        s.id = id;
        s.ms = at(iso);
        s.user = user;
        if (s.user == "u1") s.email = "u1@example.com";
        s.model = model;
        s.endpoint = endpoint;
        s.bot = bot;
        s.success = success;
        s.prompt = prompt;
        s.candidates = candidates;
        s.cost = cost;
        s.duration = duration;
        rows.push_back(make_record(s));
    };
    const char* flash = "gemini-2.5-flash";
    add("r1", "2024-11-20T10:00:00Z", "u1", flash, "chat", "b1", true, 1000, 200, 1'500'000'000, 100);
    add("r2", "2024-11-21T10:00:00Z", "u2", "gemini-2.5-pro", "analyze", "", true, 2000, 500, 7'500'000'000, 300);
    add("r3", "2024-11-22T10:00:00Z", "", flash, "chat", "", false, 10, 0, 0, 50);
    add("r4", "2024-11-29T10:00:00Z", "u1", flash, "chat", "b1", true, 500, 100, 750'000'000, 200);
    add("r5", "2024-10-01T10:00:00Z", "u3", flash, "chat", "", true, 9, 9, 100'000'000'000'000, 1);
    storage::sqlite_batch_inserter(db, 5000, 2000).commit(rows);
    return db;
}

app::app_config report_config(const std::string& db, std::vector<std::string> filters = {}) {
    app::app_config c;
    c.command = "report";
    c.database = "sqlite:" + db;
    c.report_filters = std::move(filters);
    return c;
}

std::string run(const app::app_config& c) {
    std::ostringstream out;
    app::run_report(c, now, out);
    return out.str();
}

bool has_line(const std::string& text, const std::string& line) {
    return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("report: the last 30 days by default, every total, breakdown, top user and projection") {
    temp_dir dir;
    const auto text = run(report_config(known_database(dir)));
    INFO(text);
    CHECK(has_line(text, "range         2024-10-31T12:00:00.000Z .. 2024-11-30T12:00:00.000Z (UTC, end excluded)"));
    CHECK(has_line(text, "filters       none"));
    CHECK(has_line(text, "calls         4 (3 successful, 1 failed; 1 guest, 3 registered)"));
    CHECK(has_line(text, "tokens        3510 input, 800 output, 4310 total (0 cached, 0 thinking)"));
    CHECK(has_line(text, "cost          0.009750 USD (9750000000 pico-USD)"));
    CHECK(has_line(text, "avg duration  163 ms"));  // 650 / 4 = 162.5, rounded half up
    CHECK(text.find("unpriced") == std::string::npos);
    // Most expensive first: pro (0.0075) before flash (0.00225, three calls, one failed).
    const auto pro = text.find("  gemini-2.5-pro ");
    const auto flash = text.find("  gemini-2.5-flash ");
    REQUIRE(pro != std::string::npos);
    REQUIRE(flash != std::string::npos);
    CHECK(pro < flash);
    CHECK(has_line(text, fmt::format("  {:<30} {:>10} {:>8} {:>14} {:>14} {:>18}", "gemini-2.5-flash", 3, 1, 1510, 300,
                                     "0.002250")));
    CHECK(has_line(text, fmt::format("  {:<30} {:>10} {:>8} {:>14} {:>14} {:>18}", "(none)", 2, 1, 2010, 500,
                                     "0.007500")));  // by bot: r2 and r3 have none
    CHECK(has_line(text, fmt::format("  {:<30} {:>10} {:>14} {:>18}", "u2", 1, 2500, "0.007500")));
    CHECK(has_line(text, fmt::format("  {:<30} {:>10} {:>14} {:>18}", "u1 <u1@example.com>", 2, 1800, "0.002250")));
    CHECK(text.find("u3") == std::string::npos);  // r5 is before the range
    CHECK(text.find(" guest") != std::string::npos);
    // Baseline: the 7 whole days before 2024-11-30, holding r4 only (0.00075 USD, one call).
    CHECK(has_line(text, "projection    from the 7 days 2024-11-23 .. 2024-11-29"));
    CHECK(has_line(text, "  per day     0.000107 USD, 0 calls"));   // 750000000 / 7 = 107142857
    CHECK(has_line(text, "  30 days     0.003214 USD, 4 calls"));   // × 30 / 7 = 3214285714; 30 / 7 = 4.3
}

TEST_CASE("report: range and filters as the admin API reads them") {
    temp_dir dir;
    const auto db = known_database(dir);
    SECTION("a date-only end covers that whole day") {
        auto c = report_config(db);
        c.report_start = "2024-11-21";
        c.report_end = "2024-11-21";
        const auto text = run(c);
        INFO(text);
        CHECK(has_line(text, "range         2024-11-21T00:00:00.000Z .. 2024-11-22T00:00:00.000Z (UTC, end excluded)"));
        CHECK(has_line(text, "calls         1 (1 successful, 0 failed; 0 guest, 1 registered)"));
    }
    SECTION("a user and a model filter together, named in the heading") {
        const auto text = run(report_config(db, {"userId=u1", "model=gemini-2.5-flash"}));
        INFO(text);
        CHECK(has_line(text, "filters       userId=u1, model=gemini-2.5-flash"));
        CHECK(has_line(text, "calls         2 (2 successful, 0 failed; 0 guest, 2 registered)"));
        CHECK(has_line(text, "cost          0.002250 USD (2250000000 pico-USD)"));
    }
    SECTION("guest calls only") {
        const auto text = run(report_config(db, {"guest=true"}));
        CHECK(has_line(text, "calls         1 (0 successful, 1 failed; 1 guest, 0 registered)"));
        CHECK(has_line(text, "  (no registered user called)"));
    }
    SECTION("the top-users limit") {
        auto c = report_config(db);
        c.report_limit = "1";
        const auto text = run(c);
        CHECK(text.find("u2 ") != std::string::npos);
        CHECK(text.find("u1 <u1@example.com>") == std::string::npos);
    }
    SECTION("an empty range reads zeros, not an error") {
        auto c = report_config(db);
        c.report_start = "2030-01-01";
        c.report_end = "2030-01-02";
        const auto text = run(c);
        CHECK(has_line(text, "calls         0 (0 successful, 0 failed; 0 guest, 0 registered)"));
        CHECK(has_line(text, "avg duration  -"));
        CHECK(has_line(text, "  (no calls)"));
    }
}

TEST_CASE("report --format json: the stats, top-users and projections endpoints' own documents") {
    temp_dir dir;
    auto c = report_config(known_database(dir));
    c.report_format = "json";
    const auto doc = parse_json(run(c));
    REQUIRE(doc.IsObject());
    const auto& stats = doc["stats"]["stats"];
    CHECK(stats["totalCalls"].GetInt64() == 4);
    CHECK(stats["totalCostPicoUSD"].GetInt64() == 9'750'000'000);
    CHECK(stats["byModel"]["gemini-2.5-pro"]["calls"].GetInt64() == 1);
    CHECK(doc["stats"]["dateRange"]["start"].GetString() == std::string("2024-10-31T12:00:00.000Z"));
    const auto& users = doc["topUsers"]["topUsers"];
    REQUIRE(users.Size() == 2);
    CHECK(users[0]["userId"].GetString() == std::string("u2"));
    CHECK(users[1]["email"].GetString() == std::string("u1@example.com"));
    CHECK(doc["projections"]["monthly"]["projectedCostPicoUSD"].GetInt64() == 3'214'285'714);
}

TEST_CASE("report: bad flags are configuration errors naming the flag") {
    temp_dir dir;
    const auto db = known_database(dir);
    auto refused = [&](app::app_config c, const std::string& part) {
        try {
            run(c);
            FAIL("accepted");
        } catch (const app::config_error& e) {
            CHECK_THAT(e.what(), Catch::Contains(part));
        }
    };
    auto with = [&](auto change) {
        auto c = report_config(db);
        change(c);
        return c;
    };
    refused(with([](auto& c) { c.report_start = "2024-13-01"; }), "--start: invalid startDate: '2024-13-01'");
    refused(with([](auto& c) { c.report_end = "yesterday"; }), "--end: invalid endDate");
    refused(with([](auto& c) { c.report_start = "2024-11-20"; c.report_end = "2024-11-10"; }),
            "--end: endDate must be after startDate");
    refused(with([](auto& c) { c.report_start = "2020-01-01"; c.report_end = "2024-01-01"; }),
            "the range is longer than 400 days");
    refused(with([](auto& c) { c.report_limit = "0"; }), "--limit: invalid limit: '0' (allowed: an integer in 1..1000)");
    refused(with([](auto& c) { c.report_limit = "ten"; }), "--limit: invalid limit");
    refused(with([](auto& c) { c.report_filters = {"color=red"}; }),
            "--filter: 'color=red' must be NAME=VALUE with NAME one of model, endpoint, botId, userId, guest, tag");
    refused(with([](auto& c) { c.report_filters = {"model"}; }), "--filter: 'model' must be NAME=VALUE");
    refused(with([](auto& c) { c.report_filters = {"model="}; }), "--filter model: model must not be empty");
    refused(with([](auto& c) { c.report_filters = {"guest=maybe"}; }), "--filter guest: invalid guest: 'maybe'");
    refused(with([](auto& c) { c.report_filters = {"model=a", "model=b"}; }), "given more than once");
    refused(with([](auto& c) { c.report_format = "xml"; }), "--format: 'xml' must be text or json");
}

TEST_CASE("report: a missing or outdated database is refused and left as it was") {
    temp_dir dir;
    SECTION("missing: not created") {
        const auto db = dir.file("none.db");
        CHECK_THROWS_WITH(run(report_config(db)), Catch::Contains("does not exist"));
        CHECK_FALSE(std::filesystem::exists(db));
    }
    SECTION("an older schema: not migrated") {
        const auto db = dir.file("old.db");
        storage::migrate_to(db, 3);
        CHECK_THROWS_WITH(run(report_config(db)),
                          Catch::Contains("is at schema version 3") && Catch::Contains("run `gemini-meter migrate` first"));
        CHECK(storage::migration_state(db).current == 3);
    }
    SECTION("not a database") {
        const auto db = dir.file("text.db");
        { std::ofstream(db) << "hello, not SQLite at all, but long enough to have a header of sorts\n"; }
        CHECK_THROWS(run(report_config(db)));
    }
}

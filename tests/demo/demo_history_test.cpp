#include "app/demo/demo_history.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <stdexcept>
#include <string>

#include "app/demo/demo_catalog.hpp"
#include "metering/pricing_table.hpp"
#include "storage/migrations.hpp"
#include "storage/sqlite_batch_inserter.hpp"
#include "storage/sqlite_conn.hpp"
#include "storage/sqlite_store.hpp"
#include "storage/utc_time.hpp"
#include "support/temp_dir.hpp"

using gm::demo::fill_history;
using gm::demo::history_options;
using gm::storage::sqlite_conn;

namespace {

// 2026-03-15T13:45:00Z: a fixed "now", so the days filled are known.
constexpr std::int64_t now_ms = 1'773'582'300'000;

long long count_rows(const std::string& db) {
    sqlite_conn conn(db, sqlite_conn::mode::read_only);
    auto st = conn.prepare("SELECT COUNT(*) FROM ApiUsage");
    st.step();
    return st.col_int(0);
}

}  // namespace

TEST_CASE("demo_history: an empty database gets every one of the days, priced by the table", "[demo_history]") {
    gm::test::temp_dir dir;
    const std::string db = dir.file("usage.db");
    history_options o;
    o.days = 7;
    o.calls_per_day = 200;
    const auto r = fill_history(db, o, now_ms);
    CHECK(r.filled);
    CHECK(r.existing_rows == 0);
    CHECK(r.rows == 7 * 200);
    CHECK(count_rows(db) == 7 * 200);
    // Whole UTC days, ending where "today" begins.
    const std::int64_t today = gm::storage::utc_day(now_ms);
    CHECK(r.end_ms == gm::storage::day_start_ms(today));
    CHECK(r.start_ms == gm::storage::day_start_ms(today - 7));
    CHECK(r.message.find("1400 calls") != std::string::npos);

    const auto& table = gm::metering::pricing_table::builtin();
    const auto cat = gm::demo::make_demo_catalog(o.users);
    sqlite_conn conn(db, sqlite_conn::mode::read_only);
    auto st = conn.prepare(
        "SELECT createdAtMs, model, endpoint, userId, success, inputTokens, outputTokens, totalTokens, cachedTokens, "
        "thoughtsTokens, costPicoUsd, priced, priceVersion FROM ApiUsage");
    std::map<std::int64_t, long long> per_day;
    long long failed = 0, guests = 0;
    while (st.step()) {
        const std::int64_t ms = st.col_int(0);
        ++per_day[gm::storage::utc_day(ms)];
        const std::string model = st.col_text(1);
        INFO(model);
        CHECK(std::find(cat.models.begin(), cat.models.end(), model) != cat.models.end());
        CHECK(std::find(cat.endpoints.begin(), cat.endpoints.end(), st.col_text(2)) != cat.endpoints.end());
        guests += st.col_null(3);
        if (!st.col_int(4)) {
            // An error carries no usage and costs nothing, as a live one.
            ++failed;
            CHECK(st.col_int(7) == 0);
            CHECK(st.col_int(10) == 0);
            continue;
        }
        gm::metering::token_counts t;
        t.prompt = st.col_int(5);
        t.thoughts = st.col_int(9);
        t.candidates = st.col_int(6) - t.thoughts;
        t.cached = st.col_int(8);
        t.total = st.col_int(7);
        CHECK(t.total == t.prompt + t.candidates + t.thoughts);
        CHECK(t.prompt >= 100);
        CHECK(t.candidates >= 10);
        const auto price = table.price(model, t);
        REQUIRE(price.priced);
        CHECK(st.col_int(11) == 1);
        CHECK(st.col_int(10) > 0);
        CHECK(st.col_int(10) == price.cost_pico_usd);
        CHECK(st.col_text(12) == table.version());
    }
    CHECK(per_day.size() == 7);
    for (std::int64_t d = today - 7; d < today; ++d) {
        INFO(gm::storage::format_date(d));
        CHECK(per_day[d] > 50);  // 200 on average; weekends fewer
    }
    CHECK(failed > 0);
    CHECK(guests > 0);

    // The rollups the dashboard reads were written with the rows.
    auto store = gm::storage::sqlite_store::open(db);
    auto q = store->open_reader();
    const auto stats = q->stats({r.start_ms, r.end_ms}, {});
    CHECK(stats.totals.calls == 7 * 200);
    CHECK(stats.totals.failed_calls == failed);
    CHECK(stats.totals.unpriced_calls == failed);
    CHECK(stats.by_model.size() >= 3);
}

TEST_CASE("demo_history: weekends are quieter and the later weeks busier", "[demo_history]") {
    gm::test::temp_dir dir;
    const std::string db = dir.file("usage.db");
    history_options o;
    o.days = 28;
    o.calls_per_day = 100;
    const auto r = fill_history(db, o, now_ms);
    REQUIRE(r.rows == 2800);
    sqlite_conn conn(db, sqlite_conn::mode::read_only);
    auto st = conn.prepare("SELECT createdAtMs / 86400000, COUNT(*) FROM ApiUsage GROUP BY 1 ORDER BY 1");
    double weekend = 0, weekday = 0, first_week = 0, last_week = 0;
    int weekend_days = 0, weekday_days = 0, days = 0;
    while (st.step()) {
        const std::int64_t day = st.col_int(0);
        const auto n = static_cast<double>(st.col_int(1));
        const bool is_weekend = (day + 4) % 7 == 0 || (day + 4) % 7 == 6;  // 1970-01-01 was a Thursday
        (is_weekend ? weekend : weekday) += n;
        ++(is_weekend ? weekend_days : weekday_days);
        if (days < 7) first_week += n;
        if (days >= 21) last_week += n;
        ++days;
    }
    CHECK(days == 28);
    REQUIRE(weekend_days == 8);
    CHECK(weekend / weekend_days < 0.75 * weekday / weekday_days);
    CHECK(last_week > 1.3 * first_week);
}

TEST_CASE("demo_history: a database that has calls is left as it is", "[demo_history]") {
    gm::test::temp_dir dir;
    const std::string db = dir.file("usage.db");
    SECTION("one real call") {
        gm::storage::migrate(db);
        gm::metering::usage_record rec;
        rec.id = "one-real-call";
        rec.created_at_ms = now_ms;
        rec.model = "gemini-2.5-flash";
        rec.endpoint = "chat";
        rec.success = true;
        {
            gm::storage::sqlite_batch_inserter ins(db, 5000, 1024);
            REQUIRE(ins.commit({rec}) == 1);
        }
        const auto r = fill_history(db, {}, now_ms);
        CHECK_FALSE(r.filled);
        CHECK(r.existing_rows == 1);
        CHECK(r.rows == 0);
        CHECK(r.message.find("left as it is") != std::string::npos);
        CHECK(count_rows(db) == 1);
    }
    SECTION("a second demo start") {
        history_options o;
        o.days = 2;
        o.calls_per_day = 50;
        REQUIRE(fill_history(db, o, now_ms).filled);
        const auto again = fill_history(db, o, now_ms + gm::storage::ms_per_day);
        CHECK_FALSE(again.filled);
        CHECK(again.existing_rows == 100);
        CHECK(count_rows(db) == 100);
    }
}

TEST_CASE("demo_history: the same options give the same calls", "[demo_history]") {
    gm::test::temp_dir dir;
    history_options o;
    o.days = 3;
    o.calls_per_day = 100;
    fill_history(dir.file("a.db"), o, now_ms);
    fill_history(dir.file("b.db"), o, now_ms);
    auto summary = [](const std::string& db) {
        sqlite_conn conn(db, sqlite_conn::mode::read_only);
        // The ids are the proxy's own (random part): everything else is the same.
        auto st = conn.prepare(
            "SELECT group_concat(createdAtMs || model || endpoint || ifnull(userId, '-') || totalTokens || costPicoUsd, ',') "
            "FROM (SELECT * FROM ApiUsage ORDER BY createdAtMs, totalTokens, model)");
        st.step();
        return st.col_text(0);
    };
    CHECK(summary(dir.file("a.db")) == summary(dir.file("b.db")));
}

TEST_CASE("demo_history: bad options are rejected by name", "[demo_history]") {
    gm::test::temp_dir dir;
    const std::string db = dir.file("usage.db");
    history_options o;
    o.days = 0;
    CHECK_THROWS_WITH(fill_history(db, o, now_ms), Catch::Contains("days"));
    o.days = -3;
    CHECK_THROWS_AS(fill_history(db, o, now_ms), std::invalid_argument);
    o = {};
    o.calls_per_day = 0;
    CHECK_THROWS_WITH(fill_history(db, o, now_ms), Catch::Contains("calls_per_day"));
    o = {};
    o.users = 0;
    CHECK_THROWS_WITH(fill_history(db, o, now_ms), Catch::Contains("users"));
}

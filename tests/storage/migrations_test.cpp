#include "storage/migrations.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include "storage/rollup_columns.hpp"
#include "storage/sqlite_conn.hpp"
#include "storage/sqlite_queries.hpp"
#include "storage/sqlite_store.hpp"
#include "support/temp_dir.hpp"
#include "test_records.hpp"

using namespace gm::storage;
using gm::test::query_int;

namespace {

// Tables, columns (name, type, not null, default, pk) and indexes (name, unique, columns).
std::string describe_schema(const std::string& db) {
    sqlite_conn c(db, sqlite_conn::mode::read_write);
    std::ostringstream out;
    auto triggers = c.prepare("SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger' ORDER BY name");
    while (triggers.step()) out << "trigger " << triggers.col_text(0) << " on " << triggers.col_text(1) << "\n";
    auto tables = c.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
    while (tables.step()) {
        const std::string t = tables.col_text(0);
        out << "table " << t << "\n";
        auto cols = c.prepare("SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?)");
        cols.bind(1, t);
        while (cols.step())
            out << "  " << cols.col_text(0) << " " << cols.col_text(1) << " nn=" << cols.col_int(2)
                << " d=" << cols.col_text(3) << " pk=" << cols.col_int(4) << "\n";
        auto idx = c.prepare("SELECT name, \"unique\" FROM pragma_index_list(?) ORDER BY name");
        idx.bind(1, t);
        while (idx.step()) {
            out << "  index " << idx.col_text(0) << " u=" << idx.col_int(1) << ":";
            auto ic = c.prepare("SELECT name FROM pragma_index_info(?) ORDER BY seqno");
            ic.bind(1, idx.col_text(0));
            while (ic.step()) out << " " << ic.col_text(0);
            out << "\n";
        }
    }
    out << "user_version " << query_int(db, "PRAGMA user_version") << "\n";
    return out.str();
}

// The first version's database, as that version (or the Node.js tracker) left it.
void make_version1_db(const std::string& path) {
    sqlite_conn c(path, sqlite_conn::mode::read_write_create);
    c.exec(R"sql(
CREATE TABLE ApiUsage (
  id TEXT NOT NULL PRIMARY KEY, userId TEXT, isGuest BOOLEAN NOT NULL DEFAULT 1, endpoint TEXT NOT NULL,
  model TEXT NOT NULL, botId TEXT, inputTokens INTEGER NOT NULL DEFAULT 0, outputTokens INTEGER NOT NULL DEFAULT 0,
  totalTokens INTEGER NOT NULL DEFAULT 0, estimatedCostUSD DECIMAL(10,6) NOT NULL DEFAULT 0, durationMs INTEGER,
  success BOOLEAN NOT NULL DEFAULT 1, errorMessage TEXT, metadata TEXT,
  createdAt TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')));
CREATE INDEX ApiUsage_userId_idx ON ApiUsage(userId);
CREATE INDEX ApiUsage_createdAt_idx ON ApiUsage(createdAt);
CREATE INDEX ApiUsage_model_idx ON ApiUsage(model);
CREATE INDEX ApiUsage_endpoint_idx ON ApiUsage(endpoint);
INSERT INTO ApiUsage VALUES ('v1a', 'u1', 0, 'chat', 'gemini-2.5-flash', 'g-socratic', 500, 300, 800, 0.024, 1200, 1,
  NULL, '{"note":"old"}', '2024-11-06T10:30:00.123Z');
INSERT INTO ApiUsage VALUES ('v1b', NULL, 1, 'analyze', 'gemini-2.5-pro', NULL, 1000, 100, 1100, 1.5, NULL, 0,
  'boom', NULL, '2024-11-06 23:59:59');
INSERT INTO ApiUsage VALUES ('v1c', 'u1', 0, 'chat', 'gemini-2.5-flash', NULL, 10, 5, 15, 0.000001, 50, 1,
  NULL, NULL, '2024-11-07T00:00:00.000Z');
PRAGMA user_version = 1;
)sql");
}

// Removes what versions 11 and 12 added, for tests that take a database made at the latest
// version back to version 10 or older.
constexpr const char* drop_v11_tables =
    "DROP TRIGGER UsageFoldedRollups_reprice; DROP TABLE UsageMonthlyUserSums; DROP TABLE UsageDailyDimPair; "
    "DROP TABLE UsageMonthlyDim;";
// Removes what versions 9 to 12 added, for tests that take a database made at the latest
// version back to version 8 or older.
const std::string drop_v9_tables = std::string(drop_v11_tables) +
                                   "DROP TABLE UsageHourlyUser; DROP TABLE UsageDailyUserOneDim; "
                                   "DROP TABLE UsageHourlyUserDim; DROP TABLE UsageRollupState;";

// A table's rows in a stable order as text (NULL as "-"), to compare what a migration built
// with what the writer keeps.
std::string dump_table(const std::string& db, const char* table, const char* order, int columns) {
    sqlite_conn c(db, sqlite_conn::mode::read_write);
    auto st = c.prepare(fmt::format("SELECT * FROM {} ORDER BY {}", table, order));
    std::ostringstream out;
    while (st.step()) {
        for (int i = 0; i < columns; ++i) out << (st.col_null(i) ? std::string("-") : st.col_text(i)) << ",";
        out << "\n";
    }
    return out.str();
}

// 300 calls step_ms apart from base, through the real writer: six users and guests, two
// models, two endpoints, two bots, failures, unpriced calls.
void write_varied_calls(const std::string& db, const char* id_prefix, std::int64_t base, std::int64_t step_ms) {
    auto store = sqlite_store::open(db);
    for (int i = 0; i < 300; ++i) {
        gm::test::record_spec r;
        r.id = fmt::format("{}{:04}", id_prefix, i);
        r.ms = base + std::int64_t{i} * step_ms;
        if (i % 4) r.user = fmt::format("u{}", i % 6);
        r.model = i % 2 ? "flash" : "pro";
        r.endpoint = i % 3 ? "chat" : "analyze";
        if (i % 5 < 2) r.bot = i % 5 ? "b1" : "b2";
        r.success = i % 9 != 0;
        r.prompt = i % 17;
        r.candidates = i % 5;
        r.cost = i * 10;
        r.priced = i % 7 != 0;
        r.duration = i;
        store->sink().submit(gm::test::make_record(r));
    }
    REQUIRE(store->flush(std::chrono::seconds(30)));
}

}  // namespace

TEST_CASE("migrations: an empty file migrates to the latest version", "[migrations]") {
    gm::test::temp_dir dir;
    const std::string db = dir.file("usage.db");
    auto before = migration_state(db);
    CHECK(before.current == 0);
    CHECK(before.latest == latest_schema_version());
    CHECK(before.pending.size() == static_cast<std::size_t>(latest_schema_version()));
    migrate(db);
    auto after = migration_state(db);
    CHECK(after.current == latest_schema_version());
    CHECK(after.pending.empty());
    CHECK(after.up_to_date());
    sqlite_conn c(db, sqlite_conn::mode::read_write);
    auto mode = c.prepare("PRAGMA journal_mode");
    REQUIRE(mode.step());
    CHECK(mode.col_text(0) == "wal");
}

TEST_CASE("migrations: applying twice changes nothing", "[migrations]") {
    gm::test::temp_dir dir;
    const std::string db = dir.file("usage.db");
    migrate(db);
    const auto first = describe_schema(db);
    migrate(db);
    CHECK(describe_schema(db) == first);
}

TEST_CASE("migrations: schema.sql describes exactly what the migrations build", "[migrations]") {
    gm::test::temp_dir dir;
    const std::string migrated = dir.file("migrated.db");
    const std::string from_file = dir.file("from_file.db");
    migrate(migrated);
    std::ifstream in(GM_SCHEMA_SQL);
    REQUIRE(in);
    std::stringstream sql;
    sql << in.rdbuf();
    {
        sqlite_conn c(from_file, sqlite_conn::mode::read_write_create);
        c.exec(sql.str());
    }
    CHECK(describe_schema(from_file) == describe_schema(migrated));
}

TEST_CASE("migrations: a version 1 database upgrades in place with its rows intact", "[migrations]") {
    gm::test::temp_dir dir;
    const std::string db = dir.file("v1.db");
    make_version1_db(db);
    auto st = migration_state(db);
    CHECK(st.current == 1);
    REQUIRE(st.pending.size() == static_cast<std::size_t>(latest_schema_version() - 1));
    CHECK(st.pending[0].rfind("2:", 0) == 0);

    migrate(db);
    CHECK(migration_state(db).current == latest_schema_version());
    CHECK(query_int(db, "SELECT COUNT(*) FROM ApiUsage") == 3);
    // Backfilled columns: exact cost from the decimal, milliseconds from the text, and the
    // Prisma-style "YYYY-MM-DD HH:MM:SS" rewritten in the sortable ISO form.
    CHECK(query_int(db, "SELECT costPicoUsd FROM ApiUsage WHERE id = 'v1a'") == 24'000'000'000);
    CHECK(query_int(db, "SELECT costPicoUsd FROM ApiUsage WHERE id = 'v1c'") == 1'000'000);
    CHECK(query_int(db, "SELECT createdAtMs FROM ApiUsage WHERE id = 'v1a'") == gm::test::at("2024-11-06T10:30:00.123Z"));
    CHECK(query_int(db, "SELECT createdAtMs FROM ApiUsage WHERE id = 'v1b'") == gm::test::at("2024-11-06T23:59:59Z"));
    CHECK(query_int(db, "SELECT createdAt = '2024-11-06T23:59:59.000Z' FROM ApiUsage WHERE id = 'v1b'") == 1);
    CHECK(query_int(db, "SELECT metadata = '{\"note\":\"old\"}' FROM ApiUsage WHERE id = 'v1a'") == 1);
    CHECK(query_int(db, "SELECT COUNT(*) FROM UsageUser") == 1);

    // The rollups built from the old rows answer the read side.
    sqlite_queries q(db);
    const time_range nov6{gm::test::at("2024-11-06"), gm::test::at("2024-11-07")};
    const auto s = q.stats(nov6, {});
    CHECK(s.totals.calls == 2);
    CHECK(s.totals.failed_calls == 1);
    CHECK(s.totals.guest_calls == 1);
    CHECK(s.totals.input_tokens == 1500);
    CHECK(s.totals.cost_pico_usd == 1'524'000'000'000);
    CHECK(s.totals.duration_count == 1);
    CHECK(s.totals.duration_ms_sum == 1200);
    const auto top = q.top_users({gm::test::at("2024-11-01"), gm::test::at("2024-11-08")}, {}, 10);
    REQUIRE(top.size() == 1);
    CHECK(top[0].user_id == "u1");
    CHECK(top[0].totals.calls == 2);
    CHECK(top[0].totals.cost_pico_usd == 24'001'000'000);

    // And the store writes new rows beside them.
    auto store = sqlite_store::open(db);
    gm::test::record_spec r;
    r.id = "new1";
    r.ms = gm::test::at("2024-11-06T12:00:00Z");
    r.cost = 5;
    store->sink().submit(gm::test::make_record(r));
    REQUIRE(store->flush(std::chrono::seconds(30)));
    CHECK(q.stats(nov6, {}).totals.calls == 3);
}

TEST_CASE("migrations: a database from a newer program is refused", "[migrations]") {
    gm::test::temp_dir dir;
    const std::string db = dir.file("usage.db");
    migrate(db);
    {
        sqlite_conn c(db, sqlite_conn::mode::read_write);
        c.exec("PRAGMA user_version = 99");
    }
    CHECK_THROWS_WITH(migrate(db), Catch::Contains("newer"));
    CHECK(migration_state(db).current == 99);
}

TEST_CASE("migrations: a version 2 database upgrades with hourly, tag and monthly user rollups built from its rows",
          "[migrations]") {
    gm::test::temp_dir dir;
    const std::string db = dir.file("v2.db");
    migrate_to(db, 2);
    REQUIRE(migration_state(db).current == 2);
    {
        // Rows as version 2 stored them (rollups of version 2 built by the same statements
        // that its migration used, so the database is what version 2 would have left).
        sqlite_conn c(db, sqlite_conn::mode::read_write);
        c.exec(R"sql(
INSERT INTO ApiUsage (id, userId, isGuest, endpoint, model, botId, inputTokens, outputTokens, totalTokens,
  estimatedCostUSD, durationMs, success, metadata, createdAt, costPicoUsd, createdAtMs) VALUES
 ('a', 'u1', 0, 'chat', 'flash', NULL, 10, 5, 15, 0, 100, 1,
  '{"tags":{"team":"red","team":"red"},"ending":"completed"}', '2024-11-06T10:15:00.000Z', 1000, 1730888100000),
 ('b', NULL, 1, 'chat', 'pro', 'b1', 20, 5, 25, 0, 50, 1,
  '{"tags":{"team":"blue"}}', '2024-11-06T10:45:00.000Z', 2000, 1730889900000),
 ('c', 'u2', 0, 'analyze', 'flash', NULL, 1, 1, 2, 0, 10, 0,
  '{"tags":{"team":"red","n":5}}', '2024-11-06T11:30:00.000Z', 4000, 1730892600000),
 ('d', 'u1', 0, 'chat', 'flash', NULL, 1, 1, 2, 0, 10, 1, 'not json', '2024-11-07T01:00:00.000Z', 8000,
  1730941200000);
INSERT INTO UsageDaily (day, model, endpoint, botId, isGuest, calls, costPicoUsd)
  SELECT createdAtMs / 86400000, model, endpoint, COALESCE(botId, ''), isGuest, COUNT(*), SUM(costPicoUsd)
  FROM ApiUsage GROUP BY 1, 2, 3, 4, 5;
INSERT INTO UsageDailyUser (day, userId, calls, costPicoUsd)
  SELECT createdAtMs / 86400000, userId, COUNT(*), SUM(costPicoUsd) FROM ApiUsage WHERE userId IS NOT NULL
  GROUP BY 1, 2;
)sql");
    }
    const auto st = migration_state(db);
    REQUIRE(st.pending.size() == static_cast<std::size_t>(latest_schema_version() - 2));
    CHECK(st.pending[0].rfind("3:", 0) == 0);
    migrate(db);
    CHECK(migration_state(db).current == latest_schema_version());
    // Version 4: November 2024 is month (2024 - 1970) * 12 + 10.
    CHECK(query_int(db, "SELECT costPicoUsd FROM UsageMonthlyUser WHERE month = 658 AND userId = 'u1'") == 9000);
    CHECK(query_int(db, "SELECT COUNT(*) FROM UsageMonthlyUser") == 2);
    CHECK(query_int(db, "SELECT COUNT(*) FROM ApiUsage") == 4);
    CHECK(query_int(db, "SELECT SUM(calls) FROM UsageHourly") == 4);
    CHECK(query_int(db, "SELECT SUM(costPicoUsd) FROM UsageHourly WHERE hour = 1730887200000 / 3600000") == 3000);
    // 'a' has team=red twice: counted once. 'c''s numeric tag is not a text value.
    CHECK(query_int(db, "SELECT SUM(calls) FROM UsageHourlyTag WHERE name = 'team' AND value = 'red'") == 2);
    CHECK(query_int(db, "SELECT SUM(costPicoUsd) FROM UsageDailyTag WHERE name = 'team' AND value = 'red'") == 5000);
    CHECK(query_int(db, "SELECT COUNT(*) FROM UsageHourlyTag WHERE name = 'n'") == 0);

    // The read side answers an unaligned, tag-filtered range from the new rollups.
    sqlite_queries q(db);
    usage_filter red;
    red.tag = "team=red";
    const auto s = q.stats({gm::test::at("2024-11-06T10:00:00Z"), gm::test::at("2024-11-06T12:00:00Z")}, red);
    CHECK(s.totals.calls == 2);
    CHECK(s.totals.cost_pico_usd == 5000);
    CHECK(s.totals.failed_calls == 1);
    REQUIRE(s.by_endpoint.size() == 2);
    CHECK(s.by_endpoint[0].key == "analyze");
}

TEST_CASE("migrations: a version 4 database gains a per-day user rollup by model, endpoint and bot",
          "[migrations]") {
    gm::test::temp_dir dir;
    const std::string db = dir.file("v4.db");
    migrate_to(db, 4);
    REQUIRE(migration_state(db).current == 4);
    const std::int64_t nov6 = gm::test::at("2024-11-06T10:00:00Z");
    const std::int64_t day6 = nov6 / 86'400'000;
    {
        // Rows as version 4 stored them, and its per-day user rollup built from them; then,
        // as retention would leave it, user u1's rollup of 2024-10-01 without its rows and a
        // removed call of u2 still counted on 2024-11-06.
        sqlite_conn c(db, sqlite_conn::mode::read_write);
        c.exec(fmt::format(R"sql(
INSERT INTO ApiUsage (id, userId, isGuest, endpoint, model, botId, inputTokens, outputTokens, totalTokens,
  estimatedCostUSD, durationMs, success, createdAt, costPicoUsd, createdAtMs) VALUES
 ('a', 'u1', 0, 'chat', 'flash', NULL, 10, 5, 15, 0, 100, 1, '', 1000, {0}),
 ('b', 'u1', 0, 'chat', 'pro', 'b1', 20, 5, 25, 0, 50, 1, '', 2000, {0} + 1000),
 ('c', 'u1', 0, 'chat', 'flash', NULL, 1, 1, 2, 0, 10, 0, '', 4000, {0} + 2000),
 ('d', 'u2', 1, 'analyze', 'flash', NULL, 1, 1, 2, 0, 10, 1, '', 8000, {0} + 3000),
 ('e', NULL, 1, 'analyze', 'flash', NULL, 1, 1, 2, 0, 10, 1, '', 16000, {0} + 4000);
INSERT INTO UsageDailyUser (day, userId, calls, successfulCalls, guestCalls, inputTokens, outputTokens, totalTokens,
  costPicoUsd, durationMsSum, durationCount)
  SELECT createdAtMs / 86400000, userId, COUNT(*), SUM(success), SUM(isGuest), SUM(inputTokens), SUM(outputTokens),
         SUM(totalTokens), SUM(costPicoUsd), SUM(durationMs), COUNT(durationMs)
  FROM ApiUsage WHERE userId IS NOT NULL GROUP BY 1, 2;
INSERT INTO UsageDailyUser (day, userId, calls, successfulCalls, totalTokens, costPicoUsd)
  VALUES ({1} - 36, 'u1', 7, 7, 70, 700);
UPDATE UsageDailyUser SET calls = calls + 1, successfulCalls = successfulCalls + 1, costPicoUsd = costPicoUsd + 50
  WHERE day = {1} AND userId = 'u2';
)sql",
                           nov6, day6));
    }
    const auto st = migration_state(db);
    REQUIRE(st.pending.size() == static_cast<std::size_t>(latest_schema_version() - 4));
    CHECK(st.pending[0].rfind("5:", 0) == 0);
    migrate(db);
    CHECK(migration_state(db).current == latest_schema_version());
    CHECK(query_int(db, "SELECT COUNT(*) FROM ApiUsage") == 5);
    CHECK(query_int(db, "SELECT COUNT(*) FROM UsageDailyUser") == 3);  // unchanged
    CHECK(query_int(db, "SELECT COUNT(*) FROM UsageDailyUserDim") == 5);
    CHECK(query_int(db, fmt::format("SELECT calls FROM UsageDailyUserDim WHERE day = {} AND userId = 'u1' AND "
                                    "model = 'flash' AND endpoint = 'chat' AND botId = '' AND isGuest = 0",
                                    day6)) == 2);
    CHECK(query_int(db, fmt::format("SELECT costPicoUsd FROM UsageDailyUserDim WHERE day = {} AND userId = 'u1' AND "
                                    "model = 'pro' AND botId = 'b1'",
                                    day6)) == 2000);
    CHECK(query_int(db, fmt::format("SELECT isGuest FROM UsageDailyUserDim WHERE day = {} AND userId = 'u2' AND "
                                    "model = 'flash'",
                                    day6)) == 1);
    // What the old rollup held beyond the rows present stays, under empty keys.
    CHECK(query_int(db, fmt::format("SELECT calls FROM UsageDailyUserDim WHERE day = {} AND userId = 'u1' AND "
                                    "model = '' AND endpoint = '' AND botId = ''",
                                    day6 - 36)) == 7);
    CHECK(query_int(db, fmt::format("SELECT costPicoUsd FROM UsageDailyUserDim WHERE day = {} AND userId = 'u2' AND "
                                    "model = ''",
                                    day6)) == 50);
    CHECK(query_int(db, "SELECT SUM(calls) FROM UsageDailyUserDim") == 4 + 7 + 1);
    CHECK(query_int(db, "SELECT SUM(costPicoUsd) FROM UsageDailyUserDim") ==
          query_int(db, "SELECT SUM(costPicoUsd) FROM UsageDailyUser"));

    // A user's totals and breakdowns come from the new rollup (the old day keeps its totals).
    sqlite_queries q(db);
    usage_filter u1;
    u1.user_id = "u1";
    const auto s = q.stats({gm::test::at("2024-11-06"), gm::test::at("2024-11-07")}, u1);
    CHECK(s.totals.calls == 3);
    CHECK(s.totals.failed_calls == 1);
    CHECK(s.totals.cost_pico_usd == 7000);
    REQUIRE(s.by_model.size() == 2);
    CHECK(s.by_model[0].key == "flash");
    CHECK(s.by_model[0].totals.calls == 2);
    CHECK(s.by_model[1].totals.cost_pico_usd == 2000);
    REQUIRE(s.by_bot.size() == 2);
    CHECK(s.by_bot[1].key == "b1");
    const auto old = q.stats({gm::test::at("2024-10-01"), gm::test::at("2024-10-02")}, u1);
    CHECK(old.totals.calls == 7);
    CHECK(old.totals.cost_pico_usd == 700);
}

TEST_CASE("migrations: a database made by the first form of version 5 is repaired by version 6", "[migrations]") {
    gm::test::temp_dir dir;
    const std::string db = dir.file("v5a.db");
    const std::string fresh = dir.file("fresh.db");
    migrate_to(db, 4);
    const std::int64_t nov6 = gm::test::at("2024-11-06T10:00:00Z");
    {
        // Version 4 rows and rollup, then what commit 0b42c9b's version 5 did: UsageDailyUser
        // replaced by a table keyed also by model, endpoint, bot and guest.
        sqlite_conn c(db, sqlite_conn::mode::read_write);
        c.exec(fmt::format(R"sql(
INSERT INTO ApiUsage (id, userId, isGuest, endpoint, model, botId, inputTokens, outputTokens, totalTokens,
  estimatedCostUSD, durationMs, success, createdAt, costPicoUsd, createdAtMs) VALUES
 ('a', 'u1', 0, 'chat', 'flash', NULL, 10, 5, 15, 0, 100, 1, '', 1000, {0}),
 ('b', 'u1', 0, 'chat', 'pro', 'b1', 20, 5, 25, 0, 50, 1, '', 2000, {0} + 1000),
 ('c', 'u2', 1, 'analyze', 'flash', NULL, 1, 1, 2, 0, 10, 0, '', 4000, {0} + 2000);
INSERT INTO UsageMonthlyUser (month, userId, costPicoUsd)
  SELECT 658, userId, SUM(costPicoUsd) FROM ApiUsage WHERE userId IS NOT NULL GROUP BY userId;
CREATE TABLE UsageDailyUser5 (
  day INTEGER NOT NULL, userId TEXT NOT NULL, model TEXT NOT NULL, endpoint TEXT NOT NULL, botId TEXT NOT NULL,
  isGuest INTEGER NOT NULL, calls INTEGER NOT NULL DEFAULT 0, successfulCalls INTEGER NOT NULL DEFAULT 0,
  guestCalls INTEGER NOT NULL DEFAULT 0, inputTokens INTEGER NOT NULL DEFAULT 0,
  outputTokens INTEGER NOT NULL DEFAULT 0, totalTokens INTEGER NOT NULL DEFAULT 0,
  cachedTokens INTEGER NOT NULL DEFAULT 0, thoughtsTokens INTEGER NOT NULL DEFAULT 0,
  costPicoUsd INTEGER NOT NULL DEFAULT 0, durationMsSum INTEGER NOT NULL DEFAULT 0,
  durationCount INTEGER NOT NULL DEFAULT 0, unpricedCalls INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (day, userId, model, endpoint, botId, isGuest)
) WITHOUT ROWID;
INSERT INTO UsageDailyUser5 (day, userId, model, endpoint, botId, isGuest, calls, successfulCalls, guestCalls,
  inputTokens, outputTokens, totalTokens, costPicoUsd, durationMsSum, durationCount)
  SELECT createdAtMs / 86400000, userId, model, endpoint, COALESCE(botId, ''), isGuest, COUNT(*), SUM(success),
         SUM(isGuest), SUM(inputTokens), SUM(outputTokens), SUM(totalTokens), SUM(costPicoUsd), SUM(durationMs),
         COUNT(durationMs)
  FROM ApiUsage WHERE userId IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6;
DROP TABLE UsageDailyUser;
ALTER TABLE UsageDailyUser5 RENAME TO UsageDailyUser;
PRAGMA user_version = 5;
)sql",
                           nov6));
    }
    migrate(db);
    migrate(fresh);
    CHECK(describe_schema(db) == describe_schema(fresh));
    CHECK(query_int(db, "SELECT COUNT(*) FROM ApiUsage") == 3);
    CHECK(query_int(db, "SELECT COUNT(*) FROM UsageDailyUserDim") == 3);
    CHECK(query_int(db, "SELECT COUNT(*) FROM UsageDailyUser") == 2);
    CHECK(query_int(db, "SELECT calls FROM UsageDailyUser WHERE userId = 'u1'") == 2);
    CHECK(query_int(db, "SELECT costPicoUsd FROM UsageDailyUser WHERE userId = 'u1'") == 3000);

    sqlite_queries q(db);
    const time_range day{gm::test::at("2024-11-06"), gm::test::at("2024-11-07")};
    const auto top = q.top_users(day, {}, 10);
    REQUIRE(top.size() == 2);
    CHECK(top[0].user_id == "u2");
    CHECK(top[1].totals.cost_pico_usd == 3000);
    usage_filter u1;
    u1.user_id = "u1";
    const auto s = q.stats(day, u1);
    CHECK(s.totals.calls == 2);
    REQUIRE(s.by_model.size() == 2);
    CHECK(s.by_model[1].key == "pro");
    CHECK(s.by_model[1].totals.cost_pico_usd == 2000);
    // Applying it again to a right database changes nothing.
    const auto before = describe_schema(fresh);
    migrate(fresh);
    CHECK(describe_schema(fresh) == before);
}

TEST_CASE("migrations: version 7 builds the one-dimension hourly and tag rollups as the writer keeps them",
          "[migrations]") {
    gm::test::temp_dir dir;
    const std::string db = dir.file("usage.db");
    {
        auto store = sqlite_store::open(db);
        const std::int64_t base = gm::test::at("2024-11-06T00:00:00Z");
        for (int i = 0; i < 200; ++i) {
            gm::test::record_spec r;
            r.id = fmt::format("m{:04}", i);
            r.ms = base + i * 1'234'567;  // about 2.9 days
            if (i % 3) r.user = fmt::format("u{}", i % 5);
            r.model = i % 2 ? "flash" : "pro";
            r.endpoint = i % 3 ? "chat" : "analyze";
            if (i % 4 == 0) r.bot = "b1";
            r.cost = i * 10;
            r.priced = i % 7 != 0;
            r.duration = i;
            if (i % 2 == 0) r.tags.emplace_back("team", i % 4 ? "red" : "blue");
            if (i % 10 == 0) r.tags.emplace_back("team", "red");
            store->sink().submit(gm::test::make_record(r));
        }
        REQUIRE(store->flush(std::chrono::seconds(30)));
    }
    auto dump = [&](const char* table, const char* order, int columns) { return dump_table(db, table, order, columns); };
    struct table {
        const char* name;
        const char* order;
        int columns;
    };
    const table tables[] = {{"UsageHourlyDim", "1, 2, 3", 15},
                            {"UsageDailyTagDim", "1, 2, 3, 4, 5", 17},
                            {"UsageHourlyTagDim", "1, 2, 3, 4, 5", 17}};
    std::vector<std::string> kept;
    for (const auto& t : tables) kept.push_back(dump(t.name, t.order, t.columns));
    CHECK(query_int(db, "SELECT SUM(calls) FROM UsageHourlyDim WHERE dim = 'model'") == 200);
    CHECK(query_int(db, "SELECT SUM(costPicoUsd) FROM UsageHourlyTagDim WHERE dim = 'bot' AND value = 'red'") ==
          query_int(db, "SELECT SUM(costPicoUsd) FROM UsageHourlyTag WHERE value = 'red'"));
    {
        // Back to version 6, then the migration rebuilds the three tables from the rollups.
        sqlite_conn c(db, sqlite_conn::mode::read_write);
        c.exec(drop_v9_tables);
        c.exec("DROP TABLE UsageHourlyDim; DROP TABLE UsageDailyTagDim; DROP TABLE UsageHourlyTagDim; "
               "PRAGMA user_version = 6;");
    }
    migrate(db);
    CHECK(migration_state(db).current == latest_schema_version());
    for (std::size_t i = 0; i < kept.size(); ++i) {
        INFO(tables[i].name);
        CHECK(dump(tables[i].name, tables[i].order, tables[i].columns) == kept[i]);
    }
}

TEST_CASE("migrations: version 8 orders the model and endpoint indexes by time, rows intact", "[migrations]") {
    gm::test::temp_dir dir;
    const std::string db = dir.file("usage.db");
    {
        auto store = sqlite_store::open(db);
        const std::int64_t base = gm::test::at("2024-11-06T00:00:00Z");
        for (int i = 0; i < 50; ++i) {
            gm::test::record_spec r;
            r.id = fmt::format("v{:04}", i);
            r.ms = base + i * 60'000;
            r.model = i % 2 ? "flash" : "pro";
            r.endpoint = i % 5 ? "chat" : "analyze";
            r.cost = i;
            store->sink().submit(gm::test::make_record(r));
        }
        REQUIRE(store->flush(std::chrono::seconds(30)));
    }
    {
        // Back to version 7's single-column indexes.
        sqlite_conn c(db, sqlite_conn::mode::read_write);
        c.exec(drop_v9_tables);
        c.exec("DROP INDEX ApiUsage_model_idx; CREATE INDEX ApiUsage_model_idx ON ApiUsage(model); "
               "DROP INDEX ApiUsage_endpoint_idx; CREATE INDEX ApiUsage_endpoint_idx ON ApiUsage(endpoint); "
               "PRAGMA user_version = 7;");
    }
    migrate(db);
    CHECK(migration_state(db).current == latest_schema_version());
    CHECK(query_int(db, "SELECT COUNT(*) FROM ApiUsage") == 50);
    CHECK(query_int(db, "SELECT SUM(costPicoUsd) FROM ApiUsage WHERE model = 'pro'") == 600);  // 0+2+...+48
    CHECK(query_int(db, "SELECT COUNT(*) FROM pragma_index_info('ApiUsage_model_idx')") == 3);
    CHECK(query_int(db, "SELECT COUNT(*) FROM pragma_index_info('ApiUsage_endpoint_idx')") == 3);
    // A model's newest calls come from its own index, in order, without a sort.
    sqlite_conn c(db, sqlite_conn::mode::read_write);
    auto plan = c.prepare(
        "EXPLAIN QUERY PLAN SELECT id FROM ApiUsage a WHERE (a.createdAtMs, a.id) < (9e15, 'z') AND a.model = 'pro' "
        "ORDER BY a.createdAtMs DESC, a.id DESC LIMIT 5");
    std::string steps;
    while (plan.step()) steps += plan.col_text(3) + "\n";
    INFO(steps);
    CHECK(steps.find("ApiUsage_model_idx") != std::string::npos);
    CHECK(steps.find("TEMP B-TREE") == std::string::npos);
}

TEST_CASE("migrations: versions 9 and 10 build the per-user hourly and one-dimension rollups as the writer keeps "
          "them, rows intact",
          "[migrations]") {
    gm::test::temp_dir dir;
    const std::string db = dir.file("usage.db");
    // about 3.4 days, several calls per hour
    write_varied_calls(db, "n", gm::test::at("2024-11-06T00:00:00Z"), 987'654);
    auto dump = [&](const char* table, const char* order, int columns) { return dump_table(db, table, order, columns); };
    struct table {
        const char* name;
        const char* order;
        int columns;
    };
    const table tables[] = {{"UsageHourlyUser", "1, 2", 14},
                            {"UsageDailyUserOneDim", "1, 2, 3, 4", 16},
                            {"UsageHourlyUserDim", "1, 2, 3, 4, 5, 6", 18}};
    std::vector<std::string> kept;
    for (const auto& t : tables) kept.push_back(dump(t.name, t.order, t.columns));
    // 225 registered calls (i % 4 != 0); each one-dimension table counts each call once per dimension.
    CHECK(query_int(db, "SELECT SUM(calls) FROM UsageHourlyUser") == 225);
    for (const char* dim : {"model", "endpoint", "bot"}) {
        INFO(dim);
        CHECK(query_int(db, fmt::format("SELECT SUM(calls) FROM UsageDailyUserOneDim WHERE dim = '{}'", dim)) == 225);
        CHECK(query_int(db, fmt::format("SELECT SUM(costPicoUsd) FROM UsageDailyUserOneDim WHERE dim = '{}'", dim)) ==
              query_int(db, "SELECT SUM(costPicoUsd) FROM ApiUsage WHERE userId IS NOT NULL"));
    }
    CHECK(query_int(db, "SELECT SUM(calls) FROM UsageHourlyUserDim") == 225);
    const std::int64_t rows_cost = query_int(db, "SELECT SUM(costPicoUsd) FROM ApiUsage");
    {
        // Back to version 8; a day whose rows retention removed before version 5 lives on in
        // UsageDailyUserDim under '' keys only.
        sqlite_conn c(db, sqlite_conn::mode::read_write);
        c.exec(drop_v9_tables);
        c.exec("INSERT INTO UsageDailyUserDim (day, userId, model, endpoint, botId, isGuest, calls, costPicoUsd) "
               "VALUES (20000, 'u1', '', '', '', 0, 4, 7000); PRAGMA user_version = 8;");
    }
    const auto before = migration_state(db);
    CHECK(before.current == 8);
    REQUIRE(before.pending.size() == 4);
    migrate(db);
    CHECK(migration_state(db).current == latest_schema_version());
    CHECK(query_int(db, "SELECT COUNT(*) FROM ApiUsage") == 300);
    CHECK(query_int(db, "SELECT SUM(costPicoUsd) FROM ApiUsage") == rows_cost);
    // The hourly tables come from the rows: exactly what the writer had kept.
    CHECK(dump(tables[0].name, tables[0].order, tables[0].columns) == kept[0]);
    CHECK(dump(tables[2].name, tables[2].order, tables[2].columns) == kept[2]);
    // The daily one from UsageDailyUserDim: the writer's rows, and the removed day under '' keys.
    for (const char* dim : {"model", "endpoint", "bot"}) {
        INFO(dim);
        CHECK(query_int(db, fmt::format("SELECT costPicoUsd FROM UsageDailyUserOneDim WHERE day = 20000 AND "
                                        "userId = 'u1' AND dim = '{}' AND key = ''",
                                        dim)) == 7000);
    }
    CHECK(query_int(db, "SELECT COUNT(*) FROM UsageDailyUserOneDim WHERE day = 20000") == 3);
    // Every day up to yesterday (UTC, wall clock) is folded; the rows are from 2024.
    const std::int64_t today = std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count() /
                               86'400'000;
    CHECK(query_int(db, "SELECT value FROM UsageRollupState WHERE name = 'UsageDailyUserOneDim'") >= today - 2);
    {
        sqlite_conn c(db, sqlite_conn::mode::read_write);
        c.exec("DELETE FROM UsageDailyUserOneDim WHERE day = 20000");
    }
    CHECK(dump(tables[1].name, tables[1].order, tables[1].columns) == kept[1]);
}

TEST_CASE("migrations: version 11 backfills the monthly user and pair rollups as the writer keeps them, rows intact",
          "[migrations]") {
    gm::test::temp_dir dir;
    const std::string db = dir.file("usage.db");
    // about 34 days: October, November and December
    write_varied_calls(db, "p", gm::test::at("2024-10-30T00:00:00Z"), 9'876'543);
    auto dump = [&](const char* table, const char* order, int columns) { return dump_table(db, table, order, columns); };
    // The rows' days are all folded: the writer kept both tables itself.
    const std::string months = dump("UsageMonthlyUserSums", "1, 2", 14);
    const std::string pairs = dump("UsageDailyDimPair", "1, 2, 3, 4, 5", 17);
    CHECK(query_int(db, "SELECT COUNT(DISTINCT month) FROM UsageMonthlyUserSums") == 3);
    CHECK(query_int(db, "SELECT SUM(calls) FROM UsageMonthlyUserSums") == 225);
    CHECK(query_int(db, "SELECT SUM(calls) FROM UsageDailyDimPair WHERE dim = 'guest' AND byDim = 'bot'") == 300);
    const std::int64_t rows_cost = query_int(db, "SELECT SUM(costPicoUsd) FROM ApiUsage");
    {
        // Back to version 10. Retention removes the first ten rows: their sums live on in
        // UsageDailyUser and UsageDaily, which the backfill reads.
        sqlite_conn c(db, sqlite_conn::mode::read_write);
        c.exec(drop_v11_tables);
        c.exec("PRAGMA user_version = 10");
        c.exec("DELETE FROM ApiUsage WHERE id < 'p0010'");
    }
    const auto before = migration_state(db);
    CHECK(before.current == 10);
    REQUIRE(before.pending.size() == 2);
    migrate(db);
    CHECK(migration_state(db).current == latest_schema_version());
    CHECK(query_int(db, "SELECT COUNT(*) FROM ApiUsage") == 290);
    CHECK(query_int(db, "SELECT SUM(costPicoUsd) FROM ApiUsage") == rows_cost - 450);
    CHECK(dump("UsageMonthlyUserSums", "1, 2", 14) == months);
    CHECK(dump("UsageDailyDimPair", "1, 2, 3, 4, 5", 17) == pairs);
    // The trigger came back with the tables: re-pricing a folded day's row moves them.
    {
        sqlite_conn c(db, sqlite_conn::mode::read_write);
        c.exec("UPDATE ApiUsage SET costPicoUsd = costPicoUsd + 5, priced = 0 WHERE id = 'p0013'");
    }
    CHECK(query_int(db, "SELECT SUM(costPicoUsd) FROM UsageMonthlyUserSums") ==
          query_int(db, "SELECT SUM(costPicoUsd) FROM UsageDailyUser") + 5);
    CHECK(query_int(db, "SELECT SUM(costPicoUsd) FROM UsageDailyDimPair WHERE dim = 'model' AND byDim = 'bot'") ==
          query_int(db, "SELECT SUM(costPicoUsd) FROM UsageDaily") + 5);
}

TEST_CASE("migrations: version 12 backfills the monthly per-dimension rollup from the daily one as the writer keeps "
          "it, and the re-pricing trigger moves it",
          "[migrations]") {
    gm::test::temp_dir dir;
    const std::string db = dir.file("usage.db");
    // about 34 days: October, November and December, all folded: the writer kept the table itself.
    write_varied_calls(db, "p", gm::test::at("2024-10-30T00:00:00Z"), 9'876'543);
    const std::string months = dump_table(db, "UsageMonthlyDim", "1, 2, 3", 15);
    CHECK(query_int(db, "SELECT COUNT(DISTINCT month) FROM UsageMonthlyDim") == 3);
    for (const char* dim : {"model", "endpoint", "bot", "guest"}) {
        INFO(dim);
        CHECK(query_int(db, fmt::format("SELECT SUM(calls) FROM UsageMonthlyDim WHERE dim = '{}'", dim)) == 300);
    }
    const std::int64_t rows_cost = query_int(db, "SELECT SUM(costPicoUsd) FROM ApiUsage");
    {
        // Back to version 11 (its trigger without the monthly table). Retention removes the
        // first ten rows: their sums live on in UsageDailyDim, which the backfill reads.
        sqlite_conn c(db, sqlite_conn::mode::read_write);
        c.exec("DROP TABLE UsageMonthlyDim; DROP TRIGGER UsageFoldedRollups_reprice;");
        c.exec(fmt::format("CREATE TRIGGER UsageFoldedRollups_reprice AFTER UPDATE OF costPicoUsd, priced ON ApiUsage "
                           "WHEN (NEW.costPicoUsd IS NOT OLD.costPicoUsd OR NEW.priced IS NOT OLD.priced) "
                           "AND NEW.createdAtMs / 86400000 <= ({}) BEGIN {} END;",
                           daily_user_one_dim_state, folded_rollups_reprice_sql(false)));
        c.exec("PRAGMA user_version = 11");
        c.exec("DELETE FROM ApiUsage WHERE id < 'p0010'");
    }
    const auto before = migration_state(db);
    CHECK(before.current == 11);
    REQUIRE(before.pending.size() == 1);
    migrate(db);
    CHECK(migration_state(db).current == latest_schema_version());
    CHECK(query_int(db, "SELECT COUNT(*) FROM ApiUsage") == 290);
    CHECK(query_int(db, "SELECT SUM(costPicoUsd) FROM ApiUsage") == rows_cost - 450);
    CHECK(dump_table(db, "UsageMonthlyDim", "1, 2, 3", 15) == months);
    // The trigger now moves the monthly table too (and still the version 11 ones): re-pricing
    // a folded day's row.
    {
        sqlite_conn c(db, sqlite_conn::mode::read_write);
        c.exec("UPDATE ApiUsage SET costPicoUsd = costPicoUsd + 5, priced = 0 WHERE id = 'p0013'");
    }
    for (const char* dim : {"model", "endpoint", "bot", "guest"}) {
        INFO(dim);
        CHECK(query_int(db, fmt::format("SELECT SUM(costPicoUsd) FROM UsageMonthlyDim WHERE dim = '{}'", dim)) ==
              query_int(db, fmt::format("SELECT SUM(costPicoUsd) FROM UsageDailyDim WHERE dim = '{}'", dim)) + 5);
        CHECK(query_int(db, fmt::format("SELECT SUM(unpricedCalls) FROM UsageMonthlyDim WHERE dim = '{}'", dim)) ==
              query_int(db, fmt::format("SELECT SUM(unpricedCalls) FROM UsageDailyDim WHERE dim = '{}'", dim)) + 1);
    }
    CHECK(query_int(db, "SELECT SUM(costPicoUsd) FROM UsageMonthlyUserSums") ==
          query_int(db, "SELECT SUM(costPicoUsd) FROM UsageDailyUser") + 5);
}

#include "storage/migrations.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <string_view>

#include "storage/rollup_columns.hpp"
#include "storage/sqlite_conn.hpp"

namespace gm::storage {
namespace {

struct migration_step {
    int version;
    const char* description;
    std::string sql;
    void (*run)(sqlite_conn&) = nullptr;  // instead of sql, for a step that inspects the file
};

// Version 1 is the specification's table exactly (Prisma's model and its four indexes).
// IF NOT EXISTS lets a database made by the original Node.js tracker (user_version 0 but
// the table present) be adopted and upgraded in place.
std::string v1_sql() {
    return R"sql(
CREATE TABLE IF NOT EXISTS ApiUsage (
  id               TEXT NOT NULL PRIMARY KEY,
  userId           TEXT,
  isGuest          BOOLEAN NOT NULL DEFAULT 1,
  endpoint         TEXT NOT NULL,
  model            TEXT NOT NULL,
  botId            TEXT,
  inputTokens      INTEGER NOT NULL DEFAULT 0,
  outputTokens     INTEGER NOT NULL DEFAULT 0,
  totalTokens      INTEGER NOT NULL DEFAULT 0,
  estimatedCostUSD DECIMAL(10,6) NOT NULL DEFAULT 0,
  durationMs       INTEGER,
  success          BOOLEAN NOT NULL DEFAULT 1,
  errorMessage     TEXT,
  metadata         TEXT,
  createdAt        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX IF NOT EXISTS ApiUsage_userId_idx ON ApiUsage(userId);
CREATE INDEX IF NOT EXISTS ApiUsage_createdAt_idx ON ApiUsage(createdAt);
CREATE INDEX IF NOT EXISTS ApiUsage_model_idx ON ApiUsage(model);
CREATE INDEX IF NOT EXISTS ApiUsage_endpoint_idx ON ApiUsage(endpoint);
)sql";
}

// Version 2: the columns aggregation needs, exact money, users, rollups; existing rows are
// backfilled and the rollups built from them, so old totals are right from the first query.
std::string v2_sql() {
    std::string s = R"sql(
ALTER TABLE ApiUsage ADD COLUMN cachedTokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ApiUsage ADD COLUMN thoughtsTokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ApiUsage ADD COLUMN toolUsePromptTokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ApiUsage ADD COLUMN costPicoUsd INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ApiUsage ADD COLUMN priced BOOLEAN NOT NULL DEFAULT 1;
ALTER TABLE ApiUsage ADD COLUMN priceVersion TEXT;
ALTER TABLE ApiUsage ADD COLUMN httpStatus INTEGER;
ALTER TABLE ApiUsage ADD COLUMN geminiMethod TEXT;
ALTER TABLE ApiUsage ADD COLUMN streamed BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE ApiUsage ADD COLUMN partial BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE ApiUsage ADD COLUMN createdAtMs INTEGER NOT NULL DEFAULT 0;

UPDATE ApiUsage SET
  createdAtMs = CASE typeof(createdAt)
    WHEN 'integer' THEN createdAt
    WHEN 'real' THEN CAST(createdAt AS INTEGER)
    ELSE CAST(ROUND((julianday(createdAt) - 2440587.5) * 86400000.0) AS INTEGER) END,
  costPicoUsd = CAST(ROUND(CAST(estimatedCostUSD AS REAL) * 1000000000000.0) AS INTEGER);
UPDATE ApiUsage SET createdAt = strftime('%Y-%m-%dT%H:%M:%fZ', createdAtMs / 1000.0, 'unixepoch')
  WHERE createdAt IS NOT strftime('%Y-%m-%dT%H:%M:%fZ', createdAtMs / 1000.0, 'unixepoch');

CREATE INDEX ApiUsage_createdAtMs_id_idx ON ApiUsage(createdAtMs, id);

CREATE TABLE UsageUser (
  userId     TEXT NOT NULL PRIMARY KEY,
  email      TEXT,
  emailSeen  TEXT,
  firstSeen  TEXT NOT NULL,
  lastSeen   TEXT NOT NULL
) WITHOUT ROWID;
)sql";
    s += fmt::format(R"sql(
CREATE TABLE UsageDaily (
  day INTEGER NOT NULL, model TEXT NOT NULL, endpoint TEXT NOT NULL, botId TEXT NOT NULL,
  isGuest INTEGER NOT NULL, {0},
  PRIMARY KEY (day, model, endpoint, botId, isGuest)
) WITHOUT ROWID;
CREATE TABLE UsageDailyDim (
  day INTEGER NOT NULL, dim TEXT NOT NULL, key TEXT NOT NULL, {0},
  PRIMARY KEY (day, dim, key)
) WITHOUT ROWID;
CREATE TABLE UsageDailyUser (
  day INTEGER NOT NULL, userId TEXT NOT NULL, {0},
  PRIMARY KEY (day, userId)
) WITHOUT ROWID;

INSERT INTO UsageDaily (day, model, endpoint, botId, isGuest, {1})
  SELECT createdAtMs / 86400000, model, endpoint, COALESCE(botId, ''), isGuest <> 0, {2}
  FROM ApiUsage GROUP BY 1, 2, 3, 4, 5;
INSERT INTO UsageDailyDim (day, dim, key, {1})
  SELECT day, 'model', model, {3} FROM UsageDaily GROUP BY day, model
  UNION ALL SELECT day, 'endpoint', endpoint, {3} FROM UsageDaily GROUP BY day, endpoint
  UNION ALL SELECT day, 'bot', botId, {3} FROM UsageDaily GROUP BY day, botId
  UNION ALL SELECT day, 'guest', CAST(isGuest AS TEXT), {3} FROM UsageDaily GROUP BY day, isGuest;
INSERT INTO UsageDailyUser (day, userId, {1})
  SELECT createdAtMs / 86400000, userId, {2} FROM ApiUsage WHERE userId IS NOT NULL GROUP BY 1, 2;
INSERT INTO UsageUser (userId, email, emailSeen, firstSeen, lastSeen)
  SELECT userId, NULL, NULL, MIN(createdAt), MAX(createdAt) FROM ApiUsage WHERE userId IS NOT NULL GROUP BY userId;
)sql",
                     rollup_sum_defs, rollup_sum_columns, raw_sum_select, rollup_sum_select);
    return s;
}

// Version 3: rollups that keep every read independent of the row count.
//   UsageHourly: day rollup's dimensions per UTC hour, so that the partial days at the
//     edges of a range that is not day-aligned cost O(hours), not O(rows).
//   UsageDailyTag / UsageHourlyTag: per tag name and value (each pair counted once per
//     call), with the filter dimensions, for the tag filter.
//   The specification's userId index becomes (userId, createdAtMs, id): still an index on
//     userId for every lookup the specification's serves, and also a user's calls in time
//     order (user filter, a user's recent calls with keyset pagination). Widening it rather
//     than adding a second index keeps one random-order B-tree insert per row, not two.
// All are backfilled from the rows present.
std::string v3_sql() {
    constexpr const char* tag_rows = R"sql(
  (SELECT DISTINCT a.rowid AS rid, t.key AS name, t.value AS value
     FROM ApiUsage a, json_each(a.metadata, '$.tags') t
    WHERE json_valid(a.metadata) AND json_type(a.metadata, '$.tags') = 'object' AND t.type = 'text') tg
  JOIN ApiUsage a ON a.rowid = tg.rid)sql";
    return fmt::format(R"sql(
DROP INDEX ApiUsage_userId_idx;
CREATE INDEX ApiUsage_userId_idx ON ApiUsage(userId, createdAtMs, id);
CREATE TABLE UsageHourly (
  hour INTEGER NOT NULL, model TEXT NOT NULL, endpoint TEXT NOT NULL, botId TEXT NOT NULL,
  isGuest INTEGER NOT NULL, {0},
  PRIMARY KEY (hour, model, endpoint, botId, isGuest)
) WITHOUT ROWID;
CREATE TABLE UsageDailyTag (
  day INTEGER NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, model TEXT NOT NULL,
  endpoint TEXT NOT NULL, botId TEXT NOT NULL, isGuest INTEGER NOT NULL, {0},
  PRIMARY KEY (name, value, day, model, endpoint, botId, isGuest)
) WITHOUT ROWID;
CREATE TABLE UsageHourlyTag (
  hour INTEGER NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, model TEXT NOT NULL,
  endpoint TEXT NOT NULL, botId TEXT NOT NULL, isGuest INTEGER NOT NULL, {0},
  PRIMARY KEY (name, value, hour, model, endpoint, botId, isGuest)
) WITHOUT ROWID;

INSERT INTO UsageHourly (hour, model, endpoint, botId, isGuest, {1})
  SELECT createdAtMs / 3600000, model, endpoint, COALESCE(botId, ''), isGuest <> 0, {2}
  FROM ApiUsage GROUP BY 1, 2, 3, 4, 5;
INSERT INTO UsageHourlyTag (hour, name, value, model, endpoint, botId, isGuest, {1})
  SELECT a.createdAtMs / 3600000, tg.name, tg.value, a.model, a.endpoint, COALESCE(a.botId, ''), a.isGuest <> 0, {2}
  FROM {3} GROUP BY 1, 2, 3, 4, 5, 6, 7;
INSERT INTO UsageDailyTag (day, name, value, model, endpoint, botId, isGuest, {1})
  SELECT hour / 24, name, value, model, endpoint, botId, isGuest, {4}
  FROM UsageHourlyTag GROUP BY 1, 2, 3, 4, 5, 6, 7;
)sql",
                       rollup_sum_defs, rollup_sum_columns, raw_sum_select, tag_rows, rollup_sum_select);
}

// Version 4: each registered user's cost per UTC month, ordered by cost within a month, so
// that top users over any range can stop reading after the few users that can still win
// (see sqlite_queries::top_users); backfilled from the per-day user rollup.
std::string v4_sql() {
    return R"sql(
CREATE TABLE UsageMonthlyUser (
  month INTEGER NOT NULL, userId TEXT NOT NULL, costPicoUsd INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (month, userId)
) WITHOUT ROWID;
CREATE INDEX UsageMonthlyUser_cost_idx ON UsageMonthlyUser(month, costPicoUsd DESC, userId);
INSERT INTO UsageMonthlyUser (month, userId, costPicoUsd)
  SELECT (CAST(strftime('%Y', day * 86400, 'unixepoch') AS INTEGER) - 1970) * 12
           + CAST(strftime('%m', day * 86400, 'unixepoch') AS INTEGER) - 1,
         userId, SUM(costPicoUsd)
  FROM UsageDailyUser GROUP BY 1, 2;
)sql";
}

// Version 5: a user's calls per UTC day by the day rollup's dimensions (model, endpoint,
// bot, guest), so that a user filter with breakdowns (one user's stats by model, endpoint and
// bot) reads a few rollup rows per day instead of every raw row of a busy user. A separate
// table: UsageDailyUser stays one row per user and day, which top users needs to read a
// candidate's totals in one seek per day. Built from the rows present; where UsageDailyUser
// holds more than those rows (rows removed by retention), the remainder is kept under empty
// model, endpoint and bot keys, so that a user's totals for old days stay right.
std::string v5_sql() {
    std::string sums_as;  // SUM(calls) AS calls, ...
    for (std::string_view cols = rollup_sum_columns; !cols.empty();) {
        const auto comma = cols.find(',');
        const auto col = cols.substr(0, comma);
        sums_as += fmt::format("{}SUM({}) AS {}", sums_as.empty() ? "" : ", ", col, col);
        cols = comma == std::string_view::npos ? std::string_view() : cols.substr(comma + 2);
    }
    return fmt::format(R"sql(
CREATE TABLE UsageDailyUserDim (
  day INTEGER NOT NULL, userId TEXT NOT NULL, model TEXT NOT NULL, endpoint TEXT NOT NULL, botId TEXT NOT NULL,
  isGuest INTEGER NOT NULL, {0},
  PRIMARY KEY (day, userId, model, endpoint, botId, isGuest)
) WITHOUT ROWID;
INSERT INTO UsageDailyUserDim (day, userId, model, endpoint, botId, isGuest, {1})
  SELECT createdAtMs / 86400000, userId, model, endpoint, COALESCE(botId, ''), isGuest <> 0, {2}
  FROM ApiUsage WHERE userId IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6;
INSERT INTO UsageDailyUserDim (day, userId, model, endpoint, botId, isGuest, {1})
  SELECT o.day, o.userId, '', '', '', 0,
         o.calls - IFNULL(n.calls, 0), o.successfulCalls - IFNULL(n.successfulCalls, 0),
         o.guestCalls - IFNULL(n.guestCalls, 0), o.inputTokens - IFNULL(n.inputTokens, 0),
         o.outputTokens - IFNULL(n.outputTokens, 0), o.totalTokens - IFNULL(n.totalTokens, 0),
         o.cachedTokens - IFNULL(n.cachedTokens, 0), o.thoughtsTokens - IFNULL(n.thoughtsTokens, 0),
         o.costPicoUsd - IFNULL(n.costPicoUsd, 0), o.durationMsSum - IFNULL(n.durationMsSum, 0),
         o.durationCount - IFNULL(n.durationCount, 0), o.unpricedCalls - IFNULL(n.unpricedCalls, 0)
  FROM UsageDailyUser o LEFT JOIN
       (SELECT day, userId, {3} FROM UsageDailyUserDim GROUP BY day, userId) n
    ON n.day = o.day AND n.userId = o.userId
  WHERE n.calls IS NULL OR o.calls <> n.calls OR o.costPicoUsd <> n.costPicoUsd OR o.totalTokens <> n.totalTokens
     OR o.durationMsSum <> n.durationMsSum OR o.unpricedCalls <> n.unpricedCalls
  ON CONFLICT DO UPDATE SET {4};
)sql",
                       rollup_sum_defs, rollup_sum_columns, raw_sum_select, sums_as, rollup_sum_upsert);
}

// Version 6: for a short while (commit 0b42c9b) version 5 replaced UsageDailyUser by the
// per-dimension table instead of adding UsageDailyUserDim beside it. A database made then
// has the per-dimension rows under the old name: they move to UsageDailyUserDim and
// UsageDailyUser is summed back from them. Any other database is already right.
void v6_run(sqlite_conn& conn) {
    {
        // Finalized before the DROP below: an open statement on the schema locks it.
        auto has_dim =
            conn.prepare("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'UsageDailyUserDim'");
        if (has_dim.step() && has_dim.col_int(0) > 0) return;
    }
    conn.exec(fmt::format(R"sql(
CREATE TABLE UsageDailyUserDim (
  day INTEGER NOT NULL, userId TEXT NOT NULL, model TEXT NOT NULL, endpoint TEXT NOT NULL, botId TEXT NOT NULL,
  isGuest INTEGER NOT NULL, {0},
  PRIMARY KEY (day, userId, model, endpoint, botId, isGuest)
) WITHOUT ROWID;
INSERT INTO UsageDailyUserDim (day, userId, model, endpoint, botId, isGuest, {1})
  SELECT day, userId, model, endpoint, botId, isGuest, {1} FROM UsageDailyUser;
DROP TABLE UsageDailyUser;
CREATE TABLE UsageDailyUser (
  day INTEGER NOT NULL, userId TEXT NOT NULL, {0},
  PRIMARY KEY (day, userId)
) WITHOUT ROWID;
INSERT INTO UsageDailyUser (day, userId, {1})
  SELECT day, userId, {2} FROM UsageDailyUserDim GROUP BY day, userId;
)sql",
                          rollup_sum_defs, rollup_sum_columns, rollup_sum_select));
}

// Version 7: per hour x one dimension, and per tag x day / hour x one dimension, as
// UsageDailyDim is per day: an unfiltered or tag-only breakdown reads one row per bucket and
// dimension value instead of one per (model, endpoint, bot, guest) combination (10M rows:
// 30 days with mid-day edges read ~15,000 hourly rows, a tag's 30 days ~12,000). Built from
// the rollups they fold, so rows removed by retention still count.
std::string v7_sql() {
    constexpr const char* dim_defs = "dim TEXT NOT NULL, key TEXT NOT NULL";
    return fmt::format(R"sql(
CREATE TABLE UsageHourlyDim (
  hour INTEGER NOT NULL, {1}, {0},
  PRIMARY KEY (hour, dim, key)
) WITHOUT ROWID;
CREATE TABLE UsageDailyTagDim (
  day INTEGER NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, {1}, {0},
  PRIMARY KEY (name, value, day, dim, key)
) WITHOUT ROWID;
CREATE TABLE UsageHourlyTagDim (
  hour INTEGER NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, {1}, {0},
  PRIMARY KEY (name, value, hour, dim, key)
) WITHOUT ROWID;
INSERT INTO UsageHourlyDim (hour, dim, key, {2})
  SELECT hour, 'model', model, {3} FROM UsageHourly GROUP BY hour, model
  UNION ALL SELECT hour, 'endpoint', endpoint, {3} FROM UsageHourly GROUP BY hour, endpoint
  UNION ALL SELECT hour, 'bot', botId, {3} FROM UsageHourly GROUP BY hour, botId
  UNION ALL SELECT hour, 'guest', CAST(isGuest AS TEXT), {3} FROM UsageHourly GROUP BY hour, isGuest;
INSERT INTO UsageDailyTagDim (day, name, value, dim, key, {2})
  SELECT day, name, value, 'model', model, {3} FROM UsageDailyTag GROUP BY name, value, day, model
  UNION ALL SELECT day, name, value, 'endpoint', endpoint, {3} FROM UsageDailyTag GROUP BY name, value, day, endpoint
  UNION ALL SELECT day, name, value, 'bot', botId, {3} FROM UsageDailyTag GROUP BY name, value, day, botId
  UNION ALL SELECT day, name, value, 'guest', CAST(isGuest AS TEXT), {3} FROM UsageDailyTag
    GROUP BY name, value, day, isGuest;
INSERT INTO UsageHourlyTagDim (hour, name, value, dim, key, {2})
  SELECT hour, name, value, 'model', model, {3} FROM UsageHourlyTag GROUP BY name, value, hour, model
  UNION ALL SELECT hour, name, value, 'endpoint', endpoint, {3} FROM UsageHourlyTag GROUP BY name, value, hour, endpoint
  UNION ALL SELECT hour, name, value, 'bot', botId, {3} FROM UsageHourlyTag GROUP BY name, value, hour, botId
  UNION ALL SELECT hour, name, value, 'guest', CAST(isGuest AS TEXT), {3} FROM UsageHourlyTag
    GROUP BY name, value, hour, isGuest;
)sql",
                       rollup_sum_defs, dim_defs, rollup_sum_columns, rollup_sum_select);
}

// Version 8: the model and endpoint indexes also order by time, as the userId index does
// since version 3. A model-filtered recent page then seeks that model's newest calls instead
// of walking back over every newer call of every model, and a filtered range edge reads
// only that model's rows. Same names, still led by model and endpoint; no more B-trees.
std::string v8_sql() {
    return R"sql(
DROP INDEX IF EXISTS ApiUsage_model_idx;
CREATE INDEX ApiUsage_model_idx ON ApiUsage(model, createdAtMs, id);
DROP INDEX IF EXISTS ApiUsage_endpoint_idx;
CREATE INDEX ApiUsage_endpoint_idx ON ApiUsage(endpoint, createdAtMs, id);
)sql";
}

// Version 9: a user's calls per UTC hour, and per day and hour by one dimension at a time
// (model, endpoint, bot; as UsageDailyDim is for all users). Top users and a user's totals then
// read the whole hours of a range's partial days from UsageHourlyUser (a few seeks per
// candidate instead of the candidate's raw rows), and a user's breakdowns read about
// days x (models + endpoints + bots) rows instead of one per model x endpoint x bot
// combination (10M rows, the busiest user's 30 days: ~1,700 rows instead of ~12,000). Keyed by
// time first, so that the writer's upserts land at the B-trees' newest end. The hourly tables
// are built from the rows present (one pass over ApiUsage into a temporary table, folded
// from it); the daily one from UsageDailyUserDim, so that sums of rows removed by retention
// stay (under the '' keys, as there).
std::string v9_sql() {
    constexpr const char* dim_defs = "dim TEXT NOT NULL, key TEXT NOT NULL";
    // The three dimensions as rows, joined to fold a (model, endpoint, bot) grouping in one
    // pass whose GROUP BY output is already in the target's key order.
    constexpr const char* dims =
        "(SELECT 'bot' AS dim UNION ALL SELECT 'endpoint' UNION ALL SELECT 'model') dims";
    constexpr const char* dim_key =
        "CASE dims.dim WHEN 'model' THEN model WHEN 'endpoint' THEN endpoint ELSE botId END";
    return fmt::format(R"sql(
CREATE TABLE UsageHourlyUser (
  hour INTEGER NOT NULL, userId TEXT NOT NULL, {0},
  PRIMARY KEY (hour, userId)
) WITHOUT ROWID;
CREATE TABLE UsageDailyUserOneDim (
  day INTEGER NOT NULL, userId TEXT NOT NULL, {1}, {0},
  PRIMARY KEY (day, userId, dim, key)
) WITHOUT ROWID;
CREATE TABLE UsageHourlyUserOneDim (
  hour INTEGER NOT NULL, userId TEXT NOT NULL, {1}, {0},
  PRIMARY KEY (hour, userId, dim, key)
) WITHOUT ROWID;
CREATE TEMP TABLE v9_user_hours (hour, userId, model, endpoint, botId, {2});
INSERT INTO temp.v9_user_hours
  SELECT createdAtMs / 3600000, userId, model, endpoint, COALESCE(botId, ''), {3}
  FROM ApiUsage WHERE userId IS NOT NULL GROUP BY 1, 2, 3, 4, 5;
INSERT INTO UsageHourlyUser (hour, userId, {2})
  SELECT hour, userId, {4} FROM temp.v9_user_hours GROUP BY hour, userId;
INSERT INTO UsageHourlyUserOneDim (hour, userId, dim, key, {2})
  SELECT hour, userId, dims.dim, {6}, {4} FROM temp.v9_user_hours, {5} GROUP BY 1, 2, 3, 4;
DROP TABLE temp.v9_user_hours;
INSERT INTO UsageDailyUserOneDim (day, userId, dim, key, {2})
  SELECT day, userId, dims.dim, {6}, {4} FROM UsageDailyUserDim, {5} GROUP BY 1, 2, 3, 4;
)sql",
                       rollup_sum_defs, dim_defs, rollup_sum_columns, raw_sum_select, rollup_sum_select, dims,
                       dim_key);
}

// Version 10: version 9's per-user one-dimension tables cost the writer three upserts per
// registered call each (callgrind, 40,000 rows in a day: 89,900 -> 138,700 instructions per
// row). Now:
//   UsageHourlyUserDim replaces UsageHourlyUserOneDim: per hour x user x model x endpoint x
//     bot x guest, one upsert per call of a sparse user instead of three; a user's partial
//     days (alone or with a model, endpoint or bot filter) read it.
//   UsageDailyUserOneDim is no longer written per call: the writer folds each finished UTC
//     day into it from UsageDailyUserDim once (UsageRollupState's 'UsageDailyUserOneDim'
//     value: every day up to it is folded; the writer adds a later call of such a day
//     directly). Readers take days after it from UsageDailyUserDim (today: a few rows per
//     user).
// The marker starts at yesterday (UTC, wall clock); today's folded rows are removed.
std::string v10_sql() {
    return fmt::format(R"sql(
DROP TABLE IF EXISTS UsageHourlyUserOneDim;
CREATE TABLE UsageHourlyUserDim (
  hour INTEGER NOT NULL, userId TEXT NOT NULL, model TEXT NOT NULL, endpoint TEXT NOT NULL, botId TEXT NOT NULL,
  isGuest INTEGER NOT NULL, {0},
  PRIMARY KEY (hour, userId, model, endpoint, botId, isGuest)
) WITHOUT ROWID;
INSERT INTO UsageHourlyUserDim (hour, userId, model, endpoint, botId, isGuest, {1})
  SELECT createdAtMs / 3600000, userId, model, endpoint, COALESCE(botId, ''), isGuest <> 0, {2}
  FROM ApiUsage WHERE userId IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6;
CREATE TABLE UsageRollupState (
  name TEXT NOT NULL PRIMARY KEY, value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO UsageRollupState (name, value)
  VALUES ('UsageDailyUserOneDim', CAST(strftime('%s', 'now') AS INTEGER) / 86400 - 1);
DELETE FROM UsageDailyUserOneDim
  WHERE day > (SELECT value FROM UsageRollupState WHERE name = 'UsageDailyUserOneDim');
)sql",
                       rollup_sum_defs, rollup_sum_columns, raw_sum_select);
}

// Version 11: the two reads still over 20 ms at 10M rows (top 100 users over 90 days, a
// model-filtered stats with mid-day edges) cost days x groups of seeks. Two rollups folded
// once per finished UTC day, with UsageDailyUserOneDim (same UsageRollupState marker), so that
// the writer's per-call work does not grow:
//   UsageMonthlyUserSums: per month x user, all twelve sums, from UsageDailyUser. A user's
//     totals over a range read one row per whole month (top users: ~7 seeks per candidate
//     instead of ~115).
//   UsageDailyDimPair: per day x one dimension value x one other dimension, from UsageDaily
//     (model x endpoint, model x bot, endpoint x model, ..., guest x bot). A filter on one of
//     model, endpoint, bot or guest reads ~40 rows per day for its breakdowns instead of
//     every endpoint x bot x guest combination (~240 for the busiest model).
// Both hold folded days only and are backfilled up to the marker. A trigger carries a stored
// row's cost change (re-pricing) of a folded day into both, as the other rollups are moved by
// reprice itself: the writer never updates ApiUsage rows, so it never fires on the hot path.
std::string v11_sql() {
    return fmt::format(R"sql(
CREATE TABLE UsageMonthlyUserSums (
  month INTEGER NOT NULL, userId TEXT NOT NULL, {0},
  PRIMARY KEY (month, userId)
) WITHOUT ROWID;
CREATE TABLE UsageDailyDimPair (
  day INTEGER NOT NULL, dim TEXT NOT NULL, key TEXT NOT NULL, byDim TEXT NOT NULL, byKey TEXT NOT NULL, {0},
  PRIMARY KEY (day, dim, key, byDim, byKey)
) WITHOUT ROWID;
INSERT INTO UsageMonthlyUserSums (month, userId, {1})
  SELECT {2}, userId, {3} FROM UsageDailyUser
  WHERE day <= ({4}) GROUP BY 1, 2;
INSERT INTO UsageDailyDimPair (day, dim, key, byDim, byKey, {1})
  SELECT day, pairs.dim, {6}, pairs.byDim, {7}, {3} FROM UsageDaily, {5}
  WHERE day <= ({4}) GROUP BY 1, 2, 3, 4, 5;
CREATE TRIGGER UsageFoldedRollups_reprice AFTER UPDATE OF costPicoUsd, priced ON ApiUsage
  WHEN (NEW.costPicoUsd IS NOT OLD.costPicoUsd OR NEW.priced IS NOT OLD.priced)
   AND NEW.createdAtMs / 86400000 <= ({4})
BEGIN
  {8}
END;
)sql",
                       rollup_sum_defs, rollup_sum_columns, month_of_day_sql("day"), rollup_sum_select,
                       daily_user_one_dim_state, dim_pair_rows, dim_pair_key, dim_pair_by_key,
                       folded_rollups_reprice_sql(false));
}

// Version 12: unfiltered stats over a long range (90 days to now at 10M rows: p99 22 ms with
// the proxy at 1,000 req/s) read UsageDailyDim's ~40 rows per day and value, a whole
// quarter's worth for 90 days. UsageMonthlyDim holds the same sums per month x dimension x
// value, folded once per finished UTC day with the other folded rollups (same UsageRollupState
// marker, days up to it only), so that a range reads one month's rows per whole month
// (90 days: about three months and a few days). Backfilled from UsageDailyDim (not from the
// rows: it also keeps what retention removed); the re-pricing trigger moves it too.
std::string v12_sql() {
    return fmt::format(R"sql(
CREATE TABLE UsageMonthlyDim (
  month INTEGER NOT NULL, dim TEXT NOT NULL, key TEXT NOT NULL, {0},
  PRIMARY KEY (month, dim, key)
) WITHOUT ROWID;
INSERT INTO UsageMonthlyDim (month, dim, key, {1})
  SELECT {2}, dim, key, {3} FROM UsageDailyDim
  WHERE day <= ({4}) GROUP BY 1, 2, 3;
DROP TRIGGER UsageFoldedRollups_reprice;
CREATE TRIGGER UsageFoldedRollups_reprice AFTER UPDATE OF costPicoUsd, priced ON ApiUsage
  WHEN (NEW.costPicoUsd IS NOT OLD.costPicoUsd OR NEW.priced IS NOT OLD.priced)
   AND NEW.createdAtMs / 86400000 <= ({4})
BEGIN
  {5}
END;
)sql",
                       rollup_sum_defs, rollup_sum_columns, month_of_day_sql("day"), rollup_sum_select,
                       daily_user_one_dim_state, folded_rollups_reprice_sql(true));
}

const std::vector<migration_step>& steps() {
    static const std::vector<migration_step> all = {
        {1, "ApiUsage table and the specification's four indexes", v1_sql()},
        {2, "exact cost, token detail, call columns, users, daily rollups (backfilled)", v2_sql()},
        {3, "hourly and tag rollups, userId index by time (backfilled)", v3_sql()},
        {4, "monthly cost per user, for top users (backfilled)", v4_sql()},
        {5, "per-day user rollup by model, endpoint, bot and guest (backfilled)", v5_sql()},
        {6, "per-day user rollups as version 5 meant them (repairs the first form of version 5)", "", v6_run},
        {7, "hourly and tag rollups by one dimension (backfilled)", v7_sql()},
        {8, "model and endpoint indexes by time (rebuilt)", v8_sql()},
        {9, "per-hour user rollup and per-user rollups by one dimension (backfilled)", v9_sql()},
        {10, "per-hour user rollup by model, endpoint, bot and guest; daily per-user one-dimension rollup folded once a day (backfilled)", v10_sql()},
        {11, "per-month user rollup with all sums and per-day rollup by pairs of dimensions, folded once a day (backfilled)", v11_sql()},
        {12, "per-month rollup by one dimension, folded once a day (backfilled from the daily one)", v12_sql()},
    };
    return all;
}

int read_version(sqlite_conn& conn) {
    auto st = conn.prepare("PRAGMA user_version");
    return st.step() ? static_cast<int>(st.col_int(0)) : 0;
}

std::vector<std::string> pending_after(int current) {
    std::vector<std::string> out;
    for (const auto& s : steps())
        if (s.version > current) out.push_back(fmt::format("{}: {}", s.version, s.description));
    return out;
}

}  // namespace

int latest_schema_version() noexcept { return steps().back().version; }

migration_status migration_state(const std::string& db_path) {
    if (!std::filesystem::exists(db_path))
        return {0, latest_schema_version(), pending_after(0)};
    sqlite_conn conn(db_path, sqlite_conn::mode::read_only);
    const int current = read_version(conn);
    return {current, latest_schema_version(), pending_after(current)};
}

namespace {

void migrate_conn(sqlite_conn& conn, int target) {
    const int current = read_version(conn);
    if (current > latest_schema_version())
        throw std::runtime_error(fmt::format(
            "database schema version {} is newer than this program's {}: upgrade gemini-meter",
            current, latest_schema_version()));
    if (current >= target) return;
    conn.exec("PRAGMA journal_mode=WAL");
    for (const auto& s : steps()) {
        if (s.version <= read_version(conn) || s.version > target) continue;
        conn.exec("BEGIN IMMEDIATE");
        try {
            // Re-read inside the write lock: another process may have migrated meanwhile.
            if (read_version(conn) < s.version) {
                if (s.run)
                    s.run(conn);
                else
                    conn.exec(s.sql);
                conn.exec(fmt::format("PRAGMA user_version = {}", s.version));
            }
            conn.exec("COMMIT");
        } catch (...) {
            try {
                conn.exec("ROLLBACK");
            } catch (...) {
            }
            throw;
        }
    }
}

}  // namespace

void migrate(sqlite_conn& conn) { migrate_conn(conn, latest_schema_version()); }

void migrate_to(const std::string& db_path, int version) {
    sqlite_conn conn(db_path, sqlite_conn::mode::read_write_create);
    migrate_conn(conn, version);
}

void migrate(const std::string& db_path) {
    sqlite_conn conn(db_path, sqlite_conn::mode::read_write_create);
    migrate(conn);
}

}  // namespace gm::storage

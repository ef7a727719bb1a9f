-- gemini-meter SQLite schema, version 12 (PRAGMA user_version = 12).
--
-- This file documents the full schema. The binary does not read it: it applies the same
-- schema as versioned migration steps compiled in (storage/migrations.cpp), so that an
-- existing database upgrades in place. tests/storage/migrations_test.cpp checks that this
-- file and the migrations produce identical tables, columns and indexes.
--
--   version 1: ApiUsage with the specification's columns and its four indexes only.
--   version 2: exact cost and token detail columns, call columns, createdAtMs, the users
--              table and the daily rollups, backfilled from the rows already present.
--   version 3: hourly rollups (unaligned range edges), tag rollups (tag filter), and the
--              userId index widened to (userId, createdAtMs, id); backfilled likewise.
--   version 4: monthly cost per user (top users), backfilled from UsageDailyUser.
--   version 5: per day x user x model x endpoint x bot x guest (a user's stats with
--              breakdowns from rollups); backfilled from the rows, and what UsageDailyUser
--              holds beyond them (rows removed by retention) kept under empty keys.
--   version 6: no change for databases made by the final version 5; repairs one made by its
--              first form (commit 0b42c9b), which had replaced UsageDailyUser by the
--              per-dimension table.
--   version 7: hourly and tag rollups by one dimension (UsageHourlyDim, UsageDailyTagDim,
--              UsageHourlyTagDim), backfilled from the rollups they fold.
--   version 8: the model and endpoint indexes widened to (model|endpoint, createdAtMs, id),
--              rebuilt (a filtered recent page and filtered range edges by time).
--   version 9: per hour x user (UsageHourlyUser) and per day / hour x user x one dimension
--              (UsageDailyUserOneDim, UsageHourlyUserOneDim): top users' and a user's partial
--              days from hourly rollups, a user's breakdowns without the model x endpoint x bot
--              cross product; the hourly ones backfilled from the rows, the daily one from
--              UsageDailyUserDim.
--   version 10: UsageHourlyUserDim (per hour x user x model x endpoint x bot x guest) replaces
--              UsageHourlyUserOneDim, and UsageDailyUserOneDim is folded once per finished
--              day from UsageDailyUserDim (UsageRollupState) instead of written per call:
--              version 9's tables cost the writer ~54% more instructions per row.
--   version 11: UsageMonthlyUserSums (per month x user, all sums) and UsageDailyDimPair (per day x
--              one dimension value x one other dimension), folded once per finished day with
--              UsageDailyUserOneDim (same UsageRollupState marker) and backfilled up to it; a
--              trigger moves them when a stored row of a folded day is re-priced. A user's totals
--              read one row per whole month (top users), a one-dimension filter's breakdowns
--              ~40 rows per day instead of every combination.
--   version 12: UsageMonthlyDim (per month x one dimension, as UsageDailyDim per day), folded once
--              per finished day with the version 11 tables (same marker), backfilled from
--              UsageDailyDim; the re-pricing trigger moves it too. Unfiltered stats over a long
--              range read one month's rows per whole month instead of every day's.
--
-- Conventions: times are UTC. createdAt is ISO-8601 text with milliseconds
-- ("2024-11-06T10:30:00.123Z", fixed width, so text order is time order); createdAtMs is
-- the same instant in epoch milliseconds and is what queries use. Money is exact in
-- costPicoUsd (1e-12 USD); estimatedCostUSD is its decimal rendering for compatibility
-- with the specification and is never summed. Booleans are 0/1. A rollup's "day" is the
-- number of UTC days since 1970-01-01 (createdAtMs / 86400000).

PRAGMA journal_mode = WAL;

CREATE TABLE ApiUsage (
  -- the specification's columns (version 1)
  id               TEXT NOT NULL PRIMARY KEY,     -- time-sortable unique id (metering's make_record_id)
  userId           TEXT,                          -- NULL: guest without an id
  isGuest          BOOLEAN NOT NULL DEFAULT 1,
  endpoint         TEXT NOT NULL,                 -- X-Meter-Endpoint, default the Gemini method
  model            TEXT NOT NULL,
  botId            TEXT,
  inputTokens      INTEGER NOT NULL DEFAULT 0,    -- prompt + tool-use prompt
  outputTokens     INTEGER NOT NULL DEFAULT 0,    -- candidates + thoughts
  totalTokens      INTEGER NOT NULL DEFAULT 0,
  estimatedCostUSD DECIMAL(10,6) NOT NULL DEFAULT 0,
  durationMs       INTEGER,
  success          BOOLEAN NOT NULL DEFAULT 1,
  errorMessage     TEXT,
  metadata         TEXT,                          -- JSON, see below
  createdAt        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  -- added in version 2
  cachedTokens        INTEGER NOT NULL DEFAULT 0, -- subset of the prompt
  thoughtsTokens      INTEGER NOT NULL DEFAULT 0, -- part of outputTokens
  toolUsePromptTokens INTEGER NOT NULL DEFAULT 0, -- part of inputTokens
  costPicoUsd         INTEGER NOT NULL DEFAULT 0, -- exact cost, 1e-12 USD
  priced              BOOLEAN NOT NULL DEFAULT 1, -- 0: model unknown to the price table
  priceVersion        TEXT,                       -- price table version that priced the row
  httpStatus          INTEGER,                    -- status relayed to the app; NULL: none sent
  geminiMethod        TEXT,                       -- generateContent, streamGenerateContent, ...
  streamed            BOOLEAN NOT NULL DEFAULT 0,
  partial             BOOLEAN NOT NULL DEFAULT 0, -- usage is the last seen before the call broke off
  createdAtMs         INTEGER NOT NULL DEFAULT 0  -- createdAt as UTC epoch milliseconds
);
-- metadata JSON keys: tags (object of X-Meter-Tag-* values), problems (array of strings),
-- responseId, modelVersion, ending (completed | upstream_unreachable | upstream_timeout |
-- client_gone | upstream_broken | rejected), source (response | none | estimated), ttfbMs,
-- requestBytes, responseBytes, httpMethod, path, promptAudioTokens, cachedAudioTokens.

-- The specification's four indexes (Prisma's names). Since version 3 the userId index also
-- orders a user's calls by time (user filter, a user's recent calls), and since version 8
-- the model and endpoint indexes too (filtered recent pages and range edges): each still
-- serves every lookup by its leading column, and one wider index costs the writer less
-- than two.
CREATE INDEX ApiUsage_userId_idx ON ApiUsage(userId, createdAtMs, id);
CREATE INDEX ApiUsage_createdAt_idx ON ApiUsage(createdAt);
CREATE INDEX ApiUsage_model_idx ON ApiUsage(model, createdAtMs, id);
CREATE INDEX ApiUsage_endpoint_idx ON ApiUsage(endpoint, createdAtMs, id);
-- Time ranges, retention and keyset pagination of recent calls.
CREATE INDEX ApiUsage_createdAtMs_id_idx ON ApiUsage(createdAtMs, id);

-- Users seen, with the latest email given for them (X-Meter-User-Email).
CREATE TABLE UsageUser (
  userId     TEXT NOT NULL PRIMARY KEY,
  email      TEXT,
  emailSeen  TEXT,                                -- createdAt of the call that gave the email
  firstSeen  TEXT NOT NULL,
  lastSeen   TEXT NOT NULL
) WITHOUT ROWID;

-- Rollups, maintained by the writer in the same transaction as the rows. Each carries the
-- same twelve sums. unpricedCalls counts priced = 0; durationMsSum / durationCount give
-- the average duration; failed = calls - successfulCalls; registered = calls - guestCalls.

-- Per UTC day x model x endpoint x bot x guest: answers filters on those dimensions.
CREATE TABLE UsageDaily (
  day INTEGER NOT NULL, model TEXT NOT NULL, endpoint TEXT NOT NULL,
  botId TEXT NOT NULL,                            -- '' for calls without a bot
  isGuest INTEGER NOT NULL,
  calls INTEGER NOT NULL DEFAULT 0, successfulCalls INTEGER NOT NULL DEFAULT 0,
  guestCalls INTEGER NOT NULL DEFAULT 0, inputTokens INTEGER NOT NULL DEFAULT 0,
  outputTokens INTEGER NOT NULL DEFAULT 0, totalTokens INTEGER NOT NULL DEFAULT 0,
  cachedTokens INTEGER NOT NULL DEFAULT 0, thoughtsTokens INTEGER NOT NULL DEFAULT 0,
  costPicoUsd INTEGER NOT NULL DEFAULT 0, durationMsSum INTEGER NOT NULL DEFAULT 0,
  durationCount INTEGER NOT NULL DEFAULT 0, unpricedCalls INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (day, model, endpoint, botId, isGuest)
) WITHOUT ROWID;

-- Per UTC day x one dimension: dim is 'model', 'endpoint', 'bot' ('' key: no bot) or
-- 'guest' (key '1' / '0'; a day's two guest rows sum to the day's totals). The smallest
-- table that answers unfiltered totals, breakdowns and daily series.
CREATE TABLE UsageDailyDim (
  day INTEGER NOT NULL, dim TEXT NOT NULL, key TEXT NOT NULL,
  calls INTEGER NOT NULL DEFAULT 0, successfulCalls INTEGER NOT NULL DEFAULT 0,
  guestCalls INTEGER NOT NULL DEFAULT 0, inputTokens INTEGER NOT NULL DEFAULT 0,
  outputTokens INTEGER NOT NULL DEFAULT 0, totalTokens INTEGER NOT NULL DEFAULT 0,
  cachedTokens INTEGER NOT NULL DEFAULT 0, thoughtsTokens INTEGER NOT NULL DEFAULT 0,
  costPicoUsd INTEGER NOT NULL DEFAULT 0, durationMsSum INTEGER NOT NULL DEFAULT 0,
  durationCount INTEGER NOT NULL DEFAULT 0, unpricedCalls INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (day, dim, key)
) WITHOUT ROWID;

-- Per UTC day x user (rows with a userId): top users and per-user series.
CREATE TABLE UsageDailyUser (
  day INTEGER NOT NULL, userId TEXT NOT NULL,
  calls INTEGER NOT NULL DEFAULT 0, successfulCalls INTEGER NOT NULL DEFAULT 0,
  guestCalls INTEGER NOT NULL DEFAULT 0, inputTokens INTEGER NOT NULL DEFAULT 0,
  outputTokens INTEGER NOT NULL DEFAULT 0, totalTokens INTEGER NOT NULL DEFAULT 0,
  cachedTokens INTEGER NOT NULL DEFAULT 0, thoughtsTokens INTEGER NOT NULL DEFAULT 0,
  costPicoUsd INTEGER NOT NULL DEFAULT 0, durationMsSum INTEGER NOT NULL DEFAULT 0,
  durationCount INTEGER NOT NULL DEFAULT 0, unpricedCalls INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (day, userId)
) WITHOUT ROWID;

-- Per UTC day x user x UsageDaily's dimensions (version 5): a user filter, alone or with
-- model, endpoint or bot, with breakdowns. Days whose rows retention removed before version
-- 5 keep the user's sums under model, endpoint and bot '' (isGuest 0).
CREATE TABLE UsageDailyUserDim (
  day INTEGER NOT NULL, userId TEXT NOT NULL, model TEXT NOT NULL, endpoint TEXT NOT NULL,
  botId TEXT NOT NULL, isGuest INTEGER NOT NULL,
  calls INTEGER NOT NULL DEFAULT 0, successfulCalls INTEGER NOT NULL DEFAULT 0,
  guestCalls INTEGER NOT NULL DEFAULT 0, inputTokens INTEGER NOT NULL DEFAULT 0,
  outputTokens INTEGER NOT NULL DEFAULT 0, totalTokens INTEGER NOT NULL DEFAULT 0,
  cachedTokens INTEGER NOT NULL DEFAULT 0, thoughtsTokens INTEGER NOT NULL DEFAULT 0,
  costPicoUsd INTEGER NOT NULL DEFAULT 0, durationMsSum INTEGER NOT NULL DEFAULT 0,
  durationCount INTEGER NOT NULL DEFAULT 0, unpricedCalls INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (day, userId, model, endpoint, botId, isGuest)
) WITHOUT ROWID;

-- Per UTC hour x user (as UsageDailyUser per day; version 9): the whole hours of a range's
-- partial days for top users and a user filter. Keyed by hour first: the writer appends.
CREATE TABLE UsageHourlyUser (
  hour INTEGER NOT NULL, userId TEXT NOT NULL,
  calls INTEGER NOT NULL DEFAULT 0, successfulCalls INTEGER NOT NULL DEFAULT 0,
  guestCalls INTEGER NOT NULL DEFAULT 0, inputTokens INTEGER NOT NULL DEFAULT 0,
  outputTokens INTEGER NOT NULL DEFAULT 0, totalTokens INTEGER NOT NULL DEFAULT 0,
  cachedTokens INTEGER NOT NULL DEFAULT 0, thoughtsTokens INTEGER NOT NULL DEFAULT 0,
  costPicoUsd INTEGER NOT NULL DEFAULT 0, durationMsSum INTEGER NOT NULL DEFAULT 0,
  durationCount INTEGER NOT NULL DEFAULT 0, unpricedCalls INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (hour, userId)
) WITHOUT ROWID;

-- Per UTC day x user x one dimension (version 9): dim is 'model', 'endpoint' or 'bot' ('' key:
-- no bot), as UsageDailyDim is for all users. A user filter's breakdowns read one row per day
-- and value instead of one per model x endpoint x bot combination; the totals come from
-- UsageDailyUser. Since version 10 it holds the days up to UsageRollupState's
-- 'UsageDailyUserOneDim' value only: the writer folds each finished day into it once from
-- UsageDailyUserDim (and adds a later call of such a day directly); readers take the days
-- after it from UsageDailyUserDim. Days whose rows retention removed before version 5 keep
-- the user's sums under key '' of each dimension (as UsageDailyUserDim does).
CREATE TABLE UsageDailyUserOneDim (
  day INTEGER NOT NULL, userId TEXT NOT NULL, dim TEXT NOT NULL, key TEXT NOT NULL,
  calls INTEGER NOT NULL DEFAULT 0, successfulCalls INTEGER NOT NULL DEFAULT 0,
  guestCalls INTEGER NOT NULL DEFAULT 0, inputTokens INTEGER NOT NULL DEFAULT 0,
  outputTokens INTEGER NOT NULL DEFAULT 0, totalTokens INTEGER NOT NULL DEFAULT 0,
  cachedTokens INTEGER NOT NULL DEFAULT 0, thoughtsTokens INTEGER NOT NULL DEFAULT 0,
  costPicoUsd INTEGER NOT NULL DEFAULT 0, durationMsSum INTEGER NOT NULL DEFAULT 0,
  durationCount INTEGER NOT NULL DEFAULT 0, unpricedCalls INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (day, userId, dim, key)
) WITHOUT ROWID;

-- Per UTC hour x user x UsageDaily's dimensions (version 10; as UsageDailyUserDim per day): the
-- whole hours of a user-filtered range's partial days, with breakdowns. One upsert per call
-- of a user with few calls, where a table by one dimension would take three.
CREATE TABLE UsageHourlyUserDim (
  hour INTEGER NOT NULL, userId TEXT NOT NULL, model TEXT NOT NULL, endpoint TEXT NOT NULL,
  botId TEXT NOT NULL, isGuest INTEGER NOT NULL,
  calls INTEGER NOT NULL DEFAULT 0, successfulCalls INTEGER NOT NULL DEFAULT 0,
  guestCalls INTEGER NOT NULL DEFAULT 0, inputTokens INTEGER NOT NULL DEFAULT 0,
  outputTokens INTEGER NOT NULL DEFAULT 0, totalTokens INTEGER NOT NULL DEFAULT 0,
  cachedTokens INTEGER NOT NULL DEFAULT 0, thoughtsTokens INTEGER NOT NULL DEFAULT 0,
  costPicoUsd INTEGER NOT NULL DEFAULT 0, durationMsSum INTEGER NOT NULL DEFAULT 0,
  durationCount INTEGER NOT NULL DEFAULT 0, unpricedCalls INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (hour, userId, model, endpoint, botId, isGuest)
) WITHOUT ROWID;

-- Progress of rollups that the writer builds in bulk rather than per call (version 10):
-- 'UsageDailyUserOneDim' is the last UTC day folded into that table, and since version 11 also
-- into UsageMonthlyUserSums and UsageDailyDimPair, and since version 12 into UsageMonthlyDim
-- (one marker: they fold together).
CREATE TABLE UsageRollupState (
  name TEXT NOT NULL PRIMARY KEY, value INTEGER NOT NULL
) WITHOUT ROWID;

-- Per UTC month (months since 1970-01) x user, the twelve sums (version 11), folded from
-- UsageDailyUser once per finished day; holds the days up to UsageRollupState's marker only
-- (readers add later days from UsageDailyUser; the writer adds a late call of a folded day
-- directly). A user's totals over a range read one row per whole month: top users' candidates.
CREATE TABLE UsageMonthlyUserSums (
  month INTEGER NOT NULL, userId TEXT NOT NULL,
  calls INTEGER NOT NULL DEFAULT 0, successfulCalls INTEGER NOT NULL DEFAULT 0,
  guestCalls INTEGER NOT NULL DEFAULT 0, inputTokens INTEGER NOT NULL DEFAULT 0,
  outputTokens INTEGER NOT NULL DEFAULT 0, totalTokens INTEGER NOT NULL DEFAULT 0,
  cachedTokens INTEGER NOT NULL DEFAULT 0, thoughtsTokens INTEGER NOT NULL DEFAULT 0,
  costPicoUsd INTEGER NOT NULL DEFAULT 0, durationMsSum INTEGER NOT NULL DEFAULT 0,
  durationCount INTEGER NOT NULL DEFAULT 0, unpricedCalls INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (month, userId)
) WITHOUT ROWID;

-- Per UTC day x one dimension value (dim 'model', 'endpoint', 'bot' or 'guest', keys as in
-- UsageDailyDim) x one other breakdown dimension (byDim 'model', 'endpoint' or 'bot')
-- (version 11), folded from UsageDaily like UsageMonthlyUserSums, for the days up to the marker:
-- a filter on exactly one of model, endpoint, bot or guest reads its breakdowns here.
CREATE TABLE UsageDailyDimPair (
  day INTEGER NOT NULL, dim TEXT NOT NULL, key TEXT NOT NULL, byDim TEXT NOT NULL, byKey TEXT NOT NULL,
  calls INTEGER NOT NULL DEFAULT 0, successfulCalls INTEGER NOT NULL DEFAULT 0,
  guestCalls INTEGER NOT NULL DEFAULT 0, inputTokens INTEGER NOT NULL DEFAULT 0,
  outputTokens INTEGER NOT NULL DEFAULT 0, totalTokens INTEGER NOT NULL DEFAULT 0,
  cachedTokens INTEGER NOT NULL DEFAULT 0, thoughtsTokens INTEGER NOT NULL DEFAULT 0,
  costPicoUsd INTEGER NOT NULL DEFAULT 0, durationMsSum INTEGER NOT NULL DEFAULT 0,
  durationCount INTEGER NOT NULL DEFAULT 0, unpricedCalls INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (day, dim, key, byDim, byKey)
) WITHOUT ROWID;

-- Per UTC month (months since 1970-01) x one dimension (dim and key as in UsageDailyDim)
-- (version 12), folded from UsageDailyDim like UsageMonthlyUserSums, for the days up to the
-- marker: unfiltered totals and breakdowns read one row per month and value over whole months
-- (readers add the days after the marker from UsageDailyDim).
CREATE TABLE UsageMonthlyDim (
  month INTEGER NOT NULL, dim TEXT NOT NULL, key TEXT NOT NULL,
  calls INTEGER NOT NULL DEFAULT 0, successfulCalls INTEGER NOT NULL DEFAULT 0,
  guestCalls INTEGER NOT NULL DEFAULT 0, inputTokens INTEGER NOT NULL DEFAULT 0,
  outputTokens INTEGER NOT NULL DEFAULT 0, totalTokens INTEGER NOT NULL DEFAULT 0,
  cachedTokens INTEGER NOT NULL DEFAULT 0, thoughtsTokens INTEGER NOT NULL DEFAULT 0,
  costPicoUsd INTEGER NOT NULL DEFAULT 0, durationMsSum INTEGER NOT NULL DEFAULT 0,
  durationCount INTEGER NOT NULL DEFAULT 0, unpricedCalls INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (month, dim, key)
) WITHOUT ROWID;

-- Re-pricing a stored row of a folded day moves the three folded rollups above by the same
-- difference (reprice moves every other rollup itself). The writer never updates ApiUsage
-- rows, so this never runs on its path.
CREATE TRIGGER UsageFoldedRollups_reprice AFTER UPDATE OF costPicoUsd, priced ON ApiUsage
  WHEN (NEW.costPicoUsd IS NOT OLD.costPicoUsd OR NEW.priced IS NOT OLD.priced)
   AND NEW.createdAtMs / 86400000 <= (SELECT value FROM UsageRollupState WHERE name = 'UsageDailyUserOneDim')
BEGIN
  UPDATE UsageMonthlyUserSums
    SET costPicoUsd = costPicoUsd + (NEW.costPicoUsd - OLD.costPicoUsd),
        unpricedCalls = unpricedCalls + ((NEW.priced = 0) - (OLD.priced = 0))
    WHERE month = ((CAST(strftime('%Y', (NEW.createdAtMs / 86400000) * 86400, 'unixepoch') AS INTEGER) - 1970) * 12
                   + CAST(strftime('%m', (NEW.createdAtMs / 86400000) * 86400, 'unixepoch') AS INTEGER) - 1)
      AND userId = NEW.userId;
  UPDATE UsageDailyDimPair
    SET costPicoUsd = costPicoUsd + (NEW.costPicoUsd - OLD.costPicoUsd),
        unpricedCalls = unpricedCalls + ((NEW.priced = 0) - (OLD.priced = 0))
    WHERE day = NEW.createdAtMs / 86400000 AND (dim, key, byDim, byKey) IN (VALUES
      ('model', NEW.model, 'endpoint', NEW.endpoint), ('model', NEW.model, 'bot', COALESCE(NEW.botId, '')),
      ('endpoint', NEW.endpoint, 'model', NEW.model), ('endpoint', NEW.endpoint, 'bot', COALESCE(NEW.botId, '')),
      ('bot', COALESCE(NEW.botId, ''), 'model', NEW.model), ('bot', COALESCE(NEW.botId, ''), 'endpoint', NEW.endpoint),
      ('guest', CAST((NEW.isGuest <> 0) AS TEXT), 'model', NEW.model),
      ('guest', CAST((NEW.isGuest <> 0) AS TEXT), 'endpoint', NEW.endpoint),
      ('guest', CAST((NEW.isGuest <> 0) AS TEXT), 'bot', COALESCE(NEW.botId, '')));
  UPDATE UsageMonthlyDim
    SET costPicoUsd = costPicoUsd + (NEW.costPicoUsd - OLD.costPicoUsd),
        unpricedCalls = unpricedCalls + ((NEW.priced = 0) - (OLD.priced = 0))
    WHERE month = ((CAST(strftime('%Y', (NEW.createdAtMs / 86400000) * 86400, 'unixepoch') AS INTEGER) - 1970) * 12
                   + CAST(strftime('%m', (NEW.createdAtMs / 86400000) * 86400, 'unixepoch') AS INTEGER) - 1)
      AND (dim, key) IN (VALUES ('model', NEW.model), ('endpoint', NEW.endpoint),
                             ('bot', COALESCE(NEW.botId, '')), ('guest', CAST((NEW.isGuest <> 0) AS TEXT)));
END;

-- Per UTC hour (createdAtMs / 3600000) with UsageDaily's dimensions: the whole hours of
-- a range's partial first and last days, so that only the partial hours read raw rows.
CREATE TABLE UsageHourly (
  hour INTEGER NOT NULL, model TEXT NOT NULL, endpoint TEXT NOT NULL, botId TEXT NOT NULL,
  isGuest INTEGER NOT NULL,
  calls INTEGER NOT NULL DEFAULT 0, successfulCalls INTEGER NOT NULL DEFAULT 0,
  guestCalls INTEGER NOT NULL DEFAULT 0, inputTokens INTEGER NOT NULL DEFAULT 0,
  outputTokens INTEGER NOT NULL DEFAULT 0, totalTokens INTEGER NOT NULL DEFAULT 0,
  cachedTokens INTEGER NOT NULL DEFAULT 0, thoughtsTokens INTEGER NOT NULL DEFAULT 0,
  costPicoUsd INTEGER NOT NULL DEFAULT 0, durationMsSum INTEGER NOT NULL DEFAULT 0,
  durationCount INTEGER NOT NULL DEFAULT 0, unpricedCalls INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (hour, model, endpoint, botId, isGuest)
) WITHOUT ROWID;

-- Per UTC day / hour x tag name x tag value (metadata.tags; a call counts once per
-- distinct name=value pair) x UsageDaily's dimensions: the "name=value" tag filter,
-- alone or with the other filters, with breakdowns. Keyed by tag first: every read
-- filters on one name=value.
CREATE TABLE UsageDailyTag (
  day INTEGER NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, model TEXT NOT NULL,
  endpoint TEXT NOT NULL, botId TEXT NOT NULL, isGuest INTEGER NOT NULL,
  calls INTEGER NOT NULL DEFAULT 0, successfulCalls INTEGER NOT NULL DEFAULT 0,
  guestCalls INTEGER NOT NULL DEFAULT 0, inputTokens INTEGER NOT NULL DEFAULT 0,
  outputTokens INTEGER NOT NULL DEFAULT 0, totalTokens INTEGER NOT NULL DEFAULT 0,
  cachedTokens INTEGER NOT NULL DEFAULT 0, thoughtsTokens INTEGER NOT NULL DEFAULT 0,
  costPicoUsd INTEGER NOT NULL DEFAULT 0, durationMsSum INTEGER NOT NULL DEFAULT 0,
  durationCount INTEGER NOT NULL DEFAULT 0, unpricedCalls INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (name, value, day, model, endpoint, botId, isGuest)
) WITHOUT ROWID;
CREATE TABLE UsageHourlyTag (
  hour INTEGER NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, model TEXT NOT NULL,
  endpoint TEXT NOT NULL, botId TEXT NOT NULL, isGuest INTEGER NOT NULL,
  calls INTEGER NOT NULL DEFAULT 0, successfulCalls INTEGER NOT NULL DEFAULT 0,
  guestCalls INTEGER NOT NULL DEFAULT 0, inputTokens INTEGER NOT NULL DEFAULT 0,
  outputTokens INTEGER NOT NULL DEFAULT 0, totalTokens INTEGER NOT NULL DEFAULT 0,
  cachedTokens INTEGER NOT NULL DEFAULT 0, thoughtsTokens INTEGER NOT NULL DEFAULT 0,
  costPicoUsd INTEGER NOT NULL DEFAULT 0, durationMsSum INTEGER NOT NULL DEFAULT 0,
  durationCount INTEGER NOT NULL DEFAULT 0, unpricedCalls INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (name, value, hour, model, endpoint, botId, isGuest)
) WITHOUT ROWID;

-- Per UTC hour x one dimension (as UsageDailyDim per day; version 7): the whole hours of a
-- range's partial days for an unfiltered breakdown.
CREATE TABLE UsageHourlyDim (
  hour INTEGER NOT NULL, dim TEXT NOT NULL, key TEXT NOT NULL,
  calls INTEGER NOT NULL DEFAULT 0, successfulCalls INTEGER NOT NULL DEFAULT 0,
  guestCalls INTEGER NOT NULL DEFAULT 0, inputTokens INTEGER NOT NULL DEFAULT 0,
  outputTokens INTEGER NOT NULL DEFAULT 0, totalTokens INTEGER NOT NULL DEFAULT 0,
  cachedTokens INTEGER NOT NULL DEFAULT 0, thoughtsTokens INTEGER NOT NULL DEFAULT 0,
  costPicoUsd INTEGER NOT NULL DEFAULT 0, durationMsSum INTEGER NOT NULL DEFAULT 0,
  durationCount INTEGER NOT NULL DEFAULT 0, unpricedCalls INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (hour, dim, key)
) WITHOUT ROWID;

-- Per tag name x value x UTC day / hour x one dimension (version 7): the tag filter alone,
-- with breakdowns.
CREATE TABLE UsageDailyTagDim (
  day INTEGER NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, dim TEXT NOT NULL, key TEXT NOT NULL,
  calls INTEGER NOT NULL DEFAULT 0, successfulCalls INTEGER NOT NULL DEFAULT 0,
  guestCalls INTEGER NOT NULL DEFAULT 0, inputTokens INTEGER NOT NULL DEFAULT 0,
  outputTokens INTEGER NOT NULL DEFAULT 0, totalTokens INTEGER NOT NULL DEFAULT 0,
  cachedTokens INTEGER NOT NULL DEFAULT 0, thoughtsTokens INTEGER NOT NULL DEFAULT 0,
  costPicoUsd INTEGER NOT NULL DEFAULT 0, durationMsSum INTEGER NOT NULL DEFAULT 0,
  durationCount INTEGER NOT NULL DEFAULT 0, unpricedCalls INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (name, value, day, dim, key)
) WITHOUT ROWID;
CREATE TABLE UsageHourlyTagDim (
  hour INTEGER NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, dim TEXT NOT NULL, key TEXT NOT NULL,
  calls INTEGER NOT NULL DEFAULT 0, successfulCalls INTEGER NOT NULL DEFAULT 0,
  guestCalls INTEGER NOT NULL DEFAULT 0, inputTokens INTEGER NOT NULL DEFAULT 0,
  outputTokens INTEGER NOT NULL DEFAULT 0, totalTokens INTEGER NOT NULL DEFAULT 0,
  cachedTokens INTEGER NOT NULL DEFAULT 0, thoughtsTokens INTEGER NOT NULL DEFAULT 0,
  costPicoUsd INTEGER NOT NULL DEFAULT 0, durationMsSum INTEGER NOT NULL DEFAULT 0,
  durationCount INTEGER NOT NULL DEFAULT 0, unpricedCalls INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (name, value, hour, dim, key)
) WITHOUT ROWID;

-- Per UTC month (months since 1970-01) x user: cost only. Top users reads each month of a
-- range in cost order and stops once no unread user can still reach the top (an upper bound:
-- a user's cost in the months covering the range is at least their cost in the range).
CREATE TABLE UsageMonthlyUser (
  month INTEGER NOT NULL, userId TEXT NOT NULL, costPicoUsd INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (month, userId)
) WITHOUT ROWID;
CREATE INDEX UsageMonthlyUser_cost_idx ON UsageMonthlyUser(month, costPicoUsd DESC, userId);

PRAGMA user_version = 12;

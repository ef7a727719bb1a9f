#pragma once
// The twelve sums every rollup row carries, in one order shared by the migrations, the
// writer, the queries and re-pricing, so that a column can never be read as another.
#include <cstdint>
#include <string>

#include "metering/usage_record.hpp"
#include "storage/usage_queries.hpp"

namespace gm::storage {

inline constexpr const char* rollup_sum_columns =
    "calls, successfulCalls, guestCalls, inputTokens, outputTokens, totalTokens, cachedTokens, "
    "thoughtsTokens, costPicoUsd, durationMsSum, durationCount, unpricedCalls";

// CREATE TABLE fragment.
inline constexpr const char* rollup_sum_defs =
    "calls INTEGER NOT NULL DEFAULT 0, successfulCalls INTEGER NOT NULL DEFAULT 0, "
    "guestCalls INTEGER NOT NULL DEFAULT 0, inputTokens INTEGER NOT NULL DEFAULT 0, "
    "outputTokens INTEGER NOT NULL DEFAULT 0, totalTokens INTEGER NOT NULL DEFAULT 0, "
    "cachedTokens INTEGER NOT NULL DEFAULT 0, thoughtsTokens INTEGER NOT NULL DEFAULT 0, "
    "costPicoUsd INTEGER NOT NULL DEFAULT 0, durationMsSum INTEGER NOT NULL DEFAULT 0, "
    "durationCount INTEGER NOT NULL DEFAULT 0, unpricedCalls INTEGER NOT NULL DEFAULT 0";

// SELECT list summing rollup rows.
inline constexpr const char* rollup_sum_select =
    "SUM(calls), SUM(successfulCalls), SUM(guestCalls), SUM(inputTokens), SUM(outputTokens), "
    "SUM(totalTokens), SUM(cachedTokens), SUM(thoughtsTokens), SUM(costPicoUsd), SUM(durationMsSum), "
    "SUM(durationCount), SUM(unpricedCalls)";

// The same sums computed from raw ApiUsage rows.
inline constexpr const char* raw_sum_select =
    "COUNT(*), IFNULL(SUM(success <> 0), 0), IFNULL(SUM(isGuest <> 0), 0), IFNULL(SUM(inputTokens), 0), "
    "IFNULL(SUM(outputTokens), 0), IFNULL(SUM(totalTokens), 0), IFNULL(SUM(cachedTokens), 0), "
    "IFNULL(SUM(thoughtsTokens), 0), IFNULL(SUM(costPicoUsd), 0), IFNULL(SUM(durationMs), 0), "
    "COUNT(durationMs), IFNULL(SUM(priced = 0), 0)";

// One raw ApiUsage row as the twelve sums of that row alone, in the same order: added up
// outside SQL (see sqlite_queries' raw_part).
inline constexpr const char* raw_row_sums =
    "1, success <> 0, isGuest <> 0, inputTokens, outputTokens, totalTokens, cachedTokens, thoughtsTokens, "
    "costPicoUsd, IFNULL(durationMs, 0), durationMs IS NOT NULL, priced = 0";

// ON CONFLICT clause adding excluded sums.
inline constexpr const char* rollup_sum_upsert =
    "calls = calls + excluded.calls, successfulCalls = successfulCalls + excluded.successfulCalls, "
    "guestCalls = guestCalls + excluded.guestCalls, inputTokens = inputTokens + excluded.inputTokens, "
    "outputTokens = outputTokens + excluded.outputTokens, totalTokens = totalTokens + excluded.totalTokens, "
    "cachedTokens = cachedTokens + excluded.cachedTokens, thoughtsTokens = thoughtsTokens + excluded.thoughtsTokens, "
    "costPicoUsd = costPicoUsd + excluded.costPicoUsd, durationMsSum = durationMsSum + excluded.durationMsSum, "
    "durationCount = durationCount + excluded.durationCount, unpricedCalls = unpricedCalls + excluded.unpricedCalls";

inline constexpr int rollup_sum_count = 12;

// Folding rows keyed by (model, endpoint, botId) into one row per dimension value: join the
// rows with one_dim_rows and select one_dim_key as the key (dims 'bot', 'endpoint', 'model').
inline constexpr const char* one_dim_rows =
    "(SELECT 'bot' AS dim UNION ALL SELECT 'endpoint' UNION ALL SELECT 'model') dims";
inline constexpr const char* one_dim_key =
    "CASE dims.dim WHEN 'model' THEN model WHEN 'endpoint' THEN endpoint ELSE botId END";
// UsageRollupState's row naming the last UTC day folded into UsageDailyUserOneDim.
inline constexpr const char* daily_user_one_dim_state =
    "SELECT value FROM UsageRollupState WHERE name = 'UsageDailyUserOneDim'";

// Months since 1970-01 of a day number, in SQL (as utc_month does in C++).
inline std::string month_of_day_sql(const std::string& day) {
    return "((CAST(strftime('%Y', (" + day + ") * 86400, 'unixepoch') AS INTEGER) - 1970) * 12 + "
           "CAST(strftime('%m', (" + day + ") * 86400, 'unixepoch') AS INTEGER) - 1)";
}

// Folding UsageDaily rows into UsageDailyDimPair (schema 11): join them with dim_pair_rows and
// select dim_pair_key / dim_pair_by_key. Each value of one dimension, by each value of one
// other breakdown dimension (guest is filtered on, never broken down by).
inline constexpr const char* dim_pair_rows =
    "(SELECT 'bot' AS dim, 'endpoint' AS byDim UNION ALL SELECT 'bot', 'model' "
    "UNION ALL SELECT 'endpoint', 'bot' UNION ALL SELECT 'endpoint', 'model' "
    "UNION ALL SELECT 'guest', 'bot' UNION ALL SELECT 'guest', 'endpoint' UNION ALL SELECT 'guest', 'model' "
    "UNION ALL SELECT 'model', 'bot' UNION ALL SELECT 'model', 'endpoint') pairs";
inline constexpr const char* dim_pair_key =
    "CASE pairs.dim WHEN 'model' THEN model WHEN 'endpoint' THEN endpoint WHEN 'bot' THEN botId "
    "ELSE CAST(isGuest AS TEXT) END";
inline constexpr const char* dim_pair_by_key =
    "CASE pairs.byDim WHEN 'model' THEN model WHEN 'endpoint' THEN endpoint ELSE botId END";

// The body of the trigger that moves the folded rollups (UsageMonthlyUserSums,
// UsageDailyDimPair, and from schema 12 UsageMonthlyDim) by a stored row's change of cost or
// priced, for a folded day. Schema 11's trigger leaves out the table it does not have.
inline std::string folded_rollups_reprice_sql(bool monthly_dims) {
    const std::string sets =
        "SET costPicoUsd = costPicoUsd + (NEW.costPicoUsd - OLD.costPicoUsd), "
        "unpricedCalls = unpricedCalls + ((NEW.priced = 0) - (OLD.priced = 0))";
    const std::string bot = "COALESCE(NEW.botId, '')";
    const std::string guest = "CAST((NEW.isGuest <> 0) AS TEXT)";
    auto pair = [](const std::string& dim, const std::string& key, const std::string& by, const std::string& by_key) {
        return "('" + dim + "', " + key + ", '" + by + "', " + by_key + ")";
    };
    return "UPDATE UsageMonthlyUserSums " + sets + " WHERE month = " +
           month_of_day_sql("NEW.createdAtMs / 86400000") + " AND userId = NEW.userId;\n  UPDATE UsageDailyDimPair " +
           sets + " WHERE day = NEW.createdAtMs / 86400000 AND (dim, key, byDim, byKey) IN (VALUES " +
           pair("model", "NEW.model", "endpoint", "NEW.endpoint") + ", " + pair("model", "NEW.model", "bot", bot) +
           ", " + pair("endpoint", "NEW.endpoint", "model", "NEW.model") + ", " +
           pair("endpoint", "NEW.endpoint", "bot", bot) + ", " + pair("bot", bot, "model", "NEW.model") + ", " +
           pair("bot", bot, "endpoint", "NEW.endpoint") + ", " + pair("guest", guest, "model", "NEW.model") + ", " +
           pair("guest", guest, "endpoint", "NEW.endpoint") + ", " + pair("guest", guest, "bot", bot) + ");" +
           (monthly_dims ? "\n  UPDATE UsageMonthlyDim " + sets + " WHERE month = " +
                               month_of_day_sql("NEW.createdAtMs / 86400000") +
                               " AND (dim, key) IN (VALUES ('model', NEW.model), ('endpoint', NEW.endpoint), ('bot', " +
                               bot + "), ('guest', " + guest + "));"
                         : std::string());
}

inline void add_record(usage_totals& t, const metering::usage_record& r) {
    t.calls += 1;
    t.successful_calls += r.success ? 1 : 0;
    t.guest_calls += r.is_guest ? 1 : 0;
    t.input_tokens += r.input_tokens();
    t.output_tokens += r.output_tokens();
    t.total_tokens += r.tokens.total;
    t.cached_tokens += r.tokens.cached;
    t.thoughts_tokens += r.tokens.thoughts;
    t.cost_pico_usd += r.cost_pico_usd;
    t.duration_ms_sum += r.duration_ms;
    t.duration_count += 1;
    t.unpriced_calls += r.priced ? 0 : 1;
    t.failed_calls = t.calls - t.successful_calls;
    t.registered_calls = t.calls - t.guest_calls;
}

inline void add_totals(usage_totals& t, const usage_totals& o) {
    t.calls += o.calls;
    t.successful_calls += o.successful_calls;
    t.guest_calls += o.guest_calls;
    t.input_tokens += o.input_tokens;
    t.output_tokens += o.output_tokens;
    t.total_tokens += o.total_tokens;
    t.cached_tokens += o.cached_tokens;
    t.thoughts_tokens += o.thoughts_tokens;
    t.cost_pico_usd += o.cost_pico_usd;
    t.duration_ms_sum += o.duration_ms_sum;
    t.duration_count += o.duration_count;
    t.unpriced_calls += o.unpriced_calls;
    t.failed_calls = t.calls - t.successful_calls;
    t.registered_calls = t.calls - t.guest_calls;
}

}  // namespace gm::storage

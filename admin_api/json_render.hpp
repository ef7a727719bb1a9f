#pragma once
// The specification's JSON shapes, rendered from storage's result structs. Money is an
// exact integer of pico-USD in storage; here it becomes a USD number rounded half away
// from zero to 6 decimals ("costUSD": 0.42) with the exact integer beside it
// ("costPicoUSD": 420000000000), so that the console keeps working and nothing is lost.
#include <cstdint>
#include <string>
#include <vector>

#include "storage/usage_queries.hpp"

namespace gm::admin_api {

// 12500000000000 -> "12.5"; 1 -> "0"; -1500000 -> "-0.000002". Always a valid JSON number.
std::string usd_from_pico(std::int64_t pico);
// The same amount with all six decimals, for columns that line up: "12.500000", "0.000000".
std::string usd_fixed(std::int64_t pico);

// Key used in byModel/byEndpoint/byBot for the empty group (calls without a bot).
constexpr const char* none_key = "(none)";

std::string render_stats(const storage::time_range& range, const storage::usage_stats& stats);
std::string render_daily(const storage::time_range& range, const std::vector<storage::daily_usage>& days);
std::string render_top_users(const storage::time_range& range, const std::vector<storage::user_usage>& users);
std::string render_recent(const storage::recent_page& page);
std::string render_projections(const storage::projection& p);
std::string render_compare(const storage::time_range& current, const storage::usage_stats& current_stats,
                           const storage::time_range& baseline, const storage::usage_stats& baseline_stats);

// Integer arithmetic for the projection: round(value * num / den), half away from zero.
std::int64_t scale_rounded(std::int64_t value, std::int64_t num, std::int64_t den);

}  // namespace gm::admin_api

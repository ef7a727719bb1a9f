#pragma once
// usage_queries over SQLite, on a connection of its own (query_only), one per admin worker
// thread. A range is covered by rollup buckets — whole months (a user's totals; unfiltered
// totals and breakdowns), days and hours — each added, or subtracted from the whole bucket
// around a range edge when that reads fewer buckets; only the partial hours at the ends (and
// filter combinations no rollup holds, e.g. user and tag together) come from raw rows,
// through the createdAtMs or (userId, createdAtMs) index. Every value is a bound parameter.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "storage/sqlite_conn.hpp"
#include "storage/usage_queries.hpp"

namespace gm::storage {

class sqlite_queries final : public usage_queries {
public:
    explicit sqlite_queries(const std::string& db_path);
    ~sqlite_queries() override;

    usage_stats stats(const time_range& range, const usage_filter& filter) override;
    std::vector<daily_usage> daily(const time_range& range, const usage_filter& filter) override;
    std::vector<user_usage> top_users(const time_range& range, const usage_filter& filter, int limit) override;
    recent_page recent(const usage_filter& filter, int limit, const std::optional<recent_cursor>& before) override;
    projection projections(std::int64_t now_ms, const usage_filter& filter) override;
    void export_rows(const time_range& range, const usage_filter& filter,
                     const std::function<bool(const metering::usage_record&)>& row) override;

    // breakdown: one key per (model, endpoint, bot) joined by '\x1f', or, where the
    // unfiltered per-dimension rollup answers, per (dimension, value); stats() folds both.
    enum class group { none, model, endpoint, bot, day, user, breakdown };
    // Sums per group key over the range (day keys are decimal day numbers). Public for the
    // benchmark and tests; the interface functions are built on it.
    std::map<std::string, usage_totals> grouped(const time_range& range, const usage_filter& filter, group g);

private:
    using param = std::variant<std::int64_t, std::string>;
    sqlite_stmt& prepared(const std::string& sql, const std::vector<param>& params);
    void run_grouped(const std::string& sql, const std::vector<param>& params,
                     std::map<std::string, usage_totals>& out);
    void raw_part(std::int64_t start_ms, std::int64_t end_ms, const usage_filter& f, group g,
                  std::map<std::string, usage_totals>& out);
    // The last UTC day folded into UsageDailyUserOneDim (days after it: UsageDailyUserDim).
    std::int64_t folded_user_day();
    // The rollup family that can answer a filter and grouping, if any.
    //   user: per user per day / hour (totals; a user filter alone, or top users);
    //   user_one_dim: one user's breakdowns, per folded day by one dimension (schema 9-10);
    //   user_dims: one user by model, endpoint, bot and guest, per day or hour (schema 10).
    enum class rollups { none, dims, user, user_one_dim, user_dims, tag };
    static rollups rollups_for(const usage_filter& f, group g);
    // [first, end) in days, or in hours when hourly.
    void rollup_part(std::int64_t first, std::int64_t end, bool hourly, rollups r, const usage_filter& f, group g,
                     std::map<std::string, usage_totals>& out);
    // Whole months [first, end): one user's totals (r == user) from UsageMonthlyUserSums
    // (schema 11), or unfiltered sums by g (r == dims) from UsageMonthlyDim (schema 12), for
    // folded days; the days after the fold marker from the daily rollups.
    struct gaps;
    void month_part(std::int64_t first, std::int64_t end, rollups r, const usage_filter& f, group g, const gaps& gp,
                    std::map<std::string, usage_totals>& out);
    // A one-dimension filter's breakdowns over folded days [first, end): UsageDailyDim for
    // its totals and own key, UsageDailyDimPair for the other dimensions (schema 11).
    void pair_part(std::int64_t first, std::int64_t end, const char* dim, const std::string& key,
                   std::map<std::string, usage_totals>& out);
    // Unfiltered top users over a range covering at most max_top_user_months months.
    static constexpr std::int64_t max_top_user_months = 4;
    std::vector<user_usage> top_users_by_month(const time_range& range, std::int64_t first_month,
                                               std::int64_t last_month, std::size_t limit);

    // Time spans known to hold no row and no rollup sum, found once per range and snapshot
    // (gaps_around in the .cpp says why they are safe): buckets inside them are not read.
    struct gaps {
        std::vector<std::pair<std::int64_t, std::int64_t>> spans;  // [from, to) in ms
        std::optional<std::int64_t> oldest, newest;                 // stored rows' createdAtMs
        std::int64_t folded_day = 0;                                // folded_user_day()
        std::uint64_t id = 0;                                       // gaps_around's call, for plan_
    };
    gaps gaps_around(const time_range& range);
    // The range as whole months (user totals only), days and hours of the rollups, each
    // added or subtracted (a partial day may be its day less the hours outside the range),
    // and raw spans; run inside the caller's snapshot.
    std::map<std::string, usage_totals> grouped_in_snapshot(const time_range& range, const usage_filter& f, group g,
                                                            const gaps& gp);

    sqlite_conn conn_;
    std::map<std::string, sqlite_stmt> stmts_;  // prepared once per query shape
    // +1 or -1: whether run_grouped adds the rows it reads or takes them away (a piece
    // subtracted from a whole bucket).
    int sign_ = 1;
    // The last range's pieces: top users covers the same range once per candidate.
    struct range_pieces;
    std::unique_ptr<range_pieces> plan_;
    std::uint64_t gaps_made_ = 0;
};

}  // namespace gm::storage

#pragma once
// The read side the admin API calls. Every function answers from rollups or indexes so
// that its cost grows with the days and groups asked for, not with the rows stored.
// Times are UTC epoch milliseconds; ranges are half-open [start_ms, end_ms).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "metering/usage_record.hpp"

namespace gm::storage {

struct time_range {
    std::int64_t start_ms = 0;
    std::int64_t end_ms = 0;
};

// Every field optional; all given ones must match (AND).
struct usage_filter {
    std::optional<std::string> model;
    std::optional<std::string> endpoint;
    std::optional<std::string> bot_id;
    std::optional<std::string> user_id;
    std::optional<bool> guest;
    std::optional<std::string> tag;  // "name=value": metadata.tags[name] == value
    bool empty() const noexcept { return !model && !endpoint && !bot_id && !user_id && !guest && !tag; }
};

struct usage_totals {
    std::int64_t calls = 0;
    std::int64_t successful_calls = 0;
    std::int64_t failed_calls = 0;
    std::int64_t guest_calls = 0;
    std::int64_t registered_calls = 0;
    std::int64_t input_tokens = 0;
    std::int64_t output_tokens = 0;
    std::int64_t total_tokens = 0;
    std::int64_t cached_tokens = 0;
    std::int64_t thoughts_tokens = 0;
    std::int64_t cost_pico_usd = 0;
    std::int64_t duration_ms_sum = 0;    // over calls with a duration
    std::int64_t duration_count = 0;
    std::int64_t unpriced_calls = 0;
    friend bool operator==(const usage_totals&, const usage_totals&) = default;
};

struct keyed_totals {
    std::string key;  // model, endpoint, bot id ("" for calls without one)
    usage_totals totals;
};

struct usage_stats {
    usage_totals totals;
    std::vector<keyed_totals> by_model;     // sorted by key
    std::vector<keyed_totals> by_endpoint;
    std::vector<keyed_totals> by_bot;
};

struct daily_usage {
    std::string date;  // YYYY-MM-DD (UTC)
    usage_totals totals;
};

struct user_usage {
    std::string user_id;
    std::string email;  // latest seen, "" if never given
    usage_totals totals;
};

// Keyset pagination for recent calls: pass the last row's (created_at_ms, id) to get older.
struct recent_cursor {
    std::int64_t created_at_ms = 0;
    std::string id;
};

struct recent_page {
    std::vector<metering::usage_record> calls;  // newest first
    std::optional<recent_cursor> next;          // set when older rows exist
};

struct projection {
    time_range baseline;        // the 7 full days before now's day... see storage docs
    int baseline_days = 7;
    usage_totals baseline_totals;
    std::vector<keyed_totals> by_model;
    std::vector<keyed_totals> by_endpoint;
};

class usage_queries {
public:
    virtual ~usage_queries() = default;
    virtual usage_stats stats(const time_range& range, const usage_filter& filter) = 0;
    // One entry per UTC day touched by the range, zero-filled, oldest first.
    virtual std::vector<daily_usage> daily(const time_range& range, const usage_filter& filter) = 0;
    // Registered users by cost, descending.
    virtual std::vector<user_usage> top_users(const time_range& range, const usage_filter& filter, int limit) = 0;
    virtual recent_page recent(const usage_filter& filter, int limit, const std::optional<recent_cursor>& before) = 0;
    virtual projection projections(std::int64_t now_ms, const usage_filter& filter) = 0;
    // Streams raw rows oldest first; the callback returns false to stop.
    virtual void export_rows(const time_range& range, const usage_filter& filter,
                             const std::function<bool(const metering::usage_record&)>& row) = 0;
};

}  // namespace gm::storage

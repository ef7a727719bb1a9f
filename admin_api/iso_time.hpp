#pragma once
// ISO 8601 dates and date-times in UTC, as the admin API accepts and prints them.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gm::admin_api {

struct parsed_time {
    std::int64_t ms = 0;     // UTC epoch milliseconds
    bool date_only = false;  // "YYYY-MM-DD": the caller decides start or end of that day
};

// Accepts YYYY-MM-DD, YYYY-MM-DDTHH:MM, YYYY-MM-DDTHH:MM:SS and YYYY-MM-DDTHH:MM:SS.fff
// (1 to 9 fraction digits, truncated to ms), optionally followed by Z or ±HH:MM; no
// suffix means UTC. A space may replace the T. Returns nothing for anything else,
// including impossible dates such as 2024-02-30.
std::optional<parsed_time> parse_iso_time(std::string_view text);

// 2024-11-06T10:30:00.000Z (JavaScript's toISOString, which the existing console expects).
std::string format_iso_ms(std::int64_t ms);
// 2024-11-06
std::string format_iso_date(std::int64_t ms);

constexpr std::int64_t ms_per_day = 86'400'000;
// Start (00:00 UTC) of the day holding ms.
std::int64_t day_start_ms(std::int64_t ms);
// Start of the UTC month holding ms, and of the month `delta` months away from it.
std::int64_t month_start_ms(std::int64_t ms, int delta = 0);

}  // namespace gm::admin_api

#pragma once
// UTC calendar arithmetic on epoch milliseconds, without the C library's time zone state
// (gmtime/timegm are not thread-safe everywhere and know nothing of milliseconds).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gm::storage {

inline constexpr std::int64_t ms_per_day = 86'400'000;

// Days since 1970-01-01 of the UTC day holding ms (floor, also for negative ms).
constexpr std::int64_t utc_day(std::int64_t ms) noexcept {
    return ms >= 0 ? ms / ms_per_day : -((-ms + ms_per_day - 1) / ms_per_day);
}
constexpr std::int64_t day_start_ms(std::int64_t day) noexcept { return day * ms_per_day; }

inline constexpr std::int64_t ms_per_hour = 3'600'000;
// Hours since the epoch (floor), the hourly rollups' key.
constexpr std::int64_t utc_hour(std::int64_t ms) noexcept {
    return ms >= 0 ? ms / ms_per_hour : -((-ms + ms_per_hour - 1) / ms_per_hour);
}

// Months since 1970-01 of a UTC day (0 = January 1970), and a month's first day.
std::int64_t utc_month(std::int64_t day) noexcept;
std::int64_t month_first_day(std::int64_t month) noexcept;

// "2024-11-06T10:30:00.123Z": fixed width, so text order is time order.
std::string format_iso_ms(std::int64_t ms);
// The same into a caller's buffer, without allocating (the writer formats one per row);
// returns the length (24 for years 0000-9999).
std::size_t format_iso_ms(std::int64_t ms, char (&out)[40]) noexcept;
// "2024-11-06"
std::string format_date(std::int64_t day);
// Parses format_iso_ms's output and the forms SQLite and Prisma write
// ("2024-11-06 10:30:00", optional fraction, optional Z or +00:00); nullopt otherwise.
std::optional<std::int64_t> parse_iso_ms(std::string_view text);

}  // namespace gm::storage

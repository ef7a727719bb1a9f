#include "admin_api/iso_time.hpp"

#include <fmt/format.h>

namespace gm::admin_api {

namespace {

// Howard Hinnant's days_from_civil: proleptic Gregorian, exact for every year we accept.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct civil { std::int64_t y; unsigned m, d; };

civil civil_from_days(std::int64_t z) {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    return {y + (m <= 2), m, d};
}

bool leap(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(std::int64_t y, unsigned m) {
    static const unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : days[m - 1];
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// Reads exactly n digits.
bool digits(std::string_view& s, std::size_t n, int& out) {
    if (s.size() < n) return false;
    int v = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (s[i] - '0');
    }
    out = v;
    s.remove_prefix(n);
    return true;
}

bool expect(std::string_view& s, char c) {
    if (s.empty() || s.front() != c) return false;
    s.remove_prefix(1);
    return true;
}

}  // namespace

std::optional<parsed_time> parse_iso_time(std::string_view s) {
    int y, mo, d;
    if (!digits(s, 4, y) || !expect(s, '-') || !digits(s, 2, mo) || !expect(s, '-') || !digits(s, 2, d))
        return std::nullopt;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > static_cast<int>(days_in_month(y, static_cast<unsigned>(mo))))
        return std::nullopt;
    std::int64_t day_ms = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * ms_per_day;
    if (s.empty()) return parsed_time{day_ms, true};
    if (s.front() != 'T' && s.front() != 't' && s.front() != ' ') return std::nullopt;
    s.remove_prefix(1);
    int hh, mm, ss = 0, frac_ms = 0;
    if (!digits(s, 2, hh) || !expect(s, ':') || !digits(s, 2, mm)) return std::nullopt;
    if (!s.empty() && s.front() == ':') {
        s.remove_prefix(1);
        if (!digits(s, 2, ss)) return std::nullopt;
        if (!s.empty() && s.front() == '.') {
            s.remove_prefix(1);
            std::size_t n = 0;
            int scale = 100;
            while (!s.empty() && s.front() >= '0' && s.front() <= '9') {
                if (n < 3) frac_ms += (s.front() - '0') * scale, scale /= 10;
                s.remove_prefix(1);
                ++n;
            }
            if (n == 0 || n > 9) return std::nullopt;
        }
    }
    if (hh > 23 || mm > 59 || ss > 59) return std::nullopt;
    std::int64_t offset_ms = 0;
    if (!s.empty()) {
        if (s == "Z" || s == "z") {
            s.remove_prefix(1);
        } else if (s.front() == '+' || s.front() == '-') {
            int sign = s.front() == '-' ? -1 : 1;
            s.remove_prefix(1);
            int oh, om;
            if (!digits(s, 2, oh) || !expect(s, ':') || !digits(s, 2, om) || oh > 23 || om > 59) return std::nullopt;
            offset_ms = sign * (oh * 3'600'000LL + om * 60'000LL);
        } else {
            return std::nullopt;
        }
    }
    if (!s.empty()) return std::nullopt;
    std::int64_t ms = day_ms + hh * 3'600'000LL + mm * 60'000LL + ss * 1000LL + frac_ms - offset_ms;
    if (ms < 0) return std::nullopt;
    return parsed_time{ms, false};
}

std::string format_iso_ms(std::int64_t ms) {
    std::int64_t days = floor_div(ms, ms_per_day);
    std::int64_t rem = ms - days * ms_per_day;
    civil c = civil_from_days(days);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", c.y, c.m, c.d, rem / 3'600'000,
                       rem / 60'000 % 60, rem / 1000 % 60, rem % 1000);
}

std::string format_iso_date(std::int64_t ms) {
    civil c = civil_from_days(floor_div(ms, ms_per_day));
    return fmt::format("{:04}-{:02}-{:02}", c.y, c.m, c.d);
}

std::int64_t day_start_ms(std::int64_t ms) { return floor_div(ms, ms_per_day) * ms_per_day; }

std::int64_t month_start_ms(std::int64_t ms, int delta) {
    civil c = civil_from_days(floor_div(ms, ms_per_day));
    std::int64_t months = c.y * 12 + (c.m - 1) + delta;
    std::int64_t y = floor_div(months, 12);
    unsigned m = static_cast<unsigned>(months - y * 12) + 1;
    return days_from_civil(y, m, 1) * ms_per_day;
}

}  // namespace gm::admin_api

#include "storage/utc_time.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace gm::storage {
namespace {

// Howard Hinnant's civil-from-days / days-from-civil: exact for the proleptic Gregorian
// calendar, no tables, no time zone database.
struct civil { std::int64_t y; unsigned m; unsigned d; };

civil civil_from_days(std::int64_t z) noexcept {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    return {m <= 2 ? y + 1 : y, m, d};
}

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool read_digits(std::string_view s, std::size_t pos, std::size_t n, unsigned& out) {
    if (pos + n > s.size()) return false;
    unsigned v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + static_cast<unsigned>(s[i] - '0');
    }
    out = v;
    return true;
}

}  // namespace

std::string format_iso_ms(std::int64_t ms) {
    const std::int64_t day = utc_day(ms);
    const std::int64_t in_day = ms - day * ms_per_day;
    const civil c = civil_from_days(day);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", c.y, c.m, c.d,
                       in_day / 3'600'000, in_day / 60'000 % 60, in_day / 1000 % 60, in_day % 1000);
}

std::size_t format_iso_ms(std::int64_t ms, char (&out)[40]) noexcept {
    const std::int64_t day = utc_day(ms);
    const std::int64_t in_day = ms - day * ms_per_day;
    const civil c = civil_from_days(day);
    if (c.y < 0 || c.y > 9999) {
        const auto r = fmt::format_to_n(out, sizeof out, "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", c.y, c.m, c.d,
                                        in_day / 3'600'000, in_day / 60'000 % 60, in_day / 1000 % 60, in_day % 1000);
        return std::min(r.size, sizeof out);
    }
    auto put = [&](std::size_t at, std::int64_t v, int width) {
        for (int i = width - 1; i >= 0; --i) {
            out[at + static_cast<std::size_t>(i)] = static_cast<char>('0' + v % 10);
            v /= 10;
        }
    };
    put(0, c.y, 4);
    out[4] = '-';
    put(5, c.m, 2);
    out[7] = '-';
    put(8, c.d, 2);
    out[10] = 'T';
    put(11, in_day / 3'600'000, 2);
    out[13] = ':';
    put(14, in_day / 60'000 % 60, 2);
    out[16] = ':';
    put(17, in_day / 1000 % 60, 2);
    out[19] = '.';
    put(20, in_day % 1000, 3);
    out[23] = 'Z';
    return 24;
}

std::int64_t utc_month(std::int64_t day) noexcept {
    const civil c = civil_from_days(day);
    return (c.y - 1970) * 12 + static_cast<std::int64_t>(c.m) - 1;
}

std::int64_t month_first_day(std::int64_t month) noexcept {
    const std::int64_t y = 1970 + (month >= 0 ? month / 12 : -((-month + 11) / 12));
    const auto m = static_cast<unsigned>(month - (y - 1970) * 12) + 1;
    return days_from_civil(y, m, 1);
}

std::string format_date(std::int64_t day) {
    const civil c = civil_from_days(day);
    return fmt::format("{:04}-{:02}-{:02}", c.y, c.m, c.d);
}

std::optional<std::int64_t> parse_iso_ms(std::string_view s) {
    unsigned y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
    if (!read_digits(s, 0, 4, y) || s.size() < 10 || s[4] != '-' || !read_digits(s, 5, 2, mo) ||
        s[7] != '-' || !read_digits(s, 8, 2, d))
        return std::nullopt;
    if (mo < 1 || mo > 12 || d < 1 || d > 31) return std::nullopt;
    std::int64_t ms = days_from_civil(y, mo, d) * ms_per_day;
    if (s.size() == 10) return ms;
    if ((s[10] != 'T' && s[10] != ' ') || !read_digits(s, 11, 2, h) || s.size() < 19 || s[13] != ':' ||
        !read_digits(s, 14, 2, mi) || s[16] != ':' || !read_digits(s, 17, 2, sec))
        return std::nullopt;
    if (h > 23 || mi > 59 || sec > 60) return std::nullopt;
    ms += (h * 3600LL + mi * 60LL + sec) * 1000LL;
    std::size_t pos = 19;
    if (pos < s.size() && s[pos] == '.') {
        ++pos;
        std::int64_t frac = 0;
        int digits = 0;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
            if (digits < 3) frac = frac * 10 + (s[pos] - '0');
            ++digits;
            ++pos;
        }
        if (digits == 0) return std::nullopt;
        for (int i = digits; i < 3; ++i) frac *= 10;
        ms += frac;
    }
    const std::string_view rest = s.substr(pos);
    if (rest.empty() || rest == "Z" || rest == "+00:00" || rest == "+0000") return ms;
    return std::nullopt;
}

}  // namespace gm::storage

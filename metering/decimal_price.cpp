#include "metering/decimal_price.hpp"

namespace gm::metering {

decimal_parse parse_usd_per_million(std::string_view t) {
    decimal_parse r;
    if (t.empty()) {
        r.error = "empty price";
        return r;
    }
    if (t.front() == '-') {
        r.error = "negative price";
        return r;
    }
    std::int64_t whole = 0;
    std::size_t i = 0;
    std::size_t int_digits = 0;
    for (; i < t.size() && t[i] >= '0' && t[i] <= '9'; ++i) {
        if (++int_digits > 7) {
            r.error = "price too large (at most 1000000 USD per 1M tokens)";
            return r;
        }
        whole = whole * 10 + (t[i] - '0');
    }
    std::int64_t frac = 0;
    std::size_t frac_digits = 0;
    if (i < t.size() && t[i] == '.') {
        ++i;
        for (; i < t.size() && t[i] >= '0' && t[i] <= '9'; ++i) {
            if (frac_digits < 6) {
                frac = frac * 10 + (t[i] - '0');
                ++frac_digits;
            } else if (t[i] != '0') {
                r.error = "more than 6 decimals (finer than 1 pico-USD per token)";
                return r;
            }
        }
        if (frac_digits == 0 && (i == 0 || t[i - 1] == '.')) {
            // "1." is tolerated only if digits followed the dot
            r.error = "no digits after the decimal point";
            return r;
        }
    }
    if (int_digits == 0 && frac_digits == 0) {
        r.error = "not a decimal number";
        return r;
    }
    if (i != t.size()) {
        r.error = (t[i] == '-' ? "negative price" : (t[i] == 'e' || t[i] == 'E') ? "exponent notation is not supported" : "not a decimal number");
        return r;
    }
    while (frac_digits < 6) {
        frac *= 10;
        ++frac_digits;
    }
    const std::int64_t v = whole * 1'000'000 + frac;
    if (v > std::int64_t{1'000'000} * 1'000'000) {
        r.error = "price too large (at most 1000000 USD per 1M tokens)";
        return r;
    }
    r.pico = v;
    return r;
}

namespace {
std::string format_fixed(std::int64_t v, int places) {
    std::int64_t scale = 1;
    for (int k = 0; k < places; ++k) scale *= 10;
    const bool neg = v < 0;
    const std::uint64_t a = neg ? 0 - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
    // Built by appending: GCC 12 at -O3 warns (-Wrestrict, a false positive) on
    // "literal" + std::string, and the build treats warnings as errors.
    std::string out;
    if (neg) out.push_back('-');
    out += std::to_string(a / static_cast<std::uint64_t>(scale));
    std::uint64_t f = a % static_cast<std::uint64_t>(scale);
    if (f == 0) return out;
    std::string digits(static_cast<std::size_t>(places), '0');
    for (int k = places - 1; k >= 0; --k) {
        digits[static_cast<std::size_t>(k)] = static_cast<char>('0' + f % 10);
        f /= 10;
    }
    while (!digits.empty() && digits.back() == '0') digits.pop_back();
    out.push_back('.');
    out += digits;
    return out;
}
}  // namespace

std::string format_usd_per_million(std::int64_t pico_per_token) { return format_fixed(pico_per_token, 6); }

std::string format_pico_usd(std::int64_t pico) { return format_fixed(pico, 12); }

}  // namespace gm::metering

#pragma once
// Exact conversion between "USD per million tokens" written as a decimal and integer
// pico-USD per token (the two are the same number scaled by 10^6). No floating point:
// "0.01875" is 18750 because we read digits, not because a double rounded well.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gm::metering {

struct decimal_parse {
    std::optional<std::int64_t> pico;  // pico-USD per token
    std::string error;                 // why not, when pico is empty
};

// Accepts digits with an optional '.' and at most 6 significant decimals (more are
// allowed only as trailing zeros). No sign, no exponent, at most 1,000,000 USD per 1M.
decimal_parse parse_usd_per_million(std::string_view text);

// 1250000 -> "1.25", 18750 -> "0.01875", 10000000 -> "10".
std::string format_usd_per_million(std::int64_t pico_per_token);

// A pico-USD amount as a USD decimal with 12 places trimmed of trailing zeros: "0.000123".
std::string format_pico_usd(std::int64_t pico);

}  // namespace gm::metering

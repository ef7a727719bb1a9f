#pragma once
// Re-pricing: recomputes the cost of stored calls from their stored token counts with a
// price function the caller supplies (storage knows nothing of price tables), and moves
// the rollups by the same differences in the same transaction, so totals always equal
// the sum of their rows. Rows removed by retention are not re-priced: their cost lives
// only in the rollups.
#include <cstdint>
#include <functional>
#include <string>

#include "metering/usage_record.hpp"

namespace gm::storage {

struct price_result {
    bool priced = false;
    std::int64_t cost_pico_usd = 0;
    std::string price_version;
};

struct reprice_result {
    std::int64_t examined = 0;
    std::int64_t changed = 0;
    std::int64_t cost_delta_pico_usd = 0;  // new total minus old total
};

// The price function sees the whole stored call (model, model_version, tokens incl. audio
// parts, gemini_method...), so it can key on modelVersion when present.
using record_pricer = std::function<price_result(const metering::usage_record&)>;
// The narrower form: model name and tokens.
using model_pricer = std::function<price_result(const std::string& model, const metering::token_counts& tokens)>;

// Rows with since_ms <= createdAtMs < until_ms, in transactions of `batch` rows.
reprice_result reprice(const std::string& db_path, std::int64_t since_ms, std::int64_t until_ms,
                       const record_pricer& price, std::size_t batch = 2000);
reprice_result reprice(const std::string& db_path, std::int64_t since_ms, std::int64_t until_ms,
                       const model_pricer& price, std::size_t batch = 2000);

}  // namespace gm::storage

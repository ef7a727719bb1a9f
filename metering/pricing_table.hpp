#pragma once
// Prices per model in integer pico-USD per token (== micro-USD per million tokens, so
// every published price is exact), with the long-context tier, and the cost of a call.
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "metering/usage_record.hpp"

namespace gm::metering {

// A malformed pricing file: the message names the file, the field and the reason.
class pricing_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Rates as written; an absent rate falls back as effective_rates() says.
struct price_rates {
    std::optional<std::int64_t> input;
    std::optional<std::int64_t> output;
    std::optional<std::int64_t> cached_input;
    std::optional<std::int64_t> audio_input;
    std::optional<std::int64_t> cached_audio_input;
};

// Every rate resolved: cached_input -> input, audio_input -> input,
// cached_audio_input -> cached_input, output -> 0 (embedding models have none).
struct effective_rates {
    std::int64_t input = 0;
    std::int64_t output = 0;
    std::int64_t cached_input = 0;
    std::int64_t audio_input = 0;
    std::int64_t cached_audio_input = 0;
};

struct price_entry {
    std::string model;
    price_rates base;
    std::int64_t tier_threshold = 0;  // prompt tokens; 0: a single tier
    price_rates above_tier;           // absent rates fall back within this tier, then to base
    std::string checked;              // date the price was checked against Google's page

    effective_rates rates(bool above) const noexcept;
};

struct price_result {
    bool priced = false;
    std::int64_t cost_pico_usd = 0;
    std::string matched_model;  // the table entry used
    bool above_tier = false;
    std::string problem;        // why not priced
};

class pricing_table {
public:
    pricing_table(std::string version, std::string source_date, std::vector<price_entry> entries,
                  std::vector<std::pair<std::string, std::string>> aliases = {});

    // The built-in table (GEMINI_WIRE.md section 8).
    static const pricing_table& builtin();
    // JSON text; origin names the file in error messages. Throws pricing_error listing
    // every problem found.
    static pricing_table from_json(std::string_view json, std::string_view origin);
    static pricing_table load_file(const std::string& path);

    // Strips "models/", then: exact name or alias; else the longest entry that is a
    // prefix ending at a '-' when what follows is only version words (latest, preview,
    // exp, numbers: -001, -preview-05-20). "-lite", "-image", "-8b" never fall back.
    const price_entry* find(std::string_view model) const noexcept;
    price_result price(std::string_view model, const token_counts& tokens) const;

    const std::string& version() const noexcept { return version_; }
    const std::string& source_date() const noexcept { return source_date_; }
    const std::vector<price_entry>& entries() const noexcept { return entries_; }
    const std::vector<std::pair<std::string, std::string>>& aliases() const noexcept { return aliases_; }

private:
    std::string version_;
    std::string source_date_;
    std::vector<price_entry> entries_;
    std::vector<std::pair<std::string, std::string>> aliases_;  // alias -> entry model
};

// Cost of one call with the given entry:
// (prompt - cached + toolUse) x in + cached x cachedIn + (candidates + thoughts) x out,
// the audio parts of prompt and cache at the audio rates; tier by promptTokenCount
// (> threshold: the whole call at the higher rates). Empty when it overflows int64.
std::optional<std::int64_t> call_cost_pico(const price_entry& e, const token_counts& t, bool& above_tier) noexcept;

// The JSON text of the built-in table (also shipped as metering/pricing_default.json).
std::string_view builtin_pricing_json() noexcept;

}  // namespace gm::metering

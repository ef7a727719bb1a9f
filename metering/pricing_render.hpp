#pragma once
// The effective table for people (`gemini-meter pricing`) and for the admin API.
#include <string>

#include "metering/pricing_table.hpp"

namespace gm::metering {

// Aligned text, USD per 1M tokens, one line per model, absent rates as "-".
std::string render_pricing_table(const pricing_table& table);

// {"version","sourceDate","unit":"USD per 1M tokens","models":[{"model","checked",
//  "tierThreshold","rates":{"input":{"usdPerMillion":"1.25","picoUsdPerToken":1250000},...},
//  "aboveTier":{...}|null}],"aliases":{...}}. Effective rates (fallbacks applied).
std::string render_pricing_json(const pricing_table& table);

}  // namespace gm::metering

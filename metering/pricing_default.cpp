#include "metering/pricing_table.hpp"

namespace gm::metering {

// Kept identical to metering/pricing_default.json (a test checks it).
std::string_view builtin_pricing_json() noexcept {
    return R"json({
  "version": "builtin-2025-12-19",
  "source_date": "2025-12-19",
  "unit": "USD per 1M tokens",
  "note": "Gemini API paid tier, standard (not batch/flex/priority). Source: ai.google.dev/gemini-api/docs/pricing; 'checked' is the date each row was last compared with it.",
  "models": {
    "gemini-2.5-pro": {
      "input": "1.25", "output": "10", "cached_input": "0.125",
      "tier_threshold": 200000,
      "above_tier": {"input": "2.50", "output": "15", "cached_input": "0.25"},
      "checked": "2025-10-31"
    },
    "gemini-2.5-flash": {
      "input": "0.30", "output": "2.50", "cached_input": "0.03",
      "audio_input": "1.00", "cached_audio_input": "0.10",
      "checked": "2025-10-31"
    },
    "gemini-2.5-flash-lite": {
      "input": "0.10", "output": "0.40", "cached_input": "0.01",
      "audio_input": "0.30", "cached_audio_input": "0.03",
      "checked": "2025-10-31"
    },
    "gemini-2.0-flash": {
      "input": "0.10", "output": "0.40", "cached_input": "0.025",
      "audio_input": "0.70", "cached_audio_input": "0.175",
      "checked": "2025-07-04"
    },
    "gemini-2.0-flash-lite": {
      "input": "0.075", "output": "0.30",
      "checked": "2025-07-04"
    },
    "gemini-1.5-flash": {
      "input": "0.075", "output": "0.30", "cached_input": "0.01875",
      "tier_threshold": 128000,
      "above_tier": {"input": "0.15", "output": "0.60", "cached_input": "0.0375"},
      "checked": "2025-07-04"
    },
    "gemini-1.5-pro": {
      "input": "1.25", "output": "5.00",
      "tier_threshold": 128000,
      "above_tier": {"input": "2.50", "output": "10.00"},
      "checked": "2025-06-22"
    },
    "gemini-3-pro-preview": {
      "input": "2", "output": "12", "cached_input": "0.2",
      "tier_threshold": 200000,
      "above_tier": {"input": "4", "output": "18", "cached_input": "0.4"},
      "checked": "2025-11-18"
    },
    "gemini-3-flash-preview": {
      "input": "0.50", "output": "3.00", "cached_input": "0.05",
      "audio_input": "1.00",
      "checked": "2025-12-19"
    },
    "gemini-embedding-001": {
      "input": "0.15"
    }
  }
}
)json";
}

}  // namespace gm::metering

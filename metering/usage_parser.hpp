#pragma once
// Turns one captured usage object into token counts, or says why it cannot be trusted.
// Policy (documented in the README): a usage object with any count that is not a
// non-negative integer <= 2^53, a duplicated field, or counts that contradict each other
// (cached > prompt, audio parts larger than their whole) is rejected as a whole and the
// reason recorded; the response tap then falls back to the usage object before it (streams
// repeat cumulative usage). Nothing is clamped or guessed.
#include <string>
#include <string_view>

#include "metering/usage_record.hpp"

namespace gm::metering {

struct usage_parse_result {
    bool ok = false;
    token_counts tokens;
    std::string problem;  // why it was rejected (ok == false)
    std::string note;     // accepted, but something was odd (e.g. total != sum of parts)
};

// Gemini `usageMetadata` object text. The plain objects Google sends (unescaped names,
// non-negative integer counts) are read by a strict hand-written reader; anything it does
// not take — every object that is rejected or noted included — goes to
// parse_gemini_usage_dom, so both always give the same result.
usage_parse_result parse_gemini_usage(std::string_view object_json);
// The reference reading through a JSON DOM (rapidjson); for tests.
usage_parse_result parse_gemini_usage_dom(std::string_view object_json);
// OpenAI-compatible `usage` object text; thinking = total - prompt - completion.
usage_parse_result parse_openai_usage(std::string_view object_json);

// The largest count we accept: beyond it JSON numbers stop being exact in most readers.
inline constexpr std::int64_t max_token_count = std::int64_t{1} << 53;

}  // namespace gm::metering

#pragma once
// Text encodings of a usage_record: the journal line (everything, so that a replay
// rebuilds the exact row), the ApiUsage.metadata JSON (what has no column of its own), and
// the archive line (the row under the specification's column names).
#include <optional>
#include <string>
#include <string_view>

#include "metering/usage_record.hpp"

namespace gm::storage {

// Stable names, stored in metadata and journals; they must never change meaning.
const char* ending_name(metering::call_ending e) noexcept;
const char* source_name(metering::usage_source s) noexcept;
std::optional<metering::call_ending> parse_ending(std::string_view s) noexcept;
std::optional<metering::usage_source> parse_source(std::string_view s) noexcept;

// "<crc32 of json, 8 hex digits> <json>\n". The checksum rejects a torn last line after a
// power cut instead of replaying a half record.
std::string encode_journal_line(const metering::usage_record& r);
// line without its '\n'; nullopt when the checksum or the JSON is wrong.
std::optional<metering::usage_record> decode_journal_line(std::string_view line);

// ApiUsage.metadata: tags (object), problems, responseId, modelVersion, ending, source,
// ttfbMs, requestBytes, responseBytes, httpMethod, path, promptAudioTokens, cachedAudioTokens.
std::string encode_metadata(const metering::usage_record& r);
// The same, appended to out without a DOM or allocations beyond out's growth: the writer
// renders one per row into a buffer it reuses.
void encode_metadata(const metering::usage_record& r, std::string& out);
// Fills the fields encode_metadata wrote; unknown or missing keys are left as they are, and
// text that is not a JSON object changes nothing. Text of exactly encode_metadata's shape
// (strings without escapes) is read in place; anything else goes to decode_metadata_dom.
void decode_metadata(std::string_view json, metering::usage_record& r);
// The same from a rapidjson DOM, for any JSON object (key order, whitespace, escapes, extra
// keys); decode_metadata's fallback, public so that a test can hold the two to one answer.
void decode_metadata_dom(std::string_view json, metering::usage_record& r);

// One JSON object with the ApiUsage column names (archive files, exports).
std::string encode_row_json(const metering::usage_record& r);

// The decimal USD rendering of an exact pico-USD amount for estimatedCostUSD.
double pico_to_usd(std::int64_t pico) noexcept;

}  // namespace gm::storage

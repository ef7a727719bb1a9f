#pragma once
// CSV rows of /api/api-usage/export (RFC 4180: comma separated, CRLF line ends, fields
// with a comma, quote, CR or LF quoted and quotes doubled). One row per call, oldest first.
#include <cstdint>
#include <string>
#include <string_view>

#include "metering/usage_record.hpp"

namespace gm::admin_api {

// The header line, CRLF included. Columns:
// id, createdAt, userId, userEmail, isGuest, endpoint, model, botId, inputTokens,
// outputTokens, totalTokens, cachedTokens, thoughtsTokens, estimatedCostUSD, costPicoUSD,
// priced, durationMs, ttfbMs, success, httpStatus, ending, streamed, geminiMethod,
// errorMessage, tags
const std::string& csv_header();

// Appends one row for the record, CRLF included. tags is "name=value" pairs joined by ';'.
void append_csv_row(std::string& out, const metering::usage_record& r);

// The same rows, for a whole export: rows come oldest first, so most share the minute of
// the row before, and createdAt's "YYYY-MM-DDTHH:MM:" is formatted once per minute instead
// of once per row (format_iso_ms was 13% of an export's instructions under callgrind).
class csv_row_writer {
public:
    void append(std::string& out, const metering::usage_record& r);

private:
    std::string_view created_at(std::int64_t ms);  // into stamp_ or other_
    std::int64_t minute_ = -1;  // created_at_ms / 60000 that stamp_'s "YYYY-MM-DDTHH:MM:" is for
    char stamp_[24] = {};       // "YYYY-MM-DDTHH:MM:SS.mmmZ"
    std::string other_;         // any other shape, whole
};

}  // namespace gm::admin_api

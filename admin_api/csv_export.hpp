#pragma once
// CSV rows of /api/api-usage/export (RFC 4180: comma separated, CRLF line ends, fields
// with a comma, quote, CR or LF quoted and quotes doubled). One row per call, oldest first.
#include <string>

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

}  // namespace gm::admin_api

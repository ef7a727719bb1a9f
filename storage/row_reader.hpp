#pragma once
// Reading an ApiUsage row back into a usage_record, shared by recent(), export, retention
// archives and re-pricing so that every reader agrees on the column order.
#include "metering/usage_record.hpp"
#include "storage/sqlite_conn.hpp"

namespace gm::storage {

// Select list for table alias "a"; 24 columns, read by read_record from first_col.
inline constexpr const char* record_select =
    "a.id, a.userId, a.isGuest, a.endpoint, a.model, a.botId, a.inputTokens, a.outputTokens, a.totalTokens, "
    "a.durationMs, a.success, a.errorMessage, a.metadata, a.createdAtMs, a.cachedTokens, a.thoughtsTokens, "
    "a.toolUsePromptTokens, a.costPicoUsd, a.priced, a.priceVersion, a.httpStatus, a.geminiMethod, a.streamed, "
    "a.partial";
inline constexpr int record_select_count = 24;

metering::usage_record read_record(const sqlite_stmt& st, int first_col = 0);
// The same into a record reused from row to row (an export's): every field read_record sets
// is set again and the others reset, so the result equals a fresh record's (user_email
// empty, for the caller's join to fill).
void read_record(const sqlite_stmt& st, int first_col, metering::usage_record& into);

}  // namespace gm::storage

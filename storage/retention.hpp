#pragma once
// Retention: raw rows older than a cutoff are deleted in small transactions (so the writer
// and readers are never held off for long), optionally appended first to a gzip JSON-lines
// archive that is flushed and fsync'ed before each deleting commit. Rollups and users are
// not touched: totals of deleted days stay right; only raw-row answers (recent, export,
// user and tag filters, unaligned range edges) lose those rows.
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

namespace gm::storage {

struct retention_result {
    std::int64_t deleted = 0;
    std::int64_t archived = 0;
    std::int64_t batches = 0;
    bool stopped = false;  // ended early at `stop`'s request; the rest waits for the next pass
};

// Deletes rows with createdAtMs < cutoff_ms. Throws on a database or archive error; rows
// deleted by batches committed before the error stay deleted (and archived). stop, when
// given and set, ends the pass before its next batch.
retention_result delete_older_than(const std::string& db_path, std::int64_t cutoff_ms, std::size_t batch = 1000,
                                   const std::optional<std::string>& archive_path = std::nullopt,
                                   const std::atomic<bool>* stop = nullptr);

}  // namespace gm::storage

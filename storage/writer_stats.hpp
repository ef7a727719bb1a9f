#pragma once
#include <cstdint>
#include <string>

namespace gm::storage {

// A snapshot of the writer's counters. Counters only go up, except the gauges
// (queued, journal_only, journal_backlog, db_writable).
struct writer_stats {
    std::uint64_t submitted = 0;        // records accepted by submit()
    std::uint64_t queued = 0;           // gauge: waiting in memory for the writer
    std::uint64_t written = 0;          // rows inserted (replayed duplicates not counted)
    std::uint64_t duplicates = 0;       // records whose id was already stored (journal replay)
    std::uint64_t batches = 0;          // transactions committed
    std::uint64_t failures = 0;         // commits that failed (each retried later)
    std::uint64_t journal_backlog = 0;  // gauge: records in the journal not yet committed
    std::uint64_t journal_only = 0;     // gauge: of those, records not held in memory (the queue was
                                        // full): the writer reads them back from the journal
    std::uint64_t journal_errors = 0;   // journal writes that failed: those records are only in memory
    std::uint64_t replayed = 0;         // records found in the journal at start
    bool db_writable = true;            // false from a failed commit until the next successful one
    std::string last_error;             // the last commit failure ("" if none yet)
};

}  // namespace gm::storage

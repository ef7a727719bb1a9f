#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace gm::storage {

struct store_options {
    std::string journal_path;                          // "" : <db_path>.journal (segments <journal_path>.<seq>)
    std::size_t batch_size = 20000;                    // most records per transaction (bigger batches
                                                       // rewrite the same B-tree pages less often)
    std::size_t max_batch_size = 80000;                // a backlog (the writer fell behind, a replay) is
                                                       // taken up to this many records at once: batches
                                                       // grow with the backlog, and each B-tree page a
                                                       // batch dirties is written once for more rows
    std::size_t max_queued = 100000;                   // records held in memory for the writer; past this,
                                                       // records are only journaled and the writer reads
                                                       // them back (a long outage must not exhaust memory)
    std::chrono::milliseconds max_batch_delay{10};     // wait this long for a batch to fill
    std::chrono::milliseconds retry_initial{50};       // first back-off after a failed commit
    std::chrono::milliseconds retry_max{5000};         // back-off doubles up to this
    std::chrono::milliseconds shutdown_timeout{30000}; // shutdown() gives up on a dead database after this;
                                                       // what is left stays in the journal for the next start
    std::uint64_t journal_segment_bytes = 64ull << 20; // start a new segment past this size
    bool journal_mapped = true;                        // append by memcpy into a mapped segment (no system
                                                       // call per record); false: one write(2) per record
    int busy_timeout_ms = 1000;                        // writer waits this long for a lock before retrying
    std::int64_t writer_cache_kib = 64 * 1024;         // SQLite page cache of the writer connection
    bool writer_idle = true;                           // the writer's SQLite work and the checkpoints run
                                                       // under SCHED_IDLE (see usage_writer.cpp); false:
                                                       // at the process's priority (--writer-priority)
};

}  // namespace gm::storage

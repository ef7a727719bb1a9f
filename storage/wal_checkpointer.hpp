#pragma once
// Copies the writer's WAL back into the database file on a thread of its own, so that the
// writer thread never waits for the copy and its fdatasync (at 10M rows they were a large
// part of the kernel's 28% of a row's time, all on the writer thread).
//
// The writer connection runs with its automatic checkpoint replaced by a WAL hook that
// calls committed() after each commit; this thread then runs PASSIVE checkpoints on its own
// connection: they never block the writer or readers, and copy only frames no reader still
// needs. SQLite starts the WAL file over at the first write transaction that begins once
// every frame is copied; a writer that always has the next batch ready would begin before
// the copy ends, so the WAL would only grow. before_write() bounds it: past wait_pages the
// writer waits for the checkpoint in progress (which covers every commit so far), and the
// transaction it then begins restarts the WAL.
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "storage/sqlite_conn.hpp"

namespace gm::storage {

struct checkpoint_stats {
    std::uint64_t checkpoints = 0;  // checkpoints run
    std::uint64_t failures = 0;     // checkpoints that failed (busy, I/O error, disk full); retried later
    std::uint64_t waits = 0;        // times before_write() waited for a checkpoint to end
    std::uint64_t incomplete = 0;   // checkpoints that left frames behind (a reader still needed them)
};

class wal_checkpointer {
public:
    // Opens its own connection to db_path (throws sqlite_error when it cannot) and starts
    // the thread. A checkpoint starts once the WAL holds start_pages frames; the writer
    // waits for it past wait_pages. idle: the thread runs under SCHED_IDLE (a process run
    // under another policy than SCHED_OTHER keeps it).
    wal_checkpointer(const std::string& db_path, std::int64_t start_pages, std::int64_t wait_pages, bool idle = false);
    ~wal_checkpointer();  // lets a checkpoint in progress end, then joins
    wal_checkpointer(const wal_checkpointer&) = delete;
    wal_checkpointer& operator=(const wal_checkpointer&) = delete;

    // Writer thread, after each commit: the WAL now holds wal_frames frames.
    void committed(int wal_frames);
    // Writer thread, before it begins a transaction.
    void before_write();
    checkpoint_stats stats() const;

private:
    void run();

    const std::int64_t start_pages_;
    const std::int64_t wait_pages_;
    const bool idle_;
    sqlite_conn conn_;  // this thread's only

    // Guards everything below.
    mutable std::mutex mutex_;
    std::condition_variable wake_;  // the thread: a commit to copy, or stop
    std::condition_variable done_;  // the writer: a checkpoint ended
    bool stopping_ = false;
    bool running_ = false;           // a checkpoint is in progress
    std::int64_t wal_frames_ = 0;    // as the last commit left the WAL
    std::uint64_t commits_ = 0;      // commits seen
    std::uint64_t copied_upto_ = 0;  // commits_ when the last finished checkpoint started
    bool last_failed_ = false;
    checkpoint_stats stats_;

    std::thread thread_;  // last: started once everything above exists
};

}  // namespace gm::storage

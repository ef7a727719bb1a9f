#pragma once
// The usage_sink the proxy calls, and the thread that empties it into SQLite.
// submit(): encode (binary, see journal_codec), then under a short lock append it to the
// journal (a memcpy into the mapped segment, or one write(2)) and queue the record; never
// touches SQLite. The writer thread takes batches, commits each in one
// transaction, releases committed journal segments, and on failure keeps the batch, marks
// the database unwritable, backs off and retries (reopening the connection, so that a
// file made writable again or a lock released is picked up).
//
// Bounded memory: once the queue holds options.max_queued records (a database outage, or
// traffic faster than the writer), submit() stops queueing and only journals, into segments
// of their own ("journal-only" segments, at most max_queued records each). The writer reads
// them back from the files, oldest first, after the queue, and commits them; submit() keeps
// spilling until the writer has caught up with the last one, so the records are committed
// in the order they came and none waits behind newer traffic forever.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "storage/store_options.hpp"
#include "storage/usage_journal.hpp"
#include "storage/usage_sink.hpp"
#include "storage/writer_stats.hpp"

namespace gm::storage {

class sqlite_batch_inserter;

class usage_writer final : public usage_sink {
public:
    // Opens the journal, queues what a previous process left in it, starts the thread.
    usage_writer(std::string db_path, const store_options& options);
    ~usage_writer() override;  // shutdown()

    void submit(metering::usage_record&& record) override;
    writer_stats stats() const;
    // Waits until everything submitted before the call is committed; false on timeout.
    bool flush(std::chrono::milliseconds timeout);
    // Drains (up to options.shutdown_timeout while the database refuses writes) and joins.
    void shutdown();

private:
    struct queued_record {
        std::uint64_t segment;
        metering::usage_record record;
    };
    // A journal segment whose records are not in memory: only what submit() journaled
    // while the queue was full, or a segment left by a previous process that did not fit.
    struct spilled_segment {
        std::uint64_t seq;
        std::uint64_t records;  // counted in enqueued_seq_ (and journal_only_) when added
        bool closed;            // false: the active segment, submit() still appends to it
    };
    void run();
    void replay_leftovers();
    // Under mutex_: the journal's active segment is a new spill segment from now on.
    bool start_spilling();
    void set_error(const std::string& e);

    const std::string db_path_;
    const store_options options_;

    // Guards journal_, queue_, stopping_, and the sequence numbers below.
    mutable std::mutex mutex_;
    std::condition_variable wake_writer_;
    std::condition_variable progress_;  // signalled after each commit, for flush()
    usage_journal journal_;
    // A vector, swapped whole with the writer's (emptied) one: in steady state neither
    // submit() nor the writer allocates for the queue.
    std::vector<queued_record> queue_;
    std::deque<spilled_segment> spilled_;  // oldest first; the last one is active while spilling_
    bool spilling_ = false;                // submit() journals only, appending to spilled_.back()
    bool stopping_ = false;
    std::uint64_t enqueued_seq_ = 0;   // records ever queued
    std::uint64_t committed_seq_ = 0;  // records ever committed (in queue order)

    std::atomic<std::uint64_t> submitted_{0}, written_{0}, duplicates_{0}, batches_{0}, failures_{0},
        journal_errors_{0}, replayed_{0}, queued_{0}, backlog_{0}, journal_only_{0};
    std::atomic<bool> db_writable_{true};
    mutable std::mutex error_mutex_;  // guards last_error_
    std::string last_error_;

    std::unique_ptr<sqlite_batch_inserter> inserter_;  // writer thread only
    std::thread thread_;
};

}  // namespace gm::storage

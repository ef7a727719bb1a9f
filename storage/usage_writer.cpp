#include "storage/usage_writer.hpp"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "storage/idle_priority.hpp"
#include "storage/journal_codec.hpp"
#include "storage/sqlite_batch_inserter.hpp"

namespace gm::storage {

namespace {
std::string journal_base(const std::string& db_path, const store_options& o) {
    return o.journal_path.empty() ? db_path + ".journal" : o.journal_path;
}
// The largest batch the writer commits at once.
std::size_t most_per_batch(const store_options& o) { return std::max(o.batch_size, o.max_batch_size); }

// The writer thread runs SQLite (and decodes spilled segments) under SCHED_IDLE, so that
// its CPU per batch (~1 ms at 10M rows) does not keep an I/O thread waiting for a core: at
// the I/O threads' own priority the scheduler lets a running writer finish its slice before
// a woken gm-io gets the core (perf sched at 10M rows, 1,000 req/s: the writer held the
// core in 38-107 of gm-io's run-queue waits over 0.5 ms per 8 s; under SCHED_IDLE 9-15,
// the rest in kernel code, which this kernel does not preempt). Everything it does under
// mutex_ (taking a batch, releasing journal segments) and its waits run at its normal
// priority again: a SCHED_IDLE thread preempted while holding the lock that submit() takes
// would leave the I/O thread waiting until a core fell idle. sched_setscheduler(0, ...)
// acts on the calling thread only. When the thread cannot come back, it stays where it is.
class idle_while_committing {
public:
    explicit idle_while_committing(bool allowed) {
        const int policy = ::sched_getscheduler(0);
        // An operator's SCHED_BATCH, real-time policy or SCHED_IDLE for the process is kept.
        active_ = allowed && policy == SCHED_OTHER;
    }
    class scope {
    public:
        explicit scope(const idle_while_committing& w) : active_(w.active_) {
            const sched_param none{};
            if (active_) active_ = ::sched_setscheduler(0, SCHED_IDLE, &none) == 0;
        }
        ~scope() {
            const sched_param none{};
            if (active_) (void)::sched_setscheduler(0, SCHED_OTHER, &none);
        }
        scope(const scope&) = delete;
        scope& operator=(const scope&) = delete;

    private:
        bool active_;
    };

private:
    bool active_ = false;
};
}  // namespace

usage_writer::usage_writer(std::string db_path, const store_options& options)
    : db_path_(std::move(db_path)), options_(options), journal_(journal_base(db_path_, options_), options_.journal_mapped) {
    replay_leftovers();
    thread_ = std::thread([this] { run(); });
}

usage_writer::~usage_writer() { shutdown(); }

void usage_writer::replay_leftovers() {
    // Runs before the writer thread exists and before anyone can submit; still take the
    // lock so the invariants on journal_, queue_ and spilled_ hold by construction.
    std::lock_guard lk(mutex_);
    for (const auto& seg : journal_.leftover()) {
        std::error_code ec;
        auto records = decode_journal_segment(usage_journal::read_bytes(seg.path, ec));
        const std::uint64_t n = records.size();
        journal_.add_appended(seg.seq, n);
        enqueued_seq_ += n;
        replayed_ += n;
        if (n == 0) continue;  // released by collect() below
        if (spilled_.empty() && queue_.size() + n <= options_.max_queued) {
            for (auto& r : records) queue_.push_back({seg.seq, std::move(r)});
        } else {
            // Hours of outage left more than memory may hold: the writer reads it again later.
            spilled_.push_back({seg.seq, n, true});
            journal_only_ += n;
        }
    }
    // New traffic waits behind a backlog left in the journal, in spill segments of its own
    // (the active segment is new and empty: nothing to rotate away from).
    spilling_ = !spilled_.empty();
    std::error_code ec;
    journal_.collect(options_.journal_segment_bytes, ec);
    queued_ = queue_.size();
    backlog_ = journal_.backlog_records();
}

bool usage_writer::start_spilling() {
    // The active segment holds queued records; the spilled ones must go to a file that holds
    // nothing else, or the writer could not tell which records to read back.
    std::error_code ec;
    if (!journal_.rotate(ec)) return false;  // keep queueing (over the cap) rather than lose track
    spilling_ = true;
    return true;
}

void usage_writer::submit(metering::usage_record&& record) {
    // One buffer per calling thread: encoding allocates nothing once it has grown.
    thread_local std::string line;
    line.clear();
    if (line.capacity() > 64 * 1024) line.shrink_to_fit();  // after one huge record
    encode_journal_record(record, line);
    bool wake = false;
    {
        std::lock_guard lk(mutex_);
        if (!spilling_ && queue_.size() >= options_.max_queued) wake = start_spilling();
        if (spilling_ && !spilled_.empty() && !spilled_.back().closed &&
            spilled_.back().records >= std::min(options_.max_queued, most_per_batch(options_))) {
            // The writer decodes a spill segment whole: at most max_queued records each, and
            // no more than one batch, so that it commits them without moving them again.
            // Rotated before the next append, not after the last one, so that the active
            // spill segment is never empty and flush() cannot return while spilling goes on.
            std::error_code rec;
            if (journal_.rotate(rec)) spilled_.back().closed = true;
        }
        std::error_code ec;
        std::uint64_t seq = journal_.append(line, ec);
        bool spilled = false;
        if (ec) {
            // Disk full or I/O error on the journal: the record still goes to the database
            // through the queue (even past the cap: memory is its only copy), but a crash
            // before its commit would lose it. Counted.
            ++journal_errors_;
            seq = 0;
        } else {
            journal_.add_appended(seq, 1);
            ++backlog_;
            if (spilling_) {
                // A new spill segment: the first record after spilling started, after the
                // rotation above, or after collect() on the writer thread started a new
                // segment (size limit).
                if (spilled_.empty() || spilled_.back().closed || spilled_.back().seq != seq) {
                    if (!spilled_.empty()) spilled_.back().closed = true;
                    spilled_.push_back({seq, 0, false});
                }
                ++spilled_.back().records;
                ++journal_only_;
                ++enqueued_seq_;
                spilled = true;
            }
        }
        if (!spilled) {
            queue_.push_back({seq, std::move(record)});
            ++enqueued_seq_;
            queued_ = queue_.size();
            // The writer waits either for a first record or for a full batch (or its delay to
            // pass); waking it on any other record would cost a futex call and a context
            // switch per record for nothing. The queue grows one by one, so it passes both sizes.
            wake = wake || queue_.size() == 1 || queue_.size() == options_.batch_size;
        }
    }
    ++submitted_;
    if (wake) wake_writer_.notify_one();
}

writer_stats usage_writer::stats() const {
    writer_stats s;
    s.submitted = submitted_;
    s.queued = queued_;
    s.written = written_;
    s.duplicates = duplicates_;
    s.batches = batches_;
    s.failures = failures_;
    s.journal_backlog = backlog_;
    s.journal_only = journal_only_;
    s.journal_errors = journal_errors_;
    s.replayed = replayed_;
    s.db_writable = db_writable_;
    std::lock_guard lk(error_mutex_);
    s.last_error = last_error_;
    return s;
}

bool usage_writer::flush(std::chrono::milliseconds timeout) {
    std::unique_lock lk(mutex_);
    const std::uint64_t target = enqueued_seq_;
    return progress_.wait_for(lk, timeout, [&] { return committed_seq_ >= target; });
}

void usage_writer::set_error(const std::string& e) {
    std::lock_guard lk(error_mutex_);
    last_error_ = e;
}

void usage_writer::shutdown() {
    {
        std::lock_guard lk(mutex_);
        if (stopping_ && !thread_.joinable()) return;
        stopping_ = true;
    }
    wake_writer_.notify_all();
    if (thread_.joinable()) thread_.join();
    std::lock_guard lk(mutex_);
    journal_.close();
}

void usage_writer::run() {
    // Benchmarks and operators tell the writer's CPU from the I/O threads' by this name
    // (/proc/PID/task/*/comm, top -H).
    pthread_setname_np(pthread_self(), "gm-writer");
    const idle_while_committing low_priority(options_.writer_idle && can_return_from_idle());
    std::vector<metering::usage_record> records;
    std::vector<std::uint64_t> segments;
    std::vector<queued_record> taken;
    // A spill segment being committed: its records read back from the file, committed in
    // batches from spill_pos on; released only once the last batch is committed.
    std::optional<spilled_segment> spill;
    std::vector<metering::usage_record> spill_records;
    std::size_t spill_pos = 0;
    bool batch_from_spill = false;
    const std::size_t most = most_per_batch(options_);
    auto backoff = options_.retry_initial;
    std::optional<std::chrono::steady_clock::time_point> give_up_at;

    // Under mutex_: the whole spill segment is in the database.
    auto release_spill = [&] {
        journal_.mark_all_committed(spill->seq);
        committed_seq_ += spill->records;
        journal_only_ -= spill->records;
        spill.reset();
        spill_records.clear();  // its capacity is kept for the next segment of the backlog
        spill_pos = 0;
        // Caught up with every spilled record (the last spill segment was closed when the
        // writer took it, or, after a start, none was ever opened): queue again, and the
        // memory goes back with the backlog.
        if (spilled_.empty()) {
            spilling_ = false;
            spill_records.shrink_to_fit();
        }
    };

    for (;;) {
        if (records.empty() && spill && spill_pos == 0 && spill_records.size() <= most) {
            records.swap(spill_records);  // the usual case: the segment is one batch
            spill_pos = records.size();
            batch_from_spill = true;
        } else if (records.empty() && spill) {
            // A larger segment left by a previous process: committed in batches.
            const std::size_t n = std::min(most, spill_records.size() - spill_pos);
            const auto from = spill_records.begin() + static_cast<std::ptrdiff_t>(spill_pos);
            records.assign(std::make_move_iterator(from), std::make_move_iterator(from + static_cast<std::ptrdiff_t>(n)));
            spill_pos += n;
            batch_from_spill = true;
        }
        if (records.empty()) {
            std::unique_lock lk(mutex_);
            wake_writer_.wait(lk, [&] { return stopping_ || !queue_.empty() || !spilled_.empty(); });
            if (queue_.empty() && spilled_.empty()) break;  // stopping and drained
            if (queue_.empty()) {
                // Caught up with memory: read back the oldest spill segment. The active one is
                // closed first, and with it spilling ends: submit() queues again, into a new
                // segment.
                spilled_segment front = spilled_.front();
                if (!front.closed) {
                    std::error_code ec;
                    if (front.seq == journal_.active_seq() && !journal_.rotate(ec)) {
                        const bool stop = stopping_;
                        lk.unlock();
                        set_error("cannot start a new journal segment: " + ec.message());
                        if (stop) break;  // left in the journal for the next start
                        std::this_thread::sleep_for(options_.retry_initial);
                        continue;
                    }
                    front.closed = true;
                    spilling_ = false;
                }
                spilled_.pop_front();
                const std::string path = journal_.path_of(front.seq);
                lk.unlock();
                std::error_code ec;
                std::string bytes;
                {
                    const idle_while_committing::scope idle(low_priority);
                    bytes = usage_journal::read_bytes(path, ec);
                    if (!ec) decode_journal_segment(bytes, spill_records);
                }
                if (ec) {
                    set_error("cannot read journal " + path + ": " + ec.message());
                    lk.lock();
                    spilled_.push_front(front);  // try again later; the file stays
                    if (stopping_) break;
                    lk.unlock();
                    std::this_thread::sleep_for(options_.retry_initial);
                    continue;
                }
                spill = front;
                spill_pos = 0;
                if (spill_records.empty()) {  // nothing readable in it: release it
                    {
                        std::lock_guard g(mutex_);
                        release_spill();
                        std::error_code cec;
                        journal_.collect(options_.journal_segment_bytes, cec);
                        backlog_ = journal_.backlog_records();
                    }
                    progress_.notify_all();
                }
                continue;
            }
            if (queue_.size() < options_.batch_size && !stopping_ && spilled_.empty() &&
                options_.max_batch_delay.count() > 0)
                wake_writer_.wait_for(lk, options_.max_batch_delay,
                                      [&] { return stopping_ || queue_.size() >= options_.batch_size; });
            // Take the batch with as little work under the lock as possible: submitters wait
            // on this mutex. Usually the whole queue is the batch and the swap is O(1); a
            // backlog is taken whole too, up to max_batch_size.
            if (queue_.size() <= most) {
                taken.swap(queue_);
            } else {
                // A backlog larger than the largest batch (after an outage): rare, so the O(n)
                // erase is fine.
                const auto cut = queue_.begin() + static_cast<std::ptrdiff_t>(most);
                taken.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(cut));
                queue_.erase(queue_.begin(), cut);
            }
            queued_ = queue_.size();
            lk.unlock();
            records.reserve(taken.size());
            segments.reserve(taken.size());
            for (auto& q : taken) {
                segments.push_back(q.segment);
                records.push_back(std::move(q.record));
            }
            taken.clear();
            batch_from_spill = false;
        }

        try {
            std::size_t inserted = 0;
            {
                const idle_while_committing::scope idle(low_priority);
                if (!inserter_)
                    inserter_ = std::make_unique<sqlite_batch_inserter>(
                        db_path_, options_.busy_timeout_ms, options_.writer_cache_kib,
                        sqlite_batch_inserter::default_checkpoint_pages, options_.writer_idle);
                inserted = inserter_->commit(records);
            }
            written_ += inserted;
            duplicates_ += records.size() - inserted;
            ++batches_;
            db_writable_ = true;
            backoff = options_.retry_initial;
            {
                std::lock_guard lk(mutex_);
                if (batch_from_spill) {
                    if (spill_pos >= spill_records.size()) release_spill();
                } else {
                    std::sort(segments.begin(), segments.end());
                    for (std::size_t i = 0; i < segments.size();) {
                        std::size_t j = i;
                        while (j < segments.size() && segments[j] == segments[i]) ++j;
                        journal_.mark_committed(segments[i], j - i);
                        i = j;
                    }
                    committed_seq_ += records.size();
                }
                std::error_code ec;
                journal_.collect(options_.journal_segment_bytes, ec);
                backlog_ = journal_.backlog_records();
            }
            progress_.notify_all();
            records.clear();
            segments.clear();
        } catch (const std::exception& e) {
            // The batch stays in hand and in the journal; a fresh connection next time picks
            // up a database that became writable or unlocked meanwhile.
            inserter_.reset();
            ++failures_;
            db_writable_ = false;
            set_error(e.what());
            const auto now = std::chrono::steady_clock::now();
            {
                std::lock_guard lk(mutex_);
                if (stopping_ && !give_up_at) give_up_at = now + options_.shutdown_timeout;
            }
            if (give_up_at && now >= *give_up_at) break;  // left in the journal for the next start
            auto pause = backoff;
            if (give_up_at)
                pause = std::min(pause, std::chrono::duration_cast<std::chrono::milliseconds>(*give_up_at - now));
            std::this_thread::sleep_for(pause);
            backoff = std::min(backoff * 2, options_.retry_max);
        }
    }
    inserter_.reset();
}

}  // namespace gm::storage

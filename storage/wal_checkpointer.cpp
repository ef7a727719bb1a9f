#include "storage/wal_checkpointer.hpp"

#include <pthread.h>
#include <sched.h>
#include <sqlite3.h>

namespace gm::storage {

wal_checkpointer::wal_checkpointer(const std::string& db_path, std::int64_t start_pages, std::int64_t wait_pages,
                                   bool idle)
    : start_pages_(start_pages < 1 ? 1 : start_pages),
      wait_pages_(wait_pages < start_pages_ ? start_pages_ : wait_pages),
      idle_(idle),
      conn_(db_path, sqlite_conn::mode::read_write) {
    // A checkpoint syncs the WAL before copying and the database after, as the writer's
    // own would; FULL would only add syncs to this connection's commits, and it makes none.
    conn_.exec("PRAGMA synchronous=NORMAL");
    thread_ = std::thread([this] { run(); });
}

wal_checkpointer::~wal_checkpointer() {
    {
        std::lock_guard lk(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    done_.notify_all();
    thread_.join();
}

void wal_checkpointer::committed(int wal_frames) {
    bool wake = false;
    {
        std::lock_guard lk(mutex_);
        wal_frames_ = wal_frames;
        ++commits_;
        wake = wal_frames_ >= start_pages_ && !running_;
    }
    if (wake) wake_.notify_one();
}

void wal_checkpointer::before_write() {
    std::unique_lock lk(mutex_);
    // Below the bound, or when checkpoints fail (a locked or full database: the writer's
    // own commit will fail or succeed on its own), the writer goes on.
    if (wal_frames_ < wait_pages_ || last_failed_) return;
    auto covered = [&] { return stopping_ || last_failed_ || (!running_ && copied_upto_ == commits_); };
    if (covered()) return;  // the last checkpoint saw every commit: a reader holds the rest back
    ++stats_.waits;
    wake_.notify_one();
    done_.wait(lk, covered);
}

checkpoint_stats wal_checkpointer::stats() const {
    std::lock_guard lk(mutex_);
    return stats_;
}

void wal_checkpointer::run() {
    pthread_setname_np(pthread_self(), "gm-checkpoint");
    // Copies and syncs for the writer, which is SCHED_IDLE itself while it commits: neither
    // may keep an I/O thread waiting for a core. This thread takes no lock that an I/O
    // thread takes, so it never has to come back from SCHED_IDLE (which needs CAP_SYS_NICE).
    // An operator's SCHED_BATCH, real-time policy or SCHED_IDLE for the process is kept.
    if (idle_ && ::sched_getscheduler(0) == SCHED_OTHER) {
        const sched_param none{};
        (void)::sched_setscheduler(0, SCHED_IDLE, &none);  // acts on this thread only
    }
    std::unique_lock lk(mutex_);
    for (;;) {
        wake_.wait(lk, [&] { return stopping_ || (commits_ > copied_upto_ && wal_frames_ >= start_pages_); });
        if (stopping_) break;
        const std::uint64_t upto = commits_;
        running_ = true;
        lk.unlock();
        int log_frames = 0, copied_frames = 0;
        const int rc = sqlite3_wal_checkpoint_v2(conn_.handle(), "main", SQLITE_CHECKPOINT_PASSIVE, &log_frames,
                                                 &copied_frames);
        lk.lock();
        running_ = false;
        // A failed checkpoint is retried after the next commit, not in a loop.
        copied_upto_ = upto;
        last_failed_ = rc != SQLITE_OK;
        ++stats_.checkpoints;
        if (last_failed_) ++stats_.failures;
        else if (copied_frames < log_frames) ++stats_.incomplete;
        done_.notify_all();
    }
}

}  // namespace gm::storage

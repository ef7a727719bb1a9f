#include "app/log_sink.hpp"

#include "app/call_log.hpp"

namespace gm::app {

log_sink::log_sink(std::chrono::milliseconds interval, std::size_t flush_bytes)
    : interval_(interval), flush_bytes_(flush_bytes), flusher_([this] { run(); }) {}

log_sink::~log_sink() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    flusher_.join();
    flush();
}

void log_sink::append(std::string_view line) noexcept {
    bool wake = false;
    try {
        std::lock_guard lock(mutex_);
        pending_.append(line);
        wake = pending_.size() >= flush_bytes_;
    } catch (...) {
        return;  // out of memory: a lost log line must not stop the proxy
    }
    if (wake)
        wake_.notify_one();
}

void log_sink::flush() noexcept {
    std::lock_guard order(write_mutex_);
    {
        std::lock_guard lock(mutex_);
        writing_.swap(pending_);
    }
    if (!writing_.empty())
        write_line(writing_);
    // Two buffers trade places and keep their capacity: a flush allocates and frees nothing
    // (freeing a 64 KiB buffer every flush made glibc hand pages back with madvise, and
    // the next appends grow a fresh buffer on the I/O thread). One a burst grew far past
    // the flush size is let go.
    if (writing_.capacity() > 4 * flush_bytes_)
        std::string().swap(writing_);
    else
        writing_.clear();
}

void log_sink::run() {
    std::unique_lock lock(mutex_);
    while (!stop_) {
        wake_.wait_for(lock, interval_, [this] { return stop_ || pending_.size() >= flush_bytes_; });
        lock.unlock();
        flush();
        lock.lock();
    }
}

}  // namespace gm::app

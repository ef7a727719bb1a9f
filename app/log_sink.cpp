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
    std::string out;
    {
        std::lock_guard lock(mutex_);
        out.swap(pending_);
    }
    if (!out.empty())
        write_line(out);
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

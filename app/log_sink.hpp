#pragma once
// Call lines go to stdout without a system call per call: I/O threads append to a buffer
// under a short lock, a flusher thread writes it out every interval (Envoy's access-log
// model). flush() writes what is pending now; the destructor flushes and stops.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace gm::app {

class log_sink {
public:
    explicit log_sink(std::chrono::milliseconds interval = std::chrono::milliseconds(100),
                      std::size_t flush_bytes = 64 * 1024);
    ~log_sink();
    log_sink(const log_sink&) = delete;
    log_sink& operator=(const log_sink&) = delete;

    void append(std::string_view line) noexcept;
    void flush() noexcept;

private:
    void run();

    std::chrono::milliseconds interval_;
    std::size_t flush_bytes_;
    std::mutex mutex_;  // guards pending_ and stop_
    std::condition_variable wake_;
    std::string pending_;
    bool stop_ = false;
    std::mutex write_mutex_;  // keeps whole flushes in order on stdout; guards writing_
    std::string writing_;     // the buffer being written; pending_'s twin
    std::thread flusher_;
};

}  // namespace gm::app

#pragma once
// Retention on a thread of its own ("gm-retention"): one pass a minute after start, then
// hourly. A first pass over a large old database can delete millions of rows; run on the
// main thread it held off SIGTERM's drain until it finished. stop() ends a pass between two
// of its batches and joins.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

namespace gm::app {

class retention_job {
public:
    // pass: one retention pass, given the flag that asks it to stop between batches; it
    // reports (logs) its own outcome and must not throw.
    using pass_fn = std::function<void(const std::atomic<bool>& stop)>;
    retention_job(pass_fn pass, std::chrono::milliseconds first_delay, std::chrono::milliseconds period);
    ~retention_job();
    retention_job(const retention_job&) = delete;
    retention_job& operator=(const retention_job&) = delete;

    void stop();
    std::int64_t passes() const { return passes_.load(); }

private:
    void run(std::chrono::milliseconds first_delay, std::chrono::milliseconds period);

    pass_fn pass_;
    std::atomic<bool> stop_{false};
    std::atomic<std::int64_t> passes_{0};
    std::mutex mu_;
    std::condition_variable cv_;
    std::thread thread_;
};

}  // namespace gm::app

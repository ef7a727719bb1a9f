#include "app/retention_job.hpp"

#include <pthread.h>

namespace gm::app {

retention_job::retention_job(pass_fn pass, std::chrono::milliseconds first_delay, std::chrono::milliseconds period)
    : pass_(std::move(pass)), thread_([this, first_delay, period] { run(first_delay, period); }) {}

retention_job::~retention_job() { stop(); }

void retention_job::stop() {
    {
        std::lock_guard lock(mu_);
        stop_.store(true);
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void retention_job::run(std::chrono::milliseconds first_delay, std::chrono::milliseconds period) {
    pthread_setname_np(pthread_self(), "gm-retention");
    auto delay = first_delay;
    for (;;) {
        {
            std::unique_lock lock(mu_);
            if (cv_.wait_for(lock, delay, [this] { return stop_.load(); })) return;
        }
        pass_(stop_);
        passes_.fetch_add(1);
        delay = period;
    }
}

}  // namespace gm::app

#include "admin_api/export_channel.hpp"

#include <chrono>

namespace gm::admin_api {

export_channel::export_channel(std::size_t max_chunks, const std::atomic<bool>* stopping)
    : max_chunks_(max_chunks), stopping_(stopping) {}

bool export_channel::push(std::string&& chunk) {
    std::unique_lock lock(mutex_);
    // Woken by pop()/close(); the periodic wake-up notices a server stop, which has no
    // handle on this channel.
    while (!closed_ && chunks_.size() >= max_chunks_) {
        if (stopping_ && stopping_->load()) return false;
        space_.wait_for(lock, std::chrono::milliseconds(200));
    }
    if (closed_) return false;
    chunks_.push_back(std::move(chunk));
    return true;
}

void export_channel::finish(bool ok) {
    std::lock_guard lock(mutex_);
    finished_ = true;
    ok_ = ok;
}

export_channel::pop_result export_channel::pop(std::string& out) {
    std::unique_lock lock(mutex_, std::try_to_lock);
    if (!lock.owns_lock()) return pop_result::busy;
    if (!chunks_.empty()) {
        out = std::move(chunks_.front());
        chunks_.pop_front();
        space_.notify_one();
        return pop_result::chunk;
    }
    if (finished_) return ok_ ? pop_result::done : pop_result::failed;
    return pop_result::empty;
}

void export_channel::close() {
    // The queued chunks go with the channel; the producer sees closed_ at its next check.
    closed_ = true;
    space_.notify_all();
}

}  // namespace gm::admin_api

#include "admin_api/failure_limiter.hpp"

namespace gm::admin_api {

failure_limiter::failure_limiter(int max_failures, std::int64_t window_ms, std::size_t max_addresses)
    : max_failures_(max_failures), window_ms_(window_ms), max_addresses_(max_addresses) {}

void failure_limiter::prune(std::deque<std::int64_t>& times, std::int64_t now_ms) const {
    while (!times.empty() && times.front() <= now_ms - window_ms_) times.pop_front();
}

std::int64_t failure_limiter::retry_after_s(const std::string& address, std::int64_t now_ms) {
    std::lock_guard lock(mutex_);
    auto it = failures_.find(address);
    if (it == failures_.end()) return 0;
    prune(it->second, now_ms);
    if (static_cast<int>(it->second.size()) < max_failures_) {
        if (it->second.empty()) failures_.erase(it);
        return 0;
    }
    // The address may try again when enough failures have left the window.
    std::int64_t free_at = it->second[it->second.size() - static_cast<std::size_t>(max_failures_)] + window_ms_;
    std::int64_t wait_ms = free_at - now_ms;
    return wait_ms <= 0 ? 1 : (wait_ms + 999) / 1000;
}

void failure_limiter::record_failure(const std::string& address, std::int64_t now_ms) {
    std::lock_guard lock(mutex_);
    if (failures_.size() >= max_addresses_ && !failures_.count(address)) {
        // Many addresses failing at once: drop the ones whose failures have expired so the
        // table stays bounded; if none has, forget everything rather than grow.
        for (auto it = failures_.begin(); it != failures_.end();) {
            prune(it->second, now_ms);
            it = it->second.empty() ? failures_.erase(it) : std::next(it);
        }
        if (failures_.size() >= max_addresses_) failures_.clear();
    }
    auto& times = failures_[address];
    prune(times, now_ms);
    times.push_back(now_ms);
    // Only the last max_failures_ matter for the decision.
    while (static_cast<int>(times.size()) > max_failures_) times.pop_front();
}

}  // namespace gm::admin_api

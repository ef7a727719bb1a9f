#pragma once
// Counts failed authentication attempts per client address in a sliding window. Once an
// address reaches the limit every /api request from it is refused (429) until its oldest
// failure leaves the window, so a correct guess cannot be told apart while it is blocked.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>

namespace gm::admin_api {

class failure_limiter {
public:
    failure_limiter(int max_failures = 10, std::int64_t window_ms = 60'000, std::size_t max_addresses = 10'000);

    // 0 when the address may try; otherwise the seconds to wait (Retry-After).
    std::int64_t retry_after_s(const std::string& address, std::int64_t now_ms);
    void record_failure(const std::string& address, std::int64_t now_ms);

private:
    void prune(std::deque<std::int64_t>& times, std::int64_t now_ms) const;

    int max_failures_;
    std::int64_t window_ms_;
    std::size_t max_addresses_;
    std::mutex mutex_;  // guards failures_
    std::unordered_map<std::string, std::deque<std::int64_t>> failures_;
};

}  // namespace gm::admin_api

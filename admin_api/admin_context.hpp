#pragma once
// What every admin session shares: options, dependencies, authentication state, the
// query pool and the listener's counters. Held by shared_ptr so that a session finishing
// late (after stop()) still has valid state.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "admin_api/admin_server.hpp"
#include "admin_api/bearer_auth.hpp"
#include "admin_api/failure_limiter.hpp"
#include "admin_api/hand_back.hpp"
#include "admin_api/metrics_text.hpp"
#include "admin_api/query_pool.hpp"
#include "admin_api/reader_pool.hpp"

namespace gm::admin_api {

struct admin_context {
    admin_context(admin_options&& o, admin_deps&& d);

    admin_options options;
    admin_deps deps;
    bearer_auth auth;
    failure_limiter limiter;
    reader_pool readers;
    std::shared_ptr<admin_api::hand_back> hand_back;  // query threads -> I/O thread (set by admin_server::start)
    std::unique_ptr<query_pool> pool;  // last: its threads use the members above
    std::atomic<bool> stopping{false};

    std::atomic<std::int64_t> requests{0};
    std::atomic<std::int64_t> auth_failures{0};
    std::atomic<std::int64_t> rate_limited{0};
    std::atomic<std::int64_t> query_errors{0};
    std::atomic<std::int64_t> exports_complete{0};
    std::atomic<std::int64_t> exports_abandoned{0};
    std::atomic<std::int64_t> exports_stopped{0};
    std::atomic<std::int64_t> exports_failed{0};

    std::int64_t now_ms() const;
    void log(const std::string& line) const;
    admin_counters counters() const;
};

}  // namespace gm::admin_api

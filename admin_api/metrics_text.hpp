#pragma once
// /metrics in the Prometheus text exposition format 0.0.4.
#include <cstdint>
#include <string>

#include "metering/call_metrics.hpp"

namespace gm::admin_api {

struct health_snapshot;

// Counters of the admin listener itself.
struct admin_counters {
    std::int64_t requests = 0;
    std::int64_t auth_failures = 0;
    std::int64_t rate_limited = 0;
    std::int64_t query_errors = 0;
    // CSV exports by how they ended: every row sent; the client went away or stopped reading
    // (abandoned); the server stopped; storage failed.
    std::int64_t exports_complete = 0;
    std::int64_t exports_abandoned = 0;
    std::int64_t exports_stopped = 0;
    std::int64_t exports_failed = 0;
};

// Either pointer may be null (no proxy metrics or no storage health available).
std::string render_metrics(const metering::call_metrics_snapshot* calls, const health_snapshot* health,
                           const admin_counters& admin);

// Prometheus label value escaping: backslash, double quote and line feed.
std::string escape_label(std::string_view v);

}  // namespace gm::admin_api

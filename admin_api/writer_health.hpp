#pragma once
// The storage writer's counters as /readyz and /metrics show them. One function, so that
// the binary and the tests map the same fields.
#include "admin_api/admin_server.hpp"
#include "storage/writer_stats.hpp"

namespace gm::admin_api {

// Every field but upstream_reachable, which the proxy knows.
health_snapshot health_from_writer(const storage::writer_stats& s);

}  // namespace gm::admin_api

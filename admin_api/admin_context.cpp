#include "admin_api/admin_context.hpp"

#include <chrono>
#include <cstdio>

namespace gm::admin_api {

admin_context::admin_context(admin_options&& o, admin_deps&& d)
    : options(std::move(o)),
      deps(std::move(d)),
      auth(options.tokens),
      limiter(options.auth_max_failures, options.auth_window_ms),
      readers(deps.open_reader),
      pool(std::make_unique<query_pool>(options.query_threads, options.query_priority, [this](const std::string& line) { log(line); })) {
    // The tokens are now only held as digests inside auth.
    for (auto& t : options.tokens) std::fill(t.begin(), t.end(), '\0');
    options.tokens.clear();
}

std::int64_t admin_context::now_ms() const {
    if (deps.now_ms) return deps.now_ms();
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

void admin_context::log(const std::string& line) const {
    if (deps.log) deps.log(line);
    else std::fprintf(stderr, "%s\n", line.c_str());
}

admin_counters admin_context::counters() const {
    return {requests.load(),         auth_failures.load(),     rate_limited.load(),
            query_errors.load(),     exports_complete.load(),  exports_abandoned.load(),
            exports_stopped.load(),  exports_failed.load()};
}

}  // namespace gm::admin_api

#include "admin_api/query_pool.hpp"

#include <pthread.h>

#include <latch>

namespace gm::admin_api {

query_pool::query_pool(int threads, query_priority priority, logger log)
    : priority_(priority), log_(std::move(log)), work_(ioc_.get_executor()) {
    const int n = threads > 0 ? threads : 1;
    threads_.reserve(static_cast<std::size_t>(n));
    // Returns once every thread has named itself and set its priority, so that a failure is
    // logged before the server says it is listening, and no query runs at the old priority.
    std::latch ready(n);
    for (int i = 0; i < n; ++i) threads_.emplace_back([this, &ready] { run_thread(ready); });
    ready.wait();
}

query_pool::~query_pool() {
    stop();
    join();
}

void query_pool::run_thread(std::latch& ready) {
    pthread_setname_np(pthread_self(), "gm-reader");
    if (auto error = apply_query_priority_to_this_thread(priority_); !error.empty()) {
        // Every thread tries, but one line says it: the cause is the same for all of them.
        if (!logged_failure_.exchange(true) && log_)
            log_("admin: could not lower the query threads' CPU priority to '" + std::string(to_string(priority_)) +
                 "' (" + error + "); admin queries run at the process's priority");
    }
    ready.count_down();
    ioc_.run();
}

void query_pool::stop() {
    work_.reset();
    ioc_.stop();
}

void query_pool::join() {
    // Called by admin_server's destructor, never from a query thread (a thread cannot wait
    // for itself).
    for (auto& t : threads_)
        if (t.joinable()) t.join();
}

}  // namespace gm::admin_api

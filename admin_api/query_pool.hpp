#pragma once
// The threads that run admin queries, off the I/O threads. Each thread names itself
// "gm-reader" (its CPU shows apart from the proxy's "gm-io" threads in /proc/PID/task and
// top -H) and lowers its own scheduling priority (query_priority.hpp) before it takes any
// work, so the kernel runs an I/O thread first when both want a core. If the priority
// cannot be lowered the threads run as they are, and that is logged once.
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <functional>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "admin_api/query_priority.hpp"

namespace gm::admin_api {

class query_pool {
public:
    using logger = std::function<void(const std::string&)>;
    // Starts the threads and returns when each has named itself and set its priority.
    query_pool(int threads, query_priority priority, logger log);
    ~query_pool();
    query_pool(const query_pool&) = delete;
    query_pool& operator=(const query_pool&) = delete;

    boost::asio::io_context::executor_type get_executor() { return ioc_.get_executor(); }
    // Queries running now finish; queued ones are not started (they are destroyed with the
    // pool).
    void stop();
    void join();

private:
    void run_thread(std::latch& ready);

    query_priority priority_;
    logger log_;
    std::atomic<bool> logged_failure_{false};
    boost::asio::io_context ioc_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
    std::vector<std::thread> threads_;
};

}  // namespace gm::admin_api

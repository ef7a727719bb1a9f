#pragma once
// The proxy listener and its I/O threads: one io_context per thread (each with its own
// upstream pool, so a call never crosses threads), one acceptor spreading connections.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "proxy/io_slice.hpp"
#include "proxy/proxy_shared.hpp"

namespace gm::proxy {

class call_observer;

struct proxy_counters {
    std::int64_t in_flight = 0;
    std::int64_t open_connections = 0;
    std::uint64_t rejected_requests = 0;
    pool_counters upstream;  // summed over threads (read while running: approximate)
};

class proxy_server {
public:
    // Throws std::invalid_argument / std::runtime_error for a bad upstream or CA file, or
    // CPUs in options.io_cpus the process may not run on.
    proxy_server(proxy_options options, call_observer* observer);
    ~proxy_server();
    proxy_server(const proxy_server&) = delete;
    proxy_server& operator=(const proxy_server&) = delete;

    // Binds the listener (throws with the address on failure) and starts the I/O threads;
    // returns once each has set its slice (options.io_slice) and CPU (options.io_cpus;
    // throws if the kernel refused one).
    void start();
    // What the kernel did with options.io_slice, as the first I/O thread saw it (all of them
    // ask the same kernel the same thing), for the start-up log. Valid after start().
    const io_slice_result& io_slice() const noexcept { return io_slice_; }
    unsigned short port() const noexcept { return port_; }
    // The I/O contexts, for other listeners (the admin API) to share the same threads.
    boost::asio::io_context& context(std::size_t i = 0) { return *contexts_.at(i); }
    std::size_t thread_count() const noexcept { return contexts_.size(); }
    // The CPU each I/O thread is bound to (options.io_cpus); empty when they are not bound.
    const std::vector<int>& io_cpus() const noexcept { return io_cpus_; }

    // Graceful shutdown, phase one: stop accepting, close idle connections, let calls in
    // flight finish. Returns true when all finished before the timeout.
    bool drain(std::chrono::milliseconds timeout);
    // Phase two: stop the threads (whatever is left is cut) and join them.
    void stop();

    proxy_counters counters() const;

private:
    void do_accept();

    proxy_shared shared_;
    std::unique_ptr<boost::asio::ssl::context> tls_;
    std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
    std::vector<std::unique_ptr<thread_state>> states_;
    std::vector<std::thread> threads_;
    std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
    std::size_t next_ = 0;
    unsigned short port_ = 0;
    io_slice_result io_slice_;
    std::vector<int> io_cpus_;
    bool stopped_ = false;
};

}  // namespace gm::proxy

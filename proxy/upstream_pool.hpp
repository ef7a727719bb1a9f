#pragma once
// Keep-alive connections to the upstream for one I/O thread. Lives on that thread only, so it
// needs no lock; each thread has its own (nginx's model: no cross-thread traffic per call).
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <openssl/ssl.h>

#include "proxy/proxy_options.hpp"
#include "proxy/upstream_stream.hpp"
#include "proxy/upstream_target.hpp"

namespace gm::proxy {

struct pool_counters {
    std::uint64_t connections_opened = 0;
    std::uint64_t connections_reused = 0;
    std::uint64_t connect_failures = 0;
    std::uint64_t stale_dropped = 0;
};

class upstream_pool {
public:
    using connect_handler =
        std::function<void(boost::system::error_code, std::unique_ptr<upstream_stream>, const char* stage)>;

    upstream_pool(boost::asio::io_context& ioc, const upstream_target& target, boost::asio::ssl::context* tls,
                  const proxy_options& options);
    ~upstream_pool();
    upstream_pool(const upstream_pool&) = delete;
    upstream_pool& operator=(const upstream_pool&) = delete;

    // An idle connection that still looks alive, or null.
    std::unique_ptr<upstream_stream> take_idle();
    // Opens a new connection: resolve (cached), connect, TLS handshake with SNI, host name
    // verification and session resumption. `stage` names the step that failed.
    void connect(connect_handler handler);
    // Gives back a connection whose last exchange completed cleanly.
    void release(std::unique_ptr<upstream_stream> conn);
    // Drops every idle connection (shutdown).
    void close_idle();

    const pool_counters& counters() const noexcept { return counters_; }

    // Called by OpenSSL's new-session callback: keeps the newest session for resumption.
    void remember_session(SSL_SESSION* session);

private:
    void on_resolved(std::unique_ptr<upstream_stream> conn, connect_handler handler);
    void handshake(std::unique_ptr<upstream_stream> conn, connect_handler handler);

    boost::asio::io_context& ioc_;
    const upstream_target& target_;
    boost::asio::ssl::context* tls_;
    const proxy_options& options_;
    boost::asio::ip::tcp::resolver resolver_;
    boost::asio::ip::tcp::resolver::results_type endpoints_;
    std::chrono::steady_clock::time_point endpoints_expire_{};
    std::deque<std::unique_ptr<upstream_stream>> idle_;
    SSL_SESSION* session_ = nullptr;  // owned; guarded by being used on this pool's thread only
    pool_counters counters_;
};

// Prepares the client TLS context: system store plus an extra CA file, peer verification,
// client-side session cache feeding upstream_pool::remember_session.
void configure_upstream_tls(boost::asio::ssl::context& ctx, const std::string& extra_ca_file);

}  // namespace gm::proxy

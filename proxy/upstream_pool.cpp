#include "proxy/upstream_pool.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core/error.hpp>
#include <stdexcept>

#include "proxy/system_trust.hpp"
#include "proxy/write_now.hpp"

namespace gm::proxy {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
using boost::system::error_code;

namespace {

// Pooled connections idle longer than this are closed by us before the upstream closes
// them under a request (Google's front ends keep idle connections for minutes).
constexpr auto max_idle_age = std::chrono::seconds(50);
constexpr auto dns_ttl = std::chrono::seconds(60);

int pool_ex_index() {
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

int on_new_session(SSL* ssl, SSL_SESSION* session) {
    auto* pool = static_cast<upstream_pool*>(SSL_get_ex_data(ssl, pool_ex_index()));
    if (!pool)
        return 0;
    pool->remember_session(session);
    return 1;  // we own the reference now
}

}  // namespace

void configure_upstream_tls(ssl::context& ctx, const std::string& extra_ca_file) {
    add_system_trust(ctx.native_handle());
    if (!extra_ca_file.empty()) {
        error_code ec;
        ctx.load_verify_file(extra_ca_file, ec);
        if (ec)
            throw std::runtime_error("cannot load --upstream-ca-file " + extra_ca_file + ": " + ec.message());
    }
    ctx.set_verify_mode(ssl::verify_peer);
    SSL_CTX_set_session_cache_mode(ctx.native_handle(), SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx.native_handle(), on_new_session);
}

upstream_pool::upstream_pool(net::io_context& ioc, const upstream_target& target, ssl::context* tls,
                             const proxy_options& options)
    : ioc_(ioc), target_(target), tls_(tls), options_(options), resolver_(ioc) {}

upstream_pool::~upstream_pool() {
    if (session_)
        SSL_SESSION_free(session_);
}

void upstream_pool::remember_session(SSL_SESSION* session) {
    if (session_)
        SSL_SESSION_free(session_);
    session_ = session;
}

std::unique_ptr<upstream_stream> upstream_pool::take_idle() {
    const auto now = std::chrono::steady_clock::now();
    while (!idle_.empty()) {
        // Newest first: the connection least likely to have been closed by the upstream.
        auto conn = std::move(idle_.back());
        idle_.pop_back();
        // A connection used within the last seconds is not checked with a system call: an
        // upstream closes idle connections after minutes, not seconds.
        const auto idle_for = now - conn->idle_since;
        if (idle_for < max_idle_age && (idle_for < std::chrono::seconds(2) || conn->looks_alive())) {
            ++counters_.connections_reused;
            return conn;
        }
        ++counters_.stale_dropped;
        conn->close();
    }
    return nullptr;
}

void upstream_pool::release(std::unique_ptr<upstream_stream> conn) {
    if (idle_.size() >= options_.max_idle_upstream_per_thread || conn->buffer.size() > 0) {
        conn->close();
        return;
    }
    conn->tcp().expires_never();
    conn->idle_since = std::chrono::steady_clock::now();
    idle_.push_back(std::move(conn));
}

void upstream_pool::close_idle() {
    for (auto& c : idle_)
        c->close();
    idle_.clear();
}

void upstream_pool::connect(connect_handler handler) {
    auto conn = std::make_unique<upstream_stream>(ioc_, tls_);
    if (std::chrono::steady_clock::now() < endpoints_expire_ && !endpoints_.empty()) {
        on_resolved(std::move(conn), std::move(handler));
        return;
    }
    resolver_.async_resolve(
        target_.host, target_.port,
        [this, conn = std::move(conn), handler = std::move(handler)](
            error_code ec, net::ip::tcp::resolver::results_type results) mutable {
            if (ec) {
                ++counters_.connect_failures;
                handler(ec, nullptr, "resolve");
                return;
            }
            endpoints_ = std::move(results);
            endpoints_expire_ = std::chrono::steady_clock::now() + dns_ttl;
            on_resolved(std::move(conn), std::move(handler));
        });
}

void upstream_pool::on_resolved(std::unique_ptr<upstream_stream> conn, connect_handler handler) {
    auto& tcp = conn->tcp();
    tcp.expires_after(options_.connect_timeout);
    tcp.async_connect(
        endpoints_, [this, conn = std::move(conn), handler = std::move(handler)](error_code ec, const auto&) mutable {
            if (ec) {
                ++counters_.connect_failures;
                // A cached address that stopped answering is looked up again next time.
                endpoints_expire_ = {};
                handler(ec, nullptr, "connect");
                return;
            }
            set_relay_socket_options(conn->tcp().socket());
            if (!conn->tls()) {
                ++counters_.connections_opened;
                handler({}, std::move(conn), "");
                return;
            }
            handshake(std::move(conn), std::move(handler));
        });
}

void upstream_pool::handshake(std::unique_ptr<upstream_stream> conn, connect_handler handler) {
    auto* tls = conn->tls();
    SSL* ssl = tls->native_handle();
    if (!SSL_set_tlsext_host_name(ssl, target_.host.c_str())) {
        handler(error_code(static_cast<int>(::ERR_get_error()), net::error::get_ssl_category()), nullptr, "sni");
        return;
    }
    tls->set_verify_callback(ssl::host_name_verification(target_.host));
    SSL_set_ex_data(ssl, pool_ex_index(), this);
    if (session_)
        SSL_set_session(ssl, session_);
    conn->tcp().expires_after(options_.connect_timeout);
    tls->async_handshake(ssl::stream_base::client,
                         [this, conn = std::move(conn), handler = std::move(handler)](error_code ec) mutable {
                             if (ec) {
                                 ++counters_.connect_failures;
                                 handler(ec, nullptr, "tls handshake");
                                 return;
                             }
                             ++counters_.connections_opened;
                             handler({}, std::move(conn), "");
                         });
}

}  // namespace gm::proxy

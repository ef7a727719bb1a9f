#include "admin_api/admin_listener.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <fmt/format.h>

#include <stdexcept>

#include "admin_api/admin_context.hpp"
#include "admin_api/admin_session.hpp"

namespace gm::admin_api {

namespace net = boost::asio;

admin_listener::admin_listener(net::io_context& ioc, const net::ip::tcp::endpoint& endpoint,
                               std::shared_ptr<admin_context> ctx)
    : ioc_(ioc), acceptor_(net::make_strand(ioc)), ctx_(std::move(ctx)) {
    boost::beast::error_code ec;
    auto fail = [&](const char* what) {
        throw std::runtime_error(fmt::format("admin listener: cannot {} {}:{}: {}", what, endpoint.address().to_string(),
                                             endpoint.port(), ec.message()));
    };
    acceptor_.open(endpoint.protocol(), ec);
    if (ec) fail("open");
    acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (ec) fail("configure");
    acceptor_.bind(endpoint, ec);
    if (ec) fail("bind");
    acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) fail("listen on");
    port_ = acceptor_.local_endpoint().port();
}

void admin_listener::run() {
    net::dispatch(acceptor_.get_executor(), boost::beast::bind_front_handler(&admin_listener::do_accept, shared_from_this()));
}

void admin_listener::stop() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
        boost::beast::error_code ec;
        self->acceptor_.close(ec);
    });
}

void admin_listener::do_accept() {
    // Each connection gets its own strand, so its handlers never run concurrently.
    acceptor_.async_accept(net::make_strand(ioc_),
                           boost::beast::bind_front_handler(&admin_listener::on_accept, shared_from_this()));
}

void admin_listener::on_accept(boost::beast::error_code ec, net::ip::tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;  // stop()
    if (!ec) {
        // Streamed answers (CSV export) are written in pieces: without TCP_NODELAY each small
        // piece waits for the client's delayed ACK, about 40 ms a time.
        boost::beast::error_code ignored;
        socket.set_option(net::ip::tcp::no_delay(true), ignored);
        std::make_shared<admin_session>(std::move(socket), ctx_)->run();
    }
    // Other errors (e.g. out of descriptors) affect one connection; keep accepting.
    do_accept();
}

}  // namespace gm::admin_api

#pragma once
// Accepts admin connections and gives each its own strand and session (Beast's async
// server pattern: the pending accept keeps the listener alive).
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>

#include <memory>

namespace gm::admin_api {

struct admin_context;

class admin_listener : public std::enable_shared_from_this<admin_listener> {
public:
    // Binds; throws std::runtime_error naming the address when that fails.
    admin_listener(boost::asio::io_context& ioc, const boost::asio::ip::tcp::endpoint& endpoint,
                   std::shared_ptr<admin_context> ctx);
    void run();
    void stop();
    unsigned short port() const { return port_; }

private:
    void do_accept();
    void on_accept(boost::beast::error_code ec, boost::asio::ip::tcp::socket socket);

    boost::asio::io_context& ioc_;
    boost::asio::ip::tcp::acceptor acceptor_;  // on its own strand: stop() may come from any thread
    std::shared_ptr<admin_context> ctx_;
    unsigned short port_ = 0;
};

}  // namespace gm::admin_api

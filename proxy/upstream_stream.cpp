#include "proxy/upstream_stream.hpp"

#include <sys/socket.h>

#include <cerrno>

namespace gm::proxy {

upstream_stream::upstream_stream(boost::asio::io_context& ioc, boost::asio::ssl::context* tls) {
    if (tls)
        tls_ = std::make_unique<boost::beast::ssl_stream<tcp_stream>>(ioc.get_executor(), *tls);
    else
        plain_.emplace(ioc.get_executor());
    buffer.reserve(16 * 1024);
}

bool upstream_stream::looks_alive() {
    auto& sock = tcp().socket();
    if (!sock.is_open())
        return false;
    char byte;
    const ssize_t n = ::recv(sock.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0)
        return false;  // orderly close by the upstream
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK;
    // Pending bytes on an idle TLS connection are session tickets or a close_notify, which
    // the next TLS read handles; on plain HTTP they can only be garbage.
    return tls_ != nullptr;
}

void upstream_stream::close() noexcept {
    boost::system::error_code ec;
    tcp().socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
    tcp().socket().close(ec);
}

}  // namespace gm::proxy

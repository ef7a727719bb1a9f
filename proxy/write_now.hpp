#pragma once
// A relay write made in the handler that has the bytes, instead of through async_write.
// Asio's async_write sends at once too, but hands its completion to the io_context's queue:
// the next step of the call (reading the answer, finishing the call) then runs one pass of
// the event loop later, and each such pass starts with an epoll_wait that mostly finds
// nothing (0.19 of the relay's 0.47 epoll_wait calls per unary call returned no event;
// haproxy makes 0.27 in all). The socket must be in non-blocking mode (set_relay_socket_options).
#include <algorithm>
#include <array>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>

#include "proxy/io_types.hpp"

namespace gm::proxy {

// Sends what the socket takes now. True when all of it went (ec clear) or the socket
// failed (ec set); false when some is left, and buffers then hold what was not sent.
inline bool write_now(tcp_socket& socket, std::array<boost::asio::const_buffer, 2>& buffers,
                      boost::system::error_code& ec) {
    ec = {};
    const std::size_t total = buffers[0].size() + buffers[1].size();
    if (total == 0)
        return true;
    std::size_t n = socket.write_some(buffers, ec);
    if (ec == boost::asio::error::would_block || ec == boost::asio::error::try_again) {
        ec = {};
        n = 0;
    } else if (ec) {
        return true;
    }
    if (n == total)
        return true;
    for (auto& b : buffers) {
        const std::size_t k = std::min(n, b.size());
        b += k;
        n -= k;
    }
    return false;
}

// Relay sockets: no Nagle delay, and non-blocking for write_now.
inline void set_relay_socket_options(tcp_socket& socket) {
    boost::system::error_code ignored;
    socket.set_option(boost::asio::ip::tcp::no_delay(true), ignored);
    socket.non_blocking(true, ignored);
}

}  // namespace gm::proxy

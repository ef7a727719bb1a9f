#pragma once
// Socket reads that spare the system call Asio's epoll reactor spends on a read that
// cannot succeed yet.
//
// Asio registers each socket edge-triggered and tries every new read at once ("speculative"
// read) unless its previous read returned 0 bytes; only then does it wait for epoll first.
// A relay's reads nearly all come right after it wrote to the peer — the response to the
// client, then its next request is read; the request to the upstream, then its response
// is read — and the peer cannot have answered yet: 1.46 of the 3.3 recvmsg calls per unary
// call failed with EAGAIN (haproxy and nginx: none). They, like nginx's "ready = 0" after a
// short recv, treat a read that returned less than it asked for as having drained the
// socket: the next read waits for epoll, which reports any byte that arrives later.
//
// A drain_marking_buffer read does that: when it comes back short, the reactor is told the
// socket is exhausted (its own state for a 0-byte read), so the next read on that socket is
// queued without a system call. The one thing a short read cannot tell is a FIN that came
// with the data: edge-triggered epoll reported both in one event, and a read queued
// without a system call would wait for an event that never comes. So:
// - a read that continues a message (more of a header or body, no write to that peer in
//   between) re-arms the socket first with async_wait, whose epoll_ctl(MOD) reports a
//   pending FIN (or byte) at once: one system call, as the failed read cost before;
// - a read right after writing to the peer is queued as it is: if the peer had closed, our
//   write draws an RST, which epoll reports. A peer that only half-closed (shutdown of its
//   sending side) and still reads is the case left: a client doing that right behind its
//   request keeps its connection until the keep-alive timeout instead of closed at once.
//
// The reactor's behaviour is changed by specialising Asio's receive operation for a buffer
// type of our own, copied from Boost 1.81 with the one condition changed; on other Boost
// versions the specialisation is left out and these are ordinary reads.
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/beast/core/buffers_prefix.hpp>
#include <boost/system/error_code.hpp>
#include <boost/version.hpp>
#include <cstddef>
#include <utility>

#if BOOST_VERSION == 108100
#include <boost/asio/detail/reactive_socket_recv_op.hpp>
#define GM_DRAIN_MARKING_READS 1
#else
#define GM_DRAIN_MARKING_READS 0
#endif

namespace gm::proxy {

// A single mutable buffer whose short reads mark the socket drained (see above).
struct drain_marking_buffer : boost::asio::mutable_buffer {
    explicit drain_marking_buffer(boost::asio::mutable_buffer b) noexcept : boost::asio::mutable_buffer(b) {}
    // A sequence of one, as Beast's buffers_prefix_view walks it.
    const boost::asio::mutable_buffer* begin() const noexcept { return this; }
    const boost::asio::mutable_buffer* end() const noexcept { return this + 1; }
};

inline constexpr bool drain_marking_reads = GM_DRAIN_MARKING_READS != 0;

// What the session knows about one socket's reads.
struct read_state {
    bool drained = false;  // the last read came back short: the reactor waits for epoll next
};

// Reads into b from a plain Beast TCP stream. fresh: we have written to this peer since
// the last read on it. (TLS streams read into buffers of their own: not for them.)
template <class Stream, class Handler>
void async_read_marked(Stream& stream, read_state& state, bool fresh, boost::asio::mutable_buffer b,
                       Handler&& handler) {
    if (state.drained && !fresh)
        stream.socket().async_wait(boost::asio::socket_base::wait_read, [](const boost::system::error_code&) {});
    stream.async_read_some(drain_marking_buffer(b), [&state, size = b.size(), h = std::forward<Handler>(handler)](
                                                        const boost::system::error_code& ec, std::size_t n) mutable {
        state.drained = drain_marking_reads && !ec && n < size;
        std::move(h)(ec, n);
    });
}

}  // namespace gm::proxy

#if GM_DRAIN_MARKING_READS
namespace gm::proxy::detail {

// Asio 1.81's reactive_socket_recv_op_base, for one contiguous buffer on a stream socket,
// with "exhausted" meaning "fewer bytes than asked for" instead of "0 bytes".
template <class Buffers>
class drain_marking_recv_op_base : public boost::asio::detail::reactor_op {
public:
    drain_marking_recv_op_base(const boost::system::error_code& success_ec, boost::asio::detail::socket_type socket,
                               boost::asio::detail::socket_ops::state_type state, const Buffers& buffers,
                               boost::asio::socket_base::message_flags flags, func_type complete_func)
        : reactor_op(success_ec, &drain_marking_recv_op_base::do_perform, complete_func),
          socket_(socket),
          state_(state),
          buffers_(buffers),
          flags_(flags) {}

    static status do_perform(reactor_op* base) {
        auto* o = static_cast<drain_marking_recv_op_base*>(base);
        const boost::asio::mutable_buffer b = *boost::asio::buffer_sequence_begin(o->buffers_);
        status result = boost::asio::detail::socket_ops::non_blocking_recv1(
                            o->socket_, b.data(), b.size(), o->flags_,
                            (o->state_ & boost::asio::detail::socket_ops::stream_oriented) != 0, o->ec_,
                            o->bytes_transferred_)
                            ? done
                            : not_done;
        if (result == done && (o->state_ & boost::asio::detail::socket_ops::stream_oriented) != 0 &&
            o->bytes_transferred_ < b.size())
            result = done_and_exhausted;
        return result;
    }

private:
    boost::asio::detail::socket_type socket_;
    boost::asio::detail::socket_ops::state_type state_;
    Buffers buffers_;
    boost::asio::socket_base::message_flags flags_;
};

}  // namespace gm::proxy::detail

namespace boost::asio::detail {

// Beast's basic_stream hands the socket a prefix view of the caller's buffers.
template <>
class reactive_socket_recv_op_base<boost::beast::buffers_prefix_view<gm::proxy::drain_marking_buffer>>
    : public gm::proxy::detail::drain_marking_recv_op_base<
          boost::beast::buffers_prefix_view<gm::proxy::drain_marking_buffer>> {
public:
    using drain_marking_recv_op_base::drain_marking_recv_op_base;
};

}  // namespace boost::asio::detail
#endif

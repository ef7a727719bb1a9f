#pragma once
// A socket read whose buffer is asked for only when the socket has bytes to give, so that a
// connection waiting for its next request holds no read buffer.
//
// An idle keep-alive client connection is a pending read; with an ordinary read, its buffer
// exists for as long as the wait, which for 1,000 idle connections is 4 MB of buffers that
// hold nothing. Waiting with async_wait instead and reading afterwards costs an epoll_ctl
// per request (Asio re-arms the descriptor for every wait it queues), which a read does not.
// So this read is an ordinary Asio receive whose operation, specialised for a buffer type of
// ours as drained_read.hpp does, asks its target for the buffer inside the reactor's own
// attempt to read: when the socket is readable (or speculatively, when Asio tries at once).
// An attempt that finds nothing (EAGAIN) gives the buffer back at once. A short read marks
// the socket drained, as a drain_marking_buffer read does.
//
// Target: `boost::asio::mutable_buffer take_read_buffer(std::size_t n)` (where to read at
// most n bytes) and `void read_would_block()` (the buffer taken last is not needed after
// all). Both run on the socket's I/O thread, inside the read's initiation or the reactor.
// On Boost versions other than 1.81 the buffer is taken when the read starts.
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstddef>
#include <utility>

#include "proxy/drained_read.hpp"

namespace gm::proxy {

// Carries the target in place of the buffer's address: never read or written as memory.
template <class Target>
struct buffer_on_ready : boost::asio::mutable_buffer {
    buffer_on_ready(Target& t, std::size_t n) noexcept : boost::asio::mutable_buffer(&t, n), target(&t) {}
    Target* target;
};

// Reads at most n bytes into target.take_read_buffer(n) once the socket is readable; then
// handler(ec, bytes). The target must outlive the operation (the handler owns its owner).
template <class Socket, class Target, class Handler>
void async_read_on_ready(Socket& socket, read_state& state, Target& target, std::size_t n, Handler&& handler) {
    auto done = [&state, n, h = std::forward<Handler>(handler)](const boost::system::error_code& ec,
                                                                std::size_t got) mutable {
        state.drained = drain_marking_reads && !ec && got < n;
        std::move(h)(ec, got);
    };
    if constexpr (drain_marking_reads)
        socket.async_receive(buffer_on_ready<Target>(target, n), std::move(done));
    else
        socket.async_receive(target.take_read_buffer(n), std::move(done));
}

}  // namespace gm::proxy

#if GM_DRAIN_MARKING_READS
namespace boost::asio::detail {

// Asio 1.81's reactive_socket_recv_op_base for one stream-socket read, with the buffer
// taken from the target when the read is attempted.
template <class Target>
class reactive_socket_recv_op_base<gm::proxy::buffer_on_ready<Target>> : public reactor_op {
public:
    reactive_socket_recv_op_base(const boost::system::error_code& success_ec, socket_type socket,
                                 socket_ops::state_type state, const gm::proxy::buffer_on_ready<Target>& buffers,
                                 socket_base::message_flags flags, func_type complete_func)
        : reactor_op(success_ec, &reactive_socket_recv_op_base::do_perform, complete_func),
          socket_(socket),
          state_(state),
          buffers_(buffers),
          flags_(flags) {}

    static status do_perform(reactor_op* base) {
        auto* o = static_cast<reactive_socket_recv_op_base*>(base);
        const boost::asio::mutable_buffer b = o->buffers_.target->take_read_buffer(o->buffers_.size());
        const bool stream = (o->state_ & socket_ops::stream_oriented) != 0;
        if (!socket_ops::non_blocking_recv1(o->socket_, b.data(), b.size(), o->flags_, stream, o->ec_,
                                            o->bytes_transferred_)) {
            o->buffers_.target->read_would_block();
            return not_done;
        }
        return stream && o->bytes_transferred_ < b.size() ? done_and_exhausted : done;
    }

private:
    socket_type socket_;
    socket_ops::state_type state_;
    gm::proxy::buffer_on_ready<Target> buffers_;
    socket_base::message_flags flags_;
};

}  // namespace boost::asio::detail
#endif

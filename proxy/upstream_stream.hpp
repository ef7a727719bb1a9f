#pragma once
// One connection to the upstream, plain TCP or TLS, behind one AsyncStream interface so
// that the relay code is written once.
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <memory>
#include <optional>

#include "proxy/drained_read.hpp"
#include "proxy/io_types.hpp"

namespace gm::proxy {

class upstream_stream {
public:
    using executor_type = io_executor;

    // tls: null for plain http.
    upstream_stream(boost::asio::io_context& ioc, boost::asio::ssl::context* tls);

    executor_type get_executor() noexcept { return tcp().get_executor(); }
    tcp_stream& tcp() noexcept { return tls_ ? tls_->next_layer() : *plain_; }
    boost::beast::ssl_stream<tcp_stream>* tls() noexcept { return tls_.get(); }

    template <class MutableBufferSequence, class ReadHandler>
    void async_read_some(const MutableBufferSequence& buffers, ReadHandler&& handler) {
        if (tls_)
            tls_->async_read_some(buffers, std::forward<ReadHandler>(handler));
        else
            plain_->async_read_some(buffers, std::forward<ReadHandler>(handler));
    }

    // A relay read: on a plain connection a drain-marking one (see drained_read.hpp).
    // fresh: a request was written on this connection since the last read.
    template <class ReadHandler>
    void async_read_piece(boost::asio::mutable_buffer b, bool fresh, ReadHandler&& handler) {
        if (tls_)
            tls_->async_read_some(b, std::forward<ReadHandler>(handler));
        else
            async_read_marked(*plain_, reads_, fresh, b, std::forward<ReadHandler>(handler));
    }

    template <class ConstBufferSequence, class WriteHandler>
    void async_write_some(const ConstBufferSequence& buffers, WriteHandler&& handler) {
        if (tls_)
            tls_->async_write_some(buffers, std::forward<WriteHandler>(handler));
        else
            plain_->async_write_some(buffers, std::forward<WriteHandler>(handler));
    }

    // False when the peer has closed an idle connection (or sent bytes nobody asked for
    // on a plain one): such a connection must not carry a request.
    bool looks_alive();

    // Closes the socket without a TLS goodbye: used when the connection is abandoned.
    void close() noexcept;

    // Bytes read from this connection and not yet relayed: they belong to the connection,
    // not to the client session that happens to use it.
    boost::beast::flat_buffer buffer;
    unsigned requests_carried = 0;
    std::chrono::steady_clock::time_point idle_since{};

private:
    std::optional<tcp_stream> plain_;
    read_state reads_;
    std::unique_ptr<boost::beast::ssl_stream<tcp_stream>> tls_;
};

}  // namespace gm::proxy

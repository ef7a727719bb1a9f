#pragma once
// The proxy's socket and stream types. They name the io_context's own executor instead of
// Asio's type-erased any_io_executor: every operation copies its executor several times,
// and the type-erased copies were a measurable share of a relayed call's CPU.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/basic_stream.hpp>

namespace gm::proxy {

using io_executor = boost::asio::io_context::executor_type;
using tcp_socket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, io_executor>;
using tcp_stream = boost::beast::basic_stream<boost::asio::ip::tcp, io_executor>;

}  // namespace gm::proxy

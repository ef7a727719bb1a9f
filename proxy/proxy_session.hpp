#pragma once
// One client connection: reads each request, relays it to an upstream connection from the
// thread's pool, relays the response back piece by piece while the metering tap reads a
// copy, and reports the finished call. Lives as long as an operation is pending on it.
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <array>
#include <chrono>
#include <memory>
#include <optional>

#include "proxy/body_framer.hpp"
#include "proxy/call_buffers.hpp"
#include "proxy/drained_read.hpp"
#include "proxy/header_parser.hpp"
#include "proxy/io_types.hpp"
#include "proxy/proxy_shared.hpp"
#include "proxy/upstream_stream.hpp"

namespace gm::proxy {

class proxy_session : public std::enable_shared_from_this<proxy_session> {
public:
    proxy_session(tcp_socket&& socket, proxy_shared& shared, thread_state& thread);
    ~proxy_session();
    void start();
    // Shutdown: closes the connection now if it is between requests.
    void close_if_idle();
    // client_watch's tick: starts watching the client if the call still waits on the upstream.
    void on_watch_due();
    // The target of the wait for a request's first bytes (read_on_ready.hpp): the call's
    // buffers are taken from the thread when the client's bytes are there.
    boost::asio::mutable_buffer take_read_buffer(std::size_t n);
    void read_would_block();

private:
    // Headers are parsed by Beast into message_heads the session reuses; bodies are
    // relayed raw (see body_framer).
    using request_parser = header_parser<true>;
    using response_parser = header_parser<false>;
    using error_code = boost::system::error_code;

    void do_read_request();
    void on_first_bytes(error_code ec, std::size_t n);
    // The keep-alive timeout: one timer wait per timeout period, not one per request.
    void wait_keep_alive();
    void on_keep_alive_due(error_code ec);
    void read_request_header();
    void on_request_header(error_code ec);
    void acquire_upstream();
    void on_upstream_connected(error_code ec, std::unique_ptr<upstream_stream> conn, const char* stage);
    void write_request_piece();
    void on_request_piece_written(error_code ec, bool with_head);
    void frame_request_bytes();
    void read_request_piece();
    void on_request_piece(error_code ec, std::size_t);
    // after_request: the request has just been written (the read is fresh, drained_read.hpp).
    void read_response_header(bool after_request);
    void on_response_header(error_code ec);
    void relay_available();
    void read_response_piece();
    void on_response_piece(error_code ec, std::size_t);
    void on_response_piece_written(error_code ec, std::size_t);
    void watch_client();
    void on_client_readable(error_code ec);

    // Answers the client with an error of the proxy's own, in Google's shape.
    void reply_error(unsigned code, const char* status, std::string message, metering::call_ending ending,
                     bool close_after);
    // Bad input before anything was forwarded: answer and close, report nothing upstream.
    void reject(unsigned code, const char* status, std::string message);
    void finish_call(metering::call_ending ending, bool response_complete);
    // Hands the call's record to the observer, once per call.
    void report_call(metering::call_ending ending, bool response_complete);
    void close_client();
    struct lazy_deadline {
        std::chrono::steady_clock::time_point armed_at{};
        std::chrono::milliseconds armed_for{0};
    };
    void arm(tcp_stream& stream, lazy_deadline& d, std::chrono::milliseconds timeout);

    proxy_shared& shared_;
    thread_state& thread_;
    tcp_stream client_;
    // Held from a request's first bytes until the connection is idle again (call_buffers.hpp).
    std::unique_ptr<call_buffers> bufs_;
    read_state client_reads_;
    std::unique_ptr<upstream_stream> upstream_;
    std::optional<request_parser> request_;    // parses into bufs_->request_in
    std::optional<body_framer> request_framer_;
    std::size_t request_relay_len_ = 0;  // body bytes at the front of bufs_->client being written
    bool request_head_pending_ = false;
    std::optional<response_parser> response_;  // parses into bufs_->response_in
    std::optional<body_framer> framer_;
    std::size_t relay_len_ = 0;   // bytes at the front of the upstream buffer being written
    bool head_pending_ = false;
    bool dechunk_ = false;
    lazy_deadline client_deadline_;
    boost::asio::basic_waitable_timer<std::chrono::steady_clock, boost::asio::wait_traits<std::chrono::steady_clock>,
                                      io_executor>
        keep_alive_timer_;
    std::chrono::steady_clock::time_point idle_since_{};  // when the wait for the next request began
    bool keep_alive_armed_ = false;
    lazy_deadline upstream_deadline_;
    std::unique_ptr<boost::beast::http::response<boost::beast::http::string_body>> error_reply_;

    // One call's state, reset per request (its record and taps are in bufs_).
    std::chrono::steady_clock::time_point started_{};
    bool idle_ = true;                 // between requests
    bool call_open_ = false;           // a call is being relayed
    bool reported_ = false;            // its record has been handed over
    bool client_keep_alive_ = false;
    bool upstream_reused_ = false;
    bool retried_ = false;
    bool watching_client_ = false;
    bool watch_enlisted_ = false;      // in the thread's client_watch until its next tick
    bool expect_continue_ = false;
    bool upstream_keep_alive_ = false;
    bool upstream_broken_ = false;

    static constexpr std::size_t piece_size = 16 * 1024;
    // A request's first read, and a response header's read on a connection whose buffer is
    // still small: most answers fit, and a burst of new upstream connections stays small.
    static constexpr std::size_t first_read_size = 4096;
};

}  // namespace gm::proxy

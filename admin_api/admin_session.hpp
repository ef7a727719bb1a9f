#pragma once
// One admin connection: reads requests (keep-alive), answers health, metrics and the
// dashboard inline, checks the bearer token and parameters of /api routes on the I/O
// thread, then hands the query to the query pool. The query thread writes the whole
// response to the socket itself (response_channel.hpp: a JSON message in one send, a CSV
// export in chunks), so the I/O thread is woken once per query, by the request.
//
// Meanwhile the I/O thread already reads the next request; query_ says who waits for whom.
// The query thread, once its last byte is out, moves running -> done, and wakes the I/O thread
// (hand_back) only if it found io_waiting: the next request (or the client's end) arrived
// first and must not be answered, nor the socket closed, before this response is out. A
// client woken by the last byte often runs before the SCHED_IDLE query thread has said so;
// the I/O thread then asks the kernel whether the socket holds the whole response
// (response_end_) and goes on by itself (running -> idle) instead of waiting for a wake.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "admin_api/admin_response.hpp"
#include "admin_api/api_query.hpp"

namespace gm::admin_api {

struct admin_context;

class admin_session : public std::enable_shared_from_this<admin_session> {
public:
    admin_session(boost::asio::ip::tcp::socket&& socket, std::shared_ptr<admin_context> ctx);
    void run();

private:
    void start();
    void on_idle(boost::beast::error_code ec);
    void end();
    void do_read();
    void on_read(boost::beast::error_code ec, std::size_t bytes);
    void handle();
    void handle_api(const route& r, const query_params& params);
    void send(admin_response&& r);
    // The whole HTTP message (status line, fields, body) as bytes; any thread, while no
    // request is being read.
    std::string serialize(admin_response&& r) const;
    void write_wire(std::string&& wire);
    void on_write(bool close, boost::beast::error_code ec, std::size_t bytes);
    void do_close();

    // The part of on_read that answers what was read; runs once no query is running.
    void after_read(boost::beast::error_code ec);

    void run_query(api_query&& q);
    void start_export(api_query&& q);
    // The status line and fields of the export's response (chunked, or unframed to an
    // HTTP/1.0 client); any thread, while no request is being answered.
    std::string export_head(const std::string& filename) const;
    // Query thread, after the last send (sent_all) or a failure: ends the query, see query_.
    // close: the request said Connection: close.
    void query_finished(std::uint32_t me, int fd, bool sent_all, bool close);
    // I/O thread: the read has completed; false when the query still runs (it will resume()).
    bool query_settled();
    void resume();

    bool origin_allowed() const;

    boost::beast::tcp_stream stream_;
    boost::beast::flat_buffer buffer_;
    std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
    std::shared_ptr<admin_context> ctx_;
    std::string client_address_;

    // The idle timeout, armed once per connection rather than once per request: it looks
    // at when the current read began and waits again if that is less than the timeout ago
    // (no timer re-armed, and no cancelled timer handler run, per admin query).
    boost::asio::steady_timer idle_timer_;
    std::chrono::steady_clock::time_point read_started_{};
    bool reading_ = false;  // a request read is pending
    bool ended_ = false;    // the session is over: the timer stops too

    // The request being answered.
    unsigned version_ = 11;
    bool keep_alive_ = true;
    std::string origin_;
    std::string wire_;  // the response being written

    // The query answering the current request (a query thread writes its response).
    // version_, keep_alive_ and origin_ are read by that thread: the I/O thread handles no
    // request while it runs.
    // The low two bits; the rest counts the queries, so that a query thread whose response
    // the I/O thread found complete cannot mistake the next query for its own.
    enum query_state : std::uint32_t { idle, running, done, io_waiting };
    static constexpr std::uint32_t phase_mask = 3;
    std::atomic<std::uint32_t> query_{idle};
    std::uint32_t next_query_ = 0;  // I/O thread
    // tcp_bytes_written at which the running query's whole response is in the socket; 0 while
    // unknown (Connection: close, an error response of an export, or an export before its
    // last chunk).
    std::atomic<std::uint64_t> response_end_{0};
    // Set by the query thread before it moves to done (the move publishes it).
    bool query_failed_ = false;  // not all of the response went out: the connection ends
    // With query_failed_: end with a reset, not a FIN. A close-delimited body (an HTTP/1.0
    // export) cut short would otherwise look complete to the client.
    bool abort_connection_ = false;
    std::atomic<std::chrono::steady_clock::rep> query_done_at_{0};  // when, for on_idle
    boost::beast::error_code read_ec_;  // the read that completed while the query ran
};

}  // namespace gm::admin_api

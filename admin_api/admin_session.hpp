#pragma once
// One admin connection: reads requests (keep-alive), answers health, metrics and the
// dashboard inline, checks the bearer token and parameters of /api routes on the I/O
// thread, then hands the query to the query pool and writes the answer when it is handed
// back to this connection's strand. A CSV export is the exception: its query thread writes
// the streamed response to the socket itself, and hands back only to say it is done.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
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

    void run_query(api_query&& q);
    // The export runs on a query thread, which writes the response to the socket itself
    // (export_channel.hpp); the session reads nothing meanwhile and resumes in export_done.
    enum class export_end { complete, abandoned, failed_before_data, failed_midway };
    void start_export(api_query&& q);
    // The status line and fields of the export's chunked response; any thread, while no
    // request is being read.
    std::string export_head(const std::string& filename) const;
    void export_done(export_end how, std::string&& wire);

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
};

}  // namespace gm::admin_api

#include "proxy/proxy_session.hpp"

#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/http/write.hpp>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>

#include "proxy/attribution.hpp"
#include "proxy/body_framer.hpp"
#include "proxy/call_observer.hpp"
#include "proxy/error_response.hpp"
#include "proxy/header_reader.hpp"
#include "proxy/hop_by_hop.hpp"
#include "proxy/read_on_ready.hpp"
#include "proxy/write_now.hpp"

namespace gm::proxy {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using metering::call_ending;
using clock_type = std::chrono::steady_clock;

namespace {

std::int64_t ms_since(clock_type::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - t).count();
}

std::int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

bool is_timeout(const boost::system::error_code& ec) {
    return ec == beast::error::timeout;
}

// As much as the connection's buffer already has room for, at least a first read's worth:
// a pooled connection that carried large answers keeps reading them in large pieces.
std::size_t response_header_read_size(const beast::flat_buffer& b, std::size_t first, std::size_t most) {
    return std::clamp(b.capacity() - b.size(), first, most);
}

}  // namespace

proxy_session::proxy_session(tcp_socket&& socket, proxy_shared& shared, thread_state& thread)
    : shared_(shared), thread_(thread), client_(std::move(socket)), keep_alive_timer_(thread.ioc) {
    ++shared_.open_sessions;
}

proxy_session::~proxy_session() {
    --shared_.open_sessions;
}

void proxy_session::start() {
    set_relay_socket_options(client_.socket());
    do_read_request();
}

void proxy_session::close_if_idle() {
    if (idle_)
        close_client();
}

void proxy_session::do_read_request() {
    idle_ = true;
    if (thread_.stopping) {
        close_client();
        return;
    }
    if (bufs_ && bufs_->client.size() > 0) {
        // A pipelined request is already here: its first byte arrived now, as far as we know.
        started_ = clock_type::now();
        bufs_->record.created_at_ms = wall_ms();
        read_request_header();
        return;
    }
    // Idle: the call's buffers go back to the thread until the next request's bytes come.
    request_.reset();
    response_.reset();
    if (bufs_)
        thread_.give_back(std::move(bufs_));
    // Wait for the first byte of the next request separately, so that durationMs starts at
    // it and an idle keep-alive connection has its own, longer timeout.
    wait_keep_alive();
    // A plain socket read, not the stream's: the keep-alive timeout is our own timer. The
    // read is fresh: the last thing on this connection was our response (or its accept).
    async_read_on_ready(client_.socket(), client_reads_, *this, first_read_size,
                        beast::bind_front_handler(&proxy_session::on_first_bytes, shared_from_this()));
}

net::mutable_buffer proxy_session::take_read_buffer(std::size_t n) {
    if (!bufs_)
        bufs_ = thread_.buffers.take();
    return bufs_->client.prepare(n);
}

void proxy_session::read_would_block() {
    if (bufs_ && bufs_->client.size() == 0)
        thread_.give_back(std::move(bufs_));
}

void proxy_session::wait_keep_alive() {
    idle_since_ = clock_type::now();
    // A wait already pending ends at or before this idle period's end, and moves on then.
    if (keep_alive_armed_)
        return;
    keep_alive_armed_ = true;
    keep_alive_timer_.expires_at(idle_since_ + shared_.options.keep_alive_timeout);
    // Weak: a timer with a minute to go must not keep a closed session alive.
    keep_alive_timer_.async_wait([w = weak_from_this()](error_code ec) {
        if (auto self = w.lock())
            self->on_keep_alive_due(ec);
    });
}

void proxy_session::on_keep_alive_due(error_code ec) {
    keep_alive_armed_ = false;
    if (ec || !idle_)
        return;  // busy with a call: its end arms the timer again
    const auto due = idle_since_ + shared_.options.keep_alive_timeout;
    if (clock_type::now() >= due) {
        // Idle too long: the pending read ends (aborted) and the session with it.
        close_client();
        return;
    }
    keep_alive_armed_ = true;
    keep_alive_timer_.expires_at(due);
    keep_alive_timer_.async_wait([w = weak_from_this()](error_code e) {
        if (auto self = w.lock())
            self->on_keep_alive_due(e);
    });
}

void proxy_session::on_first_bytes(error_code ec, std::size_t n) {
    if (ec) {
        // End of a keep-alive connection, or idle too long: not an error worth a record.
        close_client();
        return;
    }
    bufs_->client.commit(n);  // the read took the buffers (take_read_buffer)
    started_ = clock_type::now();
    bufs_->record.created_at_ms = wall_ms();
    read_request_header();
}

void proxy_session::read_request_header() {
    idle_ = false;
    request_.emplace(bufs_->request_in);
    request_->header_limit(static_cast<std::uint32_t>(shared_.options.header_limit));
    arm(client_, client_deadline_, shared_.options.header_timeout);
    error_code ec;
    if (parse_buffered_header(bufs_->client, *request_, ec)) {
        on_request_header(ec);  // the usual case: the whole header came with the first bytes
        return;
    }
    async_read_header_with(
        [this](net::mutable_buffer b, bool, auto&& h) { async_read_marked(client_, client_reads_, false, b, std::move(h)); },
        bufs_->client, 4096, *request_, [self = shared_from_this()](error_code e) { self->on_request_header(e); });
}

void proxy_session::on_request_header(error_code ec) {
    if (ec == http::error::end_of_stream) {
        close_client();
        return;
    }
    if (is_timeout(ec)) {
        reject(408, "DEADLINE_EXCEEDED", "request header not received in time");
        return;
    }
    if (ec == http::error::header_limit) {
        reject(431, "INVALID_ARGUMENT", "request header section too large");
        return;
    }
    if (ec) {
        reject(400, "INVALID_ARGUMENT", "malformed request: " + ec.message());
        return;
    }
    auto& req = bufs_->request_in;
    // Beast accepts a Transfer-Encoding without a final "chunked" and then reads no body;
    // RFC 9112 6.1 says such a request must be refused (it is how smuggling starts).
    if (req.fields.count(http::field::transfer_encoding) > 0 && !request_->chunked()) {
        reject(400, "INVALID_ARGUMENT", "Transfer-Encoding must end in chunked");
        return;
    }
    if (req.target.empty() || req.target[0] != '/') {
        reject(400, "INVALID_ARGUMENT", "request target must be an origin-form path");
        return;
    }
    if (req.method == http::verb::connect || req.fields.count(http::field::upgrade) > 0) {
        reject(501, "UNIMPLEMENTED", "protocol upgrades and CONNECT are not supported by gemini-meter");
        return;
    }

    call_open_ = true;
    reported_ = false;
    ++shared_.in_flight;
    client_keep_alive_ = request_->keep_alive();
    upstream_reused_ = false;
    retried_ = false;

    // created_at_ms was stamped when the first byte of this request arrived.
    const std::int64_t created_at = bufs_->record.created_at_ms ? bufs_->record.created_at_ms : wall_ms();
    bufs_->record = metering::usage_record{};
    bufs_->record.created_at_ms = created_at;
    bufs_->record.http_method = req.method_string;
    const std::string_view target = req.target;
    bufs_->record.path = std::string(target.substr(0, target.find('?')));
    take_attribution(req.fields, bufs_->record);
    if (shared_.options.metering) {
        bufs_->identity = metering::identify_call(req.method_string, target);
        bufs_->record.gemini_method = bufs_->identity.gemini_method;
        bufs_->record.model = bufs_->identity.model;
        bufs_->record.streamed = bufs_->identity.streamed;
        if (bufs_->identity.wants_request_body_model)
            bufs_->model_tap.emplace();
        else
            bufs_->model_tap.reset();
    }

    expect_continue_ = beast::iequals(req.fields.value(http::field::expect), "100-continue");
    if (request_->chunked())
        request_framer_.emplace(body_framer::chunked());
    else
        request_framer_.emplace(body_framer::with_length(request_->content_length().value_or(0)));
    strip_hop_by_hop(req.fields);
    req.fields.erase(http::field::host);
    req.fields.insert(http::field::host, "Host", shared_.target.host_header);

    // The header goes upstream as received minus hop-by-hop fields; the body keeps the
    // client's framing and is relayed raw, like the response.
    bufs_->request_head.clear();
    bufs_->request_head.reserve(1024);
    bufs_->request_head += req.method_string;
    bufs_->request_head += ' ';
    bufs_->request_head += shared_.target.base_path;
    bufs_->request_head += target;
    bufs_->request_head += " HTTP/1.1\r\n";
    req.fields.append_to(bufs_->request_head);
    if (request_framer_->framing() == body_framer::mode::chunked)
        bufs_->request_head += "Transfer-Encoding: chunked\r\n";
    bufs_->request_head += "\r\n";
    request_head_pending_ = true;

    frame_request_bytes();
    if (request_framer_->state() == body_framer::status::bad) {
        call_open_ = false;
        --shared_.in_flight;
        reject(400, "INVALID_ARGUMENT", "malformed chunked request body");
        return;
    }
    if (request_framer_->done() || request_relay_len_ > 0 || expect_continue_) {
        acquire_upstream();
        return;
    }
    // Nothing of the body has come yet: read its first piece before the upstream sees
    // anything, so that a body malformed from the start never reaches it.
    read_request_piece();
}

void proxy_session::frame_request_bytes() {
    const std::string_view raw(static_cast<const char*>(bufs_->client.data().data()), bufs_->client.size());
    request_relay_len_ = request_framer_->consume(raw, [this](std::string_view payload) {
        if (bufs_->model_tap)
            bufs_->model_tap->feed(payload);
        bufs_->record.request_bytes += static_cast<std::int64_t>(payload.size());
    });
}

void proxy_session::acquire_upstream() {
    upstream_ = thread_.pool->take_idle();
    upstream_deadline_ = {};
    if (upstream_) {
        upstream_reused_ = true;
        write_request_piece();
        return;
    }
    upstream_reused_ = false;
    thread_.pool->connect(
        [self = shared_from_this()](error_code ec, std::unique_ptr<upstream_stream> conn, const char* stage) {
            self->on_upstream_connected(ec, std::move(conn), stage);
        });
}

void proxy_session::on_upstream_connected(error_code ec, std::unique_ptr<upstream_stream> conn,
                                          const char* stage) {
    if (ec) {
        const bool timed_out = is_timeout(ec);
        reply_error(timed_out ? 504 : 502, timed_out ? "DEADLINE_EXCEEDED" : "UNAVAILABLE",
                    std::string("gemini-meter could not reach the upstream (") + stage + ": " + ec.message() + ")",
                    timed_out ? call_ending::upstream_timeout : call_ending::upstream_unreachable,
                    !request_framer_->done());
        return;
    }
    upstream_ = std::move(conn);
    upstream_deadline_ = {};
    write_request_piece();
}

void proxy_session::write_request_piece() {
    // The header (the first time) and the body bytes at hand leave in one system call.
    const bool with_head = request_head_pending_;
    std::array<net::const_buffer, 2> out{
        net::buffer(bufs_->request_head.data(), with_head ? bufs_->request_head.size() : 0),
        net::buffer(bufs_->client.data().data(), expect_continue_ ? 0 : request_relay_len_)};
    if (!upstream_->tls()) {
        error_code ec;
        if (write_now(upstream_->tcp().socket(), out, ec)) {
            on_request_piece_written(ec, with_head);
            return;
        }
    }
    arm(upstream_->tcp(), upstream_deadline_, shared_.options.idle_timeout);
    net::async_write(*upstream_, out,
                     [self = shared_from_this(), with_head](error_code ec, std::size_t) {
                         self->on_request_piece_written(ec, with_head);
                     });
}

void proxy_session::on_request_piece_written(error_code ec, bool with_head) {
    if (ec) {
        upstream_->close();
        upstream_.reset();
        if (with_head && upstream_reused_ && !retried_) {
            // The pooled connection died while idle; the bytes are still ours to send again.
            retried_ = true;
            thread_.pool->connect([self = shared_from_this()](error_code ec2, std::unique_ptr<upstream_stream> c,
                                                               const char* stage) {
                self->upstream_reused_ = false;
                self->on_upstream_connected(ec2, std::move(c), stage);
            });
            return;
        }
        reply_error(502, "UNAVAILABLE", "gemini-meter lost the upstream connection while sending the request",
                    call_ending::upstream_broken, true);
        return;
    }
    request_head_pending_ = false;
    if (expect_continue_) {
        // We stream the body without waiting for the upstream's own 100, so we answer the
        // client's Expect ourselves; the upstream's interim 100 is dropped when it comes.
        expect_continue_ = false;
        static const std::string continue_line = "HTTP/1.1 100 Continue\r\n\r\n";
        arm(client_, client_deadline_, shared_.options.idle_timeout);
        net::async_write(client_, net::buffer(continue_line), [self = shared_from_this()](error_code ec2, std::size_t) {
            if (ec2) {
                self->finish_call(call_ending::client_gone, false);
                return;
            }
            if (self->request_relay_len_ > 0)
                self->write_request_piece();
            else if (self->request_framer_->done())
                self->read_response_header(true);
            else
                self->read_request_piece();
        });
        return;
    }
    bufs_->client.consume(request_relay_len_);
    request_relay_len_ = 0;
    if (request_framer_->done()) {
        read_response_header(true);
        return;
    }
    read_request_piece();
}

void proxy_session::read_request_piece() {
    arm(client_, client_deadline_, shared_.options.idle_timeout);
    async_read_marked(client_, client_reads_, false, bufs_->client.prepare(piece_size),
                      beast::bind_front_handler(&proxy_session::on_request_piece, shared_from_this()));
}

void proxy_session::on_request_piece(error_code ec, std::size_t n) {
    bufs_->client.commit(n);
    if (ec) {
        // The client stopped sending its body: the upstream (if it saw anything) gets an
        // incomplete request, which it discards, and its connection is not reused.
        finish_call(call_ending::client_gone, false);
        return;
    }
    frame_request_bytes();
    if (request_framer_->state() == body_framer::status::bad) {
        if (!upstream_) {
            call_open_ = false;
            --shared_.in_flight;
            reject(400, "INVALID_ARGUMENT", "malformed chunked request body");
            return;
        }
        // Part of the body already went upstream: cut that request off unfinished.
        reply_error(400, "INVALID_ARGUMENT", "malformed chunked request body", call_ending::rejected, true);
        return;
    }
    if (!upstream_) {
        acquire_upstream();
        return;
    }
    write_request_piece();
}

void proxy_session::read_response_header(bool after_request) {
    response_.emplace(bufs_->response_in);
    response_->header_limit(256 * 1024);
    arm(upstream_->tcp(), upstream_deadline_, shared_.options.upstream_first_byte_timeout);
    if (!watching_client_ && !watch_enlisted_) {
        watch_enlisted_ = true;
        thread_.watcher.enlist(weak_from_this());
    }
    error_code ec;
    if (parse_buffered_header(upstream_->buffer, *response_, ec)) {
        on_response_header(ec);  // a final header right behind an interim one
        return;
    }
    // The first read is fresh when the request has just been written, not after a 1xx.
    async_read_header_with(
        [this, after_request](net::mutable_buffer b, bool first, auto&& h) {
            upstream_->async_read_piece(b, after_request && first, std::move(h));
        },
        upstream_->buffer, response_header_read_size(upstream_->buffer, first_read_size, piece_size), *response_, [self = shared_from_this()](error_code e) { self->on_response_header(e); });
}

void proxy_session::on_watch_due() {
    watch_enlisted_ = false;
    // Only while the request has gone and the answer is awaited or relayed: the client
    // sends nothing then, so readable means it hung up (or pipelined the next request).
    if (call_open_ && request_framer_ && request_framer_->done())
        watch_client();
}

void proxy_session::arm(tcp_stream& stream, lazy_deadline& d, std::chrono::milliseconds timeout) {
    // Re-arming a timer per read and write costs a system call each time; a deadline that
    // moves in steps of at most a second is as good for timeouts counted in seconds.
    const auto now = clock_type::now();
    if (d.armed_for == timeout && now - d.armed_at < std::chrono::seconds(1))
        return;
    d.armed_for = timeout;
    d.armed_at = now;
    stream.expires_after(timeout);
}

void proxy_session::watch_client() {
    // While the upstream thinks, the client may hang up: notice it, so that the upstream
    // call is cancelled instead of running on for nothing.
    if (watching_client_)
        return;
    watching_client_ = true;
    client_.socket().async_wait(net::socket_base::wait_read,
                                beast::bind_front_handler(&proxy_session::on_client_readable, shared_from_this()));
}

void proxy_session::on_client_readable(error_code ec) {
    watching_client_ = false;
    if (ec || !call_open_)
        return;
    char byte;
    const ssize_t n = ::recv(client_.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0)
        return;  // the next pipelined request: read after this call
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        watch_client();
        return;
    }
    finish_call(call_ending::client_gone, false);
}

void proxy_session::on_response_header(error_code ec) {
    if (!call_open_)
        return;  // the client went away meanwhile
    if (ec) {
        upstream_->close();
        upstream_.reset();
        if (is_timeout(ec)) {
            reply_error(504, "DEADLINE_EXCEEDED", "the upstream did not answer in time",
                        call_ending::upstream_timeout, true);
            return;
        }
        if (upstream_reused_ && !retried_ && bufs_->record.request_bytes == 0) {
            // A pooled connection closed under us before answering; a bodiless request can
            // safely go again on a fresh connection.
            retried_ = true;
            thread_.pool->connect([self = shared_from_this()](error_code ec2, std::unique_ptr<upstream_stream> c,
                                                               const char* stage) {
                self->upstream_reused_ = false;
                self->on_upstream_connected(ec2, std::move(c), stage);
            });
            return;
        }
        reply_error(502, "UNAVAILABLE", "the upstream closed the connection without answering (" + ec.message() + ")",
                    call_ending::upstream_broken, true);
        return;
    }
    auto& res = bufs_->response_in;
    const unsigned status = res.status;
    if (status >= 100 && status < 200) {
        // Interim answers (100 Continue, 103 Early Hints) are not relayed: read the final one.
        read_response_header(false);
        return;
    }
    bufs_->record.ttfb_ms = ms_since(started_);
    bufs_->record.http_status = static_cast<int>(status);
    if (shared_.options.metering) {
        metering::response_tap_options tap_options;
        tap_options.content_type = res.fields.value(http::field::content_type);
        tap_options.content_encoding = res.fields.value(http::field::content_encoding);
        tap_options.http_status = bufs_->record.http_status;
        tap_options.openai_compat = bufs_->identity.openai_compat;
        tap_options.gemini_method = bufs_->identity.gemini_method;
        bufs_->tap.emplace(tap_options);
    }
    upstream_keep_alive_ = response_->keep_alive();
    const bool head = bufs_->request_in.method == http::verb::head;
    const bool client_http10 = bufs_->request_in.version < 11;
    dechunk_ = false;
    if (head || status == 204 || status == 304)
        framer_.emplace(body_framer::with_length(0));
    else if (response_->chunked()) {
        framer_.emplace(body_framer::chunked());
        dechunk_ = client_http10;  // an HTTP/1.0 client cannot read chunks: payload only, then close
    } else if (auto length = response_->content_length())
        framer_.emplace(body_framer::with_length(*length));
    else
        framer_.emplace(body_framer::until_eof());
    if (dechunk_ || framer_->framing() == body_framer::mode::until_eof) {
        client_keep_alive_ = false;  // the end of the body is the end of the connection
        upstream_keep_alive_ = false;
    }
    if (thread_.stopping)
        client_keep_alive_ = false;

    // The header is written as the upstream sent it, minus hop-by-hop fields; the body
    // keeps the upstream's own framing, so its bytes are relayed untouched.
    strip_hop_by_hop(res.fields);
    bufs_->response_head.clear();
    bufs_->response_head.reserve(1024);
    bufs_->response_head += "HTTP/1.1 ";
    bufs_->response_head += std::to_string(status);
    bufs_->response_head += ' ';
    bufs_->response_head += res.reason;
    bufs_->response_head += "\r\n";
    res.fields.append_to(bufs_->response_head);
    if (framer_->framing() == body_framer::mode::chunked && !dechunk_)
        bufs_->response_head += "Transfer-Encoding: chunked\r\n";
    if (!client_keep_alive_)
        bufs_->response_head += "Connection: close\r\n";
    else if (client_http10)
        bufs_->response_head += "Connection: keep-alive\r\n";
    bufs_->response_head += "\r\n";
    head_pending_ = true;
    relay_available();
}

void proxy_session::relay_available() {
    // Frames what the upstream buffer holds, feeds the payload to the tap, and writes the
    // raw bytes (with the response header in front, the first time) in one system call.
    auto& buffer = upstream_->buffer;
    const std::string_view raw(static_cast<const char*>(buffer.data().data()), buffer.size());
    bufs_->dechunked.clear();
    relay_len_ = framer_->consume(raw, [this](std::string_view payload) {
        if (bufs_->tap)
            bufs_->tap->feed(payload);
        bufs_->record.response_bytes += static_cast<std::int64_t>(payload.size());
        if (dechunk_)
            bufs_->dechunked.append(payload);
    });
    if (framer_->state() == body_framer::status::bad) {
        upstream_broken_ = true;
        bufs_->record.error_message = "the upstream sent a malformed chunked body";
    }
    if (framer_->done()) {
        // The record is journaled before the last byte reaches the client: a client that
        // has its whole response always has its row, even if the process dies right after.
        report_call(call_ending::completed, true);
    }
    std::array<net::const_buffer, 2> out{net::buffer(bufs_->response_head.data(), head_pending_ ? bufs_->response_head.size() : 0),
                                         dechunk_ ? net::buffer(bufs_->dechunked) : net::buffer(raw.data(), relay_len_)};
    head_pending_ = false;
    error_code ec;
    if (write_now(client_.socket(), out, ec)) {
        on_response_piece_written(ec, 0);
        return;
    }
    arm(client_, client_deadline_, shared_.options.idle_timeout);
    net::async_write(client_, out,
                     beast::bind_front_handler(&proxy_session::on_response_piece_written, shared_from_this()));
}

void proxy_session::read_response_piece() {
    arm(upstream_->tcp(), upstream_deadline_, shared_.options.idle_timeout);
    upstream_->async_read_piece(upstream_->buffer.prepare(piece_size), false,
                                beast::bind_front_handler(&proxy_session::on_response_piece, shared_from_this()));
}

void proxy_session::on_response_piece(error_code ec, std::size_t n) {
    if (!call_open_)
        return;
    upstream_->buffer.commit(n);
    if (ec) {
        if (framer_->framing() == body_framer::mode::until_eof &&
            (ec == net::error::eof || ec == net::ssl::error::stream_truncated)) {
            // An end-of-connection body ends here; a TLS peer that skips close_notify is
            // common and harmless for such a body.
            finish_call(call_ending::completed, true);
            return;
        }
        // The upstream broke off mid-response. The client connection is closed without a
        // proper end, so the app sees a truncated response, never a complete-looking one.
        upstream_broken_ = true;
        if (upstream_->buffer.size() == 0) {
            finish_call(call_ending::upstream_broken, false);
            return;
        }
    }
    relay_available();
}

void proxy_session::on_response_piece_written(error_code ec, std::size_t) {
    if (!call_open_)
        return;
    if (ec) {
        finish_call(call_ending::client_gone, false);
        return;
    }
    upstream_->buffer.consume(relay_len_);
    relay_len_ = 0;
    if (upstream_broken_) {
        finish_call(call_ending::upstream_broken, false);
        return;
    }
    if (framer_->done()) {
        // Bytes after the end of the message would belong to no request: such a
        // connection is not reused.
        if (upstream_->buffer.size() > 0)
            upstream_keep_alive_ = false;
        finish_call(call_ending::completed, true);
        return;
    }
    read_response_piece();
}

void proxy_session::reject(unsigned code, const char* status, std::string message) {
    ++shared_.rejected_requests;
    error_reply_ = std::make_unique<http::response<http::string_body>>(
        make_error_response(code, status, message, 11, false));
    arm(client_, client_deadline_, shared_.options.idle_timeout);
    http::async_write(client_, *error_reply_, [self = shared_from_this()](error_code, std::size_t) {
        self->close_client();
    });
}

void proxy_session::reply_error(unsigned code, const char* status, std::string message, call_ending ending,
                                bool close_after) {
    if (upstream_) {
        upstream_->close();
        upstream_.reset();
    }
    bufs_->record.http_status = static_cast<int>(code);
    bufs_->record.error_message = message;
    const bool keep = client_keep_alive_ && !close_after && !thread_.stopping;
    error_reply_ = std::make_unique<http::response<http::string_body>>(
        make_error_response(code, status, message, bufs_->request_in.version, keep));
    arm(client_, client_deadline_, shared_.options.idle_timeout);
    http::async_write(client_, *error_reply_, [self = shared_from_this(), ending, keep](error_code ec, std::size_t) {
        self->client_keep_alive_ = keep && !ec;
        self->finish_call(ending, false);
    });
}

void proxy_session::finish_call(call_ending ending, bool response_complete) {
    if (!call_open_)
        return;
    call_open_ = false;
    --shared_.in_flight;
    if (watching_client_) {
        error_code ignored;
        client_.socket().cancel(ignored);
    }
    report_call(ending, response_complete);

    const bool upstream_clean = ending == call_ending::completed && response_complete && upstream_keep_alive_ &&
                                upstream_ && !upstream_broken_;
    if (upstream_) {
        if (upstream_clean) {
            ++upstream_->requests_carried;
            thread_.pool->release(std::move(upstream_));
        } else {
            // Cancels the upstream call: closing is the only cancel HTTP/1.1 has. The object
            // stays: an operation still pending on it completes (aborted) later.
            upstream_->close();
        }
    }

    const bool answered = ending == call_ending::completed || ending == call_ending::upstream_unreachable ||
                          ending == call_ending::upstream_timeout;
    if (!answered || !client_keep_alive_ || thread_.stopping || !request_framer_->done()) {
        // Aborted calls may still have operations in flight that refer to the parsers, the
        // serializers and the body buffer: they are released with the session, once the
        // last handler has run.
        close_client();
        return;
    }
    // The call ended in this handler and nothing else is pending on the call's objects.
    upstream_.reset();
    framer_.reset();
    request_framer_.reset();
    upstream_broken_ = false;
    // A call answered by the proxy itself (502, 504) leaves its body unsent in the buffer.
    bufs_->client.consume(request_relay_len_);
    request_relay_len_ = 0;
    do_read_request();
}

void proxy_session::report_call(call_ending ending, bool response_complete) {
    if (reported_)
        return;
    reported_ = true;
    bufs_->record.ending = ending;
    bufs_->record.duration_ms = ms_since(started_);
    bufs_->record.success = ending == call_ending::completed && bufs_->record.http_status >= 200 && bufs_->record.http_status < 300;
    if (bufs_->record.endpoint.empty())
        bufs_->record.endpoint = bufs_->record.gemini_method.empty() ? bufs_->record.path : bufs_->record.gemini_method;
    if (bufs_->model_tap) {
        if (auto m = bufs_->model_tap->model())
            bufs_->record.model = *m;
        bufs_->record.streamed = bufs_->record.streamed || bufs_->model_tap->stream();
    }
    metering::tap_result usage;
    if (bufs_->tap) {
        usage = bufs_->tap->finish(response_complete);
        bufs_->tap.reset();
    }
    if (shared_.observer)
        shared_.observer->on_call_finished(std::move(bufs_->record), std::move(usage));
    bufs_->record = metering::usage_record{};
    bufs_->model_tap.reset();
}

void proxy_session::close_client() {
    error_code ec;
    if (keep_alive_armed_)
        keep_alive_timer_.cancel();
    client_.socket().shutdown(net::ip::tcp::socket::shutdown_both, ec);
    client_.socket().close(ec);
}

}  // namespace gm::proxy

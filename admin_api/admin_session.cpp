#include "admin_api/admin_session.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "admin_api/admin_context.hpp"
#include "admin_api/api_handler.hpp"
#include "admin_api/csv_export.hpp"
#include "admin_api/dashboard_assets.hpp"
#include "admin_api/response_channel.hpp"
#include "admin_api/iso_time.hpp"
#include "admin_api/metrics_text.hpp"

namespace gm::admin_api {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

namespace {

constexpr auto idle_timeout = std::chrono::seconds(30);
constexpr auto write_timeout = std::chrono::seconds(30);
constexpr std::size_t header_limit = 8 * 1024;
constexpr std::size_t body_limit = 16 * 1024;  // every route is a GET: a body is ignored

admin_response text_response(unsigned status, std::string content_type, std::string_view body) {
    admin_response r;
    r.status = status;
    r.content_type = std::move(content_type);
    r.body.assign(body);
    return r;
}

admin_response health_response(const health_snapshot& h, bool have_health) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    // Ready means "records reach the database". Records waiting only in the journal
    // (journalOnly) do not change it: during an outage the database is unwritable anyway,
    // and afterwards the writer is reading them back while the proxy serves normally, so
    // taking the instance out of rotation would not help; the count says how far behind
    // the stored figures still are.
    const bool ready = h.db_writable;
    w.StartObject();
    w.Key("status"); w.String(ready ? "ready" : "not ready");
    w.Key("databaseWritable"); w.Bool(h.db_writable);
    w.Key("journalBacklog"); w.Int64(h.journal_backlog);
    w.Key("journalOnly"); w.Int64(h.journal_only);
    w.Key("journalErrors"); w.Int64(h.journal_errors);
    w.Key("writerQueued"); w.Int64(h.queued);
    w.Key("writerWritten"); w.Int64(h.written);
    w.Key("writerFailures"); w.Int64(h.failures);
    w.Key("upstreamReachable"); w.Bool(h.upstream_reachable);
    w.Key("lastError");
    if (h.last_error.empty()) w.Null();
    else w.String(h.last_error.c_str(), static_cast<rapidjson::SizeType>(h.last_error.size()));
    w.Key("healthReported"); w.Bool(have_health);
    w.EndObject();
    admin_response r;
    r.status = ready ? 200 : 503;
    r.body.assign(buf.GetString(), buf.GetSize());
    return r;
}

}  // namespace

admin_session::admin_session(net::ip::tcp::socket&& socket, std::shared_ptr<admin_context> ctx)
    : stream_(std::move(socket)), ctx_(std::move(ctx)), idle_timer_(stream_.get_executor()) {
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    client_address_ = ec ? "unknown" : ep.address().to_string();
    // write_wire's direct send must return would_block rather than wait for the client.
    stream_.socket().non_blocking(true, ec);
}

void admin_session::run() {
    // The socket was accepted on this connection's strand: start there so that every
    // handler of this session runs on it.
    net::dispatch(stream_.get_executor(), beast::bind_front_handler(&admin_session::start, shared_from_this()));
}

void admin_session::start() {
    idle_timer_.expires_after(idle_timeout);
    idle_timer_.async_wait(beast::bind_front_handler(&admin_session::on_idle, shared_from_this()));
    do_read();
}

void admin_session::on_idle(beast::error_code ec) {
    if (ec || ended_) return;
    const auto now = std::chrono::steady_clock::now();
    const auto q = query_.load(std::memory_order_acquire) & phase_mask;
    // While a query thread may still write to the socket, it is not closed; the idle time
    // runs from the end of its response.
    const bool busy = q == running || q == io_waiting;
    auto since = read_started_;
    if (q == done) {
        since = std::max(since, std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(
                                    query_done_at_.load(std::memory_order_relaxed))));
    }
    if (reading_ && !busy && now - since >= idle_timeout) {
        // No complete request within the timeout: the pending read ends with an error.
        stream_.close();
        return;
    }
    // Busy (a query or a write) or read recently: look again a timeout after the read began.
    idle_timer_.expires_at(reading_ && !busy ? since + idle_timeout : now + idle_timeout);
    idle_timer_.async_wait(beast::bind_front_handler(&admin_session::on_idle, shared_from_this()));
}

void admin_session::end() {
    ended_ = true;
    idle_timer_.cancel();
}

void admin_session::do_read() {
    // A fresh parser per request, so the limits apply to each message.
    parser_.emplace();
    parser_->header_limit(header_limit);
    parser_->body_limit(body_limit);
    // The whole request must arrive within idle_timeout of this moment (on_idle checks).
    read_started_ = std::chrono::steady_clock::now();
    reading_ = true;
    stream_.expires_never();  // a write's timeout must not apply to the read
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&admin_session::on_read, shared_from_this()));
}

void admin_session::on_read(beast::error_code ec, std::size_t) {
    reading_ = false;
    if (!query_settled()) {
        read_ec_ = ec;  // answered in resume(), once the query's response is out
        return;
    }
    after_read(ec);
}

bool admin_session::query_settled() {
    auto q = query_.load(std::memory_order_acquire);
    const auto id = q & ~phase_mask;
    if ((q & phase_mask) == running) {
        // Every byte of the response in the socket: the query thread sends no more, and its
        // final compare-and-swap will find this one (its query is over).
        const auto end = response_end_.load(std::memory_order_acquire);
        const int fd = stream_.socket().native_handle();
        if (end != 0 && tcp_bytes_written(fd, false) >= end &&
            query_.compare_exchange_strong(q, id | idle, std::memory_order_acq_rel))
            return true;
        if (q == (id | running) && query_.compare_exchange_strong(q, id | io_waiting, std::memory_order_acq_rel))
            return false;
    }
    // idle, or done: the query thread no longer touches the socket.
    query_.store(id | idle, std::memory_order_relaxed);
    return true;
}

void admin_session::resume() {
    query_.store(query_.load(std::memory_order_relaxed) & ~phase_mask, std::memory_order_relaxed);
    after_read(read_ec_);
}

void admin_session::after_read(beast::error_code ec) {
    // The previous response is out. If it failed half-way, or said Connection: close, the
    // connection ends here whatever was read.
    if (std::exchange(query_failed_, false) || !keep_alive_) return do_close();
    // The client closed a keep-alive connection between requests: the normal end.
    if (ec == http::error::end_of_stream) return do_close();
    if (ec) {
        if (ec.category() == http::make_error_code(http::error::bad_target).category()) {
            keep_alive_ = false;
            version_ = 11;
            return send(json_error(400, "malformed HTTP request"));
        }
        return end();  // timeout or reset: nothing to answer
    }
    handle();
}

bool admin_session::origin_allowed() const {
    const auto& allowed = ctx_->options.cors_origin;
    return !origin_.empty() && !allowed.empty() && (allowed == "*" || allowed == origin_);
}

void admin_session::handle() {
    auto& req = parser_->get();
    ctx_->requests.fetch_add(1, std::memory_order_relaxed);
    version_ = req.version();
    keep_alive_ = req.keep_alive();
    origin_ = std::string(req[http::field::origin]);

    auto url = boost::urls::parse_origin_form(req.target());
    if (!url) return send(json_error(400, "malformed request target"));
    const std::string path = url->path();
    const route* r = find_route(path);
    if (!r) return send(json_error(404, fmt::format("no such endpoint: {}", path)));

    if (req.method() == http::verb::options) {
        // CORS preflight: answered without a token, browsers never send one here.
        admin_response res = text_response(204, "", "");
        res.headers.emplace_back("Allow", std::string(allowed_methods));
        if (origin_allowed()) {
            res.headers.emplace_back("Access-Control-Allow-Methods", std::string(allowed_methods));
            res.headers.emplace_back("Access-Control-Allow-Headers", "Authorization");
            res.headers.emplace_back("Access-Control-Max-Age", "600");
        }
        return send(std::move(res));
    }
    if (req.method() != http::verb::get) {
        admin_response res = json_error(405, fmt::format("method {} not allowed", std::string(req.method_string())));
        res.headers.emplace_back("Allow", std::string(allowed_methods));
        return send(std::move(res));
    }

    switch (r->id) {
    case route_id::healthz:
        return send(text_response(200, "application/json", R"({"status":"ok"})"));
    case route_id::readyz: {
        const bool have = static_cast<bool>(ctx_->deps.health);
        return send(health_response(have ? ctx_->deps.health() : health_snapshot{}, have));
    }
    case route_id::metrics: {
        std::optional<metering::call_metrics_snapshot> calls;
        if (ctx_->deps.metrics) calls = ctx_->deps.metrics->snapshot();
        std::optional<health_snapshot> health;
        if (ctx_->deps.health) health = ctx_->deps.health();
        return send(text_response(200, "text/plain; version=0.0.4; charset=utf-8",
                                  render_metrics(calls ? &*calls : nullptr, health ? &*health : nullptr, ctx_->counters())));
    }
    case route_id::dashboard_html: {
        auto res = text_response(200, "text/html; charset=utf-8", dashboard_html());
        res.headers.emplace_back("Content-Security-Policy",
                                 "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src *; img-src 'self' data:");
        return send(std::move(res));
    }
    case route_id::dashboard_js:
        return send(text_response(200, "text/javascript; charset=utf-8", dashboard_js()));
    default: break;
    }

    query_params params;
    for (auto p : url->params()) params.emplace_back(p.key, p.has_value ? p.value : std::string());
    handle_api(*r, params);
}

void admin_session::handle_api(const route& r, const query_params& params) {
    const std::int64_t now = ctx_->now_ms();
    if (auto wait = ctx_->limiter.retry_after_s(client_address_, now); wait > 0) {
        ctx_->rate_limited.fetch_add(1, std::memory_order_relaxed);
        admin_response res = json_error(429, "too many failed authentication attempts from this address");
        res.headers.emplace_back("Retry-After", std::to_string(wait));
        return send(std::move(res));
    }
    const auto auth = ctx_->auth.check(parser_->get()[http::field::authorization]);
    if (auth != auth_result::ok) {
        ctx_->auth_failures.fetch_add(1, std::memory_order_relaxed);
        std::string_view why = "a bearer token is required: Authorization: Bearer <token>";
        std::string challenge = R"(Bearer realm="gemini-meter")";
        if (auth == auth_result::not_configured) {
            why = "no admin token is configured: start gemini-meter with --admin-token-file or GEMINI_METER_ADMIN_TOKEN";
        } else if (auth == auth_result::wrong || auth == auth_result::malformed) {
            // Only guesses count towards the limit; a request without a token is no guess.
            ctx_->limiter.record_failure(client_address_, now);
            why = "the bearer token is not valid";
            challenge += R"(, error="invalid_token")";
        }
        admin_response res = json_error(401, why);
        res.headers.emplace_back("WWW-Authenticate", std::move(challenge));
        return send(std::move(res));
    }

    auto parsed = parse_api_query(r.id, params, {ctx_->options.max_range_days}, now);
    if (auto* e = std::get_if<param_error>(&parsed)) return send(json_error(400, e->message, e->parameter, e->allowed));
    auto& q = std::get<api_query>(parsed);
    if (r.streamed) return start_export(std::move(q));
    run_query(std::move(q));
}

void admin_session::run_query(api_query&& q) {
    // Off the I/O thread: the query may take a while. The query thread also renders the
    // whole HTTP response and sends it (one send when the socket takes it), so the I/O
    // thread is not woken for it; it reads the next request meanwhile.
    const int fd = stream_.socket().native_handle();
    const std::uint32_t me = (++next_query_ << 2) | running;
    response_end_.store(0, std::memory_order_relaxed);
    query_.store(me, std::memory_order_relaxed);
    net::post(ctx_->pool->get_executor(), [self = shared_from_this(), fd, me, q = std::move(q)]() mutable {
        admin_context& ctx = *self->ctx_;
        admin_response res;
        storage::usage_queries* reader = nullptr;
        try {
            if (needs_reader(q.route)) reader = &ctx.readers.for_this_thread();
        } catch (const std::exception& e) {
            ctx.query_errors.fetch_add(1, std::memory_order_relaxed);
            ctx.log(fmt::format("admin: cannot open a storage reader: {}", e.what()));
            res = json_error(503, "the usage database is not available");
        }
        if (res.body.empty()) {
            try {
                res = run_api_query(q, reader, ctx.deps.pricing_json);
            } catch (const std::exception& e) {
                ctx.query_errors.fetch_add(1, std::memory_order_relaxed);
                ctx.readers.discard_for_this_thread();
                ctx.log(fmt::format("admin: query failed: {}", e.what()));
                res = json_error(500, "the query failed; see the gemini-meter log");
            }
        }
        auto wire = self->serialize(std::move(res));
        // Read now: once response_end_ is reached the I/O thread may answer the next request.
        const bool close = !self->keep_alive_;
        // With Connection: close this thread still has to shut the socket down afterwards.
        if (!close) self->response_end_.store(tcp_bytes_written(fd, true) + wire.size(), std::memory_order_release);
        response_channel out(fd, std::move(wire), {.chunk_bytes = 0}, &ctx.stopping);
        self->query_finished(me, fd, out.send_whole(), close);
    });
    do_read();
}

void admin_session::query_finished(std::uint32_t me, int fd, bool sent_all, bool close) {
    // A response cut short cannot be continued: shutting the socket down also ends the I/O
    // thread's pending read (the receiving side alone when the connection is to be reset:
    // a FIN would end a close-delimited body as if it were whole). Connection: close ends
    // the sending side, as do_close does.
    if (!sent_all) ::shutdown(fd, abort_connection_ ? SHUT_RD : SHUT_RDWR);
    else if (close) ::shutdown(fd, SHUT_WR);
    // (Not all sent: the kernel never holds the whole response, so the I/O thread waits.)
    if (!sent_all) query_failed_ = true;
    query_done_at_.store(std::chrono::steady_clock::now().time_since_epoch().count(), std::memory_order_relaxed);
    const auto id = me & ~phase_mask;
    auto q = me;
    if (query_.compare_exchange_strong(q, id | done, std::memory_order_acq_rel)) return;  // the common case: no wake
    // Not io_waiting: the I/O thread found the whole response in the socket and went on.
    if (q != (id | io_waiting)) return;
    // The I/O thread has read what came next and waits for this response.
    query_.store(id | done, std::memory_order_release);
    ctx_->hand_back->push([self = shared_from_this()] {
        net::dispatch(self->stream_.get_executor(), [self] { self->resume(); });
    });
}

std::string admin_session::serialize(admin_response&& r) const {
    http::response<http::string_body> res{static_cast<http::status>(r.status), version_};
    res.set(http::field::server, "gemini-meter");
    if (!r.content_type.empty()) res.set(http::field::content_type, r.content_type);
    res.set(http::field::cache_control, "no-store");
    res.set("X-Content-Type-Options", "nosniff");
    for (auto& [name, value] : r.headers) res.set(name, value);
    if (!ctx_->options.cors_origin.empty()) {
        res.set(http::field::vary, "Origin");
        if (origin_allowed()) {
            res.set(http::field::access_control_allow_origin, ctx_->options.cors_origin == "*" ? "*" : origin_);
            res.set(http::field::access_control_expose_headers, "Retry-After, WWW-Authenticate");
        }
    }
    res.keep_alive(keep_alive_);
    res.body() = std::move(r.body);
    res.prepare_payload();
    // Beast's serializer, run to the end into one string: the same bytes async_write sends.
    std::string wire;
    wire.reserve(res.body().size() + 512);
    http::response_serializer<http::string_body> sr{res};
    beast::error_code ec;
    do {
        sr.next(ec, [&](beast::error_code&, const auto& buffers) {
            for (auto b : beast::buffers_range_ref(buffers)) wire.append(static_cast<const char*>(b.data()), b.size());
            sr.consume(beast::buffer_bytes(buffers));
        });
    } while (!ec && !sr.is_done());
    return wire;
}

void admin_session::send(admin_response&& r) { write_wire(serialize(std::move(r))); }

void admin_session::write_wire(std::string&& wire) {
    wire_ = std::move(wire);
    const bool close = !keep_alive_;
    // One non-blocking send: a response fits the socket buffer almost always, and then no
    // write operation, timer or completion handler is needed at all.
    beast::error_code ec;
    const std::size_t n = stream_.socket().write_some(net::buffer(wire_), ec);
    if (ec && ec != net::error::would_block) return end();  // the client went away
    if (!ec && n == wire_.size()) return on_write(close, {}, n);
    const std::size_t done = ec ? 0 : n;
    stream_.expires_after(write_timeout);
    net::async_write(stream_, net::buffer(wire_.data() + done, wire_.size() - done),
                     beast::bind_front_handler(&admin_session::on_write, shared_from_this(), close));
}

void admin_session::on_write(bool close, beast::error_code ec, std::size_t) {
    if (ec) return end();  // the client went away; the session ends with the last handler
    wire_.clear();
    wire_.shrink_to_fit();  // an idle keep-alive connection holds no response
    if (close) return do_close();
    do_read();
}

void admin_session::do_close() {
    // Half-close so the client sees the end of the response before the socket goes; an
    // aborted one goes without (its SO_LINGER of 0 makes the close a reset).
    beast::error_code ec;
    if (!std::exchange(abort_connection_, false))
        stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
    end();
}

void admin_session::start_export(api_query&& q) {
    // As run_query, streamed: the query thread writes the chunks as it reads the rows.
    const int fd = stream_.socket().native_handle();
    // HTTP/1.0 has no chunked coding: the body ends with the connection.
    const bool chunked = version_ >= 11;
    if (!chunked) keep_alive_ = false;
    const std::uint32_t me = (++next_query_ << 2) | running;
    response_end_.store(0, std::memory_order_relaxed);  // published at the last chunk
    query_.store(me, std::memory_order_relaxed);
    net::post(ctx_->pool->get_executor(), [self = shared_from_this(), fd, me, chunked, q = std::move(q)]() mutable {
        admin_context& ctx = *self->ctx_;
        const auto filename = fmt::format("api-usage-{}-{}.csv", format_iso_date(q.range.start_ms),
                                          format_iso_date(q.range.end_ms - 1));
        // As run_query: the I/O thread may go on once the socket holds the whole response,
        // whose size is known at the last chunk; the count starts before the first byte.
        const bool close = !self->keep_alive_;
        const std::uint64_t start = close ? 0 : tcp_bytes_written(fd, true);
        response_channel ch(fd, self->export_head(filename), {.chunked = chunked}, &ctx.stopping);
        ch.body() = csv_header();
        bool sent_all = false;
        bool failed = false;
        try {
            auto& reader = ctx.readers.for_this_thread();
            csv_row_writer rows;
            reader.export_rows(q.range, q.filter, [&](const metering::usage_record& r) {
                rows.append(ch.body(), r);
                return !ch.full() || ch.flush();
            });
            // Not open: the client went away or stopped reading, or the server stops.
            sent_all = ch.status() == response_channel::state::open && ch.finish([&](std::uint64_t total) {
                if (!close) self->response_end_.store(start + total, std::memory_order_release);
            });
        } catch (const std::exception& e) {
            failed = true;
            ctx.query_errors.fetch_add(1, std::memory_order_relaxed);
            ctx.readers.discard_for_this_thread();
            ctx.log(fmt::format("admin: export failed: {}", e.what()));
            // Before any byte the status can still say so; after, ending the connection
            // without the last chunk tells the client that the body is incomplete. An
            // HTTP/1.0 body ends with the connection, so there the connection is reset
            // (SO_LINGER 0 at the close): the client sees an error, not an end.
            if (ch.started() && !chunked) {
                const ::linger reset{1, 0};
                ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
                self->abort_connection_ = true;
            }
            if (!ch.started()) {
                response_channel out(fd, self->serialize(json_error(503, "the export failed; see the gemini-meter log")),
                                   {.chunk_bytes = 0}, &ctx.stopping);
                sent_all = out.send_whole();
            }
        }
        auto& outcome = failed     ? ctx.exports_failed
                        : sent_all ? ctx.exports_complete
                        : ch.status() == response_channel::state::stopping ? ctx.exports_stopped
                                                                           : ctx.exports_abandoned;
        outcome.fetch_add(1, std::memory_order_relaxed);
        self->query_finished(me, fd, sent_all, close);
    });
    do_read();
}

std::string admin_session::export_head(const std::string& filename) const {
    http::response<http::empty_body> h{http::status::ok, version_};
    h.set(http::field::server, "gemini-meter");
    h.set(http::field::content_type, "text/csv; charset=utf-8");
    h.set(http::field::content_disposition, fmt::format("attachment; filename=\"{}\"", filename));
    h.set(http::field::cache_control, "no-store");
    if (origin_allowed())
        h.set(http::field::access_control_allow_origin, ctx_->options.cors_origin == "*" ? "*" : origin_);
    h.keep_alive(keep_alive_);
    h.chunked(version_ >= 11);
    // Beast's serializer up to the end of the header: the body's chunks are framed by
    // response_channel.
    std::string wire;
    http::response_serializer<http::empty_body> sr{h};
    sr.split(true);
    beast::error_code ec;
    do {
        sr.next(ec, [&](beast::error_code&, const auto& buffers) {
            for (auto b : beast::buffers_range_ref(buffers)) wire.append(static_cast<const char*>(b.data()), b.size());
            sr.consume(beast::buffer_bytes(buffers));
        });
    } while (!ec && !sr.is_header_done());
    return wire;
}

}  // namespace gm::admin_api

#include "raw_http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cstring>
#include <optional>
#include <stdexcept>
#include <strings.h>

namespace gm::test {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

namespace {

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

[[noreturn]] void fail(const std::string& what, const error_code& ec) {
    throw std::runtime_error("raw_http_client: " + what + ": " + ec.message());
}

}  // namespace

std::string raw_response::header(std::string_view name) const {
    for (const auto& [k, v] : headers)
        if (iequals(k, name)) return v;
    return {};
}

bool raw_response::has_header(std::string_view name) const { return count_header(name) > 0; }

std::size_t raw_response::count_header(std::string_view name) const {
    std::size_t n = 0;
    for (const auto& h : headers) n += iequals(h.first, name) ? 1 : 0;
    return n;
}

struct raw_http_client::impl {
    raw_client_options opt;
    net::io_context ioc;
    std::optional<ssl::context> ssl_ctx;
    std::optional<beast::tcp_stream> plain;
    std::optional<ssl::stream<beast::tcp_stream>> tls;
    beast::flat_buffer buffer;
    bool peer_ended = false;  // a read has already returned EOF or an error

    beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
    bool connected() const { return (tls || plain) && const_cast<impl*>(this)->lowest().socket().is_open(); }

    // Runs one asynchronous operation to completion on our private io_context: Beast's
    // stream timeouts only work for asynchronous operations.
    template <class Start>
    void run(Start&& start) {
        ioc.restart();
        start();
        ioc.run();
    }

    template <class F>
    void with_stream(F&& f) {
        if (tls) f(*tls);
        else if (plain) f(*plain);
        else throw std::runtime_error("raw_http_client: not connected");
    }

    void arm() { lowest().expires_after(opt.timeout); }

    streamed_response read(std::function<bool(const body_piece&)>* on_piece, bool head, bool keep_pieces) {
        streamed_response out;
        http::response_parser<http::buffer_body> parser;
        parser.body_limit(boost::none);
        parser.header_limit(1024 * 1024);
        if (head) parser.skip(true);
        error_code ec;
        with_stream([&](auto& s) {
            arm();
            run([&] { http::async_read_header(s, buffer, parser, [&](error_code e, std::size_t) { ec = e; }); });
        });
        if (ec) fail("reading the response header", ec);
        out.header_at = std::chrono::steady_clock::now();
        raw_response& r = out.response;
        const auto& msg = parser.get();
        r.status = msg.result_int();
        r.reason = std::string(msg.reason());
        r.version = msg.version();
        for (const auto& f : msg) r.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
        r.chunked = parser.chunked();
        std::vector<char> chunk(64 * 1024);
        while (!parser.is_done()) {
            parser.get().body().data = chunk.data();
            parser.get().body().size = chunk.size();
            with_stream([&](auto& s) {
                arm();
                run([&] { http::async_read_some(s, buffer, parser, [&](error_code e, std::size_t) { ec = e; }); });
            });
            if (ec == http::error::need_buffer) ec = {};
            if (ec) peer_ended = true;
            const std::size_t n = chunk.size() - parser.get().body().size;
            if (n > 0) {
                body_piece piece{std::string(chunk.data(), n), std::chrono::steady_clock::now()};
                r.body += piece.data;
                if (on_piece && *on_piece && !(*on_piece)(piece)) {
                    if (keep_pieces) out.pieces.push_back(std::move(piece));
                    close();
                    return out;
                }
                if (keep_pieces) out.pieces.push_back(std::move(piece));
            }
            // A connection that ends before the message does (EOF, reset, timeout) is the
            // truncated response that tests look for: report it, do not throw.
            if (ec) return out;
        }
        r.complete = true;
        r.keep_alive = parser.keep_alive();
        return out;
    }

    void close() {
        if (!tls && !plain) return;
        error_code ignored;
        lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
        lowest().socket().close(ignored);
    }
};

raw_http_client::raw_http_client() : raw_http_client(raw_client_options{}) {}

raw_http_client::raw_http_client(raw_client_options options) : impl_(std::make_unique<impl>()) {
    impl_->opt = std::move(options);
}

raw_http_client::~raw_http_client() {
    if (impl_) impl_->close();
}

raw_http_client::raw_http_client(raw_http_client&&) noexcept = default;
raw_http_client& raw_http_client::operator=(raw_http_client&&) noexcept = default;

void raw_http_client::connect(const std::string& host, unsigned short port) {
    impl& m = *impl_;
    m.close();
    m.tls.reset();
    m.plain.reset();
    m.buffer.clear();
    // Reads take whatever has arrived (up to this much), so that a piece of body is one
    // arrival rather than a slice cut by a small buffer.
    m.buffer.reserve(64 * 1024);
    m.peer_ended = false;
    tcp::resolver resolver(m.ioc);
    error_code ec;
    auto endpoints = resolver.resolve(host, std::to_string(port), ec);
    if (ec) fail("resolving " + host, ec);
    if (m.opt.tls) {
        if (!m.ssl_ctx) {
            m.ssl_ctx.emplace(ssl::context::tls_client);
            if (!m.opt.ca_file.empty()) {
                m.ssl_ctx->load_verify_file(m.opt.ca_file);
                m.ssl_ctx->set_verify_mode(ssl::verify_peer);
            } else {
                m.ssl_ctx->set_verify_mode(ssl::verify_none);
            }
        }
        m.tls.emplace(m.ioc, *m.ssl_ctx);
        if (!m.opt.ca_file.empty())
            m.tls->set_verify_callback(ssl::host_name_verification(m.opt.server_name));
        error_code addr_ec;
        net::ip::make_address(m.opt.server_name, addr_ec);
        // SNI carries host names only, never IP literals (RFC 6066).
        if (addr_ec) SSL_set_tlsext_host_name(m.tls->native_handle(), m.opt.server_name.c_str());
    } else {
        m.plain.emplace(m.ioc);
    }
    m.arm();
    m.run([&] { m.lowest().async_connect(endpoints, [&](error_code e, const tcp::endpoint&) { ec = e; }); });
    if (ec) fail("connecting to " + host + ":" + std::to_string(port), ec);
    m.lowest().socket().set_option(tcp::no_delay(true), ec);
    if (m.tls) {
        m.arm();
        m.run([&] { m.tls->async_handshake(ssl::stream_base::client, [&](error_code e) { ec = e; }); });
        if (ec) fail("TLS handshake", ec);
    }
}

void raw_http_client::send(std::string_view bytes) {
    error_code ec;
    impl_->with_stream([&](auto& s) {
        impl_->arm();
        impl_->run([&] {
            net::async_write(s, net::buffer(bytes.data(), bytes.size()), [&](error_code e, std::size_t) { ec = e; });
        });
    });
    if (ec) fail("writing the request", ec);
}

raw_response raw_http_client::read_response(bool head_request) {
    return impl_->read(nullptr, head_request, false).response;
}

streamed_response raw_http_client::read_response_streaming(std::function<bool(const body_piece&)> on_piece,
                                                           bool head_request) {
    return impl_->read(&on_piece, head_request, true);
}

std::string raw_http_client::read_raw(std::size_t max_bytes) {
    impl& m = *impl_;
    // Bytes already pulled off the socket by an earlier parse come first.
    std::string out(static_cast<const char*>(m.buffer.data().data()), m.buffer.size());
    m.buffer.clear();
    std::vector<char> chunk(64 * 1024);
    while (out.size() < max_bytes) {
        error_code ec;
        std::size_t n = 0;
        m.with_stream([&](auto& s) {
            m.arm();
            m.run([&] {
                s.async_read_some(net::buffer(chunk), [&](error_code e, std::size_t k) { ec = e; n = k; });
            });
        });
        out.append(chunk.data(), n);
        if (ec) {
            m.peer_ended = ec != beast::error::timeout;
            break;
        }
    }
    return out;
}

bool raw_http_client::peer_closed(std::chrono::milliseconds wait) {
    impl& m = *impl_;
    if (!m.connected() || m.peer_ended) return true;
    std::vector<char> chunk(16 * 1024);
    error_code ec;
    bool done = false;
    std::size_t n = 0;
    // A timer that cancels the read, not the stream's expiry: the expiry would close the
    // socket and so make the answer "closed" by itself.
    net::steady_timer timer(m.ioc);
    m.lowest().expires_never();
    m.run([&] {
        timer.expires_after(wait);
        timer.async_wait([&](error_code e) {
            if (!e && !done) m.lowest().socket().cancel();
        });
        m.with_stream([&](auto& s) {
            s.async_read_some(net::buffer(chunk), [&](error_code e, std::size_t k) {
                done = true;
                ec = e;
                n = k;
                timer.cancel();
            });
        });
    });
    if (n > 0) {
        // Data, not a close: keep it for the next read.
        auto dst = m.buffer.prepare(n);
        std::memcpy(dst.data(), chunk.data(), n);
        m.buffer.commit(n);
        return false;
    }
    return ec && ec != net::error::operation_aborted;
}

void raw_http_client::close() { impl_->close(); }

bool raw_http_client::is_open() const { return impl_->connected(); }

std::string raw_http_client::make_request(std::string_view method, std::string_view target,
                                          const header_list& headers, std::string_view body,
                                          std::string_view host) {
    std::string out;
    out.reserve(256 + body.size());
    out.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
    bool has_host = false, has_length = false;
    for (const auto& [k, v] : headers) {
        has_host = has_host || iequals(k, "host");
        has_length = has_length || iequals(k, "content-length") || iequals(k, "transfer-encoding");
    }
    if (!has_host) out.append("Host: ").append(host).append("\r\n");
    for (const auto& [k, v] : headers) out.append(k).append(": ").append(v).append("\r\n");
    if (!has_length && !body.empty()) out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
    out.append("\r\n").append(body);
    return out;
}


}  // namespace gm::test

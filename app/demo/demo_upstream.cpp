#include "app/demo/demo_upstream.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <fmt/format.h>

#include <chrono>
#include <optional>
#include <stdexcept>

#include "app/demo/demo_responder.hpp"

namespace gm::demo {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

struct demo_upstream::state {
    upstream_options options;
    std::atomic<std::uint64_t> generate{0}, stream{0}, count_tokens{0}, errors{0}, not_found{0}, connections{0};
};

struct demo_upstream::io {
    net::io_context ioc;
    tcp::acceptor acceptor{net::make_strand(ioc)};
};

namespace {

// A client may keep a connection idle between calls (the proxy's pool does): a minute
// bounds what an abandoned one holds, as Google's front ends do.
constexpr auto idle_timeout = std::chrono::seconds(60);
constexpr auto write_timeout = std::chrono::seconds(30);

class upstream_session : public std::enable_shared_from_this<upstream_session> {
public:
    upstream_session(tcp::socket&& socket, std::shared_ptr<demo_upstream::state> st)
        : stream_(std::move(socket)), timer_(stream_.get_executor()), st_(std::move(st)) {}

    void run() { do_read(); }

private:
    void do_read() {
        // A fresh parser per request, with limits: the demo's calls are small.
        parser_.emplace();
        parser_->header_limit(64 * 1024);
        parser_->body_limit(16 * 1024 * 1024);
        stream_.expires_after(idle_timeout);
        http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&upstream_session::on_read, shared_from_this()));
    }

    void on_read(beast::error_code ec, std::size_t) {
        // end_of_stream: the client closed between requests, the normal end of keep-alive.
        if (ec == http::error::end_of_stream) return shutdown();
        if (ec) return;
        auto req = parser_->release();
        keep_alive_ = req.keep_alive();
        const auto& opt = st_->options;
        if (opt.on_request) {
            upstream_request seen;
            seen.method = std::string(req.method_string());
            seen.target = std::string(req.target());
            for (const auto& f : req) seen.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
            seen.body_bytes = req.body().size();
            opt.on_request(seen);
        }
        const auto fail = req.find("X-Demo-Fail");
        const std::string_view fail_value =
            fail == req.end() ? std::string_view() : std::string_view(fail->value().data(), fail->value().size());
        answer_ = answer_request(req.method_string(), req.target(), req.body(), fail_value, opt.seed, opt.latency_scale);
        // The model "thinks" before the first byte.
        timer_.expires_after(answer_.before_header);
        timer_.async_wait(beast::bind_front_handler(&upstream_session::on_ready, shared_from_this()));
    }

    void on_ready(beast::error_code ec) {
        if (ec) return;
        stream_.expires_after(write_timeout);
        if (!answer_.stream) {
            response_.emplace(static_cast<http::status>(answer_.status), 11);
            set_common(*response_);
            response_->body() = std::move(answer_.pieces.front());
            response_->prepare_payload();
            http::async_write(stream_, *response_,
                              beast::bind_front_handler(&upstream_session::on_written, shared_from_this()));
            return;
        }
        // SSE: the header now, then each event as its own chunk, as Google's front end does.
        head_.emplace(http::status::ok, 11);
        set_common(*head_);
        head_->set(http::field::content_disposition, "attachment");
        head_->chunked(true);
        serializer_.emplace(*head_);
        http::async_write_header(stream_, *serializer_,
                                 beast::bind_front_handler(&upstream_session::on_head_written, shared_from_this()));
    }

    template <class Message>
    void set_common(Message& m) {
        m.set(http::field::content_type, answer_.content_type);
        m.set(http::field::vary, "Origin, X-Origin, Referer");
        m.set(http::field::server, "scaffolding on HTTPServer2");
        m.set("X-Demo-Upstream", "1");
        m.keep_alive(keep_alive_);
    }

    void on_head_written(beast::error_code ec, std::size_t) {
        if (ec) return;
        next_piece_ = 0;
        write_piece();
    }

    void write_piece() {
        stream_.expires_after(write_timeout);
        if (next_piece_ == answer_.pieces.size()) {
            net::async_write(stream_, http::make_chunk_last(),
                             beast::bind_front_handler(&upstream_session::on_written, shared_from_this()));
            return;
        }
        const auto& piece = answer_.pieces[next_piece_++];
        net::async_write(stream_, http::make_chunk(net::buffer(piece)),
                         beast::bind_front_handler(&upstream_session::on_piece_written, shared_from_this()));
    }

    void on_piece_written(beast::error_code ec, std::size_t) {
        if (ec) return;
        if (next_piece_ == answer_.pieces.size()) return write_piece();
        // The next event comes when the model has generated it.
        timer_.expires_after(answer_.between_pieces);
        timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
            if (!ec) self->write_piece();
        });
    }

    void on_written(beast::error_code ec, std::size_t) {
        if (ec) return;
        count();
        response_.reset();
        serializer_.reset();
        head_.reset();
        if (!keep_alive_) return shutdown();
        do_read();
    }

    void count() {
        auto& st = *st_;
        switch (answer_.kind) {
        case answer_kind::generate: ++st.generate; break;
        case answer_kind::stream: ++st.stream; break;
        case answer_kind::count_tokens: ++st.count_tokens; break;
        case answer_kind::error: ++st.errors; break;
        case answer_kind::not_found: ++st.not_found; break;
        }
    }

    void shutdown() {
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    }

    beast::tcp_stream stream_;
    net::steady_timer timer_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    std::shared_ptr<demo_upstream::state> st_;
    demo_answer answer_;
    bool keep_alive_ = true;
    std::optional<http::response<http::string_body>> response_;
    std::optional<http::response<http::empty_body>> head_;
    std::optional<http::response_serializer<http::empty_body>> serializer_;
    std::size_t next_piece_ = 0;
};

void do_accept(net::io_context& ioc, tcp::acceptor& acceptor, std::shared_ptr<demo_upstream::state> st) {
    // Each connection gets its own strand, so its handlers never run concurrently.
    acceptor.async_accept(net::make_strand(ioc), [&ioc, &acceptor, st](beast::error_code ec, tcp::socket socket) {
        if (ec == net::error::operation_aborted || !acceptor.is_open()) return;  // stop()
        if (!ec) {
            ++st->connections;
            beast::error_code ignored;
            // Each SSE event is a small write: without TCP_NODELAY it would wait for an ACK.
            socket.set_option(tcp::no_delay(true), ignored);
            std::make_shared<upstream_session>(std::move(socket), st)->run();
        }
        do_accept(ioc, acceptor, st);
    });
}

}  // namespace

demo_upstream::demo_upstream(upstream_options options)
    : state_(std::make_shared<state>()), io_(std::make_unique<io>()), thread_count_(options.threads) {
    if (options.threads < 1)
        throw std::invalid_argument(fmt::format("demo upstream: threads must be >= 1, got {}", options.threads));
    if (!(options.latency_scale >= 0))
        throw std::invalid_argument(fmt::format("demo upstream: latency_scale must be >= 0, got {}", options.latency_scale));
    beast::error_code ec;
    const auto address = net::ip::make_address(options.address, ec);
    if (ec) throw std::invalid_argument(fmt::format("demo upstream: address '{}' is not an IP address", options.address));
    const tcp::endpoint endpoint(address, options.port);
    auto& acc = io_->acceptor;
    auto fail = [&](const char* what) {
        throw std::runtime_error(
            fmt::format("demo upstream: cannot {} {}:{}: {}", what, options.address, options.port, ec.message()));
    };
    acc.open(endpoint.protocol(), ec);
    if (ec) fail("open");
    acc.set_option(net::socket_base::reuse_address(true), ec);
    if (ec) fail("configure");
    acc.bind(endpoint, ec);
    if (ec) fail("bind");
    acc.listen(net::socket_base::max_listen_connections, ec);
    if (ec) fail("listen on");
    port_ = acc.local_endpoint().port();
    state_->options = std::move(options);
}

demo_upstream::~demo_upstream() { stop(); }

void demo_upstream::start() {
    if (started_.exchange(true) || stopped_) return;
    std::shared_ptr<state> st = state_;
    net::dispatch(io_->acceptor.get_executor(), [this, st] { do_accept(io_->ioc, io_->acceptor, st); });
    for (int i = 0; i < thread_count_; ++i)
        threads_.emplace_back([this] { io_->ioc.run(); });
}

void demo_upstream::stop() {
    if (stopped_.exchange(true)) return;
    // Stopping the io_context ends the threads at once; the sessions and their sockets go
    // with the io_context's pending handlers when io_ is destroyed, just below.
    io_->ioc.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
    io_.reset();
}

upstream_stats demo_upstream::stats() const noexcept {
    upstream_stats s;
    s.generate = state_->generate;
    s.stream = state_->stream;
    s.count_tokens = state_->count_tokens;
    s.errors = state_->errors;
    s.not_found = state_->not_found;
    s.connections = state_->connections;
    return s;
}

}  // namespace gm::demo

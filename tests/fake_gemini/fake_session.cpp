// One connection to the fake: read a request (body streamed through SHA-256, never
// buffered whole), ask the responder for a plan, write the plan out piece by piece with
// its delays, framing and truncation, and keep the connection alive for the next one.
#include "fake_state.hpp"

#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <fmt/format.h>
#include <openssl/evp.h>

#include <strings.h>

namespace gm::test {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

namespace {

constexpr std::size_t prefix_limit = 64 * 1024;
constexpr std::size_t sent_body_cap = 8 * 1024 * 1024;

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

struct md_ctx_free { void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); } };

template <class Stream>
class session : public std::enable_shared_from_this<session<Stream>> {
public:
    session(Stream&& stream, fake_gemini::state& st)
        : st_(st), stream_(std::move(stream)), timer_(stream_.get_executor()),
          sha_(EVP_MD_CTX_new()), connection_id_(st.next_connection_id++) {}

    ~session() {
        if (!closed_) --st_.connections_open;
    }

    void start() {
        if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
            do_read_header();
        } else {
            stream_.async_handshake(ssl::stream_base::server,
                                    beast::bind_front_handler(&session::on_handshake, this->shared_from_this()));
        }
    }

private:
    void on_handshake(error_code ec) {
        if (ec) {
            ++st_.tls_handshake_failures;
            return close();
        }
        do_read_header();
    }

    void do_read_header() {
        // A fresh parser per request, as Beast requires; no body limit because uploads of
        // hundreds of megabytes are streamed through.
        parser_.emplace();
        parser_->body_limit(boost::none);
        parser_->header_limit(1024 * 1024);
        response_done_ = false;
        http::async_read_header(stream_, buffer_, *parser_,
                                beast::bind_front_handler(&session::on_header, this->shared_from_this()));
    }

    void on_header(error_code ec, std::size_t) {
        if (ec) return peer_gone(ec);
        ++st_.requests;
        const auto& msg = parser_->get();
        req_ = received_request{};
        req_.connection_id = connection_id_;
        req_.method = std::string(msg.method_string());
        req_.target = std::string(msg.target());
        req_.version = msg.version();
        req_.at = std::chrono::steady_clock::now();
        bool expect_continue = false;
        for (const auto& f : msg) {
            req_.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
            if (iequals(f.name_string(), "expect") && iequals(f.value(), "100-continue")) expect_continue = true;
        }
        EVP_DigestInit_ex(sha_.get(), EVP_sha256(), nullptr);
        if (expect_continue) {
            static const std::string continue_line = "HTTP/1.1 100 Continue\r\n\r\n";
            net::async_write(stream_, net::buffer(continue_line),
                             [self = this->shared_from_this()](error_code e, std::size_t) {
                                 if (e) return self->peer_gone(e);
                                 self->do_read_body();
                             });
            return;
        }
        do_read_body();
    }

    void do_read_body() {
        if (parser_->is_done()) return on_request_done();
        if (body_buf_.empty()) body_buf_.resize(64 * 1024);
        parser_->get().body().data = body_buf_.data();
        parser_->get().body().size = body_buf_.size();
        http::async_read(stream_, buffer_, *parser_,
                         beast::bind_front_handler(&session::on_body, this->shared_from_this()));
    }

    void on_body(error_code ec, std::size_t) {
        // need_buffer only says our 64 KiB window is full: hash it and read on.
        if (ec == http::error::need_buffer) ec = {};
        if (ec) return peer_gone(ec);
        const std::size_t n = body_buf_.size() - parser_->get().body().size;
        if (n > 0) {
            EVP_DigestUpdate(sha_.get(), body_buf_.data(), n);
            req_.body_size += n;
            if (req_.body_prefix.size() < prefix_limit)
                req_.body_prefix.append(body_buf_.data(), std::min(n, prefix_limit - req_.body_prefix.size()));
        }
        do_read_body();
    }

    void on_request_done() {
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        EVP_DigestFinal_ex(sha_.get(), digest, &len);
        static const char* hex = "0123456789abcdef";
        req_.body_sha256.reserve(2 * len);
        for (unsigned i = 0; i < len; ++i) {
            req_.body_sha256 += hex[digest[i] >> 4];
            req_.body_sha256 += hex[digest[i] & 15];
        }
        const bool keep_alive = parser_->keep_alive();
        head_ = req_.method == "HEAD";
        plan_ = st_.responder.answer(req_);
        close_after_ = plan_.close || !keep_alive;
        if (st_.recording()) st_.record(received_request(req_));
        piece_ = 0;
        recorded_ = false;
        payload_sent_ = 0;
        header_sent_ = false;
        cut_ = false;
        rec_ = sent_response{};
        rec_.connection_id = connection_id_;
        rec_.status = plan_.status;
        // While the answer is in flight, a read stays posted so that a peer hanging up
        // during a delay is seen at once (tests time "client gone" by it). Bytes it gets
        // are the next request's, kept in buffer_.
        if (buffer_.size() == 0) start_watch();
        if (plan_.delay_before_header.count() > 0) {
            timer_.expires_after(plan_.delay_before_header);
            timer_.async_wait(beast::bind_front_handler(&session::on_timer, this->shared_from_this()));
        } else {
            write_next();
        }
    }

    void start_watch() {
        watch_pending_ = true;
        stream_.async_read_some(buffer_.prepare(16 * 1024),
                                beast::bind_front_handler(&session::on_watch, this->shared_from_this()));
    }

    void on_watch(error_code ec, std::size_t n) {
        watch_pending_ = false;
        if (closed_) return;
        if (ec) return peer_gone(ec);
        buffer_.commit(n);
        if (response_done_) do_read_header();
    }

    void on_timer(error_code ec) {
        if (ec || closed_) return;
        write_next();
    }

    // Appends payload bytes to out_, within the truncation budget; false once cut.
    bool take(std::string_view data, std::string& out) {
        std::size_t n = data.size();
        if (plan_.truncate_after) {
            const std::uint64_t budget = *plan_.truncate_after > payload_sent_ ? *plan_.truncate_after - payload_sent_ : 0;
            if (n > budget) {
                n = static_cast<std::size_t>(budget);
                cut_ = true;
            }
        }
        out.append(data.data(), n);
        payload_sent_ += n;
        if (st_.recording() && rec_.body.size() < sent_body_cap)
            rec_.body.append(data.data(), std::min(n, sent_body_cap - rec_.body.size()));
        return !cut_;
    }

    void write_next() {
        out_.clear();
        if (!header_sent_) {
            header_sent_ = true;
            rec_.first_byte_at = std::chrono::steady_clock::now();
            out_ += fmt::format("HTTP/1.1 {} {}\r\n", plan_.status, http::obsolete_reason(http::int_to_status(plan_.status)));
            auto framing = plan_.headers;
            if (plan_.chunked) {
                framing.emplace_back("Transfer-Encoding", "chunked");
            } else {
                std::size_t total = 0;
                for (const auto& p : plan_.pieces) total += p.data.size();
                framing.emplace_back("Content-Length", std::to_string(total));
            }
            if (close_after_) framing.emplace_back("Connection", "close");
            for (const auto& [k, v] : framing) out_.append(k).append(": ").append(v).append("\r\n");
            out_ += "\r\n";
            if (st_.recording()) rec_.headers = std::move(framing);
            if (head_) piece_ = plan_.pieces.size();
        }
        // Pieces without a delay go out in the same write, as one server write would.
        while (piece_ < plan_.pieces.size() && !cut_) {
            const response_piece& p = plan_.pieces[piece_];
            if (p.delay_before.count() > 0 && !out_.empty()) break;
            if (plan_.write_each_piece && piece_ > 0 && !out_.empty()) break;
            ++piece_;
            if (plan_.chunked) {
                if (p.data.empty()) continue;
                out_ += fmt::format("{:x}\r\n", p.data.size());
                if (!take(p.data, out_)) break;
                out_ += "\r\n";
            } else if (!take(p.data, out_)) {
                break;
            }
            if (piece_ < plan_.pieces.size() && plan_.pieces[piece_].delay_before.count() > 0) break;
        }
        if (piece_ == plan_.pieces.size() && !cut_ && plan_.chunked && !head_) out_ += "0\r\n\r\n";
        // Recorded before the last write is issued, so that a test that has just read the
        // whole answer always finds it in sent().
        if (cut_ || piece_ == plan_.pieces.size()) {
            rec_.truncated = cut_;
            finish_record();
        }
        net::async_write(stream_, net::buffer(out_), beast::bind_front_handler(&session::on_write, this->shared_from_this()));
    }

    void on_write(error_code ec, std::size_t) {
        if (closed_) return;
        if (ec) return peer_gone(ec);
        if (cut_) {
            // x-fake-truncate-after: the connection just ends, no TLS close_notify, no last
            // chunk, as when a server crashes mid-response.
            return close();
        }
        if (piece_ < plan_.pieces.size()) {
            const auto delay = plan_.pieces[piece_].delay_before;
            if (delay.count() > 0) {
                timer_.expires_after(delay);
                timer_.async_wait(beast::bind_front_handler(&session::on_timer, this->shared_from_this()));
                return;
            }
            return write_next();
        }
        response_done_ = true;
        if (close_after_) return close();
        if (watch_pending_) return;  // on_watch starts the next request
        do_read_header();
    }

    void finish_record() {
        rec_.last_byte_at = std::chrono::steady_clock::now();
        rec_.body_size = payload_sent_;
        if (st_.recording()) st_.record(std::move(rec_));
        rec_ = sent_response{};
        recorded_ = true;
    }

    void peer_gone(error_code ec) {
        if (closed_) return;
        // Gone between the end of the request and the end of the answer (during a delay
        // too, before the header went out): the answer was aborted.
        const bool aborted = parser_ && parser_->is_done() && !response_done_ && !recorded_;
        // Closed first, counted after: a test that sees the counters move also sees the
        // connection gone.
        close();
        if (aborted) {
            rec_.aborted = true;
            finish_record();
            ++st_.responses_aborted;
        }
        st_.peer_closed();
    }

    void close() {
        if (closed_) return;
        closed_ = true;
        // Counted here, not in the destructor: handlers still pending may keep the session
        // object alive a little after its socket is gone.
        --st_.connections_open;
        timer_.cancel();
        error_code ignored;
        auto& sock = beast::get_lowest_layer(stream_).socket();
        sock.shutdown(tcp::socket::shutdown_both, ignored);
        sock.close(ignored);
    }

    fake_gemini::state& st_;
    Stream stream_;
    net::steady_timer timer_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::buffer_body>> parser_;
    std::vector<char> body_buf_;
    std::unique_ptr<EVP_MD_CTX, md_ctx_free> sha_;
    std::uint64_t connection_id_;

    received_request req_;
    response_plan plan_;
    sent_response rec_;
    std::string out_;
    std::size_t piece_ = 0;
    std::uint64_t payload_sent_ = 0;
    bool head_ = false;
    bool close_after_ = false;
    bool header_sent_ = false;
    bool cut_ = false;
    bool response_done_ = false;
    bool watch_pending_ = false;
    bool closed_ = false;
    bool recorded_ = false;
};

}  // namespace

void start_fake_session(tcp::socket&& socket, fake_gemini::state& st) {
    if (st.ssl) {
        std::make_shared<session<ssl::stream<beast::tcp_stream>>>(
            ssl::stream<beast::tcp_stream>(beast::tcp_stream(std::move(socket)), *st.ssl), st)->start();
    } else {
        std::make_shared<session<beast::tcp_stream>>(beast::tcp_stream(std::move(socket)), st)->start();
    }
}

}  // namespace gm::test

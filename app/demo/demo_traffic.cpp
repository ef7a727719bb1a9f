#include "app/demo/demo_traffic.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <fmt/format.h>

#include <array>
#include <chrono>
#include <cmath>
#include <future>
#include <optional>
#include <random>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "app/demo/demo_catalog.hpp"
#include "app/demo/usage_generator.hpp"

namespace gm::demo {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

namespace {

constexpr auto connect_timeout = std::chrono::seconds(10);
constexpr auto write_timeout = std::chrono::seconds(30);
// A long streamed answer takes seconds; a hung one is given up after this.
constexpr auto answer_timeout = std::chrono::seconds(120);
constexpr std::string_view api_key = "demo-key-not-secret";

constexpr std::array<std::string_view, 40> prompt_words = {
    "please", "summarize", "this", "interview", "transcript", "and", "list", "the", "candidate's", "strengths",
    "explain", "why", "a", "student", "might", "answer", "that", "way", "translate", "paragraph", "into",
    "plain", "language", "classify", "ticket", "by", "urgency", "analyze", "quarterly", "numbers", "for",
    "trends", "draft", "reply", "to", "customer", "about", "their", "invoice", "question"};

struct counters {
    std::atomic<std::uint64_t> sent{0}, ok{0}, error_answers{0}, failed{0}, unary{0}, streamed{0}, count_tokens{0},
        errors_asked{0}, skipped{0};
};

void check_share(double v, const char* name) {
    if (!(v >= 0 && v <= 1)) throw std::invalid_argument(fmt::format("demo traffic: {} must be in [0, 1], got {}", name, v));
}

}  // namespace

struct demo_traffic::engine {
    explicit engine(traffic_options o)
        : opt(std::move(o)), cat(make_demo_catalog(opt.users)), rng(opt.seed),
          endpoints_z(static_cast<int>(cat.endpoints.size()), 1.0), models_z(static_cast<int>(cat.models.size()), 1.2),
          bots_z(static_cast<int>(cat.bots.size()), 1.0), users_z(static_cast<int>(cat.user_ids.size()), 0.9) {}

    void schedule();
    void on_tick(beast::error_code ec);
    struct planned {
        http::request<http::string_body> req;
        bool stream = false, count = false, fail = false;
    };
    planned make_request();

    traffic_options opt;
    demo_catalog cat;
    tcp::endpoint endpoint;
    std::mt19937_64 rng;
    zipf endpoints_z, models_z, bots_z, users_z;
    counters c;

    // Destroyed last: the pending calls (its handlers) and the sockets below go first.
    net::io_context ioc;
    net::steady_timer tick{ioc};
    // Connections the server kept alive, reused by the next calls (traffic thread only).
    std::vector<beast::tcp_stream> idle;
    std::atomic<int> in_flight{0};  // changed on the traffic thread, read by drain()
    bool draining = false;          // traffic thread only: no new arrivals
};

namespace {

// One call: a kept-alive connection or a new one, the request, the whole answer. A kept
// connection the server closed meanwhile fails before any answer byte: the call is then
// sent once more on a new connection, as HTTP clients do for idempotent retries.
class traffic_call : public std::enable_shared_from_this<traffic_call> {
public:
    traffic_call(demo_traffic::engine& e, http::request<http::string_body>&& req) : e_(e), req_(std::move(req)) {}

    void start() {
        ++e_.in_flight;
        if (!e_.idle.empty()) {
            stream_.emplace(std::move(e_.idle.back()));
            e_.idle.pop_back();
            reused_ = true;
            return do_write();
        }
        do_connect();
    }

private:
    void do_connect() {
        reused_ = false;
        stream_.emplace(e_.ioc);
        stream_->expires_after(connect_timeout);
        stream_->async_connect(e_.endpoint, beast::bind_front_handler(&traffic_call::on_connect, shared_from_this()));
    }

    void on_connect(beast::error_code ec) {
        if (ec) return finish(false);
        beast::error_code ignored;
        stream_->socket().set_option(tcp::no_delay(true), ignored);
        do_write();
    }

    void do_write() {
        stream_->expires_after(write_timeout);
        http::async_write(*stream_, req_, beast::bind_front_handler(&traffic_call::on_write, shared_from_this()));
    }

    void on_write(beast::error_code ec, std::size_t) {
        if (ec) return retry_or_fail();
        if (!counted_) {
            counted_ = true;
            ++e_.c.sent;
        }
        parser_.emplace();
        parser_->body_limit(16 * 1024 * 1024);
        stream_->expires_after(answer_timeout);
        http::async_read(*stream_, buffer_, *parser_, beast::bind_front_handler(&traffic_call::on_read, shared_from_this()));
    }

    void on_read(beast::error_code ec, std::size_t) {
        if (ec) return parser_->got_some() ? finish(false) : retry_or_fail();
        const auto& res = parser_->get();
        if (res.result_int() / 100 == 2) ++e_.c.ok;
        else ++e_.c.error_answers;
        const bool keep = res.keep_alive();
        if (keep && static_cast<int>(e_.idle.size()) < e_.opt.max_in_flight) e_.idle.push_back(std::move(*stream_));
        stream_.reset();
        finish(true);
    }

    void retry_or_fail() {
        if (reused_ && !retried_) {
            retried_ = true;
            buffer_.clear();
            return do_connect();
        }
        finish(false);
    }

    void finish(bool answered) {
        if (!answered) ++e_.c.failed;
        --e_.in_flight;
    }

    demo_traffic::engine& e_;
    http::request<http::string_body> req_;
    std::optional<beast::tcp_stream> stream_;
    beast::flat_buffer buffer_;
    std::optional<http::response_parser<http::string_body>> parser_;
    bool reused_ = false, retried_ = false, counted_ = false;
};

}  // namespace

void demo_traffic::engine::schedule() {
    // Poisson arrivals: the gaps of independent users' calls, at opt.rate on average.
    const double gap_s = std::exponential_distribution<double>(opt.rate)(rng);
    tick.expires_after(std::chrono::microseconds(static_cast<std::int64_t>(gap_s * 1e6)));
    tick.async_wait([this](beast::error_code ec) { on_tick(ec); });
}

void demo_traffic::engine::on_tick(beast::error_code ec) {
    if (ec || draining) return;
    // Drawn even when skipped, so that the calls after a busy spell stay the same.
    auto p = make_request();
    if (in_flight >= opt.max_in_flight) {
        ++c.skipped;
    } else {
        if (p.count) ++c.count_tokens;
        else if (p.stream) ++c.streamed;
        else ++c.unary;
        if (p.fail) ++c.errors_asked;
        std::make_shared<traffic_call>(*this, std::move(p.req))->start();
    }
    schedule();
}

demo_traffic::engine::planned demo_traffic::engine::make_request() {
    auto draw = [this] { return std::uniform_real_distribution<double>(0, 1)(rng); };
    auto at = [](const std::vector<std::string>& v, int i) -> const std::string& { return v[static_cast<std::size_t>(i)]; };
    // As in the history (usage_generator): a feature mostly uses one model, bots belong to
    // the chat-like features, 40% of calls are guests, a fifth carry a team tag.
    const int e = endpoints_z(rng);
    const int n_models = static_cast<int>(cat.models.size());
    const int m = rng() % 100 < 85 ? e % std::min(n_models, 5) : models_z(rng);
    const int bot = e < cat.chat_like && rng() % 10 != 0 ? bots_z(rng) : -1;
    const int user = rng() % 10 >= 4 ? users_z(rng) : -1;
    const bool say_guest = user < 0 && rng() % 4 == 0;
    const int team = rng() % 5 == 0 ? static_cast<int>(rng() % cat.teams.size()) : -1;
    const double kind = draw();
    const bool count = kind < opt.count_share;
    const bool stream = !count && kind < opt.count_share + opt.stream_share;
    const bool fail = draw() < opt.error_share;
    static constexpr std::array<int, 10> fail_codes = {429, 429, 429, 429, 429, 429, 429, 503, 503, 500};
    const int fail_code = fail_codes[rng() % fail_codes.size()];
    const std::size_t prompt_bytes = 400 + rng() % 9000;

    std::string text;
    text.reserve(prompt_bytes + 16);
    while (text.size() < prompt_bytes) {
        if (!text.empty()) text += ' ';
        text += prompt_words[rng() % prompt_words.size()];
    }

    const std::string& model = at(cat.models, m);
    const std::string target = fmt::format("/v1beta/models/{}:{}", model,
                                           count ? "countTokens" : stream ? "streamGenerateContent?alt=sse" : "generateContent");
    http::request<http::string_body> req(http::verb::post, target, 11);
    // RFC 3986: an IPv6 literal in a Host header goes in brackets.
    const bool v6 = opt.address.find(':') != std::string::npos;
    req.set(http::field::host, v6 ? fmt::format("[{}]:{}", opt.address, opt.port) : fmt::format("{}:{}", opt.address, opt.port));
    req.set(http::field::content_type, "application/json");
    req.set(http::field::user_agent, "gemini-meter-demo");
    req.set("x-goog-api-key", api_key);
    if (user >= 0) {
        req.set("X-Meter-User-Id", at(cat.user_ids, user));
        req.set("X-Meter-User-Email", at(cat.user_emails, user));
    } else if (say_guest) {
        req.set("X-Meter-Guest", "true");
    }
    req.set("X-Meter-Endpoint", at(cat.endpoints, e));
    if (bot >= 0) req.set("X-Meter-Bot-Id", at(cat.bots, bot));
    if (team >= 0) req.set("X-Meter-Tag-Team", at(cat.teams, team));
    if (fail) req.set("X-Demo-Fail", std::to_string(fail_code));
    req.body() = count ? fmt::format("{{\"contents\":[{{\"role\":\"user\",\"parts\":[{{\"text\":\"{}\"}}]}}]}}", text)
                       : fmt::format("{{\"contents\":[{{\"role\":\"user\",\"parts\":[{{\"text\":\"{}\"}}]}}],"
                                     "\"generationConfig\":{{\"temperature\":0.7,\"maxOutputTokens\":1024}}}}",
                                     text);
    req.prepare_payload();
    req.keep_alive(true);
    return {std::move(req), stream, count, fail};
}

demo_traffic::demo_traffic(traffic_options options) {
    if (!(options.rate > 0) || !std::isfinite(options.rate))
        throw std::invalid_argument(fmt::format("demo traffic: rate must be > 0 calls/s, got {}", options.rate));
    if (options.port == 0) throw std::invalid_argument("demo traffic: port must be set (where the calls go)");
    check_share(options.error_share, "error_share");
    check_share(options.stream_share, "stream_share");
    check_share(options.count_share, "count_share");
    if (options.stream_share + options.count_share > 1)
        throw std::invalid_argument("demo traffic: stream_share + count_share must be <= 1");
    if (options.max_in_flight < 1)
        throw std::invalid_argument(fmt::format("demo traffic: max_in_flight must be >= 1, got {}", options.max_in_flight));
    beast::error_code ec;
    const auto address = net::ip::make_address(options.address, ec);
    if (ec) throw std::invalid_argument(fmt::format("demo traffic: address '{}' is not an IP address", options.address));
    const tcp::endpoint endpoint(address, options.port);
    engine_ = std::make_unique<engine>(std::move(options));  // make_demo_catalog checks users
    engine_->endpoint = endpoint;
}

demo_traffic::~demo_traffic() { stop(); }

void demo_traffic::start() {
    if (started_.exchange(true) || stopped_) return;
    thread_ = std::thread([e = engine_.get()] {
        e->schedule();
        e->ioc.run();
    });
}

void demo_traffic::stop() {
    if (stopped_.exchange(true)) return;
    // run() returns at once; the calls in flight are destroyed with the io_context.
    engine_->ioc.stop();
    if (thread_.joinable()) thread_.join();
}

bool demo_traffic::drain(std::chrono::milliseconds limit) {
    if (!started_ || stopped_) {
        stop();
        return true;
    }
    const auto deadline = std::chrono::steady_clock::now() + limit;
    // On the traffic thread, so that no arrival starts a call after this returns.
    auto arrivals_stopped = std::make_shared<std::promise<void>>();
    auto done = arrivals_stopped->get_future();
    net::post(engine_->ioc, [e = engine_.get(), arrivals_stopped] {
        e->draining = true;
        e->tick.cancel();
        arrivals_stopped->set_value();
    });
    bool drained = done.wait_until(deadline) == std::future_status::ready;
    while (drained && engine_->in_flight > 0) {
        if (std::chrono::steady_clock::now() >= deadline) drained = false;
        else std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    stop();
    return drained;
}

traffic_stats demo_traffic::stats() const noexcept {
    const auto& c = engine_->c;
    traffic_stats s;
    s.sent = c.sent;
    s.ok = c.ok;
    s.error_answers = c.error_answers;
    s.failed = c.failed;
    s.unary = c.unary;
    s.streamed = c.streamed;
    s.count_tokens = c.count_tokens;
    s.errors_asked = c.errors_asked;
    s.skipped = c.skipped;
    return s;
}

}  // namespace gm::demo

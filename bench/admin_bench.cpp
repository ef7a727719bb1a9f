// Admin endpoint latency over real HTTP.
//
//   admin_bench --db PATH [--requests N] [--clients C] [--max-seconds S]
//       Starts an admin_server in this process on the database (fill it first with
//       storage_fill, e.g. 10,000,000 rows) and measures every endpoint: p50/p99/max in ms,
//       against the goal p99 < 20 ms. C clients send at once (default 1).
//   admin_bench --port P --token T [--requests N] [--clients C] [--max-seconds S]
//       The same measurement against a running gemini-meter's admin listener (for example
//       while the proxy carries load: bench/admin_run.sh).
//   admin_bench --port P --token T --rate QPS [--duration S] [--clients C]
//       Sends QPS admin queries per second (round-robin over the endpoints, on a fixed
//       schedule, over C keep-alive connections, default 1) to a running admin listener for
//       S seconds or until SIGTERM/SIGINT, for measuring the proxy with admin load beside it.
//       Prints the admin latencies (all, and per endpoint) at the end.
//   Any of them with --only NAME[,NAME...]: only those endpoints (names as printed, e.g.
//       "recent,stats user"); bench/admin_run.sh's phase (C) measures them one at a time.
//
// Each endpoint gets N requests (default 200) after 3 warm-up requests, but no more than S
// seconds (default 10; at least 10 requests), so that one slow query does not hold up the
// run. Endpoints are the questions of an admin console: stats (30 and 90 days, filtered by
// model, tag, a typical user and the busiest user), daily, top users, recent calls (first
// page, filtered, a deep keyset page), projections, compare, a small CSV export, /metrics.
// The filters name storage_fill's data: models gemini-model-NN, user-NNNNN (user-00000 is
// the busiest, ~5% of all calls), tag team=team-N.
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "admin_api/admin_server.hpp"
#include "storage/sqlite_store.hpp"

namespace {

namespace net = boost::asio;
namespace http = boost::beast::http;
using clock_type = std::chrono::steady_clock;

struct args {
    std::string db;
    int requests = 200;
    int clients = 1;
    double max_seconds = 10;
    unsigned short port = 0;
    std::string token = "bench-token";
    double rate = 0;
    double duration_s = 60;
    std::string only;  // comma-separated endpoint names; empty: all
};

[[noreturn]] void usage() {
    std::fprintf(stderr,
                 "usage: admin_bench --db PATH [--requests N] [--clients C] [--max-seconds S]\n"
                 "       admin_bench --port P --token T [--requests N] [--clients C] [--max-seconds S]\n"
                 "       admin_bench --port P --token T --rate QPS [--duration S] [--clients C]\n"
                 "       any of them: --only NAME[,NAME...] (endpoint names as printed, e.g. \"recent,metrics\")\n");
    std::exit(2);
}

args parse(int argc, char** argv) {
    args a;
    for (int i = 1; i < argc; ++i) {
        const std::string k = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) usage();
            return argv[++i];
        };
        if (k == "--db") a.db = next();
        else if (k == "--requests") a.requests = std::stoi(next());
        else if (k == "--clients") a.clients = std::stoi(next());
        else if (k == "--max-seconds") a.max_seconds = std::stod(next());
        else if (k == "--port") a.port = static_cast<unsigned short>(std::stoi(next()));
        else if (k == "--token") a.token = next();
        else if (k == "--rate") a.rate = std::stod(next());
        else if (k == "--duration") a.duration_s = std::stod(next());
        else if (k == "--only") a.only = next();
        else usage();
    }
    if (a.db.empty() == (a.port == 0)) usage();  // exactly one of --db and --port
    if (a.rate > 0 && a.port == 0) usage();
    if (a.requests < 1 || a.clients < 1) usage();
    return a;
}

// The questions an admin console asks. Placeholders, expanded at each request:
//   {date:N}  the UTC date N days ago (YYYY-MM-DD)
//   {time:M}  the UTC date-time M minutes ago (YYYY-MM-DDTHH:MM:SSZ)
//   {cursor:N} a `before` cursor N days back (a deep page of recent calls)
const std::vector<std::pair<std::string, std::string>> endpoints = {
    {"stats 30d", "/api/api-usage/stats"},
    {"stats 90d", "/api/api-usage/stats?startDate={date:90}"},
    {"stats model", "/api/api-usage/stats?model=gemini-model-03"},
    {"stats tag", "/api/api-usage/stats?tag=team%3Dteam-1"},
    {"stats user", "/api/api-usage/stats?userId=user-01234"},
    {"stats top user", "/api/api-usage/stats?userId=user-00000"},
    {"daily 90d", "/api/api-usage/daily?startDate={date:90}"},
    {"daily model 90d", "/api/api-usage/daily?startDate={date:90}&model=gemini-model-03"},
    {"top-users 30d", "/api/api-usage/top-users"},
    {"top-users 90d", "/api/api-usage/top-users?startDate={date:90}&limit=100"},
    {"recent", "/api/api-usage/recent"},
    {"recent model", "/api/api-usage/recent?model=gemini-model-03&limit=100"},
    {"recent deep page", "/api/api-usage/recent?before={cursor:60}"},
    {"projections", "/api/api-usage/projections"},
    {"compare", "/api/api-usage/compare"},
    {"export 15 min", "/api/api-usage/export?format=csv&startDate={time:1455}&endDate={time:1440}"},
    {"metrics", "/metrics"},
};

// The endpoints --only names (all when it is empty); an unknown name is an error.
std::vector<std::pair<std::string, std::string>> selected(const std::string& only) {
    if (only.empty()) return endpoints;
    std::vector<std::pair<std::string, std::string>> out;
    std::size_t from = 0;
    for (;;) {
        const auto comma = only.find(',', from);
        const std::string name = only.substr(from, comma == std::string::npos ? std::string::npos : comma - from);
        auto it = std::find_if(endpoints.begin(), endpoints.end(), [&](const auto& e) { return e.first == name; });
        if (it == endpoints.end()) throw std::runtime_error("--only: no endpoint named '" + name + "'");
        out.push_back(*it);
        if (comma == std::string::npos) return out;
        from = comma + 1;
    }
}

std::string b64url(const std::string& in) {
    static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                     static_cast<unsigned char>(in[i + 2]);
        out += t[v >> 18], out += t[(v >> 12) & 63], out += t[(v >> 6) & 63], out += t[v & 63];
    }
    if (i + 1 == in.size()) {
        unsigned v = static_cast<unsigned char>(in[i]) << 16;
        out += t[v >> 18], out += t[(v >> 12) & 63];
    } else if (i + 2 == in.size()) {
        unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
        out += t[v >> 18], out += t[(v >> 12) & 63], out += t[(v >> 6) & 63];
    }
    return out;
}

std::string expand(std::string target) {
    const auto now = std::chrono::system_clock::now();
    for (;;) {
        const auto open = target.find('{');
        if (open == std::string::npos) return target;
        const auto close = target.find('}', open);
        const auto colon = target.find(':', open);
        if (close == std::string::npos || colon > close) throw std::runtime_error("bad placeholder in " + target);
        const std::string kind = target.substr(open + 1, colon - open - 1);
        const long n = std::stol(target.substr(colon + 1, close - colon - 1));
        std::string value;
        if (kind == "date" || kind == "time") {
            const auto t = now - (kind == "date" ? std::chrono::minutes(n * 1440) : std::chrono::minutes(n));
            std::time_t tt = std::chrono::system_clock::to_time_t(t);
            std::tm tm{};
            gmtime_r(&tt, &tm);
            char buf[32];
            std::strftime(buf, sizeof buf, kind == "date" ? "%Y-%m-%d" : "%Y-%m-%dT%H:%M:%SZ", &tm);
            value = buf;
        } else if (kind == "cursor") {
            const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                (now - std::chrono::hours(24 * n)).time_since_epoch())
                                .count();
            value = b64url(fmt::format("{}:~", ms));  // "~" sorts after every id at that ms
        } else {
            throw std::runtime_error("bad placeholder in " + target);
        }
        target.replace(open, close - open + 1, value);
    }
}

// One keep-alive connection. get() returns the latency of one request in ms, or -1 when
// the answer was not a 200.
class client {
public:
    client(unsigned short port, std::string token) : socket_(ioc_), token_(std::move(token)) {
        socket_.connect({net::ip::make_address("127.0.0.1"), port});
        socket_.set_option(net::ip::tcp::no_delay(true));
    }
    double get(const std::string& target) {
        http::request<http::string_body> req{http::verb::get, target, 11};
        req.set(http::field::host, "127.0.0.1");
        req.set(http::field::authorization, "Bearer " + token_);
        auto t0 = clock_type::now();
        http::write(socket_, req);
        http::response_parser<http::string_body> parser;
        parser.body_limit(1ull << 30);
        http::read(socket_, buf_, parser);
        auto ms = std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
        last_bytes_ = parser.get().body().size();
        if (parser.get().result_int() != 200) {
            std::fprintf(stderr, "%s -> %u %s\n", target.c_str(), parser.get().result_int(),
                         parser.get().body().substr(0, 300).c_str());
            return -1;
        }
        return ms;
    }
    std::size_t last_bytes() const { return last_bytes_; }

private:
    net::io_context ioc_;
    net::ip::tcp::socket socket_;
    boost::beast::flat_buffer buf_;
    std::string token_;
    std::size_t last_bytes_ = 0;
};

struct summary {
    double p50 = 0, p99 = 0, max = 0;
    std::size_t n = 0, failed = 0;
};

summary summarize(std::vector<double> v, std::size_t failed) {
    summary s;
    s.failed = failed;
    s.n = v.size();
    if (v.empty()) return s;
    std::sort(v.begin(), v.end());
    // Nearest rank: the smallest value with at least q of the samples at or below it.
    auto at = [&](double q) {
        auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
        return v[std::min(v.size(), std::max<std::size_t>(rank, 1)) - 1];
    };
    s.p50 = at(0.50);
    s.p99 = at(0.99);
    s.max = v.back();
    return s;
}

int measure_endpoints(const args& a, unsigned short port, const std::string& where) {
    std::printf("admin_bench: %s, up to %d requests per endpoint (at most %.0f s each, at least 10), %d client(s); "
                "goal p99 < 20 ms\n",
                where.c_str(), a.requests, a.max_seconds, a.clients);
    std::printf("%-18s %7s %9s %9s %9s %9s %7s\n", "endpoint", "n", "p50 ms", "p99 ms", "max ms", "bytes", "result");
    std::fflush(stdout);
    int failures = 0;
    const auto chosen = selected(a.only);
    for (const auto& [name, raw] : chosen) {
        std::vector<double> lat;
        std::mutex m;
        std::atomic<std::size_t> failed{0}, bytes{0};
        std::vector<std::thread> threads;
        const auto deadline = clock_type::now() + std::chrono::duration_cast<clock_type::duration>(
                                                      std::chrono::duration<double>(a.max_seconds));
        for (int c = 0; c < a.clients; ++c)
            threads.emplace_back([&, raw = raw] {
                try {
                    client cl(port, a.token);
                    for (int i = 0; i < 3; ++i) cl.get(expand(raw));  // warm: statements prepared, pages cached
                    std::vector<double> mine;
                    const int quota = a.requests / a.clients;
                    const int floor = std::min(quota, (10 + a.clients - 1) / a.clients);
                    for (int i = 0; i < quota; ++i) {
                        if (i >= floor && clock_type::now() > deadline) break;
                        double ms = cl.get(expand(raw));
                        if (ms < 0) ++failed;
                        else mine.push_back(ms);
                    }
                    bytes = cl.last_bytes();
                    std::lock_guard lock(m);
                    lat.insert(lat.end(), mine.begin(), mine.end());
                } catch (const std::exception& e) {
                    std::fprintf(stderr, "%s: %s\n", raw.c_str(), e.what());
                    ++failed;
                }
            });
        for (auto& t : threads) t.join();
        auto s = summarize(std::move(lat), failed);
        bool ok = s.failed == 0 && s.n > 0 && s.p99 < 20.0;
        failures += ok ? 0 : 1;
        std::printf("%-18s %7zu %9.2f %9.2f %9.2f %9zu %7s\n", name.c_str(), s.n, s.p50, s.p99, s.max, bytes.load(),
                    s.failed ? "FAILED" : ok ? "ok" : "SLOW");
        std::fflush(stdout);
    }
    std::printf("admin_bench: %d of %zu endpoints over the goal or failing\n", failures, chosen.size());
    return failures == 0 ? 0 : 1;
}

int run_latency_in_process(const args& a) {
    auto store = gm::storage::sqlite_store::open(a.db);
    net::io_context ioc;
    auto work = net::make_work_guard(ioc);
    gm::admin_api::admin_options o;
    o.port = 0;
    o.tokens = {a.token};
    o.query_threads = 2;
    gm::admin_api::admin_deps d;
    d.open_reader = [&] { return store->open_reader(); };
    d.log = [](const std::string&) {};
    gm::admin_api::admin_server server(ioc, o, d);
    server.start();
    std::thread io([&] { ioc.run(); });
    const int rc = measure_endpoints(a, server.port(), a.db + " (admin_server in this process)");
    server.stop();
    work.reset();
    ioc.stop();
    io.join();
    return rc;
}

std::atomic<bool> stop_requested{false};
extern "C" void on_stop_signal(int) { stop_requested = true; }

int run_rate(const args& a) {
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sa.sa_flags = SA_RESTART;  // a query in progress finishes; the loop then stops
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    const auto interval = std::chrono::duration<double>(1.0 / a.rate);
    const auto t0 = clock_type::now();
    const auto end = t0 + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(a.duration_s));
    // One schedule shared by C connections: query k is due at t0 + k/rate and goes out on
    // whichever connection is free, so that a slow query does not lower the rate (as long
    // as fewer than C are slow at once).
    std::atomic<std::size_t> seq{0};
    std::mutex m;
    std::vector<double> lat;
    std::map<std::string, std::vector<double>> per_endpoint;
    std::size_t failed = 0;
    const auto chosen = selected(a.only);
    std::printf("admin_bench: sending %.1f queries/s to 127.0.0.1:%u on %d connection(s)\n", a.rate, a.port, a.clients);
    std::fflush(stdout);
    std::vector<std::thread> threads;
    for (int c = 0; c < a.clients; ++c)
        threads.emplace_back([&] {
            client cl(a.port, a.token);
            while (!stop_requested) {
                const std::size_t k = seq++;
                const auto due = t0 + std::chrono::duration_cast<clock_type::duration>(interval * static_cast<double>(k));
                if (due >= end) break;
                // Short sleeps, so that a stop signal is seen within 10 ms.
                while (!stop_requested && clock_type::now() < due)
                    std::this_thread::sleep_until(std::min(due, clock_type::now() + std::chrono::milliseconds(10)));
                if (stop_requested) break;
                const auto& [name, raw] = chosen[k % chosen.size()];
                double ms = -1;
                try {
                    ms = cl.get(expand(raw));
                } catch (const std::exception& e) {
                    std::fprintf(stderr, "%s: %s\n", raw.c_str(), e.what());
                    std::lock_guard lock(m);
                    ++failed;
                    break;
                }
                std::lock_guard lock(m);
                if (ms < 0) ++failed;
                else lat.push_back(ms), per_endpoint[name].push_back(ms);
            }
        });
    for (auto& t : threads) t.join();
    const double seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
    auto s = summarize(std::move(lat), failed);
    std::printf("admin_bench: %.1f queries/s asked, %.1f sent over %.1f s: %zu ok, %zu failed, p50 %.2f ms, "
                "p99 %.2f ms, max %.2f ms\n",
                a.rate, static_cast<double>(s.n + s.failed) / seconds, seconds, s.n, s.failed, s.p50, s.p99, s.max);
    for (const auto& [name, raw] : chosen) {
        auto it = per_endpoint.find(name);
        if (it == per_endpoint.end()) continue;
        auto e = summarize(it->second, 0);
        std::printf("  %-18s n=%zu p50=%.2f p99=%.2f max=%.2f\n", name.c_str(), e.n, e.p50, e.p99, e.max);
    }
    return s.failed == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        const args a = parse(argc, argv);
        if (a.rate > 0) return run_rate(a);
        if (a.port != 0) return measure_endpoints(a, a.port, fmt::format("admin listener 127.0.0.1:{}", a.port));
        return run_latency_in_process(a);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "admin_bench: %s\n", e.what());
        return 1;
    }
}

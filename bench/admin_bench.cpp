// Admin endpoint latency over real HTTP.
//
//   admin_bench --db PATH [--requests N] [--clients C]
//       Starts an admin_server on the database (fill it first with storage_fill, e.g.
//       10,000,000 rows) and measures every endpoint: p50/p99/max in ms per endpoint,
//       against the goal p99 < 20 ms. C clients send at once (default 1).
//   admin_bench --port P --token T --rate QPS --duration S
//       Sends QPS admin queries per second (round-robin over the endpoints) to a running
//       gemini-meter's admin listener for S seconds, for measuring the proxy with admin
//       load beside it (bench/run.sh). Prints the admin latencies at the end.
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
#include <cstdio>
#include <cstdlib>
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
    unsigned short port = 0;
    std::string token = "bench-token";
    double rate = 0;
    int duration_s = 60;
};

[[noreturn]] void usage() {
    std::fprintf(stderr,
                 "usage: admin_bench --db PATH [--requests N] [--clients C]\n"
                 "       admin_bench --port P --token T --rate QPS [--duration S]\n");
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
        else if (k == "--port") a.port = static_cast<unsigned short>(std::stoi(next()));
        else if (k == "--token") a.token = next();
        else if (k == "--rate") a.rate = std::stod(next());
        else if (k == "--duration") a.duration_s = std::stoi(next());
        else usage();
    }
    if (a.db.empty() && (a.port == 0 || a.rate <= 0)) usage();
    return a;
}

// The questions an admin console asks, cheapest to dearest.
const std::vector<std::pair<std::string, std::string>> endpoints = {
    {"stats 30d", "/api/api-usage/stats"},
    {"stats 90d", "/api/api-usage/stats?startDate={d90}"},
    {"stats 30d model", "/api/api-usage/stats?model=gemini-model-00"},
    {"stats 30d user", "/api/api-usage/stats?userId=user-00001"},
    {"daily 90d", "/api/api-usage/daily?startDate={d90}"},
    {"top-users 30d", "/api/api-usage/top-users"},
    {"top-users 90d", "/api/api-usage/top-users?startDate={d90}&limit=100"},
    {"recent", "/api/api-usage/recent"},
    {"recent filtered", "/api/api-usage/recent?model=gemini-model-03&limit=100"},
    {"projections", "/api/api-usage/projections"},
    {"compare", "/api/api-usage/compare"},
    {"healthz", "/healthz"},
    {"metrics", "/metrics"},
};

std::string expand(std::string target) {
    auto pos = target.find("{d90}");
    if (pos != std::string::npos) {
        auto t = std::chrono::system_clock::now() - std::chrono::hours(24 * 90);
        std::time_t tt = std::chrono::system_clock::to_time_t(t);
        std::tm tm{};
        gmtime_r(&tt, &tm);
        char buf[16];
        std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
        target.replace(pos, 5, buf);
    }
    return target;
}

// One keep-alive connection; returns the latency of one request in ms, or -1 on failure.
class client {
public:
    client(unsigned short port, std::string token) : socket_(ioc_), token_(std::move(token)) {
        socket_.connect({net::ip::make_address("127.0.0.1"), port});
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
        if (parser.get().result_int() != 200) {
            std::fprintf(stderr, "%s -> %u %s\n", target.c_str(), parser.get().result_int(), parser.get().body().c_str());
            return -1;
        }
        return ms;
    }

private:
    net::io_context ioc_;
    net::ip::tcp::socket socket_;
    boost::beast::flat_buffer buf_;
    std::string token_;
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
    auto at = [&](double q) { return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))]; };
    s.p50 = at(0.50);
    s.p99 = at(0.99);
    s.max = v.back();
    return s;
}

int run_latency(const args& a) {
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

    std::printf("admin_bench: %s, %d requests per endpoint, %d client(s); goal p99 < 20 ms\n", a.db.c_str(), a.requests,
                a.clients);
    std::printf("%-18s %9s %9s %9s %7s\n", "endpoint", "p50 ms", "p99 ms", "max ms", "result");
    int failures = 0;
    for (const auto& [name, raw] : endpoints) {
        const std::string target = expand(raw);
        std::vector<double> lat;
        std::mutex m;
        std::atomic<std::size_t> failed{0};
        std::vector<std::thread> threads;
        for (int c = 0; c < a.clients; ++c)
            threads.emplace_back([&] {
                client cl(server.port(), a.token);
                for (int i = 0; i < 3; ++i) cl.get(target);  // warm: statements prepared, pages cached
                std::vector<double> mine;
                for (int i = 0; i < a.requests / a.clients; ++i) {
                    double ms = cl.get(target);
                    if (ms < 0) ++failed;
                    else mine.push_back(ms);
                }
                std::lock_guard lock(m);
                lat.insert(lat.end(), mine.begin(), mine.end());
            });
        for (auto& t : threads) t.join();
        auto s = summarize(std::move(lat), failed);
        bool ok = s.failed == 0 && s.p99 < 20.0;
        failures += ok ? 0 : 1;
        std::printf("%-18s %9.2f %9.2f %9.2f %7s\n", name.c_str(), s.p50, s.p99, s.max, ok ? "ok" : "SLOW");
    }
    server.stop();
    work.reset();
    ioc.stop();
    io.join();
    return failures == 0 ? 0 : 1;
}

int run_rate(const args& a) {
    client cl(a.port, a.token);
    const auto interval = std::chrono::duration<double>(1.0 / a.rate);
    const auto end = clock_type::now() + std::chrono::seconds(a.duration_s);
    auto next = clock_type::now();
    std::vector<double> lat;
    std::size_t failed = 0, i = 0;
    while (clock_type::now() < end) {
        std::this_thread::sleep_until(next);
        next += std::chrono::duration_cast<clock_type::duration>(interval);
        double ms = cl.get(expand(endpoints[i++ % endpoints.size()].second));
        if (ms < 0) ++failed;
        else lat.push_back(ms);
    }
    auto s = summarize(std::move(lat), failed);
    std::printf("admin_bench: %.1f queries/s for %d s: %zu ok, %zu failed, p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
                a.rate, a.duration_s, s.n, s.failed, s.p50, s.p99, s.max);
    return s.failed == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        const args a = parse(argc, argv);
        return a.db.empty() ? run_rate(a) : run_latency(a);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "admin_bench: %s\n", e.what());
        return 1;
    }
}

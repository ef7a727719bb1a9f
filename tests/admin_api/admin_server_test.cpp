// The admin listener over real sockets: routing, authentication, rate limiting, CORS,
// health, metrics and parameter errors. Queries on a real database are in
// admin_e2e_test.cpp.
#include "admin_api/admin_server.hpp"

#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <netinet/in.h>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/time.h>
#include <thread>
#include <unistd.h>

#include "storage/usage_queries.hpp"

#include "http_client.hpp"
#include "promtool_check.hpp"
#include "server_fixture.hpp"
#include "support/thread_sched.hpp"
#include "support/parse_json.hpp"

using namespace gm::admin_api;
using gm::test::admin_fixture;
using gm::test::http_request;
using gm::test::http_get_auth;

using gm::test::parse_json;

namespace {

admin_options opts(std::vector<std::string> tokens = {"tok-A"}) {
    admin_options o;
    o.tokens = std::move(tokens);
    o.query_threads = 1;
    return o;
}

admin_deps deps_without_db(std::atomic<std::int64_t>* clock = nullptr) {
    admin_deps d;
    d.pricing_json = [] { return std::string(R"({"version":"test","models":[]})"); };
    if (clock) d.now_ms = [clock] { return clock->load(); };
    return d;
}

}  // namespace

TEST_CASE("no token configured: refuses a non-loopback address, and on loopback /api answers 401 saying why") {
    boost::asio::io_context ioc;
    admin_options o = opts({});
    o.host = "0.0.0.0";
    o.port = 0;
    admin_server s(ioc, o, deps_without_db());
    CHECK_THROWS_WITH(s.start(), Catch::Contains("no admin token is configured"));

    admin_fixture f(opts({}), deps_without_db());
    auto r = http_request(f.port(), "/api/api-usage/stats", {{"Authorization", "Bearer guess"}});
    CHECK(r.status == 401);
    CHECK(r.header("www-authenticate") == R"(Bearer realm="gemini-meter")");
    CHECK(parse_json(r.body)["error"]["message"].GetString() == std::string(
        "no admin token is configured: start gemini-meter with --admin-token-file or GEMINI_METER_ADMIN_TOKEN"));
    CHECK(http_request(f.port(), "/healthz").status == 200);
}

TEST_CASE("a host that is not an IP address is a start-up error") {
    boost::asio::io_context ioc;
    admin_options o = opts();
    o.host = "not-an-ip";
    admin_server s(ioc, o, deps_without_db());
    CHECK_THROWS_WITH(s.start(), Catch::Contains("is not an IP address"));
}

TEST_CASE("authentication: missing, wrong, right and rotated tokens") {
    admin_fixture f(opts({"tok-old", "tok-new"}), deps_without_db());
    auto r = http_request(f.port(), "/api/api-usage/pricing");
    CHECK(r.status == 401);
    CHECK(r.header("www-authenticate") == R"(Bearer realm="gemini-meter")");
    CHECK(parse_json(r.body)["error"]["code"].GetInt() == 401);

    r = http_get_auth(f.port(), "/api/api-usage/pricing", "tok-wrong");
    CHECK(r.status == 401);
    CHECK(r.header("www-authenticate") == R"(Bearer realm="gemini-meter", error="invalid_token")");

    r = http_request(f.port(), "/api/api-usage/pricing", {{"Authorization", "Basic dG9rLW5ldw=="}});
    CHECK(r.status == 401);

    r = http_get_auth(f.port(), "/api/api-usage/pricing", "tok-old");
    CHECK(r.status == 200);
    CHECK(r.body == R"({"version":"test","models":[]})");
    CHECK(r.header("content-type") == "application/json");
    CHECK(r.header("cache-control") == "no-store");
    CHECK(http_get_auth(f.port(), "/api/api-usage/pricing", "tok-new").status == 200);

    // Every /api route is guarded, including the streamed export.
    for (const char* path : {"/api/api-usage/stats", "/api/api-usage/daily", "/api/api-usage/top-users",
                             "/api/api-usage/recent", "/api/api-usage/projections", "/api/api-usage/export?format=csv",
                             "/api/api-usage/compare"}) {
        INFO(path);
        CHECK(http_request(f.port(), path).status == 401);
    }
}

TEST_CASE("failed attempts are rate-limited per address with Retry-After, then allowed again") {
    std::atomic<std::int64_t> clock{1'000'000};
    admin_options o = opts();
    o.auth_max_failures = 3;
    admin_fixture f(o, deps_without_db(&clock));
    for (int i = 0; i < 3; ++i) CHECK(http_get_auth(f.port(), "/api/api-usage/pricing", "nope").status == 401);
    clock += 15'000;
    auto r = http_get_auth(f.port(), "/api/api-usage/pricing", "tok-A");
    CHECK(r.status == 429);  // even the right token: a blocked address learns nothing
    CHECK(r.header("retry-after") == "45");
    CHECK(parse_json(r.body)["error"]["code"].GetInt() == 429);
    // Requests without a token are not guesses and do not extend the block.
    CHECK(http_request(f.port(), "/healthz").status == 200);
    clock += 45'000;
    CHECK(http_get_auth(f.port(), "/api/api-usage/pricing", "tok-A").status == 200);
    auto m = http_request(f.port(), "/metrics");
    CHECK(m.body.find("gemini_meter_admin_auth_failures_total 3\n") != std::string::npos);
    CHECK(m.body.find("gemini_meter_admin_rate_limited_total 1\n") != std::string::npos);
}

TEST_CASE("unknown path 404, wrong method 405 with Allow") {
    admin_fixture f(opts(), deps_without_db());
    auto r = http_get_auth(f.port(), "/api/api-usage/nothing", "tok-A");
    CHECK(r.status == 404);
    CHECK(parse_json(r.body)["error"]["code"].GetInt() == 404);
    CHECK(http_request(f.port(), "/nope").status == 404);
    r = http_request(f.port(), "/api/api-usage/stats", {{"Authorization", "Bearer tok-A"}}, "POST");
    CHECK(r.status == 405);
    CHECK(r.header("allow") == "GET, OPTIONS");
    CHECK(http_request(f.port(), "/metrics", {}, "DELETE").status == 405);
}

TEST_CASE("bad parameters answer 400 naming the parameter, before any database access") {
    admin_fixture f(opts(), deps_without_db());
    struct bad { const char* target; const char* parameter; };
    for (auto [target, parameter] : {bad{"/api/api-usage/stats?startDate=2024-02-30", "startDate"},
                                     bad{"/api/api-usage/stats?endDate=nope", "endDate"},
                                     bad{"/api/api-usage/daily?startDate=2024-11-05&endDate=2024-11-01", "endDate"},
                                     bad{"/api/api-usage/daily?startDate=2020-01-01&endDate=2024-01-01", "endDate"},
                                     bad{"/api/api-usage/top-users?limit=0", "limit"},
                                     bad{"/api/api-usage/top-users?limit=1001", "limit"},
                                     bad{"/api/api-usage/recent?limit=abc", "limit"},
                                     bad{"/api/api-usage/stats?foo=bar", "foo"},
                                     bad{"/api/api-usage/export?format=xml", "format"},
                                     bad{"/api/api-usage/stats?guest=maybe", "guest"},
                                     bad{"/api/api-usage/stats?tag=%3Dbroken", "tag"},
                                     bad{"/api/api-usage/recent?before=%25%25", "before"}}) {
        INFO(target);
        auto r = http_get_auth(f.port(), target, "tok-A");
        CHECK(r.status == 400);
        auto d = parse_json(r.body);
        CHECK(d["error"]["code"].GetInt() == 400);
        CHECK(d["error"]["parameter"].GetString() == std::string(parameter));
        CHECK(d["error"].HasMember("allowed"));
        CHECK(d["error"].HasMember("message"));
    }
    auto r = http_get_auth(f.port(), "/api/api-usage/top-users?limit=0", "tok-A");
    CHECK(parse_json(r.body)["error"]["allowed"].GetString() == std::string("an integer in 1..1000"));
}

TEST_CASE("a storage that cannot be opened gives 503, not a crash") {
    admin_deps d = deps_without_db();
    d.open_reader = []() -> std::unique_ptr<gm::storage::usage_queries> { throw std::runtime_error("disk gone"); };
    admin_fixture f(opts(), std::move(d));
    auto r = http_get_auth(f.port(), "/api/api-usage/stats", "tok-A");
    CHECK(r.status == 503);
    CHECK(parse_json(r.body)["error"]["code"].GetInt() == 503);
    r = http_get_auth(f.port(), "/api/api-usage/export?format=csv", "tok-A");
    CHECK(r.status == 503);
    // The export's outcome is counted just after its 503 went out.
    std::string m;
    for (int i = 0; i < 500 && m.find(R"(gemini_meter_admin_exports_total{outcome="failed"} 1)") == std::string::npos; ++i) {
        if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        m = http_request(f.port(), "/metrics").body;
    }
    CHECK(m.find("gemini_meter_admin_query_errors_total 2\n") != std::string::npos);
    CHECK(m.find(R"(gemini_meter_admin_exports_total{outcome="failed"} 1)") != std::string::npos);
    CHECK(m.find(R"(gemini_meter_admin_exports_total{outcome="complete"} 0)") != std::string::npos);
}

namespace {

// A storage whose export fails after enough rows for the first chunk to have gone out.
class export_fails_half_way final : public gm::storage::usage_queries {
public:
    gm::storage::usage_stats stats(const gm::storage::time_range&, const gm::storage::usage_filter&) override { throw std::logic_error("unused"); }
    std::vector<gm::storage::daily_usage> daily(const gm::storage::time_range&, const gm::storage::usage_filter&) override { throw std::logic_error("unused"); }
    std::vector<gm::storage::user_usage> top_users(const gm::storage::time_range&, const gm::storage::usage_filter&, int) override { throw std::logic_error("unused"); }
    gm::storage::recent_page recent(const gm::storage::usage_filter&, int, const std::optional<gm::storage::recent_cursor>&) override { throw std::logic_error("unused"); }
    gm::storage::projection projections(std::int64_t, const gm::storage::usage_filter&) override { throw std::logic_error("unused"); }
    void export_rows(const gm::storage::time_range&, const gm::storage::usage_filter&,
                     const std::function<bool(const gm::metering::usage_record&)>& row) override {
        gm::metering::usage_record r;
        r.model = "gemini-2.5-flash";
        r.endpoint = "generateContent";
        for (int i = 0; i < 5000; ++i) {
            r.id = "row-" + std::to_string(i);
            if (!row(r)) return;
        }
        throw std::runtime_error("disk gone half-way");
    }
};

// What a client reads from one request until the server ends the connection: the bytes,
// and how it ended (0: a clean end of stream, else the errno of the failed read).
struct raw_exchange {
    std::string bytes;
    int ended_with = 0;
};

raw_exchange send_and_read_to_end(unsigned short port, const std::string& request) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::send(fd, request.data(), request.size(), 0) == static_cast<ssize_t>(request.size()));
    const timeval limit{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    raw_exchange out;
    char buf[65536];
    for (;;) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n > 0) {
            out.bytes.append(buf, static_cast<std::size_t>(n));
            continue;
        }
        out.ended_with = n == 0 ? 0 : errno;
        break;
    }
    ::close(fd);
    return out;
}

admin_deps deps_with_export_failing_half_way() {
    admin_deps d = deps_without_db();
    d.open_reader = []() -> std::unique_ptr<gm::storage::usage_queries> { return std::make_unique<export_fails_half_way>(); };
    return d;
}

}  // namespace

TEST_CASE("an export whose storage fails half-way never looks complete: no last chunk, and for HTTP/1.0 a reset") {
    admin_fixture f(opts(), deps_with_export_failing_half_way());
    const std::string target = "/api/api-usage/export?format=csv&startDate=2024-11-01&endDate=2024-11-02";

    const auto v11 = send_and_read_to_end(
        f.port(), "GET " + target + " HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer tok-A\r\n\r\n");
    CHECK(v11.bytes.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(v11.bytes.find("Transfer-Encoding: chunked") != std::string::npos);
    CHECK(v11.bytes.find("row-1000,") != std::string::npos);  // the first chunk went out
    CHECK(v11.bytes.find("row-4999,") == std::string::npos);
    CHECK(v11.bytes.find("\r\n0\r\n\r\n") == std::string::npos);  // never the last chunk
    CHECK((v11.ended_with == 0 || v11.ended_with == ECONNRESET));  // and the connection ends

    const auto v10 = send_and_read_to_end(f.port(), "GET " + target + " HTTP/1.0\r\nAuthorization: Bearer tok-A\r\n\r\n");
    CHECK(v10.bytes.rfind("HTTP/1.0 200 OK\r\n", 0) == 0);
    CHECK(v10.bytes.find("Transfer-Encoding") == std::string::npos);  // close-delimited
    CHECK(v10.bytes.find("row-4999,") == std::string::npos);
    CHECK(v10.ended_with == ECONNRESET);  // an error at the client, not an end of stream

    std::string m;
    for (int i = 0; i < 500 && m.find(R"(gemini_meter_admin_exports_total{outcome="failed"} 2)") == std::string::npos; ++i) {
        if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        m = http_request(f.port(), "/metrics").body;
    }
    CHECK(m.find(R"(gemini_meter_admin_exports_total{outcome="failed"} 2)") != std::string::npos);
    // The listener goes on serving.
    CHECK(http_request(f.port(), "/healthz").status == 200);
}

TEST_CASE("healthz is always 200; readyz follows database writability") {
    health_snapshot h;
    h.journal_backlog = 4;
    admin_deps d = deps_without_db();
    auto shared = std::make_shared<health_snapshot>(h);
    d.health = [shared] { return *shared; };
    admin_fixture f(opts(), std::move(d));
    auto r = http_request(f.port(), "/healthz");
    CHECK(r.status == 200);
    CHECK(parse_json(r.body)["status"].GetString() == std::string("ok"));
    r = http_request(f.port(), "/readyz");
    CHECK(r.status == 200);
    auto j = parse_json(r.body);
    CHECK(j["status"].GetString() == std::string("ready"));
    CHECK(j["databaseWritable"].GetBool());
    CHECK(j["journalBacklog"].GetInt64() == 4);
    CHECK(j["journalOnly"].GetInt64() == 0);
    CHECK(j["upstreamReachable"].GetBool());
    shared->db_writable = false;
    shared->last_error = "database is locked";
    shared->upstream_reachable = false;
    shared->journal_only = 3;
    r = http_request(f.port(), "/readyz");
    CHECK(r.status == 503);
    j = parse_json(r.body);
    CHECK(j["status"].GetString() == std::string("not ready"));
    CHECK_FALSE(j["databaseWritable"].GetBool());
    CHECK_FALSE(j["upstreamReachable"].GetBool());
    CHECK(j["lastError"].GetString() == std::string("database is locked"));
    CHECK(j["journalOnly"].GetInt64() == 3);
}

TEST_CASE("/metrics needs no token and passes promtool") {
    gm::metering::call_metrics metrics;
    gm::metering::usage_record rec;
    rec.model = "gemini-2.5-flash";
    rec.endpoint = "chat";
    rec.http_status = 200;
    rec.duration_ms = 800;
    rec.ttfb_ms = 100;
    rec.priced = true;
    rec.cost_pico_usd = 42;
    metrics.observe(rec);
    admin_deps d = deps_without_db();
    d.metrics = &metrics;
    d.health = [] { return health_snapshot{}; };
    admin_fixture f(opts(), std::move(d));
    auto r = http_request(f.port(), "/metrics");
    CHECK(r.status == 200);
    CHECK(r.header("content-type") == "text/plain; version=0.0.4; charset=utf-8");
    CHECK(r.body.find(R"(gemini_meter_calls_total{model="gemini-2.5-flash",endpoint="chat",status_class="2xx",ending="completed"} 1)") != std::string::npos);
    CHECK(r.body.find("gemini_meter_writer_written_total 0\n") != std::string::npos);
    auto check = gm::test::promtool_check(r.body);
    if (check.available) {
        INFO(check.output);
        CHECK(check.exit_code == 0);
    }
}

TEST_CASE("CORS: the configured origin gets Access-Control headers and a preflight answer; others do not") {
    admin_options o = opts();
    o.cors_origin = "https://console.example.com";
    admin_fixture f(o, deps_without_db());
    auto r = http_request(f.port(), "/api/api-usage/stats",
                          {{"Origin", "https://console.example.com"}, {"Access-Control-Request-Method", "GET"},
                           {"Access-Control-Request-Headers", "authorization"}},
                          "OPTIONS");
    CHECK(r.status == 204);
    CHECK(r.header("access-control-allow-origin") == "https://console.example.com");
    CHECK(r.header("access-control-allow-headers") == "Authorization");
    CHECK(r.header("access-control-allow-methods").find("GET") != std::string::npos);
    r = http_request(f.port(), "/api/api-usage/pricing", {{"Origin", "https://console.example.com"}, {"Authorization", "Bearer tok-A"}});
    CHECK(r.status == 200);
    CHECK(r.header("access-control-allow-origin") == "https://console.example.com");
    CHECK(r.header("vary") == "Origin");
    r = http_request(f.port(), "/api/api-usage/pricing", {{"Origin", "https://evil.example"}, {"Authorization", "Bearer tok-A"}});
    CHECK(r.status == 200);
    CHECK(r.header("access-control-allow-origin").empty());
    r = http_request(f.port(), "/api/api-usage/stats", {{"Origin", "https://evil.example"}}, "OPTIONS");
    CHECK(r.header("access-control-allow-origin").empty());
}

TEST_CASE("the dashboard is served at / and /dashboard without a token") {
    admin_fixture f(opts(), deps_without_db());
    for (const char* p : {"/", "/dashboard"}) {
        auto r = http_request(f.port(), p);
        CHECK(r.status == 200);
        CHECK(r.header("content-type") == "text/html; charset=utf-8");
        CHECK(r.body.find("gemini-meter") != std::string::npos);
    }
    auto js = http_request(f.port(), "/dashboard/app.js");
    CHECK(js.status == 200);
    CHECK(js.header("content-type") == "text/javascript; charset=utf-8");
}

TEST_CASE("by default the query threads run under SCHED_IDLE, so the proxy's I/O threads go first") {
    std::vector<std::string> lines;
    admin_deps d = deps_without_db();
    d.log = [&lines](const std::string& l) { lines.push_back(l); };  // written before start() returns
    admin_options o = opts();
    CHECK(o.query_priority == query_priority::idle);
    o.query_threads = 2;
    admin_fixture f(o, d);
    const auto readers = gm::test::threads_named("gm-reader");
    REQUIRE(readers.size() == 2);
    if (lines.empty()) {
        for (const auto& t : readers) CHECK(t.policy == SCHED_IDLE);
    } else {
        // Refused (a seccomp profile): one line says so, and the server still answers.
        CHECK_THAT(lines[0], Catch::Contains("admin queries run at the process's priority"));
    }
    auto r = http_get_auth(f.port(), "/api/api-usage/pricing", "tok-A");
    CHECK(r.status == 200);
}

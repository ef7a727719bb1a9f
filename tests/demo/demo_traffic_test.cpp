#include "app/demo/demo_traffic.hpp"

#include <catch2/catch.hpp>

#include <memory>

#include <algorithm>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "app/demo/demo_catalog.hpp"
#include "app/demo/demo_upstream.hpp"
#include "metering/pricing_table.hpp"
#include "support/eventually.hpp"

using gm::demo::demo_traffic;
using gm::demo::demo_upstream;
using gm::demo::traffic_options;
using gm::demo::upstream_options;
using gm::demo::upstream_request;

namespace {

// The requests the upstream read, in arrival order.
struct recorder {
    std::mutex m;
    std::vector<upstream_request> seen;  // guarded by m

    upstream_options options(double latency_scale) {
        upstream_options o;
        o.latency_scale = latency_scale;
        o.on_request = [this](const upstream_request& r) {
            std::lock_guard lock(m);
            seen.push_back(r);
        };
        return o;
    }
    std::size_t count() {
        std::lock_guard lock(m);
        return seen.size();
    }
};

std::string header(const upstream_request& r, const std::string& name) {
    for (const auto& [k, v] : r.headers)
        if (std::equal(k.begin(), k.end(), name.begin(), name.end(),
                       [](char a, char b) { return std::tolower(a) == std::tolower(b); }))
            return v;
    return {};
}

// Made-up traffic with options o to the upstream up (its port set here), started.
std::unique_ptr<demo_traffic> started_traffic(const demo_upstream& up, traffic_options o) {
    o.port = up.port();
    auto traffic = std::make_unique<demo_traffic>(o);
    traffic->start();
    return traffic;
}

// A recording upstream answering at latency_scale and made-up traffic at `rate` calls/s
// towards it, both started (members in that order: the traffic stops first).
struct traffic_run {
    recorder rec;
    demo_upstream up;
    std::unique_ptr<demo_traffic> traffic;
    traffic_run(double latency_scale, double rate) : up(rec.options(latency_scale)) {
        up.start();
        traffic_options o;
        o.rate = rate;
        traffic = started_traffic(up, o);
    }
};

bool contains(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

TEST_CASE("demo_traffic: calls arrive with the key, attribution headers and a mix of kinds", "[demo_traffic]") {
    recorder rec;
    demo_upstream up(rec.options(0));
    up.start();
    traffic_options o;
    o.rate = 400;  // many calls soon; the demo's default is 2/s
    auto traffic = started_traffic(up, o);
    constexpr std::size_t wanted = 400;
    REQUIRE(gm::test::eventually([&] { return rec.count() >= wanted; }));
    traffic->stop();

    const auto cat = gm::demo::make_demo_catalog(o.users);
    const auto& table = gm::metering::pricing_table::builtin();
    std::lock_guard lock(rec.m);
    std::size_t users = 0, guests = 0, said_guest = 0, bots = 0, tagged = 0, sse = 0, unary = 0, counts = 0, fails = 0;
    std::set<std::string> models, endpoints;
    for (const auto& r : rec.seen) {
        INFO(r.target);
        CHECK(r.method == "POST");
        CHECK(header(r, "x-goog-api-key") == "demo-key-not-secret");
        CHECK(header(r, "Content-Type") == "application/json");
        CHECK(r.body_bytes > 400);
        const std::string endpoint = header(r, "X-Meter-Endpoint");
        CHECK(contains(cat.endpoints, endpoint));
        endpoints.insert(endpoint);
        const std::string user = header(r, "X-Meter-User-Id");
        if (!user.empty()) {
            ++users;
            CHECK(contains(cat.user_ids, user));
            CHECK(header(r, "X-Meter-User-Email").ends_with("@example.com"));
        } else {
            ++guests;
            CHECK(header(r, "X-Meter-User-Email").empty());
            said_guest += header(r, "X-Meter-Guest") == "true";
        }
        const std::string bot = header(r, "X-Meter-Bot-Id");
        if (!bot.empty()) {
            ++bots;
            CHECK(contains(cat.bots, bot));
        }
        if (!header(r, "X-Meter-Tag-Team").empty()) ++tagged;
        if (!header(r, "X-Demo-Fail").empty()) ++fails;

        // /v1beta/models/{model}:{method}, the model one the built-in table prices.
        REQUIRE(r.target.starts_with("/v1beta/models/"));
        const auto colon = r.target.find(':');
        REQUIRE(colon != std::string::npos);
        const std::string model = r.target.substr(15, colon - 15);
        CHECK(table.find(model) != nullptr);
        models.insert(model);
        const std::string method = r.target.substr(colon + 1);
        if (method == "streamGenerateContent?alt=sse") ++sse;
        else if (method == "generateContent") ++unary;
        else if (method == "countTokens") ++counts;
        else FAIL("unexpected method " << method);
    }
    CHECK(users > 0);
    CHECK(guests > 0);
    CHECK(said_guest > 0);
    CHECK(bots > 0);
    CHECK(tagged > 0);
    CHECK(sse > 0);
    CHECK(unary > sse);
    CHECK(counts > 0);
    CHECK(fails > 0);
    CHECK(fails < rec.seen.size() / 10);  // ~3%
    CHECK(models.size() >= 3);
    CHECK(endpoints.size() >= 3);

    const auto s = traffic->stats();
    // A request the upstream has read may not have had its write counted yet when stop() came.
    CHECK(s.sent + static_cast<std::uint64_t>(o.max_in_flight) >= wanted);
    CHECK(s.failed == 0);
    CHECK(s.ok > 0);
    CHECK(s.error_answers > 0);
    CHECK(s.error_answers <= s.errors_asked);
    CHECK(s.unary + s.streamed + s.count_tokens >= s.sent);
    // Kept-alive connections are reused: far fewer connections than calls.
    CHECK(up.stats().connections < s.sent / 4);
}

TEST_CASE("demo_traffic: the Host header names where it calls, an IPv6 address in brackets", "[demo_traffic]") {
    for (const std::string address : {"127.0.0.1", "::1"}) {
        INFO(address);
        recorder rec;
        auto uo = rec.options(0);
        uo.address = address;
        demo_upstream up(uo);
        up.start();
        traffic_options o;
        o.rate = 100;
        o.address = address;
        auto traffic = started_traffic(up, o);
        REQUIRE(gm::test::eventually([&] { return rec.count() >= 1; }));
        traffic->stop();
        const std::string port = std::to_string(up.port());
        std::lock_guard lock(rec.m);
        CHECK(header(rec.seen.front(), "Host") == (address == "::1" ? "[::1]:" + port : "127.0.0.1:" + port));
    }
}

TEST_CASE("demo_traffic: the same seed sends the same calls", "[demo_traffic]") {
    auto run = [](std::uint64_t seed) {
        recorder rec;
        demo_upstream up(rec.options(0));
        up.start();
        traffic_options o;
        o.rate = 200;
        o.seed = seed;
        auto traffic = started_traffic(up, o);
        REQUIRE(gm::test::eventually([&] { return rec.count() >= 40; }));
        traffic->stop();
        std::lock_guard lock(rec.m);
        return rec.seen;
    };
    const auto a = run(11), b = run(11), c = run(12);
    auto same_call = [](const upstream_request& x, const upstream_request& y) {
        return x.target == y.target && x.body_bytes == y.body_bytes &&
               header(x, "X-Meter-User-Id") == header(y, "X-Meter-User-Id") &&
               header(x, "X-Meter-Endpoint") == header(y, "X-Meter-Endpoint");
    };
    // Calls overlap, so they may arrive in another order: the first ten of one run are among
    // the forty of a run with the same seed, and none among those of another seed.
    for (std::size_t i = 0; i < 10; ++i) {
        CHECK(std::any_of(b.begin(), b.end(), [&](const auto& y) { return same_call(a[i], y); }));
        CHECK_FALSE(std::any_of(c.begin(), c.end(), [&](const auto& y) { return same_call(a[i], y); }));
    }
}

TEST_CASE("demo_traffic: stop() returns while calls are still waiting for answers", "[demo_traffic]") {
    traffic_run run(10000, 100);  // answers hours away
    auto& traffic = run.traffic;
    REQUIRE(gm::test::eventually([&] { return run.rec.count() >= 5; }));
    auto stopped = std::async(std::launch::async, [&] { traffic->stop(); });
    // Bounds a hang only: a stop that waited for its calls would wait for hours.
    REQUIRE(gm::test::eventually([&] { return stopped.wait_for(std::chrono::seconds(0)) == std::future_status::ready; }));
    CHECK(traffic->stats().ok == 0);
    CHECK(traffic->stats().sent >= 1);
}

TEST_CASE("demo_traffic: drain() lets the calls in flight finish, then stops", "[demo_traffic]") {
    traffic_run run(0.05, 200);  // answers in tens of ms: calls are in flight at any moment
    auto& traffic = run.traffic;
    REQUIRE(gm::test::eventually([&] { return run.rec.count() >= 100; }));
    // The limit bounds a hang; the answers take a fraction of a second.
    CHECK(traffic->drain(std::chrono::seconds(60)));
    const auto s = traffic->stats();
    const auto started = s.unary + s.streamed + s.count_tokens;
    CHECK(started >= 100);
    CHECK(s.ok + s.error_answers + s.failed == started);  // no call left cut short
    CHECK(s.failed == 0);
    CHECK(run.rec.count() == started);  // and none started after
}

TEST_CASE("demo_traffic: drain() on calls that cannot finish gives up at its limit", "[demo_traffic]") {
    traffic_run run(10000, 100);  // answers hours away
    auto& traffic = run.traffic;
    REQUIRE(gm::test::eventually([&] { return run.rec.count() >= 3; }));
    CHECK_FALSE(traffic->drain(std::chrono::milliseconds(50)));
    CHECK(traffic->stats().ok == 0);
}

TEST_CASE("demo_traffic: bad options are rejected by name", "[demo_traffic]") {
    traffic_options o;
    o.port = 1;
    o.rate = 0;
    CHECK_THROWS_WITH(demo_traffic(o), Catch::Contains("rate"));
    o.rate = -2;
    CHECK_THROWS_AS(demo_traffic(o), std::invalid_argument);
    o = {};
    o.port = 0;
    CHECK_THROWS_WITH(demo_traffic(o), Catch::Contains("port"));
    o = {};
    o.port = 1;
    o.users = 0;
    CHECK_THROWS_WITH(demo_traffic(o), Catch::Contains("users"));
    o = {};
    o.port = 1;
    o.error_share = 1.5;
    CHECK_THROWS_WITH(demo_traffic(o), Catch::Contains("error_share"));
    o = {};
    o.port = 1;
    o.max_in_flight = 0;
    CHECK_THROWS_WITH(demo_traffic(o), Catch::Contains("max_in_flight"));
}

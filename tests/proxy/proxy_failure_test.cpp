// How calls end when a side fails: upstream down, too slow, or broken mid-response, and
// the client gone mid-stream.
#include <boost/asio/ip/tcp.hpp>
#include <catch2/catch.hpp>
#include <thread>

#include "proxy_fixture.hpp"

using namespace gm::test;
using gm::metering::call_ending;

namespace {

const std::string body = R"({"contents":[{"parts":[{"text":"hi"}]}]})";

unsigned short closed_port() {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
    return a.local_endpoint().port();  // closed again when `a` goes
}

}  // namespace

TEST_CASE("upstream down: 502 in Google's error shape, and the call is reported") {
    proxy_fixture f([](auto& o) { o.upstream_url = "http://127.0.0.1:" + std::to_string(closed_port()); });
    auto c = f.client();
    c.send(raw_http_client::make_request("POST", "/v1beta/models/gemini-2.5-flash:generateContent",
                                         {{"Content-Type", "application/json"}}, body));
    auto res = c.read_response();
    CHECK(res.status == 502);
    CHECK(res.body.find(R"("code":502)") != std::string::npos);
    CHECK(res.body.find(R"("status":"UNAVAILABLE")") != std::string::npos);
    auto calls = f.observer.wait_for(1);
    REQUIRE(calls.size() == 1);
    CHECK(calls[0].record.ending == call_ending::upstream_unreachable);
    CHECK(calls[0].record.http_status == 502);
    CHECK_FALSE(calls[0].record.success);
    // The connection stays usable for the next call.
    c.send(raw_http_client::make_request("GET", "/v1beta/models"));
    CHECK(c.read_response().status == 502);
}

TEST_CASE("upstream too slow: 504 in Google's error shape") {
    proxy_fixture f([](auto& o) { o.upstream_first_byte_timeout = std::chrono::milliseconds(300); });
    auto c = f.client();
    c.send(raw_http_client::make_request("POST", "/v1beta/models/gemini-2.5-flash:generateContent",
                                         {{"Content-Type", "application/json"}, {"x-fake-delay-ms", "3000"}}, body));
    auto res = c.read_response();
    CHECK(res.status == 504);
    CHECK(res.body.find(R"("status":"DEADLINE_EXCEEDED")") != std::string::npos);
    auto calls = f.observer.wait_for(1);
    REQUIRE(calls.size() == 1);
    CHECK(calls[0].record.ending == call_ending::upstream_timeout);
}

TEST_CASE("upstream gone mid-response: the app sees a truncated response, never a complete one") {
    proxy_fixture f;
    SECTION("stream") {
        auto c = f.client();
        c.send(raw_http_client::make_request("POST", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
                                             {{"Content-Type", "application/json"},
                                              {"x-fake-events", "10"},
                                              {"x-fake-truncate-after", "300"}},
                                             body));
        auto res = c.read_response();
        CHECK_FALSE(res.complete);
        auto calls = f.observer.wait_for(1);
        REQUIRE(calls.size() == 1);
        CHECK(calls[0].record.ending == call_ending::upstream_broken);
    }
    SECTION("Content-Length body") {
        auto c = f.client();
        c.send(raw_http_client::make_request("POST", "/v1beta/models/gemini-2.5-flash:generateContent",
                                             {{"Content-Type", "application/json"},
                                              {"x-fake-body-size", "4000"},
                                              {"x-fake-truncate-after", "1000"}},
                                             body));
        auto res = c.read_response();
        CHECK_FALSE(res.complete);
        CHECK(res.body.size() <= 1000);
    }
}

TEST_CASE("client gone mid-stream: the upstream call is cancelled within a second") {
    proxy_fixture f;
    auto c = f.client();
    c.send(raw_http_client::make_request("POST", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
                                         {{"Content-Type", "application/json"},
                                          {"x-fake-events", "100"},
                                          {"x-fake-event-delay-ms", "100"}},
                                         body));
    std::chrono::steady_clock::time_point closed_at;
    c.read_response_streaming([&](const body_piece&) {
        closed_at = std::chrono::steady_clock::now();
        return false;  // hang up after the first event
    });
    auto calls = f.observer.wait_for(1, std::chrono::seconds(5));
    REQUIRE(calls.size() == 1);
    CHECK(calls[0].record.ending == call_ending::client_gone);
    // The upstream side is closed: the fake saw its peer go before sending everything.
    for (int i = 0; i < 50 && f.fake->counters().responses_aborted == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    auto counters = f.fake->counters();
    CHECK(counters.responses_aborted == 1);
    CHECK(counters.last_peer_close - closed_at < std::chrono::seconds(1));
}

namespace {
// The client sends a call the fake answers only after 5 s, hangs up after `wait`, and the
// proxy must cancel the upstream call within a second of the hang-up.
void client_gone_while_upstream_thinks(std::chrono::milliseconds wait) {
    proxy_fixture f;
    auto c = f.client();
    c.send(raw_http_client::make_request("POST", "/v1beta/models/gemini-2.5-flash:generateContent",
                                         {{"Content-Type", "application/json"}, {"x-fake-delay-ms", "5000"}}, body));
    std::this_thread::sleep_for(wait);
    const auto closed_at = std::chrono::steady_clock::now();
    c.close();
    auto calls = f.observer.wait_for(1, std::chrono::seconds(3));
    REQUIRE(calls.size() == 1);
    CHECK(calls[0].record.ending == call_ending::client_gone);
    for (int i = 0; i < 50 && f.fake->counters().peer_closes == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK(f.fake->counters().peer_closes == 1);
    CHECK(f.fake->counters().last_peer_close - closed_at < std::chrono::seconds(1));
}
}  // namespace

TEST_CASE("client gone while the upstream is still thinking: the upstream call is cancelled") {
    client_gone_while_upstream_thinks(std::chrono::milliseconds(200));
}

TEST_CASE("client gone right after sending, before the proxy watches it: still noticed within a second") {
    // The proxy starts watching a waiting call's client on a periodic tick (client_watch);
    // a hang-up before that tick must be seen at the tick.
    client_gone_while_upstream_thinks(std::chrono::milliseconds(10));
}

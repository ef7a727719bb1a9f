// Idle client connections hold no call buffers (proxy/call_buffers.hpp, read_on_ready.hpp):
// each connection takes a set when its next request's bytes arrive and gives it back when
// it goes idle. These check that the bytes relayed are the same whatever set a call gets.
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <optional>
#include <thread>

#include "proxy_fixture.hpp"

using namespace gm::test;

namespace {

std::string body_for(int i) {
    // Different sizes, so that a buffer carried over from another call would show.
    return fmt::format(R"({{"contents":[{{"role":"user","parts":[{{"text":"call {} {}"}}]}}]}})", i,
                       std::string(static_cast<std::size_t>(37 * i % 3000), 'x'));
}

std::string request_for(int i) {
    return raw_http_client::make_request("POST", fmt::format("/v1beta/models/gemini-2.5-flash:generateContent?n={}", i),
                                         {{"Content-Type", "application/json"}, {"x-fake-body-size", std::to_string(100 + 53 * i)}},
                                         body_for(i));
}

// The fake's record of the exchange for request i (its target carries i), once it has
// recorded n exchanges.
std::optional<sent_response> sent_for(proxy_fixture& f, std::size_t n, int i) {
    const auto all = f.sent(n);
    const auto received = f.fake->received();
    for (std::size_t k = 0; k < received.size() && k < all.size(); ++k)
        if (received[k].target.ends_with(fmt::format("?n={}", i)))
            return all[k];
    return std::nullopt;
}

}  // namespace

TEST_CASE("many idle connections, then a call on each: every call relayed byte for byte") {
    proxy_fixture f({}, false);
    constexpr int connections = 100;
    std::vector<std::unique_ptr<raw_http_client>> clients;
    for (int i = 0; i < connections; ++i) {
        clients.push_back(f.connect());
        clients.back()->send(request_for(i));
        REQUIRE(clients.back()->read_response().status == 200);
    }
    // All idle now; the second round goes in the other order, so each connection gets
    // another connection's set of buffers.
    for (int i = connections - 1; i >= 0; --i) {
        const int n = connections + i;
        clients[static_cast<std::size_t>(i)]->send(request_for(n));
        auto res = clients[static_cast<std::size_t>(i)]->read_response();
        const auto sent = sent_for(f, static_cast<std::size_t>(connections + (connections - i)), n);
        REQUIRE(sent);
        CHECK(res.complete);
        CHECK(res.body == sent->body);
        CHECK(end_to_end_headers(res.headers) == end_to_end_headers(sent->headers));
        const auto received = f.fake->received().back();
        CHECK(received.body_prefix == body_for(n));
    }
    CHECK(f.observer.wait_for(2 * connections).size() == 2 * connections);
}

TEST_CASE("two pipelined requests arriving after an idle period are both answered in order") {
    proxy_fixture f({}, false);
    auto c = f.client();
    c.send(request_for(1));
    REQUIRE(c.read_response().status == 200);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // idle: the buffers went back
    c.send(request_for(2) + request_for(3));
    auto first = c.read_response();
    auto second = c.read_response();
    const auto sent2 = sent_for(f, 3, 2);
    const auto sent3 = sent_for(f, 3, 3);
    REQUIRE(sent2);
    REQUIRE(sent3);
    CHECK(first.body == sent2->body);
    CHECK(second.body == sent3->body);
}

TEST_CASE("a request whose header comes in pieces after an idle period is relayed") {
    proxy_fixture f({}, false);
    auto c = f.client();
    c.send(request_for(1));
    REQUIRE(c.read_response().status == 200);
    const std::string req = request_for(2);
    // The first byte alone wakes the idle connection; the rest follows in two more writes.
    c.send(req.substr(0, 1));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    c.send(req.substr(1, 40));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    c.send(req.substr(41));
    auto res = c.read_response();
    const auto sent = sent_for(f, 2, 2);
    REQUIRE(sent);
    CHECK(res.body == sent->body);
    CHECK(f.fake->received().back().body_prefix == body_for(2));
}

TEST_CASE("after a large request body the connection goes idle and carries small calls again") {
    proxy_fixture f({}, false);
    auto c = f.client();
    const std::string big(300 * 1024, 'b');
    c.send(raw_http_client::make_request("POST", "/v1beta/models/gemini-2.5-flash:generateContent?n=0",
                                         {{"Content-Type", "application/json"}}, big));
    REQUIRE(c.read_response().status == 200);
    CHECK(f.fake->received().back().body_size == big.size());
    for (int i = 1; i <= 3; ++i) {
        c.send(request_for(i));
        auto res = c.read_response();
        const auto sent = sent_for(f, static_cast<std::size_t>(i + 1), i);
        REQUIRE(sent);
        CHECK(res.body == sent->body);
    }
}

TEST_CASE("an idle connection is closed after the keep-alive timeout; one closed by its client is freed") {
    proxy_fixture f([](gm::proxy::proxy_options& o) { o.keep_alive_timeout = std::chrono::milliseconds(200); }, false);
    auto c = f.client();
    c.send(request_for(1));
    REQUIRE(c.read_response().status == 200);
    CHECK(c.peer_closed(std::chrono::milliseconds(5000)));

    // The default timeout is long; the keep-alive timer must not keep a closed session.
    proxy_fixture g({}, false);
    auto d = g.connect();
    d->send(request_for(1));
    REQUIRE(d->read_response().status == 200);
    d->close();
    for (int i = 0; i < 500 && g.proxy->counters().open_connections > 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(g.proxy->counters().open_connections == 0);
}

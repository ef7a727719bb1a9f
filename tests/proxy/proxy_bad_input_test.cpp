// Malformed or hostile requests get a clear error and a closed connection, and never
// reach the upstream.
#include <catch2/catch.hpp>
#include <thread>

#include "proxy_fixture.hpp"

using namespace gm::test;

namespace {

void check_rejected(proxy_fixture& f, const std::string& bytes, unsigned status) {
    auto c = f.client();
    c.send(bytes);
    auto res = c.read_response();
    CHECK(res.status == status);
    CHECK(res.body.find("\"error\"") != std::string::npos);
    CHECK(c.peer_closed());
    CHECK(f.fake->counters().requests == 0);
}

}  // namespace

TEST_CASE("a malformed request line is answered 400 and closed") {
    proxy_fixture f;
    check_rejected(f, "GARBAGE\r\n\r\n", 400);
}

TEST_CASE("malformed header lines are answered 400") {
    proxy_fixture f;
    check_rejected(f, "GET /v1beta/models HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n", 400);
}

TEST_CASE("a header section over the limit is answered 431") {
    proxy_fixture f([](auto& o) { o.header_limit = 4096; });
    std::string req = "GET /v1beta/models HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(8000, 'a') + "\r\n\r\n";
    check_rejected(f, req, 431);
}

TEST_CASE("Content-Length together with Transfer-Encoding is answered 400 (no smuggling)") {
    proxy_fixture f;
    check_rejected(f,
                   "POST /v1beta/models/gemini-2.5-flash:generateContent HTTP/1.1\r\nHost: x\r\n"
                   "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                   400);
    check_rejected(f,
                   "POST /v1beta/models/gemini-2.5-flash:generateContent HTTP/1.1\r\nHost: x\r\n"
                   "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
                   400);
}

TEST_CASE("a Transfer-Encoding that does not end in chunked is answered 400") {
    proxy_fixture f;
    check_rejected(f,
                   "POST /v1beta/models/x:generateContent HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nabc",
                   400);
}

TEST_CASE("an invalid chunked body is answered 400") {
    proxy_fixture f;
    check_rejected(f,
                   "POST /v1beta/models/gemini-2.5-flash:generateContent HTTP/1.1\r\nHost: x\r\n"
                   "Transfer-Encoding: chunked\r\n\r\nZZZ\r\nhello\r\n0\r\n\r\n",
                   400);
}

TEST_CASE("two different Content-Length values are answered 400") {
    proxy_fixture f;
    check_rejected(f,
                   "POST /v1beta/models/x:generateContent HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                   "Content-Length: 4\r\n\r\nabcd",
                   400);
}

TEST_CASE("a client that trickles its header is cut off by the header timeout") {
    proxy_fixture f([](auto& o) { o.header_timeout = std::chrono::milliseconds(300); });
    auto c = f.client();
    c.send("GET /v1beta/models HTTP/1.1\r\n");
    bool cut = false;
    for (int i = 0; i < 30 && !cut; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        try {
            c.send("X-Slow: 1\r\n");
        } catch (const std::exception&) {
            cut = true;
        }
    }
    if (!cut) {
        auto raw = c.read_raw(4096);
        CHECK(raw.find("408") != std::string::npos);
        CHECK(c.peer_closed());
    }
    CHECK(f.fake->counters().requests == 0);
}

TEST_CASE("an absolute-form target and protocol upgrades are refused") {
    proxy_fixture f;
    check_rejected(f, "GET http://evil.example/v1beta/models HTTP/1.1\r\nHost: x\r\n\r\n", 400);
    check_rejected(f, "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", 501);
}

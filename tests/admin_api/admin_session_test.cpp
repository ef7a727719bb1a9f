// admin_session over real loopback sockets: the query thread writes a JSON response to the
// socket itself while the I/O thread already reads the next request, so order, pipelining,
// a client that leaves mid-query, a slow reader and the server's stop are checked here.
// The query is /api/api-usage/pricing, whose body comes from a test-controlled function
// (no database): it can block until the test lets it go, and be as big as needed.
#include "admin_api/admin_server.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "http_client.hpp"
#include "server_fixture.hpp"

using namespace gm::admin_api;
using gm::test::admin_fixture;
namespace net = boost::asio;

namespace {

const std::string token = "session-token";

// Holds the pricing query on its query thread until the test opens the gate.
struct gate {
    std::mutex m;
    std::condition_variable cv;
    bool open = true;
    int entered = 0;
    void close() {
        std::lock_guard l(m);
        open = false;
    }
    void release() {
        {
            std::lock_guard l(m);
            open = true;
        }
        cv.notify_all();
    }
    void pass() {
        std::unique_lock l(m);
        ++entered;
        cv.notify_all();
        cv.wait(l, [&] { return open; });
    }
    void wait_entered(int n) {
        std::unique_lock l(m);
        cv.wait(l, [&] { return entered >= n; });
    }
};

// The pricing body: "{"n":<how many pricing queries ran before>,"pad":"xxx..."}", so each
// response says which query made it.
struct server {
    gate g;
    std::atomic<int> calls{0};
    std::size_t pad = 0;
    admin_fixture f;
    explicit server(std::size_t pad_bytes = 0, int query_threads = 2)
        : pad(pad_bytes),
          f([&] {
              admin_options o;
              o.tokens = {token};
              o.query_threads = query_threads;
              return o;
          }(),
            [this] {
                admin_deps d;
                d.pricing_json = [this] {
                    const int n = calls.fetch_add(1);
                    g.pass();
                    return "{\"n\":" + std::to_string(n) + ",\"pad\":\"" + std::string(pad, 'x') + "\"}";
                };
                return d;
            }()) {}
};

std::string get(const std::string& target, bool keep_alive = true) {
    return "GET " + target + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token + "\r\n" +
           (keep_alive ? "" : "Connection: close\r\n") + "\r\n";
}

struct client {
    net::io_context ioc;
    net::ip::tcp::socket sock{ioc};
    explicit client(unsigned short port, int rcvbuf = 0) {
        sock.open(net::ip::tcp::v4());
        if (rcvbuf) sock.set_option(net::socket_base::receive_buffer_size(rcvbuf));
        sock.connect({net::ip::make_address("127.0.0.1"), port});
    }
    void send(const std::string& bytes) { net::write(sock, net::buffer(bytes)); }
    std::string read_exactly(std::size_t n) {
        std::string s(n, '\0');
        net::read(sock, net::buffer(s));
        return s;
    }
    // Everything until the server closes.
    std::string read_to_end() {
        std::string s;
        char buf[65536];
        boost::system::error_code ec;
        while (!ec) s.append(buf, sock.read_some(net::buffer(buf), ec));
        return s;
    }
};

// The exact bytes the server sends for one request, asked alone on a fresh connection
// (keep-alive, so the Connection field is the same as in a sequence).
std::string alone(unsigned short port, const std::string& request) {
    client c(port);
    c.send(request);
    // Read the head, then the body by its Content-Length.
    std::string got;
    char ch;
    while (got.find("\r\n\r\n") == std::string::npos) {
        net::read(c.sock, net::buffer(&ch, 1));
        got += ch;
    }
    const auto at = got.find("Content-Length: ");
    REQUIRE(at != std::string::npos);
    const auto length = std::stoul(got.substr(at + 16));
    return got + c.read_exactly(length);
}

std::string body_of(const std::string& pricing_n, std::size_t pad) {
    return "{\"n\":" + pricing_n + ",\"pad\":\"" + std::string(pad, 'x') + "\"}";
}

}  // namespace

TEST_CASE("admin_session: 200 sequential queries on one keep-alive connection are answered in order") {
    server sv;
    std::vector<std::string> targets;
    for (int i = 0; i < 200; ++i) targets.push_back(i % 4 == 3 ? "/healthz" : "/api/api-usage/pricing");
    auto replies = gm::test::http_sequence(sv.f.port(), targets, {{"Authorization", "Bearer " + token}});
    REQUIRE(replies.size() == targets.size());
    int n = 0;
    for (std::size_t i = 0; i < replies.size(); ++i) {
        INFO("reply " << i);
        REQUIRE(replies[i].status == 200);
        if (targets[i] == "/healthz") CHECK(replies[i].body == R"({"status":"ok"})");
        else CHECK(replies[i].body == body_of(std::to_string(n++), 0));
    }
}

TEST_CASE("admin_session: pipelined requests (query, inline, query) in one write are answered in order, byte exact") {
    server sv(3000);
    const std::string q = get("/api/api-usage/pricing");
    const std::string h = get("/healthz");
    const std::string bad = get("/api/api-usage/recent?limit=0");  // 400 from the I/O thread
    // Each response alone, for the expected bytes: pricing queries 0 and 1.
    std::string expect = alone(sv.f.port(), q);  // one by one: the operands of + run in any order
    expect += alone(sv.f.port(), h);
    expect += alone(sv.f.port(), bad);
    expect += alone(sv.f.port(), q);
    REQUIRE(expect.find(body_of("0", 3000)) != std::string::npos);

    SECTION("the query finishes after the next requests were read") {
        // The first query waits until the three others are on the wire (and most likely read
        // by the I/O thread, which must then wait for the query's last byte).
        sv.g.close();
        client c(sv.f.port());
        c.send(q + h + bad + q);
        sv.g.wait_entered(3);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));  // not a threshold: only makes the overlap likely
        sv.g.release();
        std::string got = c.read_exactly(expect.size());
        // The same bytes as asked one by one, with the query numbers 2 and 3.
        std::string want = expect;
        want.replace(want.find(body_of("0", 3000)), body_of("0", 3000).size(), body_of("2", 3000));
        want.replace(want.find(body_of("1", 3000)), body_of("1", 3000).size(), body_of("3", 3000));
        const auto diff = std::mismatch(got.begin(), got.end(), want.begin(), want.end());
        INFO("first difference at " << (diff.first - got.begin()) << " of " << got.size() << ": "
                                    << got.substr(diff.first - got.begin(), 80) << " | "
                                    << want.substr(diff.second - want.begin(), 80));
        CHECK(got == want);
    }
    SECTION("three queries in one write") {
        const std::string one = alone(sv.f.port(), q);  // query 2; its length is that of every other
        client c(sv.f.port());
        c.send(q + q + q);
        std::string got = c.read_exactly(3 * one.size());
        for (int i = 0; i < 3; ++i) {
            const std::string n = std::to_string(i == 0 ? 3 : i == 1 ? 4 : 5);
            std::string want = one;
            want.replace(want.find(body_of("2", 3000)), body_of("2", 3000).size(), body_of(n, 3000));
            CHECK(got.substr(i * one.size(), one.size()) == want);
        }
    }
}

TEST_CASE("admin_session: Connection: close after a query's response ends the connection") {
    server sv;
    client c(sv.f.port());
    c.send(get("/api/api-usage/pricing", false));
    const std::string got = c.read_to_end();
    CHECK(got.find("Connection: close\r\n") != std::string::npos);
    CHECK(got.size() >= body_of("0", 0).size());
    CHECK(got.substr(got.size() - body_of("0", 0).size()) == body_of("0", 0));  // nothing after it
}

TEST_CASE("admin_session: a client that closes while its query runs: no crash, and no byte reaches another connection") {
    server sv(100'000);
    sv.g.close();
    for (int round = 0; round < 2; ++round) {
        // round 0: FIN while the query runs; round 1: RST (linger 0).
        {
            client gone(sv.f.port());
            gone.send(get("/api/api-usage/pricing"));
            sv.g.wait_entered(round + 1);
            if (round == 1) gone.sock.set_option(net::socket_base::linger(true, 0));
            gone.sock.close();
        }
        // New connections while the old socket's query still runs: had the server closed
        // that socket at the client's end, one of these could have its descriptor number.
        std::vector<std::unique_ptr<client>> others;
        for (int i = 0; i < 8; ++i) others.push_back(std::make_unique<client>(sv.f.port()));
        // Let the first one in: it is the I/O thread's, and ready for a request.
        const std::string health = alone(sv.f.port(), get("/healthz"));
        sv.g.release();
        // The query thread's response goes to the closed connection (or fails); the others
        // get their own answers and nothing else.
        for (auto& o : others) {
            o->send(get("/healthz"));
            CHECK(o->read_exactly(health.size()) == health);
        }
        sv.g.close();
    }
    sv.g.release();
    // The server carries on.
    CHECK(gm::test::http_get_auth(sv.f.port(), "/api/api-usage/pricing", token).status == 200);
}

TEST_CASE("admin_session: a slow reader of a large JSON response gets every byte, then the next answer") {
    const std::size_t pad = 4 * 1024 * 1024;
    server sv(pad);
    client c(sv.f.port(), 4096);  // a small window: the query thread finds the socket full many times
    c.send(get("/api/api-usage/pricing") + get("/healthz"));
    std::string got;
    char buf[16384];
    const std::string tail = R"({"status":"ok"})";
    while (got.size() < pad || got.compare(got.size() - tail.size(), tail.size(), tail) != 0) {
        got.append(buf, c.sock.read_some(net::buffer(buf)));
        if (got.size() < pad / 2) std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    const auto body_at = got.find("\r\n\r\n") + 4;
    const auto end = got.find("HTTP/1.1 200", body_at);
    REQUIRE(end != std::string::npos);
    CHECK(got.substr(body_at, end - body_at) == body_of("0", pad));
}

TEST_CASE("admin_session: the server stops while a query runs or waits for a client that does not read") {
    SECTION("a running query still answers its client") {
        auto sv = std::make_unique<server>();
        sv->g.close();
        client c(sv->f.port());
        c.send(get("/api/api-usage/pricing"));
        sv->g.wait_entered(1);
        sv->f.server->stop();
        sv->g.release();
        const std::string want = "\r\n\r\n" + body_of("0", 0);
        std::string got;
        char buf[4096];
        while (got.find(want) == std::string::npos) got.append(buf, c.sock.read_some(net::buffer(buf)));
        sv.reset();  // joins the query threads
    }
    SECTION("a query thread waiting for a full socket gives up at the stop, and the server is destroyed") {
        auto sv = std::make_unique<server>(16 * 1024 * 1024);
        client c(sv->f.port(), 4096);
        c.send(get("/api/api-usage/pricing"));
        sv->g.wait_entered(1);
        char buf[1024];
        CHECK(c.sock.read_some(net::buffer(buf)) > 0);  // the response has begun; now nobody reads
        sv.reset();  // stop, then join the query thread: it leaves its poll() at the stop flag
        boost::system::error_code ec;
        std::size_t total = 0;
        while (!ec) total += c.sock.read_some(net::buffer(buf), ec);
        CHECK(total < 16 * 1024 * 1024);  // cut short: the connection ended without the whole body
    }
}

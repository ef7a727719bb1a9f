// The export's writer on the query thread, on real loopback TCP sockets: the bytes a client
// reads are the head and the body in HTTP chunks (or unframed, for HTTP/1.0); a small export is one send; a client that
// stops reading holds the producer with at most one chunk in memory; a client that hangs up,
// a stalled client and a server stop each end the export.
#include "admin_api/response_channel.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <thread>

#include <unistd.h>

#include "support/eventually.hpp"

using gm::admin_api::response_channel;
using gm::admin_api::tcp_bytes_written;
namespace net = boost::asio;
namespace http = boost::beast::http;

using gm::test::eventually;

namespace {

const std::string head =
    "HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nTransfer-Encoding: chunked\r\n\r\n";

// A connected pair: the server end non-blocking (as the admin session's socket is), the
// client end with a small receive buffer when asked, so that a client that stops reading
// fills the connection after little data.
struct loopback {
    net::io_context ioc;
    net::ip::tcp::socket client{ioc};
    net::ip::tcp::socket server{ioc};
    explicit loopback(int client_rcvbuf = 0, int server_sndbuf = 0) {
        net::ip::tcp::acceptor acceptor(ioc, {net::ip::make_address("127.0.0.1"), 0});
        client.open(net::ip::tcp::v4());
        if (client_rcvbuf > 0) client.set_option(net::socket_base::receive_buffer_size(client_rcvbuf));
        client.connect(acceptor.local_endpoint());
        acceptor.accept(server);
        if (server_sndbuf > 0) server.set_option(net::socket_base::send_buffer_size(server_sndbuf));
        server.non_blocking(true);
    }
    int fd() { return server.native_handle(); }
};

// Reads one HTTP response from the client end with Beast's parser (which checks the
// chunked framing) and returns its body.
std::string read_response(net::ip::tcp::socket& s) {
    boost::beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    parser.body_limit(1ull << 32);
    http::read(s, buf, parser);
    REQUIRE(parser.get().chunked());
    return parser.get().body();
}

std::string row(std::size_t i) { return "row-" + std::to_string(i) + ",some,fields,\"quoted, text\"\r\n"; }

}  // namespace

TEST_CASE("response_channel: the client reads the head and every body byte, in chunks, in order") {
    loopback lp;
    response_channel ch(lp.fd(), std::string(head), {.chunk_bytes = 1000});
    auto reader = std::async(std::launch::async, [&] { return read_response(lp.client); });
    std::string expected;
    for (std::size_t i = 0; i < 5000; ++i) {
        ch.body() += row(i);
        expected += row(i);
        if (ch.full()) REQUIRE(ch.flush());
    }
    REQUIRE(ch.finish());
    CHECK(reader.get() == expected);
    CHECK(ch.status() == response_channel::state::open);
    CHECK(ch.bytes_sent() > expected.size());  // the head and the framing too
}

TEST_CASE("response_channel: unchunked (HTTP/1.0), the client reads the head then exactly the body bytes") {
    loopback lp;
    const std::string head10 = "HTTP/1.0 200 OK\r\nContent-Type: text/csv\r\n\r\n";
    response_channel ch(lp.fd(), std::string(head10), {.chunk_bytes = 1000, .chunked = false});
    std::string expected;
    for (std::size_t i = 0; i < 2000; ++i) {
        ch.body() += row(i);
        expected += row(i);
        if (ch.full()) REQUIRE(ch.flush());
    }
    REQUIRE(ch.finish());
    CHECK(ch.bytes_sent() == head10.size() + expected.size());  // no framing at all
    lp.server.shutdown(net::socket_base::shutdown_send);  // the session closes after finish()
    std::string got;
    boost::system::error_code ec;
    net::read(lp.client, net::dynamic_buffer(got), ec);
    CHECK(ec == net::error::eof);
    CHECK(got == head10 + expected);
}

TEST_CASE("response_channel: a small export (head, body, last chunk) leaves in one send") {
    loopback lp;
    response_channel ch(lp.fd(), std::string(head), {.chunk_bytes = 256 * 1024});
    std::string expected;
    for (std::size_t i = 0; i < 1000; ++i) {
        ch.body() += row(i);
        expected += row(i);
        REQUIRE_FALSE(ch.full());
    }
    CHECK_FALSE(ch.started());  // nothing sent yet: a failure here could still be a 503
    REQUIRE(ch.finish());
    CHECK(ch.sends() == 1);
    CHECK(ch.waits() == 0);
    CHECK(read_response(lp.client) == expected);
}

TEST_CASE("response_channel: a client that stops reading holds the producer with at most one chunk in memory, "
          "and hanging up stops it") {
    loopback lp(4096, 16 * 1024);
    constexpr std::size_t chunk = 64 * 1024;
    response_channel ch(lp.fd(), std::string(head), {.chunk_bytes = chunk});
    // The rows the producer has made, in bytes; 256 MiB of rows if nothing held it back.
    std::atomic<std::uint64_t> made{0};
    constexpr std::uint64_t all = 256ull << 20;
    auto producer = std::async(std::launch::async, [&] {
        bool open = true;
        for (std::size_t i = 0; open && made < all; ++i) {
            auto r = row(i);
            ch.body() += r;
            made += r.size();
            open = !ch.full() || ch.flush();
        }
        return open && ch.finish();
    });
    // The client reads nothing: the producer ends up waiting for the socket, and stays there.
    REQUIRE(eventually([&] { return ch.waits() > 0; }));
    const auto sent = ch.bytes_sent();
    INFO("made " << made.load() << " bytes of rows, the socket took " << sent);
    // What the producer made and the socket did not take is the chunk being sent, no more;
    // a channel that queued chunks for later would be far ahead of the socket.
    CHECK(made.load() <= sent + chunk + 100);
    CHECK(made.load() < all / 16);
    CHECK(producer.wait_for(std::chrono::seconds(0)) == std::future_status::timeout);

    // The client hangs up with data unread (the kernel answers with a reset): the waiting
    // producer's next send fails, and it stops.
    lp.client.close();
    CHECK_FALSE(producer.get());
    CHECK(ch.status() == response_channel::state::client_gone);
    CHECK(made.load() < all / 16);
}

TEST_CASE("response_channel: a client that reads nothing for the stall timeout ends the export") {
    loopback lp(4096, 16 * 1024);
    response_channel ch(lp.fd(), std::string(head), {.chunk_bytes = 64 * 1024, .stall_timeout = std::chrono::milliseconds(50)});
    bool open = true;
    for (std::size_t i = 0; open && i < 10'000'000; ++i) {
        ch.body() += row(i);
        open = !ch.full() || ch.flush();
    }
    CHECK_FALSE(open);
    CHECK(ch.status() == response_channel::state::stalled);
    CHECK_FALSE(ch.finish());
}

TEST_CASE("response_channel: the server's stop releases a producer waiting for a slow client") {
    loopback lp(4096, 16 * 1024);
    std::atomic<bool> stopping{false};
    response_channel ch(lp.fd(), std::string(head), {.chunk_bytes = 64 * 1024}, &stopping);
    auto producer = std::async(std::launch::async, [&] {
        bool open = true;
        for (std::size_t i = 0; open && i < 10'000'000; ++i) {
            ch.body() += row(i);
            open = !ch.full() || ch.flush();
        }
        return open;
    });
    REQUIRE(eventually([&] { return ch.waits() > 0; }));
    stopping = true;
    CHECK_FALSE(producer.get());
    CHECK(ch.status() == response_channel::state::stopping);
}

TEST_CASE("response_channel: a client already gone makes the first send fail") {
    loopback lp;
    lp.client.set_option(net::socket_base::linger(true, 0));  // close with a reset
    lp.client.close();
    response_channel ch(lp.fd(), std::string(head), {.chunk_bytes = 1024});
    // The reset may take a moment to arrive: sends until one fails (the first ones may still
    // be taken by the kernel).
    bool open = true;
    for (std::size_t i = 0; open && i < 10'000'000; ++i) {
        ch.body() += row(i);
        open = !ch.full() || ch.flush();
    }
    CHECK_FALSE(open);
    CHECK(ch.status() == response_channel::state::client_gone);
}

TEST_CASE("tcp_bytes_written: bounds the bytes written to a socket, whatever the client has read") {
    loopback lp(4096);
    CHECK(tcp_bytes_written(lp.fd(), false) == 0);
    CHECK(tcp_bytes_written(lp.fd(), true) == 0);
    // More than the client's window: part acknowledged, part still queued.
    const std::string bytes(200'000, 'x');
    std::size_t sent = 0;
    boost::system::error_code ec;
    while (!ec && sent < bytes.size()) sent += lp.server.write_some(net::buffer(bytes.data() + sent, bytes.size() - sent), ec);
    REQUIRE(sent > 0);
    CHECK(tcp_bytes_written(lp.fd(), false) <= sent);
    CHECK(tcp_bytes_written(lp.fd(), true) >= sent);
    // Once the client has read everything, nothing is in flight: both are exact.
    std::string got(sent, '\0');
    net::read(lp.client, net::buffer(got));
    CHECK(eventually([&] { return tcp_bytes_written(lp.fd(), false) == sent; }));
    CHECK(tcp_bytes_written(lp.fd(), true) == sent);
}

TEST_CASE("tcp_bytes_written: not a TCP socket: 0 as the lower bound, never reached as the upper one") {
    int p[2];
    REQUIRE(::pipe(p) == 0);
    CHECK(tcp_bytes_written(p[1], false) == 0);
    CHECK(tcp_bytes_written(p[1], true) > (std::uint64_t(1) << 40));
    ::close(p[0]);
    ::close(p[1]);
}

#include "proxy/read_on_ready.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <array>
#include <optional>
#include <string>

#include "proxy/io_types.hpp"

namespace net = boost::asio;
using boost::system::error_code;
using tcp = net::ip::tcp;

namespace {

// Counts what the read asked of it; "holds" is whether it has handed out a buffer that the
// read has not given back or filled.
struct counting_target {
    std::array<char, 64> storage{};
    int taken = 0;
    int given_back = 0;
    bool holds = false;

    net::mutable_buffer take_read_buffer(std::size_t n) {
        ++taken;
        holds = true;
        return net::buffer(storage.data(), std::min(n, storage.size()));
    }
    void read_would_block() {
        ++given_back;
        holds = false;
    }
};

struct socket_pair {
    net::io_context ioc;
    gm::proxy::tcp_socket ours{ioc.get_executor()};
    tcp::socket peer{ioc};
    gm::proxy::read_state state;
    counting_target target;
    std::optional<error_code> result;
    std::string got;

    socket_pair() {
        tcp::acceptor acceptor(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
        ours.connect(acceptor.local_endpoint());
        acceptor.accept(peer);
        ours.non_blocking(true);
    }

    void read() {
        result.reset();
        gm::proxy::async_read_on_ready(ours, state, target, 64, [this](error_code ec, std::size_t n) {
            result = ec;
            got.assign(target.storage.data(), n);
        });
    }

    void finish() {
        ioc.restart();
        for (int i = 0; i < 500 && !result; ++i)
            ioc.run_for(std::chrono::milliseconds(10));
    }
};

}  // namespace

TEST_CASE("a read waiting for its first bytes holds no buffer, and takes one when they come") {
    socket_pair p;
    p.read();
    p.ioc.restart();
    p.ioc.poll();
    CHECK_FALSE(p.result);
    if (gm::proxy::drain_marking_reads) {
        // Asio may try the socket once at the start; what it took it gave back.
        CHECK_FALSE(p.target.holds);
        CHECK(p.target.taken == p.target.given_back);
    }
    net::write(p.peer, net::buffer(std::string("GET / HTTP/1.1\r\n")));
    p.finish();
    REQUIRE(p.result);
    CHECK_FALSE(*p.result);
    CHECK(p.got == "GET / HTTP/1.1\r\n");
    CHECK(p.target.holds);
    CHECK(p.state.drained == gm::proxy::drain_marking_reads);
}

TEST_CASE("bytes already waiting are read at once, and a peer gone while idle ends the read") {
    socket_pair p;
    net::write(p.peer, net::buffer(std::string("ab")));
    p.read();
    p.finish();
    REQUIRE(p.result);
    CHECK(p.got == "ab");

    p.read();
    p.ioc.restart();
    p.ioc.poll();
    CHECK_FALSE(p.result);
    p.peer.close();
    p.finish();
    REQUIRE(p.result);
    CHECK(*p.result == net::error::eof);
}

TEST_CASE("a read cancelled while idle never asks for a buffer after its last attempt") {
    socket_pair p;
    p.read();
    p.ioc.restart();
    p.ioc.poll();
    const int taken = p.target.taken;
    p.ours.close();
    p.finish();
    REQUIRE(p.result);
    CHECK(*p.result == net::error::operation_aborted);
    CHECK(p.target.taken == taken);
    CHECK_FALSE(p.target.holds);
}

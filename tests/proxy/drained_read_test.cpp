#include "proxy/drained_read.hpp"

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
using gm::proxy::async_read_marked;
using gm::proxy::read_state;
using tcp = net::ip::tcp;

namespace {

// Our side is a Beast stream as the relay has it; the peer is a plain blocking socket.
struct socket_pair {
    net::io_context ioc;
    gm::proxy::tcp_stream ours{ioc.get_executor()};
    tcp::socket peer{ioc};
    read_state state;
    std::array<char, 64> storage{};
    std::optional<error_code> result;
    std::string got;

    socket_pair() {
        tcp::acceptor acceptor(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
        ours.socket().connect(acceptor.local_endpoint());
        acceptor.accept(peer);
    }

    void read(bool fresh) {
        result.reset();
        async_read_marked(ours, state, fresh, net::buffer(storage), [this](error_code ec, std::size_t n) {
            result = ec;
            got.assign(storage.data(), n);
        });
    }

    // Runs until the read has completed; the bound only keeps a broken build from hanging.
    void finish() {
        ioc.restart();  // the previous run ran out of work, which stops the context
        for (int i = 0; i < 500 && !result; ++i)
            ioc.run_for(std::chrono::milliseconds(10));
    }
};

}  // namespace

TEST_CASE("a read that comes back short leaves the socket drained, and the next read still gets later bytes") {
    socket_pair p;
    net::write(p.peer, net::buffer(std::string("abc")));
    p.read(true);
    p.finish();
    REQUIRE(p.result);
    CHECK_FALSE(*p.result);
    CHECK(p.got == "abc");
    CHECK(p.state.drained == gm::proxy::drain_marking_reads);

    // Queued without trying the socket; epoll reports the bytes when they come.
    p.read(true);
    p.ioc.restart();
    p.ioc.poll();
    CHECK_FALSE(p.result);
    net::write(p.peer, net::buffer(std::string("de")));
    p.finish();
    REQUIRE(p.result);
    CHECK_FALSE(*p.result);
    CHECK(p.got == "de");
}

TEST_CASE("a FIN that came with the data is seen by the read that continues the message") {
    socket_pair p;
    net::write(p.peer, net::buffer(std::string("a")));
    p.read(true);
    p.finish();
    REQUIRE(p.result);
    // A read waits on the socket, as the relay's reads do; then the bytes and the FIN come
    // together, and epoll reports them in one event.
    p.read(true);
    p.ioc.restart();
    p.ioc.poll();
    net::write(p.peer, net::buffer(std::string("partial")));
    p.peer.shutdown(tcp::socket::shutdown_send);
    p.finish();
    REQUIRE(p.result);
    CHECK(p.got == "partial");
    p.read(false);
    p.finish();
    REQUIRE(p.result);
    CHECK(*p.result == net::error::eof);
}

TEST_CASE("a peer that closed behind its last bytes is noticed by the read after our next write") {
    socket_pair p;
    net::write(p.peer, net::buffer(std::string("last")));
    p.peer.close();
    p.read(true);
    p.finish();
    REQUIRE(p.result);
    CHECK(p.got == "last");
    // What the relay does next: write the next request, then read its answer.
    error_code ignored;
    net::write(p.ours.socket(), net::buffer(std::string("next request")), ignored);
    p.read(true);
    p.finish();
    REQUIRE(p.result);
    CHECK(*p.result);
}

#include "support/raw_http_client.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

using gm::test::raw_http_client;

namespace {

// A one-connection server on a real socket that plays a script of byte strings (each
// after waiting for its delay) once it has read a request header, then closes.
class scripted_server {
public:
    explicit scripted_server(std::vector<std::pair<std::string, int>> script) {
        listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        REQUIRE(::listen(listen_fd_, 4) == 0);
        socklen_t len = sizeof a;
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this, script = std::move(script)] {
            const int fd = ::accept(listen_fd_, nullptr, nullptr);
            if (fd < 0) return;
            std::string got;
            char buf[4096];
            while (got.find("\r\n\r\n") == std::string::npos) {
                const auto n = ::read(fd, buf, sizeof buf);
                if (n <= 0) break;
                got.append(buf, static_cast<std::size_t>(n));
            }
            request_ = got;
            for (const auto& [bytes, delay] : script) {
                std::this_thread::sleep_for(std::chrono::milliseconds(delay));
                if (::write(fd, bytes.data(), bytes.size()) < 0) break;
            }
            ::close(fd);
        });
    }
    ~scripted_server() {
        thread_.join();
        ::close(listen_fd_);
    }
    unsigned short port() const { return port_; }
    std::string request() {
        thread_.join();
        thread_ = std::thread([] {});
        return request_;
    }

private:
    int listen_fd_ = -1;
    unsigned short port_ = 0;
    std::thread thread_;
    std::string request_;
};

}  // namespace

TEST_CASE("raw_http_client sends bytes exactly and keeps header order and case") {
    scripted_server server({{"HTTP/1.1 200 OK\r\nX-B: 1\r\ncontent-TYPE: text/plain\r\nVary: a\r\nVary: b\r\n"
                             "Content-Length: 5\r\n\r\nhello",
                             0}});
    raw_http_client c;
    c.connect("127.0.0.1", server.port());
    const std::string req = raw_http_client::make_request("POST", "/x?y=1", {{"X-Test", "A"}}, "body");
    c.send(req);
    const auto r = c.read_response();
    const std::string got = server.request();
    CHECK(got.find("\r\n\r\n") != std::string::npos);
    CHECK(req.substr(0, got.size()) == got);
    CHECK(r.status == 200);
    CHECK(r.complete);
    CHECK(r.body == "hello");
    REQUIRE(r.headers.size() == 5);
    CHECK(r.headers[1].first == "content-TYPE");
    CHECK(r.header("Content-Type") == "text/plain");
    CHECK(r.count_header("vary") == 2);
    CHECK(r.headers[3].second == "b");
}

TEST_CASE("raw_http_client de-chunks and records pieces with their arrival times") {
    scripted_server server({{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n", 0},
                            {"6\r\nsecond\r\n0\r\n\r\n", 150}});
    raw_http_client c;
    c.connect("127.0.0.1", server.port());
    c.send(raw_http_client::make_request("GET", "/"));
    const auto s = c.read_response_streaming();
    CHECK(s.response.complete);
    CHECK(s.response.chunked);
    CHECK(s.response.body == "firstsecond");
    REQUIRE(s.pieces.size() == 2);
    CHECK(s.pieces[0].data == "first");
    CHECK(s.pieces[1].data == "second");
    // The second piece was held back by the server: it must be seen later, not batched.
    CHECK(s.pieces[1].at > s.pieces[0].at);
}

TEST_CASE("raw_http_client reports a truncated response as incomplete") {
    scripted_server server({{"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part", 0}});
    raw_http_client c;
    c.connect("127.0.0.1", server.port());
    c.send(raw_http_client::make_request("GET", "/"));
    const auto r = c.read_response();
    CHECK_FALSE(r.complete);
    CHECK(r.body == "only part");
}

TEST_CASE("raw_http_client can hang up mid-response") {
    scripted_server server({{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\none\r\n", 0},
                            {"3\r\ntwo\r\n0\r\n\r\n", 300}});
    raw_http_client c;
    c.connect("127.0.0.1", server.port());
    c.send(raw_http_client::make_request("GET", "/"));
    const auto s = c.read_response_streaming([](const gm::test::body_piece&) { return false; });
    CHECK_FALSE(s.response.complete);
    CHECK(s.response.body == "one");
    CHECK_FALSE(c.is_open());
}

TEST_CASE("raw_http_client read_raw returns the bytes until the peer closes") {
    const std::string answer = "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 2\r\n\r\nno";
    scripted_server server({{answer, 0}});
    raw_http_client c;
    c.connect("127.0.0.1", server.port());
    c.send("GARBAGE\r\n\r\n");
    CHECK(c.read_raw() == answer);
    CHECK(c.peer_closed(std::chrono::milliseconds(500)));
}

TEST_CASE("raw_http_client HEAD responses have no body despite Content-Length") {
    scripted_server server({{"HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n", 0}});
    raw_http_client c;
    c.connect("127.0.0.1", server.port());
    c.send(raw_http_client::make_request("HEAD", "/"));
    const auto r = c.read_response(true);
    CHECK(r.complete);
    CHECK(r.header("content-length") == "42");
    CHECK(r.body.empty());
}

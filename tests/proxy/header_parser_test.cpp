#include "proxy/header_parser.hpp"

#include <boost/asio/buffer.hpp>
#include <catch2/catch.hpp>
#include <string>

namespace http = boost::beast::http;
using gm::proxy::header_parser;
using gm::proxy::message_head;

namespace {
// Feeds `text` to the parser in pieces of `step` bytes, as a socket might deliver it.
template <bool isRequest>
boost::beast::error_code feed(header_parser<isRequest>& p, const std::string& text, std::size_t step) {
    std::string pending;
    boost::beast::error_code ec;
    for (std::size_t at = 0; at < text.size() && !p.is_header_done(); at += step) {
        pending += text.substr(at, step);
        const auto used = p.put(boost::asio::buffer(pending), ec);
        if (ec == http::error::need_more) {
            ec = {};
            continue;
        }
        if (ec)
            return ec;
        pending.erase(0, used);
    }
    return ec;
}
}  // namespace

TEST_CASE("a request header is parsed into the session's message_head, however it arrives") {
    const std::string text =
        "POST /v1beta/models/gemini-2.5-flash:generateContent?alt=sse HTTP/1.1\r\n"
        "Host: localhost\r\nContent-Type: application/json\r\nX-Meter-User-Id: u1\r\n"
        "Content-Length: 12\r\n\r\n{\"a\":1}";
    for (std::size_t step : {1, 7, 4096}) {
        message_head head;
        head.fields.insert("Stale", "from the previous message");
        header_parser<true> p(head);
        p.header_limit(8192);
        REQUIRE_FALSE(feed(p, text, step));
        REQUIRE(p.is_header_done());
        CHECK(head.method == http::verb::post);
        CHECK(head.method_string == "POST");
        CHECK(head.target == "/v1beta/models/gemini-2.5-flash:generateContent?alt=sse");
        CHECK(head.version == 11);
        CHECK(head.fields.size() == 4);
        CHECK(head.fields.value(http::field::content_type) == "application/json");
        CHECK(p.content_length().value_or(0) == 12);
        CHECK(p.keep_alive());
        CHECK_FALSE(p.chunked());
    }
}

TEST_CASE("a response header with a large Content-Length is accepted: bodies are relayed, not held") {
    const std::string text =
        "HTTP/1.0 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 600000000\r\n\r\n";
    message_head head;
    header_parser<false> p(head);
    REQUIRE_FALSE(feed(p, text, 5));
    CHECK(head.status == 200);
    CHECK(head.reason == "OK");
    CHECK(head.version == 10);
    CHECK_FALSE(p.keep_alive());
    CHECK(p.content_length().value_or(0) == 600000000);
}

TEST_CASE("a malformed or oversized header is an error") {
    message_head head;
    {
        header_parser<true> p(head);
        CHECK(feed(p, "GET / HTTP/1.1\r\nBad Header\r\n\r\n", 4096));
    }
    {
        header_parser<true> p(head);
        p.header_limit(64);
        CHECK(feed(p, "GET / HTTP/1.1\r\nX-Long: " + std::string(200, 'x') + "\r\n\r\n", 4096) ==
              http::error::header_limit);
    }
}

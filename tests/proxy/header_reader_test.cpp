#include "proxy/header_reader.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/connect_pair.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <optional>
#include <string>

#include "proxy/header_parser.hpp"

namespace net = boost::asio;
namespace http = boost::beast::http;
using gm::proxy::message_head;

namespace {

struct reader_case {
    net::io_context ioc;
    net::local::stream_protocol::socket reader{ioc}, writer{ioc};
    boost::beast::flat_buffer buffer;
    message_head head;
    std::optional<boost::beast::error_code> result;
    reader_case() { net::local::connect_pair(reader, writer); }

    // Sends the pieces one by one, each after the reader has asked for more.
    void run(gm::proxy::header_parser<true>& parser, const std::vector<std::string>& pieces, bool close_after) {
        gm::proxy::async_read_header_into(reader, buffer, 16, parser, [this](boost::beast::error_code ec) { result = ec; });
        for (const auto& piece : pieces) {
            net::write(writer, net::buffer(piece));
            ioc.poll();
        }
        if (close_after)
            writer.close();
        ioc.run_for(std::chrono::seconds(2));
    }
};

}  // namespace

TEST_CASE("a header arriving in pieces over a socket is read whole, body bytes left in the buffer") {
    reader_case c;
    gm::proxy::header_parser<true> parser(c.head);
    c.run(parser, {"POST /v1/x HT", "TP/1.1\r\nHost: a\r\nContent-", "Length: 3\r\n\r\nab"}, false);
    REQUIRE(c.result);
    CHECK_FALSE(*c.result);
    CHECK(c.head.target == "/v1/x");
    CHECK(c.head.fields.value(http::field::host) == "a");
    CHECK(parser.content_length().value_or(0) == 3);
    CHECK(std::string(static_cast<const char*>(c.buffer.data().data()), c.buffer.size()) == "ab");
}

TEST_CASE("a peer closing before any byte is end_of_stream, in the middle of a header partial_message") {
    {
        reader_case c;
        gm::proxy::header_parser<true> parser(c.head);
        c.run(parser, {}, true);
        REQUIRE(c.result);
        CHECK(*c.result == http::error::end_of_stream);
    }
    {
        reader_case c;
        gm::proxy::header_parser<true> parser(c.head);
        c.run(parser, {"GET / HTTP/1.1\r\nHost:"}, true);
        REQUIRE(c.result);
        CHECK(*c.result == http::error::partial_message);
    }
}

TEST_CASE("a malformed header ends the read with the parser's error") {
    reader_case c;
    gm::proxy::header_parser<true> parser(c.head);
    c.run(parser, {"GET / HTTP/1.1\r\nNo colon here\r\n\r\n"}, false);
    REQUIRE(c.result);
    CHECK(*c.result);
    CHECK(*c.result != http::error::need_more);
}

TEST_CASE("parse_buffered_header completes from the buffer alone, without reading") {
    boost::beast::flat_buffer buffer;
    const std::string text = "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b";
    net::buffer_copy(buffer.prepare(text.size()), net::buffer(text));
    buffer.commit(text.size());
    message_head head;
    gm::proxy::header_parser<true> parser(head);
    boost::beast::error_code ec;
    CHECK(gm::proxy::parse_buffered_header(buffer, parser, ec));
    CHECK_FALSE(ec);
    CHECK(head.target == "/a");
    CHECK(buffer.size() == 6);  // the next, pipelined request stays
    message_head empty_head;
    gm::proxy::header_parser<true> second(empty_head);
    boost::beast::flat_buffer empty;
    CHECK_FALSE(gm::proxy::parse_buffered_header(empty, second, ec));
    CHECK_FALSE(ec);
}

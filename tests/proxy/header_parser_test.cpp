#include "proxy/header_parser.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <catch2/catch.hpp>
#include <algorithm>
#include <cstdio>
#include <cctype>
#include <random>
#include <string>
#include <vector>

#include "parser_agreement.hpp"

namespace http = boost::beast::http;
using gm::proxy::header_parser;
using gm::proxy::message_head;
using gm::proxy::strict_header_error;
using gm::proxy::testing::beast_reference_parser;
using gm::proxy::testing::disagreement;
using gm::proxy::testing::feed;
using gm::proxy::testing::parse_with;

namespace {

const std::vector<std::string> request_seeds = {
    "POST /v1beta/models/gemini-2.5-flash:generateContent HTTP/1.1\r\nHost: localhost:8080\r\n"
    "Content-Type: application/json\r\nx-goog-api-key: k\r\nX-Meter-User-Id: u1\r\n"
    "Accept-Encoding: gzip, deflate\r\nContent-Length: 12\r\n\r\n{\"a\":1}12345",
    "GET /v1beta/models?pageSize=5 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    "POST /upload/v1beta/files HTTP/1.1\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "DELETE /v1beta/files/abc HTTP/1.1\r\nConnection: close, TE\r\nTE: trailers\r\n\r\n",
    "HEAD / HTTP/1.1\r\nX-Empty:\r\nX-Tabs:\t a \t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    "PATCH /v1/x HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\nProxy-Connection: close\r\n\r\n",
    "OPTIONS * HTTP/1.1\r\nX-Obs-Text: caf\xc3\xa9\r\nContent-Length: 0\r\n\r\n",
};

const std::vector<std::string> response_seeds = {
    "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=UTF-8\r\nVary: Origin\r\nVary: X-Origin\r\n"
    "Vary: Referer\r\nContent-Encoding: gzip\r\nDate: Sat, 28 Nov 2026 10:00:00 GMT\r\nServer: scaffolding on HTTPServer2\r\n"
    "X-XSS-Protection: 0\r\nX-Frame-Options: SAMEORIGIN\r\nX-Content-Type-Options: nosniff\r\n"
    "Server-Timing: gfet4t7; dur=512\r\nAlt-Svc: h3=\":443\"; ma=2592000\r\nTransfer-Encoding: chunked\r\n\r\n",
    "HTTP/1.1 429 Too Many Requests\r\nContent-Length: 5\r\n\r\nabcde",
    "HTTP/1.0 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: {}\r\n\r\n",
    "HTTP/1.1 204 \r\nConnection: keep-alive\r\n\r\n",
    "HTTP/1.1 100 Continue\r\n\r\n",
    "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
};

// Mutations that reach the parser's every decision: the bytes that delimit HTTP/1 (CR,
// LF, SP, HT, colon, comma), controls, DEL, obs-text, and a few letters and digits.
std::string mutate(std::string text, std::mt19937& rng) {
    static const std::string alphabet("\r\n \t:,;=\"\0\x7f\x80\xff" "a0Z9-", 19);
    const int ops = 1 + static_cast<int>(rng() % 3);
    for (int op = 0; op < ops && !text.empty(); ++op) {
        const std::size_t at = rng() % text.size();
        const char c = alphabet[rng() % alphabet.size()];
        switch (rng() % 5) {
            case 0:
                text[at] = c;
                break;
            case 1:
                text.insert(text.begin() + static_cast<std::ptrdiff_t>(at), c);
                break;
            case 2:
                text.erase(at, 1);
                break;
            case 3: {  // repeat a line: duplicate fields
                const auto begin = text.rfind('\n', at);
                const auto end = text.find('\n', at);
                if (begin != std::string::npos && end != std::string::npos)
                    text.insert(end + 1, text.substr(begin + 1, end - begin));
                break;
            }
            default:
                text[at] = static_cast<char>(std::toupper(static_cast<unsigned char>(text[at])));
                break;
        }
    }
    return text;
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
        const auto how = feed(p, text, step);
        REQUIRE_FALSE(how.ec);
        REQUIRE(p.is_header_done());
        CHECK(how.used == text.find("{"));
        CHECK(head.method == http::verb::post);
        CHECK(head.method_string == "POST");
        CHECK(head.target == "/v1beta/models/gemini-2.5-flash:generateContent?alt=sse");
        CHECK(head.version == 11);
        CHECK(head.fields.size() == 4);  // each field once, however many puts it took
        CHECK(head.fields.value(http::field::content_type) == "application/json");
        CHECK(head.fields.value(http::field::host) == "localhost");
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
    REQUIRE_FALSE(feed(p, text, 5).ec);
    CHECK(head.status == 200);
    CHECK(head.reason == "OK");
    CHECK(head.version == 10);
    CHECK_FALSE(p.keep_alive());
    CHECK(p.content_length().value_or(0) == 600000000);
}

TEST_CASE("framing: chunked only as the last coding, keep-alive by version and Connection") {
    const auto req = [](const std::string& fields) {
        return parse_with<true, header_parser>("POST / HTTP/1.1\r\n" + fields + "\r\n", 4096);
    };
    CHECK(req("Transfer-Encoding: gzip, Chunked\r\n").chunked);
    CHECK_FALSE(req("Transfer-Encoding: chunked, gzip\r\n").chunked);
    CHECK(req("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n").chunked);
    CHECK(req("Connection: close\r\n").keep_alive == false);
    CHECK(req("Connection: Keep-Alive, Upgrade\r\n").keep_alive);
    CHECK(parse_with<true, header_parser>("GET / HTTP/1.0\r\n\r\n", 4096).keep_alive == false);
    CHECK(parse_with<true, header_parser>("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 4096).keep_alive);
    // A response framed by neither length nor chunks ends with its connection.
    CHECK_FALSE(parse_with<false, header_parser>("HTTP/1.1 200 OK\r\n\r\n", 4096).keep_alive);
    CHECK(parse_with<false, header_parser>("HTTP/1.1 204 No Content\r\n\r\n", 4096).keep_alive);
}

TEST_CASE("a malformed or oversized header is an error, and the limit is exact") {
    CHECK(parse_with<true, header_parser>("GET / HTTP/1.1\r\nBad Header\r\n\r\n", 4096).how.ec ==
          http::error::bad_field);
    CHECK(parse_with<true, header_parser>("GET / HTTP/1.1\r\nX: a\nY: b\r\n\r\n", 4096).how.ec ==
          http::error::bad_value);
    CHECK(parse_with<true, header_parser>("GET / HTTP/2.0\r\n\r\n", 4096).how.ec == http::error::bad_version);
    CHECK(parse_with<true, header_parser>("\r\nGET / HTTP/1.1\r\n\r\n", 4096).how.ec == http::error::bad_method);
    CHECK(parse_with<false, header_parser>("HTTP/1.1 2000 OK\r\n\r\n", 4096).how.ec == http::error::bad_status);
    CHECK(parse_with<true, header_parser>("POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", 4096).how.ec ==
          http::error::bad_content_length);
    CHECK(parse_with<true, header_parser>("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", 4096)
              .how.ec == http::error::bad_content_length);
    CHECK(parse_with<true, header_parser>("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
                                          4096)
              .how.ec == http::error::bad_content_length);
    CHECK(parse_with<true, header_parser>("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
                                          4096)
              .how.ec == http::error::bad_transfer_encoding);

    const std::string exact = "GET / HTTP/1.1\r\nX-Long: " + std::string(100, 'x') + "\r\n\r\n";
    const auto limit = static_cast<std::uint32_t>(exact.size());
    for (std::size_t step : {1, 9, 4096}) {
        CHECK_FALSE(parse_with<true, header_parser>(exact, step, limit).how.ec);
        CHECK(parse_with<true, header_parser>(exact, step, limit - 1).how.ec == http::error::header_limit);
        // Never complete and past the limit: too large, not "need more".
        CHECK(parse_with<true, header_parser>("GET / HTTP/1.1\r\nX: " + std::string(300, 'y'), step, 64).how.ec ==
              http::error::header_limit);
    }
}

TEST_CASE("the three rules stricter than Beast's: obs-fold, repeated Content-Length, odd Transfer-Encoding") {
    const auto ec_of = [](const std::string& fields) {
        return parse_with<true, header_parser>("POST / HTTP/1.1\r\n" + fields + "\r\n", 4096).how.ec;
    };
    CHECK(ec_of("X-A: one\r\n two\r\n") == strict_header_error::obs_fold);
    CHECK(ec_of("Content-Length: 5, 5\r\n") == strict_header_error::content_length_list);
    CHECK(ec_of("Content-Length: 5\r\nContent-Length: 5\r\n") == strict_header_error::content_length_list);
    CHECK(ec_of("Transfer-Encoding: chunked;q=1\r\n") == strict_header_error::transfer_encoding_list);
    CHECK(ec_of("Transfer-Encoding: \"chunked\"\r\n") == strict_header_error::transfer_encoding_list);
    // ...each of which Beast accepts.
    for (const char* fields : {"X-A: one\r\n two\r\n", "Content-Length: 5, 5\r\n",
                               "Content-Length: 5\r\nContent-Length: 5\r\n", "Transfer-Encoding: chunked;q=1\r\n"}) {
        INFO(fields);
        CHECK_FALSE(parse_with<true, beast_reference_parser>(std::string("POST / HTTP/1.1\r\n") + fields + "\r\n", 4096)
                        .how.ec);
    }
}

TEST_CASE("header_parser agrees with Beast's parser on real headers, whole and in pieces") {
    for (const auto& text : request_seeds)
        for (std::size_t step : {1, 2, 3, 16, 100000})
            CHECK(disagreement<true>(text, step) == "");
    for (const auto& text : response_seeds)
        for (std::size_t step : {1, 2, 3, 16, 100000})
            CHECK(disagreement<false>(text, step) == "");
}

TEST_CASE("header_parser agrees with Beast's parser where a line ends early or oddly") {
    // Texts the mutation runs and the fuzzer found disagreeing once: each error must come as
    // soon as the offending byte is there, not when more bytes arrive.
    for (std::size_t step : {1, 100000}) {
        CHECK(disagreement<false>("HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\r", step) == "");
        CHECK(disagreement<false>("HTTP/1.1 204 \r\nConnection: keep-alivea\n", step) == "");
        CHECK(disagreement<false>("HTTP/1.1 200 OK\n", step) == "");
        CHECK(disagreement<false>("HTTP/2.0 204", step) == "");  // found by header_parser_fuzz
        CHECK(disagreement<false>("HTTP/1.1 20", step) == "");
        CHECK(disagreement<true>("GET / HTTP/2.0\r", step) == "");
        CHECK(disagreement<true>("GET / HTTP/1.1\n", step) == "");
        CHECK(disagreement<true>(std::string("GET / HTTP/1.1\r\nX: y\r\n\r\0", 24), step) == "");
        CHECK(disagreement<true>("GET / HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 0\r\n\n", step) == "");
    }
}

TEST_CASE("header_parser agrees with Beast's parser on 40,000 mutated headers") {
    std::mt19937 rng(20261128);  // fixed: a failure names its text and repeats
    for (int i = 0; i < 20000; ++i) {
        const std::size_t step = i % 4 == 0 ? 1 + rng() % 40 : 100000;
        CHECK(disagreement<true>(mutate(request_seeds[rng() % request_seeds.size()], rng), step) == "");
        CHECK(disagreement<false>(mutate(response_seeds[rng() % response_seeds.size()], rng), step) == "");
    }
}

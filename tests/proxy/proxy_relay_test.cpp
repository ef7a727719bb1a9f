// What the app receives through the proxy is what the fake upstream sent, byte for byte,
// and what the upstream receives is what the app sent, minus X-Meter-* and hop-by-hop
// fields, with Host set to the upstream's.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "proxy_fixture.hpp"

using namespace gm::test;

namespace {

const std::string json_body = R"({"contents":[{"role":"user","parts":[{"text":"Explain how AI works in a few words"}]}]})";

void check_same_response(const raw_response& got, const sent_response& sent) {
    CHECK(got.status == sent.status);
    CHECK(got.complete);
    CHECK(got.body == sent.body);
    CHECK(end_to_end_headers(got.headers) == end_to_end_headers(sent.headers));
}

}  // namespace

TEST_CASE("a gzip JSON answer reaches the app unchanged, still gzip") {
    proxy_fixture f;
    auto c = f.client();
    c.send(raw_http_client::make_request("POST", "/v1beta/models/gemini-2.5-flash:generateContent",
                                         {{"Content-Type", "application/json"},
                                          {"x-goog-api-key", "test-key"},
                                          {"Accept-Encoding", "gzip, deflate"}},
                                         json_body));
    auto res = c.read_response();
    auto sent = f.sent(1);
    REQUIRE(sent.size() == 1);
    check_same_response(res, sent[0]);
    CHECK(res.header("Content-Encoding") == "gzip");
    CHECK(res.has_header("Content-Length"));
}

TEST_CASE("the request reaches the upstream unchanged except Host, hop-by-hop and X-Meter-* fields") {
    proxy_fixture f;
    auto c = f.client();
    header_list headers{{"Content-Type", "application/json"},
                        {"x-goog-api-key", "test-key"},
                        {"X-Goog-Api-Client", "google-genai-sdk/1.0 gl-node/20"},
                        {"X-Meter-User-Id", "u-1"},
                        {"X-Meter-Tag-Team", "search"},
                        {"Connection", "keep-alive"},
                        {"User-Agent", "test/1"}};
    c.send(raw_http_client::make_request("POST", "/v1beta/models/gemini-2.5-flash:generateContent?foo=bar&x=%2F",
                                         headers, json_body));
    auto res = c.read_response();
    CHECK(res.status == 200);
    auto got = f.fake->received();
    REQUIRE(got.size() == 1);
    CHECK(got[0].method == "POST");
    CHECK(got[0].target == "/v1beta/models/gemini-2.5-flash:generateContent?foo=bar&x=%2F");
    CHECK(got[0].body_prefix == json_body);
    header_list expected{{"content-type", "application/json"},
                         {"x-goog-api-key", "test-key"},
                         {"x-goog-api-client", "google-genai-sdk/1.0 gl-node/20"},
                         {"user-agent", "test/1"},
                         {"content-length", std::to_string(json_body.size())}};
    header_list seen;
    std::string host;
    for (auto [n, v] : end_to_end_headers(got[0].headers))
        seen.emplace_back(n, v);
    for (auto [n, v] : got[0].headers)
        if (n == "Host" || n == "host")
            host = v;
    CHECK(seen == expected);
    CHECK(host == "127.0.0.1:" + std::to_string(f.fake->port()));
    for (auto [n, v] : got[0].headers) {
        CHECK(n.find("Via") == std::string::npos);
        CHECK(n.find("Forwarded") == std::string::npos);
        CHECK(n.find("Meter") == std::string::npos);
    }
}

TEST_CASE("an SSE stream, a JSON-array stream and chunked answers are relayed unchanged") {
    proxy_fixture f;
    auto c = f.client();
    SECTION("alt=sse") {
        c.send(raw_http_client::make_request("POST", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
                                             {{"Content-Type", "application/json"}, {"x-fake-events", "20"}},
                                             json_body));
        auto res = c.read_response();
        auto sent = f.sent(1);
        REQUIRE(sent.size() == 1);
        check_same_response(res, sent[0]);
        CHECK(res.header("Content-Type").find("text/event-stream") == 0);
        CHECK(res.chunked);
    }
    SECTION("JSON array stream") {
        c.send(raw_http_client::make_request("POST", "/v1beta/models/gemini-2.5-pro:streamGenerateContent",
                                             {{"Content-Type", "application/json"}}, json_body));
        auto res = c.read_response();
        auto sent = f.sent(1);
        REQUIRE(sent.size() == 1);
        check_same_response(res, sent[0]);
        CHECK(res.body.front() == '[');
    }
    SECTION("chunked request body") {
        std::string req = "POST /v1beta/models/gemini-2.5-flash:generateContent HTTP/1.1\r\nHost: x\r\n"
                          "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
        req += fmt::format("{:x}\r\n{}\r\n", 10, json_body.substr(0, 10));
        req += fmt::format("{:x}\r\n{}\r\n0\r\n\r\n", json_body.size() - 10, json_body.substr(10));
        c.send(req);
        auto res = c.read_response();
        CHECK(res.status == 200);
        auto got = f.fake->received();
        REQUIRE(got.size() == 1);
        CHECK(got[0].body_prefix == json_body);
        check_same_response(res, f.sent(1)[0]);
    }
}

TEST_CASE("Google's errors reach the app unchanged") {
    proxy_fixture f;
    auto c = f.client();
    std::size_t n = 0;
    for (int code : {400, 403, 404, 429, 500, 503}) {
        c.send(raw_http_client::make_request("POST", "/v1beta/models/gemini-2.5-flash:generateContent",
                                             {{"Content-Type", "application/json"},
                                              {"x-fake-status", std::to_string(code)}},
                                             json_body));
        auto res = c.read_response();
        CHECK(res.status == static_cast<unsigned>(code));
        CHECK(res.body.find("\"error\"") != std::string::npos);
        auto sent = f.sent(++n);
        REQUIRE(sent.size() == n);
        check_same_response(res, sent.back());
    }
}

TEST_CASE("GET, HEAD and DELETE are relayed") {
    proxy_fixture f;
    auto c = f.client();
    c.send(raw_http_client::make_request("GET", "/v1beta/models"));
    auto list = c.read_response();
    CHECK(list.status == 200);
    check_same_response(list, f.sent(1).back());

    c.send(raw_http_client::make_request("HEAD", "/v1beta/models"));
    auto head = c.read_response(true);
    CHECK(head.status == 200);
    CHECK(head.body.empty());
    CHECK(f.fake->received().back().method == "HEAD");

    c.send(raw_http_client::make_request("DELETE", "/v1beta/files/abc"));
    auto del = c.read_response();
    CHECK(del.status == 200);
    CHECK(f.fake->received().back().method == "DELETE");
    check_same_response(del, f.sent(3).back());
}

TEST_CASE("200 sequential calls over one client connection reuse upstream connections") {
    proxy_fixture f;
    auto c = f.client();
    for (int i = 0; i < 200; ++i) {
        c.send(raw_http_client::make_request("POST", "/v1beta/models/gemini-2.5-flash:generateContent",
                                             {{"Content-Type", "application/json"}}, json_body));
        auto res = c.read_response();
        REQUIRE(res.status == 200);
        REQUIRE(res.complete);
    }
    auto counters = f.fake->counters();
    CHECK(counters.requests == 200);
    // Each call of one client connection stays on one I/O thread, whose pool keeps the
    // upstream connection: one TLS connection carried them all.
    CHECK(counters.connections_accepted == 1);
    CHECK(f.observer.wait_for(200).size() == 200);
}

TEST_CASE("each server-sent event reaches the app before the upstream has sent the last one") {
    proxy_fixture f;
    auto c = f.client();
    c.send(raw_http_client::make_request("POST", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
                                         {{"Content-Type", "application/json"},
                                          {"x-fake-events", "5"},
                                          {"x-fake-event-delay-ms", "200"}},
                                         json_body));
    auto streamed = c.read_response_streaming();
    REQUIRE(streamed.response.complete);
    REQUIRE(streamed.pieces.size() >= 2);
    auto sent = f.sent(1);
    REQUIRE(sent.size() == 1);
    // Ordering of events, not a speed threshold: the first event was in the app's hands
    // while the upstream was still waiting to send the rest.
    CHECK(streamed.pieces.front().at < sent[0].last_byte_at);
    CHECK(streamed.pieces.front().data.rfind("data: ", 0) == 0);
    CHECK(streamed.response.body == sent[0].body);
}

TEST_CASE("a plain-HTTP upstream works too") {
    proxy_fixture f({}, false);
    auto c = f.client();
    c.send(raw_http_client::make_request("POST", "/v1/models/gemini-2.0-flash:generateContent",
                                         {{"Content-Type", "application/json"}}, json_body));
    auto res = c.read_response();
    CHECK(res.status == 200);
    check_same_response(res, f.sent(1).back());
}

#include "app/demo/demo_upstream.hpp"

#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <chrono>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/eventually.hpp"
#include "support/parse_json.hpp"
#include "support/raw_http_client.hpp"

using gm::demo::demo_upstream;
using gm::demo::upstream_options;
using gm::test::header_list;
using gm::test::raw_http_client;

namespace {

upstream_options instant() {
    upstream_options o;
    o.latency_scale = 0;  // the tests need the answers, not the model's pace
    return o;
}

std::string request_body(std::size_t text_bytes) {
    return fmt::format(R"({{"contents":[{{"role":"user","parts":[{{"text":"{}"}}]}}]}})", std::string(text_bytes, 'x'));
}

gm::test::raw_response post(raw_http_client& c, const std::string& target, const std::string& body,
                            header_list headers = {}) {
    headers.emplace_back("Content-Type", "application/json");
    c.send(raw_http_client::make_request("POST", target, headers, body));
    return c.read_response();
}

std::int64_t member_or_0(const rapidjson::Value& o, const char* name) {
    return o.HasMember(name) ? o[name].GetInt64() : 0;
}

// usageMetadata's invariants (GEMINI_WIRE.md section 3), with realistic sizes.
void check_usage(const rapidjson::Value& u) {
    REQUIRE(u.IsObject());
    REQUIRE(u.HasMember("promptTokenCount"));
    REQUIRE(u.HasMember("candidatesTokenCount"));
    REQUIRE(u.HasMember("totalTokenCount"));
    const auto prompt = u["promptTokenCount"].GetInt64();
    const auto candidates = u["candidatesTokenCount"].GetInt64();
    const auto thoughts = member_or_0(u, "thoughtsTokenCount");
    const auto cached = member_or_0(u, "cachedContentTokenCount");
    CHECK(u["totalTokenCount"].GetInt64() == prompt + candidates + thoughts);
    CHECK(prompt >= 100);
    CHECK(prompt <= 20000);
    CHECK(candidates >= 10);
    CHECK(candidates <= 2000);
    CHECK(cached >= 0);
    CHECK(cached <= prompt);
}

void check_google_error(const gm::test::raw_response& r, unsigned code, const char* status) {
    CHECK(r.status == code);
    const auto d = gm::test::parse_json(r.body);
    REQUIRE(d.HasMember("error"));
    const auto& e = d["error"];
    CHECK(e["code"].GetInt() == static_cast<int>(code));
    CHECK(std::string(e["status"].GetString()) == status);
    CHECK(std::string(e["message"].GetString()).size() > 0);
}

}  // namespace

TEST_CASE("demo_upstream: generateContent answers Google's JSON with consistent usage", "[demo_upstream]") {
    demo_upstream up(instant());
    up.start();
    raw_http_client c;
    c.connect("127.0.0.1", up.port());
    int with_thoughts = 0, with_cache = 0;
    for (int i = 0; i < 40; ++i) {
        const std::string model = i % 2 ? "gemini-2.5-flash" : "gemini-2.5-pro";
        const auto r = post(c, "/v1beta/models/" + model + ":generateContent", request_body(400 + 97 * i));
        REQUIRE(r.status == 200);
        CHECK(r.header("Content-Type").starts_with("application/json"));
        const auto d = gm::test::parse_json(r.body);
        REQUIRE(d["candidates"].IsArray());
        REQUIRE(d["candidates"].Size() == 1);
        CHECK(std::string(d["candidates"][0]["content"]["parts"][0]["text"].GetString()).size() > 0);
        CHECK(std::string(d["candidates"][0]["finishReason"].GetString()) == "STOP");
        CHECK(std::string(d["modelVersion"].GetString()) == model);
        CHECK(std::string(d["responseId"].GetString()).size() > 0);
        check_usage(d["usageMetadata"]);
        // The prompt grows with the request, as Google counts it.
        CHECK(d["usageMetadata"]["promptTokenCount"].GetInt64() >= static_cast<std::int64_t>((400 + 97 * i) / 4));
        with_thoughts += d["usageMetadata"].HasMember("thoughtsTokenCount");
        with_cache += d["usageMetadata"].HasMember("cachedContentTokenCount");
    }
    // Sometimes, not always: the seeded generator gives both kinds in 40 calls.
    CHECK(with_thoughts > 0);
    CHECK(with_thoughts < 40);
    CHECK(with_cache > 0);
    CHECK(with_cache < 40);
    // Counted once the answer's last byte is written, which the client may read first.
    CHECK(gm::test::eventually([&] { return up.stats().generate == 40; }));
    CHECK(up.stats().connections == 1);  // all 40 on one kept-alive connection
}

TEST_CASE("demo_upstream: the same request gets the same answer", "[demo_upstream]") {
    demo_upstream up(instant());
    up.start();
    raw_http_client c;
    c.connect("127.0.0.1", up.port());
    const auto a = post(c, "/v1beta/models/gemini-2.0-flash:generateContent", request_body(1234));
    const auto b = post(c, "/v1beta/models/gemini-2.0-flash:generateContent", request_body(1234));
    const auto other = post(c, "/v1beta/models/gemini-2.0-flash:generateContent", request_body(1235));
    CHECK(a.body == b.body);
    CHECK(a.body != other.body);
}

TEST_CASE("demo_upstream: an alt=sse stream is a few events, cumulative usage whole on the last", "[demo_upstream]") {
    demo_upstream up(instant());
    up.start();
    raw_http_client c;
    c.connect("127.0.0.1", up.port());
    for (int i = 0; i < 5; ++i) {
        const auto r = post(c, "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", request_body(3000 + i));
        REQUIRE(r.status == 200);
        CHECK(r.header("Content-Type") == "text/event-stream");
        CHECK(r.chunked);
        std::vector<std::string> events;
        std::string_view rest = r.body;
        while (!rest.empty()) {
            const auto end = rest.find("\r\n\r\n");
            REQUIRE(end != std::string_view::npos);  // every event ends with the blank line
            events.emplace_back(rest.substr(0, end));
            rest.remove_prefix(end + 4);
        }
        REQUIRE(events.size() >= 3);
        REQUIRE(events.size() <= 5);
        std::string response_id;
        for (std::size_t k = 0; k < events.size(); ++k) {
            REQUIRE(events[k].starts_with("data: "));
            const auto d = gm::test::parse_json(std::string_view(events[k]).substr(6));
            const auto& u = d["usageMetadata"];
            if (k == 0) response_id = d["responseId"].GetString();
            CHECK(std::string(d["responseId"].GetString()) == response_id);
            CHECK(std::string(d["modelVersion"].GetString()) == "gemini-2.5-flash");
            if (k + 1 < events.size()) {
                // Early chunks carry only the prompt's count, as Google's do.
                CHECK_FALSE(u.HasMember("candidatesTokenCount"));
                CHECK(u["totalTokenCount"].GetInt64() == u["promptTokenCount"].GetInt64());
                CHECK_FALSE(d["candidates"][0].HasMember("finishReason"));
            } else {
                check_usage(u);
                CHECK(std::string(d["candidates"][0]["finishReason"].GetString()) == "STOP");
            }
        }
    }
    CHECK(gm::test::eventually([&] { return up.stats().stream == 5; }));
}

TEST_CASE("demo_upstream: countTokens answers totalTokens", "[demo_upstream]") {
    demo_upstream up(instant());
    up.start();
    raw_http_client c;
    c.connect("127.0.0.1", up.port());
    const auto r = post(c, "/v1beta/models/gemini-2.5-flash:countTokens", request_body(2000));
    REQUIRE(r.status == 200);
    const auto d = gm::test::parse_json(r.body);
    CHECK(d["totalTokens"].GetInt64() >= 500);
    CHECK_FALSE(d.HasMember("usageMetadata"));  // not a billed generation
    CHECK(gm::test::eventually([&] { return up.stats().count_tokens == 1; }));
}

TEST_CASE("demo_upstream: X-Demo-Fail answers that error in Google's shape", "[demo_upstream]") {
    demo_upstream up(instant());
    up.start();
    raw_http_client c;
    c.connect("127.0.0.1", up.port());
    const auto r429 = post(c, "/v1beta/models/gemini-2.5-flash:generateContent", request_body(100), {{"X-Demo-Fail", "429"}});
    check_google_error(r429, 429, "RESOURCE_EXHAUSTED");
    CHECK(gm::test::parse_json(r429.body)["error"].HasMember("details"));  // the retry hint
    const auto r503 = post(c, "/v1beta/models/gemini-2.5-flash:generateContent", request_body(100), {{"X-Demo-Fail", "503"}});
    check_google_error(r503, 503, "UNAVAILABLE");
    // On an SSE URL the error still comes whole, with the stream's content type.
    const auto sse = post(c, "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", request_body(100),
                          {{"X-Demo-Fail", "500"}});
    check_google_error(sse, 500, "INTERNAL");
    CHECK(sse.header("Content-Type") == "text/event-stream");
    const auto junk = post(c, "/v1beta/models/gemini-2.5-flash:generateContent", request_body(100), {{"X-Demo-Fail", "yes"}});
    check_google_error(junk, 500, "INTERNAL");
    CHECK(gm::test::eventually([&] { return up.stats().errors == 4; }));
    CHECK(up.stats().connections == 1);  // an error answer keeps the connection
}

TEST_CASE("demo_upstream: unknown paths and methods are 404 in Google's shape", "[demo_upstream]") {
    demo_upstream up(instant());
    up.start();
    raw_http_client c;
    c.connect("127.0.0.1", up.port());
    for (const char* target : {"/nope", "/v1beta/models/gemini-2.5-flash:embedContent", "/v2/models/gemini-2.5-flash:generateContent",
                               "/v1beta/models/:generateContent", "/v1beta/models/gemini-2.5-flash"}) {
        INFO(target);
        check_google_error(post(c, target, request_body(10)), 404, "NOT_FOUND");
    }
    c.send(raw_http_client::make_request("GET", "/v1beta/models/gemini-2.5-flash:generateContent"));
    check_google_error(c.read_response(), 404, "NOT_FOUND");
    CHECK(gm::test::eventually([&] { return up.stats().not_found == 6; }));
}

TEST_CASE("demo_upstream: Connection: close is honoured after the answer", "[demo_upstream]") {
    demo_upstream up(instant());
    up.start();
    raw_http_client c;
    c.connect("127.0.0.1", up.port());
    const auto r = post(c, "/v1beta/models/gemini-2.5-flash:generateContent", request_body(100), {{"Connection", "close"}});
    CHECK(r.status == 200);
    CHECK_FALSE(r.keep_alive);
    CHECK(c.peer_closed());
}

TEST_CASE("demo_upstream: the observer sees each request's headers", "[demo_upstream]") {
    std::mutex m;
    std::vector<gm::demo::upstream_request> seen;
    auto o = instant();
    o.on_request = [&](const gm::demo::upstream_request& r) {
        std::lock_guard lock(m);
        seen.push_back(r);
    };
    demo_upstream up(std::move(o));
    up.start();
    raw_http_client c;
    c.connect("127.0.0.1", up.port());
    post(c, "/v1beta/models/gemini-2.5-flash:generateContent", request_body(50), {{"X-Meter-User-Id", "u1"}});
    std::lock_guard lock(m);
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].method == "POST");
    CHECK(seen[0].target == "/v1beta/models/gemini-2.5-flash:generateContent");
    CHECK(seen[0].body_bytes == request_body(50).size());
    bool found = false;
    for (const auto& [k, v] : seen[0].headers) found = found || (k == "X-Meter-User-Id" && v == "u1");
    CHECK(found);
}

TEST_CASE("demo_upstream: stop() returns with an answer still pending", "[demo_upstream]") {
    upstream_options o;
    o.latency_scale = 10000;  // a first byte hours away
    std::atomic<int> seen{0};
    o.on_request = [&](const gm::demo::upstream_request&) { ++seen; };
    auto up = std::make_unique<demo_upstream>(std::move(o));
    up->start();
    raw_http_client c;
    c.connect("127.0.0.1", up->port());
    c.send(raw_http_client::make_request("POST", "/v1beta/models/gemini-2.5-flash:generateContent", {}, request_body(10)));
    REQUIRE(gm::test::eventually([&] { return seen == 1; }));
    auto stopped = std::async(std::launch::async, [&] { up->stop(); });
    // Bounds a hang only: a stop that waited for the answer would wait for hours.
    REQUIRE(gm::test::eventually([&] {
        return stopped.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
    }));
    CHECK(c.peer_closed());  // the dropped connection is closed, not left hanging
}

TEST_CASE("demo_upstream: bad options are rejected by name", "[demo_upstream]") {
    upstream_options o;
    o.threads = 0;
    CHECK_THROWS_WITH(demo_upstream(o), Catch::Contains("threads"));
    o = {};
    o.latency_scale = -1;
    CHECK_THROWS_WITH(demo_upstream(o), Catch::Contains("latency_scale"));
    o = {};
    o.address = "localhost-ish";
    CHECK_THROWS_AS(demo_upstream(o), std::invalid_argument);
}

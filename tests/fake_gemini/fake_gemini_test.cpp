#include "fake_gemini/fake_gemini.hpp"
#include "fake_gemini/fake_responder.hpp"

#include "support/raw_http_client.hpp"
#include "support/test_tls.hpp"

#include <catch2/catch.hpp>
#include <rapidjson/document.h>
#include <zlib.h>

#include <openssl/evp.h>

#include <thread>

#include "support/eventually.hpp"

using namespace gm::test;
using namespace std::chrono_literals;

namespace {

fake_options tls_options() {
    const auto& pki = make_test_pki();
    fake_options o;
    o.tls = true;
    o.cert_file = pki.cert_file;
    o.key_file = pki.key_file;
    o.threads = 2;
    return o;
}

raw_http_client tls_client(const fake_gemini& fake) {
    raw_client_options o;
    o.tls = true;
    o.ca_file = make_test_pki().ca_file;
    raw_http_client c(o);
    c.connect("127.0.0.1", fake.port());
    return c;
}

std::string gunzip(const std::string& in) {
    z_stream z{};
    REQUIRE(inflateInit2(&z, 15 + 16) == Z_OK);
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    std::string out;
    char buf[16384];
    int rc = Z_OK;
    while (rc == Z_OK) {
        z.next_out = reinterpret_cast<Bytef*>(buf);
        z.avail_out = sizeof buf;
        rc = inflate(&z, Z_NO_FLUSH);
        out.append(buf, sizeof buf - z.avail_out);
        if (rc == Z_BUF_ERROR && z.avail_in == 0) break;
    }
    inflateEnd(&z);
    REQUIRE((rc == Z_STREAM_END || rc == Z_BUF_ERROR));
    return out;
}

rapidjson::Document parse(const std::string& s) {
    rapidjson::Document d;
    d.Parse(s.data(), s.size());
    INFO(s);
    REQUIRE_FALSE(d.HasParseError());
    return d;
}

std::string sha256_hex(const std::string& data) {
    unsigned char md[32];
    unsigned len = 0;
    EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
    std::string hex;
    for (unsigned i = 0; i < len; ++i) {
        static const char* digits = "0123456789abcdef";
        hex += digits[md[i] >> 4];
        hex += digits[md[i] & 15];
    }
    return hex;
}

// Splits an SSE body into the JSON of its events; every separator must be "\r\n\r\n".
std::vector<std::string> sse_events(const std::string& body) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos < body.size()) {
        const auto end = body.find("\r\n\r\n", pos);
        REQUIRE(end != std::string::npos);
        const std::string line = body.substr(pos, end - pos);
        REQUIRE(line.rfind("data: ", 0) == 0);
        out.push_back(line.substr(6));
        pos = end + 4;
    }
    return out;
}

const std::string generate = "/v1beta/models/gemini-2.5-flash:generateContent";
const std::string body2k = std::string(R"({"contents":[{"role":"user","parts":[{"text":")") + std::string(1900, 'q') + "\"}]}]}";

}  // namespace

TEST_CASE("fake generateContent over TLS answers gzip JSON with usage and records both sides") {
    fake_gemini fake(tls_options());
    REQUIRE(fake.base_url() == "https://127.0.0.1:" + std::to_string(fake.port()));
    auto c = tls_client(fake);
    const std::string req = raw_http_client::make_request(
        "POST", generate, {{"Content-Type", "application/json"}, {"x-goog-api-key", "k"}, {"Accept-Encoding", "gzip, deflate"}},
        body2k);
    c.send(req);
    const raw_response r = c.read_response();
    REQUIRE(r.status == 200);
    REQUIRE(r.complete);
    CHECK(r.header("Content-Type") == "application/json; charset=UTF-8");
    CHECK(r.header("Content-Encoding") == "gzip");
    CHECK(r.header("Content-Length") == std::to_string(r.body.size()));
    CHECK_FALSE(r.chunked);
    CHECK(r.count_header("Vary") == 3);

    const auto doc = parse(gunzip(r.body));
    const auto& u = doc["usageMetadata"];
    const std::int64_t prompt = (body2k.size() + 3) / 4;
    CHECK(u["promptTokenCount"].GetInt64() == prompt);
    const std::int64_t cand = u["candidatesTokenCount"].GetInt64();
    CHECK(cand > 0);
    // gemini-2.5-flash thinks: total = prompt + candidates + thoughts.
    CHECK(u["thoughtsTokenCount"].GetInt64() == 2 * cand);
    CHECK(u["totalTokenCount"].GetInt64() == prompt + 3 * cand);
    CHECK(std::string(doc["modelVersion"].GetString()) == "gemini-2.5-flash");
    CHECK(std::string(doc["candidates"][0]["finishReason"].GetString()) == "STOP");

    const auto rec = fake.received();
    REQUIRE(rec.size() == 1);
    CHECK(rec[0].method == "POST");
    CHECK(rec[0].target == generate);
    REQUIRE(rec[0].headers.size() == 5);
    CHECK(rec[0].headers[0] == std::pair<std::string, std::string>{"Host", "127.0.0.1"});
    CHECK(rec[0].headers[2] == std::pair<std::string, std::string>{"x-goog-api-key", "k"});
    CHECK(rec[0].body_size == body2k.size());
    CHECK(rec[0].body_sha256 == sha256_hex(body2k));
    CHECK(rec[0].body_prefix == body2k);
    const auto sent = fake.sent();
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].status == 200);
    CHECK(sent[0].body == r.body);
    CHECK(sent[0].headers == r.headers);
    CHECK(std::string(doc["responseId"].GetString()) == "fake-" + rec[0].body_sha256.substr(0, 16));
}

TEST_CASE("fake answers identity JSON when gzip is not accepted, the same request the same way") {
    fake_gemini fake(tls_options());
    auto c = tls_client(fake);
    const std::string req = raw_http_client::make_request("POST", generate, {}, body2k);
    c.send(req);
    const auto a = c.read_response();
    c.send(req);
    const auto b = c.read_response();
    CHECK_FALSE(a.has_header("Content-Encoding"));
    CHECK(a.body == b.body);
    parse(a.body);
}

TEST_CASE("fake x-fake-body-size pads the body as sent, gzip or not") {
    fake_gemini fake(tls_options());
    auto c = tls_client(fake);
    for (const bool gz : {true, false}) {
        header_list h{{"x-fake-body-size", "1500"}};
        if (gz) h.emplace_back("Accept-Encoding", "gzip");
        c.send(raw_http_client::make_request("POST", generate, h, body2k));
        const auto r = c.read_response();
        INFO("gzip " << gz << " size " << r.body.size());
        CHECK(r.body.size() >= 1470);
        CHECK(r.body.size() <= 1530);
        parse(gz ? gunzip(r.body) : r.body);
    }
}

TEST_CASE("fake streamGenerateContent alt=sse streams events with cumulative usage, each as it is made") {
    fake_gemini fake(tls_options());
    auto c = tls_client(fake);
    c.send(raw_http_client::make_request("POST", "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse",
                                         {{"x-fake-events", "5"}, {"x-fake-event-delay-ms", "30"}, {"Accept-Encoding", "gzip"}},
                                         body2k));
    const auto s = c.read_response_streaming();
    const auto& r = s.response;
    REQUIRE(r.status == 200);
    CHECK(r.complete);
    CHECK(r.chunked);
    CHECK(r.header("Content-Type") == "text/event-stream");
    CHECK_FALSE(r.has_header("Content-Encoding"));  // Google's SSE comes uncompressed
    CHECK_FALSE(r.has_header("Content-Length"));
    // The delay between events keeps them in separate reads: at least one piece per event
    // (a loaded machine may split one TLS record's bytes over two reads).
    REQUIRE(s.pieces.size() >= 5);
    for (std::size_t i = 1; i < s.pieces.size(); ++i) CHECK(s.pieces[i].at > s.pieces[i - 1].at);
    const auto events = sse_events(r.body);
    REQUIRE(events.size() == 5);
    std::int64_t last_candidates = -1;
    std::string id;
    for (std::size_t i = 0; i < events.size(); ++i) {
        if (i == 0)
            CHECK(s.pieces[0].data.rfind("data: " + events[0].substr(0, 10), 0) == 0);
        const auto d = parse(events[i]);
        const auto& u = d["usageMetadata"];
        CHECK(u["promptTokenCount"].GetInt64() == static_cast<std::int64_t>((body2k.size() + 3) / 4));
        const std::int64_t cand = u.HasMember("candidatesTokenCount") ? u["candidatesTokenCount"].GetInt64() : 0;
        CHECK(cand > last_candidates);
        last_candidates = cand;
        CHECK(d["candidates"][0].HasMember("finishReason") == (i + 1 == events.size()));
        if (id.empty()) id = d["responseId"].GetString();
        CHECK(id == d["responseId"].GetString());
    }
}

TEST_CASE("fake streamGenerateContent without alt streams a JSON array in pieces") {
    fake_gemini fake(tls_options());
    auto c = tls_client(fake);
    c.send(raw_http_client::make_request("POST", "/v1beta/models/gemini-2.5-pro:streamGenerateContent",
                                         {{"x-fake-events", "3"}, {"x-fake-event-delay-ms", "20"}}, body2k));
    const auto s = c.read_response_streaming();
    REQUIRE(s.response.complete);
    CHECK(s.response.header("Content-Type") == "application/json; charset=UTF-8");
    CHECK(s.pieces.size() >= 3);
    CHECK(s.pieces[0].data.rfind("[{", 0) == 0);
    bool element_piece = false;
    for (const auto& p : s.pieces)
        element_piece = element_piece || p.data.rfind("\r\n,{", 0) == 0;
    CHECK(element_piece);
    const auto d = parse(s.response.body);
    REQUIRE(d.IsArray());
    REQUIRE(d.Size() == 3);
    CHECK(d[2]["usageMetadata"]["thoughtsTokenCount"].GetInt64() > 0);
    CHECK(d[2]["candidates"][0].HasMember("finishReason"));
}

TEST_CASE("fake x-fake-stream-gzip compresses a stream that still decodes whole") {
    fake_gemini fake(tls_options());
    auto c = tls_client(fake);
    c.send(raw_http_client::make_request("POST", "/v1/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
                                         {{"x-fake-stream-gzip", "1"}, {"Accept-Encoding", "gzip"}}, body2k));
    const auto r = c.read_response();
    CHECK(r.header("Content-Encoding") == "gzip");
    CHECK(sse_events(gunzip(r.body)).size() == 3);
}

TEST_CASE("fake countTokens, embedContent, batchEmbedContents and models answer Google's shapes") {
    fake_gemini fake(tls_options());
    auto c = tls_client(fake);
    c.send(raw_http_client::make_request("POST", "/v1beta/models/gemini-2.5-flash:countTokens", {}, body2k));
    auto r = c.read_response();
    CHECK(parse(r.body)["totalTokens"].GetInt64() == static_cast<std::int64_t>((body2k.size() + 3) / 4));

    c.send(raw_http_client::make_request("POST", "/v1beta/models/gemini-embedding-001:embedContent", {}, "{}"));
    r = c.read_response();
    auto d = parse(r.body);
    CHECK(d["embedding"]["values"].IsArray());
    CHECK_FALSE(d.HasMember("usageMetadata"));

    c.send(raw_http_client::make_request("POST", "/v1beta/models/gemini-embedding-001:batchEmbedContents", {},
                                         R"({"requests":[{"content":{}},{"content":{}}]})"));
    r = c.read_response();
    d = parse(r.body);
    CHECK(d["embeddings"].Size() == 2);
    CHECK_FALSE(d.HasMember("usageMetadata"));

    c.send(raw_http_client::make_request("GET", "/v1beta/models"));
    r = c.read_response();
    CHECK(parse(r.body)["models"].Size() >= 3);

    c.send(raw_http_client::make_request("GET", "/v1beta/models/gemini-2.5-pro"));
    r = c.read_response();
    CHECK(std::string(parse(r.body)["name"].GetString()) == "models/gemini-2.5-pro");
}

TEST_CASE("fake OpenAI-compatible chat completions, unary and streamed") {
    fake_gemini fake(tls_options());
    auto c = tls_client(fake);
    c.send(raw_http_client::make_request("POST", "/v1beta/openai/chat/completions", {{"Authorization", "Bearer k"}},
                                         R"({"model":"models/gemini-2.0-flash","messages":[]})"));
    auto r = c.read_response();
    REQUIRE(r.status == 200);
    auto d = parse(r.body);
    CHECK(std::string(d["model"].GetString()) == "gemini-2.0-flash");
    const auto& u = d["usage"];
    CHECK(u["total_tokens"].GetInt64() == u["prompt_tokens"].GetInt64() + u["completion_tokens"].GetInt64());

    c.send(raw_http_client::make_request("POST", "/v1beta/openai/chat/completions", {{"x-fake-events", "4"}},
                                         R"({"model":"gemini-2.5-flash","stream":true})"));
    r = c.read_response();
    CHECK(r.header("Content-Type") == "text/event-stream");
    CHECK(r.body.size() > 14);
    CHECK(r.body.substr(r.body.size() - 14) == "data: [DONE]\n\n");
    std::size_t events = 0;
    for (std::size_t p = 0; (p = r.body.find("data: {", p)) != std::string::npos; ++p) ++events;
    CHECK(events == 4);
}

TEST_CASE("fake errors come in Google's shape") {
    fake_gemini fake(tls_options());
    auto c = tls_client(fake);
    c.send(raw_http_client::make_request("POST", "/v1beta/models/no-such-model:generateContent", {}, "{}"));
    auto r = c.read_response();
    CHECK(r.status == 404);
    auto d = parse(r.body);
    CHECK(d["error"]["code"].GetInt() == 404);
    CHECK(std::string(d["error"]["status"].GetString()) == "NOT_FOUND");

    for (unsigned code : {400u, 403u, 429u, 500u, 503u, 504u}) {
        c.send(raw_http_client::make_request("POST", generate, {{"x-fake-status", std::to_string(code)}}, "{}"));
        r = c.read_response();
        CHECK(r.status == code);
        d = parse(r.body);
        CHECK(d["error"]["code"].GetUint() == code);
        CHECK(std::string(d["error"]["status"].GetString()) == std::string(google_status_name(code)));
        CHECK(d["error"]["message"].GetStringLength() > 0);
    }

    c.send(raw_http_client::make_request("POST", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
                                         {{"x-fake-status", "503"}}, "{}"));
    r = c.read_response();
    CHECK(r.status == 503);
    CHECK(r.header("Content-Type") == "text/event-stream");  // as Google was seen doing
    parse(r.body);

    c.send(raw_http_client::make_request("GET", "/nowhere"));
    CHECK(c.read_response().status == 404);
}

TEST_CASE("fake knobs: no usage, malformed, usage override, model version") {
    fake_gemini fake(tls_options());
    auto c = tls_client(fake);
    c.send(raw_http_client::make_request("POST", generate, {{"x-fake-no-usage", "1"}}, "{}"));
    CHECK_FALSE(parse(c.read_response().body).HasMember("usageMetadata"));

    c.send(raw_http_client::make_request("POST", generate, {{"x-fake-malformed", "1"}}, "{}"));
    auto r = c.read_response();
    CHECK(r.status == 200);
    rapidjson::Document bad;
    bad.Parse(r.body.data(), r.body.size());
    CHECK(bad.HasParseError());

    const std::string usage = R"({"promptTokenCount": 1844, "cachedContentTokenCount": 901, "candidatesTokenCount": 51, "totalTokenCount": 1895})";
    c.send(raw_http_client::make_request("POST", generate, {{"x-fake-usage", usage}, {"x-fake-model-version", "gemini-2.5-flash-preview-05-20"}}, "{}"));
    auto d = parse(c.read_response().body);
    CHECK(d["usageMetadata"]["cachedContentTokenCount"].GetInt() == 901);
    CHECK(std::string(d["modelVersion"].GetString()) == "gemini-2.5-flash-preview-05-20");

    c.send(raw_http_client::make_request("POST", "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse",
                                         {{"x-fake-usage", usage}, {"x-fake-events", "2"}}, "{}"));
    const auto events = sse_events(c.read_response().body);
    REQUIRE(events.size() == 2);
    CHECK(parse(events[1])["usageMetadata"]["promptTokenCount"].GetInt() == 1844);
    CHECK(parse(events[0])["usageMetadata"]["promptTokenCount"].GetInt() == 1);
}

TEST_CASE("fake x-fake-truncate-after cuts the connection after N body bytes") {
    fake_gemini fake(tls_options());
    SECTION("Content-Length answer") {
        auto c = tls_client(fake);
        c.send(raw_http_client::make_request("POST", generate, {{"x-fake-truncate-after", "100"}}, body2k));
        const auto r = c.read_response();
        CHECK_FALSE(r.complete);
        CHECK(r.body.size() == 100);
    }
    SECTION("SSE answer") {
        auto c = tls_client(fake);
        c.send(raw_http_client::make_request("POST", "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse",
                                             {{"x-fake-truncate-after", "500"}, {"x-fake-events", "10"}}, body2k));
        const auto r = c.read_response();
        CHECK_FALSE(r.complete);
        CHECK(r.body.size() == 500);
    }
    REQUIRE(eventually([&] { return fake.sent().size() == 1; }));
    CHECK(fake.sent()[0].truncated);
    CHECK(fake.sent()[0].body.size() == fake.sent()[0].body_size);
}

TEST_CASE("fake x-fake-delay-ms holds the header back at least that long") {
    fake_gemini fake(tls_options());
    auto c = tls_client(fake);
    c.send(raw_http_client::make_request("POST", generate, {{"x-fake-delay-ms", "150"}}, "{}"));
    CHECK(c.read_response().status == 200);
    const auto rec = fake.received();
    const auto sent = fake.sent();
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].first_byte_at - rec[0].at >= 150ms);
}

TEST_CASE("fake keeps one connection alive across 50 requests") {
    fake_gemini fake(tls_options());
    auto c = tls_client(fake);
    for (int i = 0; i < 50; ++i) {
        c.send(raw_http_client::make_request(i % 2 ? "GET" : "POST", i % 2 ? "/v1beta/models" : generate, {}, i % 2 ? "" : "{}"));
        const auto r = c.read_response();
        REQUIRE(r.status == 200);
        REQUIRE(r.keep_alive);
    }
    const auto k = fake.counters();
    CHECK(k.connections_accepted == 1);
    CHECK(k.requests == 50);
    for (const auto& r : fake.received()) CHECK(r.connection_id == fake.received()[0].connection_id);
}

TEST_CASE("fake sees a client that hangs up mid-stream and counts the aborted answer") {
    fake_gemini fake(tls_options());
    auto c = tls_client(fake);
    c.send(raw_http_client::make_request("POST", "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse",
                                         {{"x-fake-events", "50"}, {"x-fake-event-delay-ms", "200"}}, "{}"));
    std::chrono::steady_clock::time_point closed_at;
    const auto s = c.read_response_streaming([&](const body_piece&) {
        closed_at = std::chrono::steady_clock::now();
        return false;  // hang up now
    });
    CHECK_FALSE(s.response.complete);
    REQUIRE(eventually([&] { return fake.counters().peer_closes == 1; }));
    const auto k = fake.counters();
    CHECK(k.connections_open == 0);
    CHECK(k.peer_closes == 1);
    CHECK(k.last_peer_close >= closed_at);
    REQUIRE(fake.sent().size() == 1);
    CHECK(fake.sent()[0].aborted);
}

TEST_CASE("fake streams a large upload through SHA-256 without buffering it") {
    fake_gemini fake(tls_options());
    auto c = tls_client(fake);
    std::string body(24 * 1024 * 1024, '\0');
    for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>((i * 2654435761u) >> 13);
    c.send(raw_http_client::make_request("POST", "/upload/v1beta/files", {{"Content-Type", "application/pdf"}}, body));
    const auto r = c.read_response();
    REQUIRE(r.status == 200);
    const auto d = parse(r.body);
    CHECK(std::string(d["file"]["sizeBytes"].GetString()) == std::to_string(body.size()));
    CHECK(std::string(d["file"]["sha256Hash"].GetString()) == sha256_hex(body));
    const auto rec = fake.received();
    CHECK(rec[0].body_size == body.size());
    CHECK(rec[0].body_prefix.size() == 64 * 1024);
}

TEST_CASE("fake resumable upload start answers an upload URL, then the upload finalizes") {
    fake_gemini fake(tls_options());
    auto c = tls_client(fake);
    c.send(raw_http_client::make_request("POST", "/upload/v1beta/files",
                                         {{"X-Goog-Upload-Protocol", "resumable"}, {"X-Goog-Upload-Command", "start"},
                                          {"X-Goog-Upload-Header-Content-Length", "5"}},
                                         R"({"file":{}})"));
    auto r = c.read_response();
    CHECK(r.status == 200);
    CHECK(r.header("X-Goog-Upload-Status") == "active");
    const std::string url = r.header("X-Goog-Upload-URL");
    const std::string prefix = "https://127.0.0.1/upload/v1beta/files?upload_id=";
    REQUIRE(url.rfind(prefix, 0) == 0);
    c.send(raw_http_client::make_request("POST", url.substr(std::string("https://127.0.0.1").size()),
                                         {{"X-Goog-Upload-Protocol", "resumable"}, {"X-Goog-Upload-Command", "upload, finalize"}},
                                         "hello"));
    r = c.read_response();
    CHECK(r.header("X-Goog-Upload-Status") == "final");
    CHECK(std::string(parse(r.body)["file"]["sizeBytes"].GetString()) == "5");
}

TEST_CASE("fake answers HEAD without a body, GET and DELETE on files, Expect 100-continue") {
    fake_gemini fake(tls_options());
    auto c = tls_client(fake);
    c.send(raw_http_client::make_request("HEAD", "/v1beta/models"));
    auto r = c.read_response(true);
    CHECK(r.status == 200);
    CHECK(r.body.empty());
    CHECK(std::stoul(r.header("Content-Length")) > 0);
    c.send(raw_http_client::make_request("GET", "/v1beta/files/abc"));
    CHECK(std::string(parse(c.read_response().body)["name"].GetString()) == "files/abc");
    c.send(raw_http_client::make_request("DELETE", "/v1beta/files/abc"));
    r = c.read_response();
    CHECK(r.status == 200);
    CHECK(r.body == "{}\n");
    c.send("POST " + generate + " HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
    CHECK(c.read_response().status == 100);
    c.send("{}");
    CHECK(c.read_response().status == 200);
}

TEST_CASE("fake x-fake-close answers Connection: close and closes") {
    fake_gemini fake(tls_options());
    auto c = tls_client(fake);
    c.send(raw_http_client::make_request("POST", generate, {{"x-fake-close", "1"}}, "{}"));
    const auto r = c.read_response();
    CHECK(r.header("Connection") == "close");
    CHECK_FALSE(r.keep_alive);
    CHECK(c.peer_closed());
}

TEST_CASE("fake serves plain HTTP and several connections on several threads") {
    fake_options o;
    o.tls = false;
    o.threads = 2;
    fake_gemini fake(o);
    REQUIRE(fake.base_url().rfind("http://127.0.0.1:", 0) == 0);
    std::vector<std::thread> threads;
    std::atomic<int> ok{0};
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            raw_http_client c;
            c.connect("127.0.0.1", fake.port());
            for (int i = 0; i < 10; ++i) {
                c.send(raw_http_client::make_request("POST", generate, {}, body2k));
                if (c.read_response().status == 200) ++ok;
            }
        });
    for (auto& t : threads) t.join();
    CHECK(ok == 40);
    CHECK(fake.counters().connections_accepted == 4);
    fake.clear();
    CHECK(fake.received().empty());
    CHECK(fake.counters().requests == 0);
}

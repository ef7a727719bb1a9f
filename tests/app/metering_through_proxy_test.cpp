// Issue 3 through the real binary: for each Gemini method and response shape, and each way
// a call can end, the row stored in SQLite says what Google billed (or why it cannot).
#include <boost/asio/ip/tcp.hpp>
#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>
#include <regex>

#include "meter_process.hpp"

using namespace gm::test;
using gm::metering::call_ending;
using gm::metering::usage_record;
using gm::metering::usage_source;

namespace {

const std::string body = R"({"contents":[{"role":"user","parts":[{"text":"How much does this cost?"}]}]})";
// The real response of GEMINI_WIRE.md section 3: 1844 + 51 + 91 + 1934 = 3920.
const std::string wire_usage =
    R"({"promptTokenCount":1844,"cachedContentTokenCount":901,"candidatesTokenCount":51,"thoughtsTokenCount":91,)"
    R"("toolUsePromptTokenCount":1934,"totalTokenCount":3920})";
// gemini-2.5-flash: input 0.30, cached 0.03, output 2.50 USD per million tokens, i.e.
// 300000, 30000 and 2500000 pico-USD per token:
// (1844 - 901 + 1934) x 300000 + 901 x 30000 + (51 + 91) x 2500000
const std::int64_t wire_cost_flash = 2877LL * 300000 + 901LL * 30000 + 142LL * 2500000;

void check_wire_usage(const usage_record& r) {
    CHECK(r.source == usage_source::response);
    CHECK(r.tokens.prompt == 1844);
    CHECK(r.tokens.cached == 901);
    CHECK(r.tokens.candidates == 51);
    CHECK(r.tokens.thoughts == 91);
    CHECK(r.tokens.tool_use_prompt == 1934);
    CHECK(r.tokens.total == 3920);
}

raw_response call(meter_process& m, const std::string& method, const std::string& target, header_list headers = {},
                  const std::string& b = body) {
    auto c = m.connect();
    headers.emplace_back("Content-Type", "application/json");
    c->send(raw_http_client::make_request(method, target, headers, method == "GET" ? "" : b));
    return c->read_response(method == "HEAD");
}

// The last value of "key" in the text: streams repeat cumulative usage, the last one counts.
std::int64_t json_int(const std::string& text, const std::string& key) {
    const std::regex re("\"" + key + "\"\\s*:\\s*(\\d+)");
    std::int64_t last = -1;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator(); ++it)
        last = std::stoll((*it)[1]);
    REQUIRE(last >= 0);
    return last;
}

}  // namespace

TEST_CASE("every response shape is metered through the proxy, and priced exactly") {
    meter_process m;
    const header_list usage{{"x-fake-usage", wire_usage}};
    auto h = usage;
    h.emplace_back("Accept-Encoding", "gzip");
    CHECK(call(m, "POST", "/v1beta/models/gemini-2.5-flash:generateContent", h).status == 200);
    CHECK(call(m, "POST", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
               {{"x-fake-usage", wire_usage}, {"x-fake-events", "8"}})
              .status == 200);
    CHECK(call(m, "POST", "/v1/models/gemini-2.5-flash:streamGenerateContent", usage).status == 200);
    m.stop();
    auto rows = m.rows();
    REQUIRE(rows.size() == 3);
    const char* methods[] = {"generateContent", "streamGenerateContent", "streamGenerateContent"};
    for (std::size_t i = 0; i < rows.size(); ++i) {
        INFO("row " << i);
        check_wire_usage(rows[i]);
        CHECK(rows[i].model == "gemini-2.5-flash");
        CHECK(rows[i].gemini_method == methods[i]);
        CHECK(rows[i].priced);
        CHECK(rows[i].cost_pico_usd == wire_cost_flash);
        CHECK(rows[i].success);
        CHECK_FALSE(rows[i].partial);
        CHECK_FALSE(rows[i].price_version.empty());
    }
    CHECK_FALSE(rows[0].streamed);
    CHECK(rows[1].streamed);
    CHECK(rows[2].streamed);
}

TEST_CASE("calls whose responses carry no usage are stored as such, never as a silent priced zero") {
    meter_process m;
    CHECK(call(m, "POST", "/v1beta/models/gemini-2.5-flash:countTokens").status == 200);
    CHECK(call(m, "POST", "/v1beta/models/gemini-embedding-001:embedContent").status == 200);
    CHECK(call(m, "POST", "/v1beta/models/gemini-embedding-001:batchEmbedContents").status == 200);
    CHECK(call(m, "GET", "/v1beta/models").status == 200);
    m.stop();
    auto rows = m.rows();
    REQUIRE(rows.size() == 4);
    for (std::size_t i = 0; i < rows.size(); ++i) {
        INFO("row " << i << " " << rows[i].gemini_method);
        CHECK(rows[i].source != usage_source::response);
        CHECK(rows[i].tokens.total == 0);
        CHECK(rows[i].success);
    }
    CHECK(rows[0].gemini_method == "countTokens");
    CHECK(rows[1].gemini_method == "embedContent");
    CHECK(rows[1].model == "gemini-embedding-001");
}

TEST_CASE("the OpenAI-compatible endpoint: model from the request body, usage from the usage object") {
    meter_process m;
    const std::string chat = R"({"model":"models/gemini-2.5-flash","messages":[{"role":"user","content":"hi"}]})";
    auto plain = call(m, "POST", "/v1beta/openai/chat/completions", {}, chat);
    REQUIRE(plain.status == 200);
    const std::string chat_stream =
        R"({"model":"gemini-2.5-flash","stream":true,"messages":[{"role":"user","content":"hi"}]})";
    auto streamed = call(m, "POST", "/v1beta/openai/chat/completions", {}, chat_stream);
    REQUIRE(streamed.status == 200);
    m.stop();
    auto rows = m.rows();
    REQUIRE(rows.size() == 2);
    for (std::size_t i = 0; i < 2; ++i) {
        const auto& text = i == 0 ? plain.body : streamed.body;
        INFO("row " << i);
        CHECK(rows[i].model == "gemini-2.5-flash");
        CHECK(rows[i].source == usage_source::response);
        CHECK(rows[i].tokens.prompt == json_int(text, "prompt_tokens"));
        CHECK(rows[i].tokens.candidates + rows[i].tokens.thoughts ==
              json_int(text, "total_tokens") - json_int(text, "prompt_tokens"));
        CHECK(rows[i].priced);
    }
    CHECK_FALSE(rows[0].streamed);
    CHECK(rows[1].streamed);
}

TEST_CASE("every ending of a call is a row") {
    SECTION("Google error: status and Google's message") {
        meter_process m;
        auto res = call(m, "POST", "/v1beta/models/gemini-2.5-flash:generateContent", {{"x-fake-status", "429"}});
        REQUIRE(res.status == 429);
        m.stop();
        auto rows = m.rows();
        REQUIRE(rows.size() == 1);
        CHECK_FALSE(rows[0].success);
        CHECK(rows[0].http_status == 429);
        CHECK(rows[0].cost_pico_usd == 0);
        CHECK_FALSE(rows[0].error_message.empty());
        CHECK(res.body.find(rows[0].error_message) != std::string::npos);
    }
    SECTION("upstream unreachable") {
        unsigned short port;
        {
            boost::asio::io_context ioc;
            boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
            port = a.local_endpoint().port();
        }
        meter_process m({}, "http://127.0.0.1:" + std::to_string(port));
        CHECK(call(m, "POST", "/v1beta/models/gemini-2.5-flash:generateContent").status == 502);
        m.stop();
        auto rows = m.rows();
        REQUIRE(rows.size() == 1);
        CHECK(rows[0].ending == call_ending::upstream_unreachable);
        CHECK(rows[0].http_status == 502);
        CHECK(rows[0].model == "gemini-2.5-flash");
    }
    SECTION("upstream timed out") {
        meter_process m({"--first-byte-timeout", "300ms"});
        CHECK(call(m, "POST", "/v1beta/models/gemini-2.5-flash:generateContent", {{"x-fake-delay-ms", "3000"}}).status ==
              504);
        m.stop();
        auto rows = m.rows();
        REQUIRE(rows.size() == 1);
        CHECK(rows[0].ending == call_ending::upstream_timeout);
        CHECK(rows[0].http_status == 504);
    }
    SECTION("client gone mid-stream: the usage seen so far, marked partial") {
        meter_process m;
        auto c = m.connect();
        c->send(raw_http_client::make_request("POST", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
                                              {{"Content-Type", "application/json"},
                                               {"x-fake-events", "50"},
                                               {"x-fake-event-delay-ms", "50"}},
                                              body));
        int pieces = 0;
        c->read_response_streaming([&](const body_piece&) { return ++pieces < 3; });
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        m.stop();
        auto rows = m.rows();
        REQUIRE(rows.size() == 1);
        CHECK(rows[0].ending == call_ending::client_gone);
        CHECK(rows[0].partial);
        CHECK(rows[0].tokens.prompt > 0);
        CHECK_FALSE(rows[0].success);
    }
    SECTION("upstream broken mid-stream: the usage seen so far, marked partial") {
        meter_process m;
        auto res = call(m, "POST", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
                        {{"x-fake-events", "10"}, {"x-fake-truncate-after", "1500"}});
        CHECK_FALSE(res.complete);
        m.stop();
        auto rows = m.rows();
        REQUIRE(rows.size() == 1);
        CHECK(rows[0].ending == call_ending::upstream_broken);
        CHECK(rows[0].partial);
        CHECK(rows[0].tokens.prompt > 0);
    }
}

TEST_CASE("bad usage in the response: the app gets the bytes unchanged, the row says what was wrong") {
    meter_process m;
    const std::vector<header_list> cases{
        {{"x-fake-malformed", "1"}},
        {{"x-fake-no-usage", "1"}},
        {{"x-fake-usage", R"({"promptTokenCount":-5,"candidatesTokenCount":3})"}},
        {{"x-fake-usage", R"({"promptTokenCount":1.5,"candidatesTokenCount":3})"}},
        {{"x-fake-usage", R"({"promptTokenCount":99999999999999999999999,"candidatesTokenCount":3})"}},
        {{"x-fake-usage", R"({"promptTokenCount":5,"promptTokenCount":7})"}},
        {{"x-fake-usage", R"({"promptTokenCount":5,"x":)" + std::string(200, '[') + std::string(200, ']') + "}"}},
    };
    std::size_t n = 0;
    for (const auto& h : cases) {
        auto res = call(m, "POST", "/v1beta/models/gemini-2.5-flash:generateContent", h);
        CHECK(res.status == 200);
        ++n;
        for (int i = 0; i < 500 && m.fake->sent().size() < n; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        CHECK(res.body == m.fake->sent().back().body);
    }
    m.stop();
    auto rows = m.rows();
    REQUIRE(rows.size() == cases.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
        INFO("case " << i);
        CHECK_FALSE(rows[i].problems.empty());
        // Nothing invented: a rejected usage leaves no made-up prompt count behind.
        CHECK(rows[i].tokens.prompt != -5);
        CHECK(rows[i].tokens.prompt != 1);
    }
}

TEST_CASE("the API key never reaches the log, the database or the journal") {
    const std::string key = "AIzaSyTESTKEY-never-stored-0123456789";
    meter_process m;
    CHECK(call(m, "POST", "/v1beta/models/gemini-2.5-flash:generateContent?key=" + key, {{"x-goog-api-key", key}})
              .status == 200);
    CHECK(call(m, "POST", "/v1beta/models/gemini-2.5-flash:generateContent", {{"x-fake-status", "403"},
                                                                                {"x-goog-api-key", key}})
              .status == 403);
    m.stop();
    for (const auto& line : m.proc->stdout_lines())
        CHECK(line.find(key) == std::string::npos);
    for (const auto& line : m.proc->stderr_lines())
        CHECK(line.find(key) == std::string::npos);
    for (const auto& entry : std::filesystem::directory_iterator(m.dir.path())) {
        std::ifstream f(entry.path(), std::ios::binary);
        const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        INFO(entry.path());
        CHECK(bytes.find(key) == std::string::npos);
    }
    // The upstream did get it, unchanged.
    CHECK(m.fake->received().front().target.find(key) != std::string::npos);
}

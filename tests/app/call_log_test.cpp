#include "app/call_log.hpp"

#include <catch2/catch.hpp>
#include <rapidjson/document.h>

using namespace gm;

TEST_CASE("a call line is one JSON object with the call's facts and no query string") {
    metering::usage_record r;
    r.id = "01abc";
    r.created_at_ms = 1'700'000'000'123;
    r.http_method = "POST";
    r.path = "/v1beta/models/gemini-2.5-flash:generateContent";
    r.http_status = 200;
    r.duration_ms = 42;
    r.request_bytes = 10;
    r.response_bytes = 20;
    r.endpoint = "chat";
    r.model = "gemini-2.5-flash";
    r.tokens.prompt = 5;
    r.tokens.candidates = 7;
    r.cost_pico_usd = 123;
    const auto line = app::format_call_line(r, app::log_format::json);
    REQUIRE(line.back() == '\n');
    CHECK(line.find('\n') == line.size() - 1);
    rapidjson::Document d;
    d.Parse(line.c_str());
    REQUIRE_FALSE(d.HasParseError());
    CHECK(std::string(d["ts"].GetString()) == "2023-11-14T22:13:20.123Z");
    CHECK(std::string(d["method"].GetString()) == "POST");
    CHECK(std::string(d["path"].GetString()) == r.path);
    CHECK(d["status"].GetInt() == 200);
    CHECK(d["durationMs"].GetInt() == 42);
    CHECK(d["requestBytes"].GetInt() == 10);
    CHECK(d["responseBytes"].GetInt() == 20);
    CHECK(d["inputTokens"].GetInt() == 5);
    CHECK(d["outputTokens"].GetInt() == 7);
}

TEST_CASE("text lines carry the same facts") {
    metering::usage_record r;
    r.http_method = "GET";
    r.path = "/v1beta/models";
    r.http_status = 502;
    r.ending = metering::call_ending::upstream_unreachable;
    const auto line = app::format_call_line(r, app::log_format::text);
    CHECK(line.find("GET /v1beta/models 502") != std::string::npos);
    CHECK(line.find("ending=upstream_unreachable") != std::string::npos);
}

TEST_CASE("strings with quotes, backslashes, control characters and UTF-8 survive the JSON line") {
    metering::usage_record r;
    r.http_method = "POST";
    r.path = "/v1beta/models/a\"b\\c:generateContent";
    r.endpoint = "caf\xc3\xa9 \xf0\x9f\x98\x80";
    r.user_id = std::string("tab\there\x01nul") + '\0' + "end";
    r.error_message = "line one\nline two\r\x1f\x7f";
    const auto line = app::format_call_line(r, app::log_format::json);
    REQUIRE(line.find('\n') == line.size() - 1);
    rapidjson::Document d;
    d.Parse(line.c_str(), line.size() - 1);
    REQUIRE_FALSE(d.HasParseError());
    CHECK(std::string(d["path"].GetString(), d["path"].GetStringLength()) == r.path);
    CHECK(std::string(d["endpoint"].GetString(), d["endpoint"].GetStringLength()) == r.endpoint);
    CHECK(std::string(d["userId"].GetString(), d["userId"].GetStringLength()) == r.user_id);
    CHECK(std::string(d["error"].GetString(), d["error"].GetStringLength()) == r.error_message);
    CHECK(line.find("\\u0001") != std::string::npos);
    CHECK(line.find("\\u0000") != std::string::npos);
}

TEST_CASE("event lines are JSON objects too") {
    const auto line = app::format_event_line("reload", "pricing \"v2\" loaded", app::log_format::json);
    rapidjson::Document d;
    d.Parse(line.c_str(), line.size() - 1);
    REQUIRE_FALSE(d.HasParseError());
    CHECK(std::string(d["event"].GetString()) == "reload");
    CHECK(std::string(d["message"].GetString()) == "pricing \"v2\" loaded");
    CHECK(std::string(d["ts"].GetString()).size() == 24);
}

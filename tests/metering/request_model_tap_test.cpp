#include "metering/request_model_tap.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace gm::metering;

TEST_CASE("request_model_tap finds the model and stream flag at every split") {
    const std::string body =
        R"({"messages": [{"role": "user", "content": "use \"model\": \"x\" please", "model": "nested"}],)"
        R"( "model": "models/gemini-2.5-flash", "stream": true, "stream_options": {"include_usage": true}})";
    for (std::size_t cut = 0; cut <= body.size(); ++cut) {
        INFO("cut at " << cut);
        request_model_tap tap;
        tap.feed(std::string_view(body).substr(0, cut));
        tap.feed(std::string_view(body).substr(cut));
        REQUIRE(tap.model().has_value());
        CHECK(*tap.model() == "gemini-2.5-flash");
        CHECK(tap.stream());
    }
}

TEST_CASE("request_model_tap: stream false or absent, no model") {
    request_model_tap a;
    a.feed(R"({"model": "gemini-2.5-pro", "stream": false})");
    CHECK(*a.model() == "gemini-2.5-pro");
    CHECK_FALSE(a.stream());
    request_model_tap b;
    b.feed(R"({"input": "text"})");
    CHECK_FALSE(b.model().has_value());
    CHECK_FALSE(b.stream());
}

TEST_CASE("request_model_tap reads only the first 64 KiB") {
    request_model_tap tap;
    tap.feed(R"({"messages": [{"content": ")");
    tap.feed(std::string(70 * 1024, 'x'));
    tap.feed(R"("}], "model": "late"})");
    CHECK_FALSE(tap.model().has_value());
}

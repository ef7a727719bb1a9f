#include "metering/json_scanner.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <string>
#include <vector>

using namespace gm::metering;

namespace {

struct collector : json_scan_handler {
    struct hit {
        std::size_t watch;
        json_value_kind kind;
        std::string raw;
    };
    std::vector<hit> hits;
    void on_value(std::size_t w, json_value_kind k, std::string_view raw) override {
        hits.push_back({w, k, std::string(raw)});
    }
};

constexpr std::array<json_watch, 4> watches{{
    {"usageMetadata", 0, 256},
    {"modelVersion", 0, 64},
    {"finishReason", 2, 64},
    {"flag", 0, 16},
}};

std::vector<collector::hit> scan_split(std::string_view text, std::size_t cut, std::uint32_t* flags = nullptr) {
    collector c;
    json_scanner s(watches, c);
    s.feed(text.substr(0, cut));
    s.feed(text.substr(cut));
    if (flags) *flags = s.flags();
    return c.hits;
}

}  // namespace

TEST_CASE("json_scanner finds top-level keys and ignores the same names deeper or inside strings") {
    const std::string text =
        R"({"candidates":[{"content":{"parts":[{"text":"say \"usageMetadata\": {1}","functionCall":{"args":{"usageMetadata":{"x":1}}}}]},"finishReason":"STOP"}],)"
        R"("usageMetadata":{"promptTokenCount":3,"nested":{"a":[1,2]}},"modelVersion":"gemini-2.5-flash","flag":true})";
    for (std::size_t cut = 0; cut <= text.size(); ++cut) {
        INFO("cut at " << cut);
        std::uint32_t flags = 0;
        auto hits = scan_split(text, cut, &flags);
        REQUIRE(hits.size() == 4);
        CHECK(hits[0].watch == 2);
        CHECK(hits[0].raw == "\"STOP\"");
        CHECK(hits[1].watch == 0);
        CHECK(hits[1].kind == json_value_kind::object);
        CHECK(hits[1].raw == R"({"promptTokenCount":3,"nested":{"a":[1,2]}})");
        CHECK(hits[2].raw == "\"gemini-2.5-flash\"");
        CHECK(hits[3].kind == json_value_kind::scalar);
        CHECK(hits[3].raw == "true");
        CHECK(flags == 0);
    }
}

TEST_CASE("json_scanner keeps track of backslash runs before quotes across chunk boundaries") {
    // The text value ends in two escaped backslashes, so its last quote is real; an
    // escaped quote follows a single backslash.
    const std::string text = R"({"text":"a\\\\","x":"b\"usageMetadata\":{}","modelVersion":"m"})";
    for (std::size_t cut = 0; cut <= text.size(); ++cut) {
        INFO("cut at " << cut);
        auto hits = scan_split(text, cut);
        REQUIRE(hits.size() == 1);
        CHECK(hits[0].watch == 1);
        CHECK(hits[0].raw == "\"m\"");
    }
}

TEST_CASE("json_scanner treats the elements of a root array as top-level objects") {
    const std::string text = "[{\"modelVersion\":\"a\"}\r\n,\n{\"modelVersion\":\"b\",\"inner\":{\"modelVersion\":\"c\"}}]";
    auto hits = scan_split(text, 5);
    REQUIRE(hits.size() == 2);
    CHECK(hits[0].raw == "\"a\"");
    CHECK(hits[1].raw == "\"b\"");
}

TEST_CASE("json_scanner reports a value larger than its cap without keeping it") {
    std::string text = R"({"usageMetadata":{"pad":")" + std::string(1000, 'x') + R"("},"modelVersion":"m"})";
    collector c;
    json_scanner s(watches, c);
    s.feed(text);
    REQUIRE(c.hits.size() == 2);
    CHECK(c.hits[0].kind == json_value_kind::too_large);
    CHECK(c.hits[0].raw.empty());
    CHECK(c.hits[1].raw == "\"m\"");
}

TEST_CASE("json_scanner flags structure problems and keeps going") {
    collector c;
    json_scanner s(watches, c);
    s.feed("}} <html>");
    CHECK((s.flags() & scan_unbalanced) != 0);
    CHECK((s.flags() & scan_not_json) != 0);
    s.feed(std::string(100, '['));
    CHECK((s.flags() & scan_too_deep) != 0);
    s.end_document();
    CHECK((s.flags() & scan_truncated) != 0);
    s.feed(R"({"modelVersion":"after"})");
    REQUIRE(c.hits.size() == 1);
    CHECK(c.hits[0].raw == "\"after\"");
    CHECK(s.complete());
}

TEST_CASE("json_scanner ignores long strings as keys and keys followed by no colon") {
    collector c;
    json_scanner s(watches, c);
    s.feed(R"({"a":"modelVersion","modelVersionXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX":"z"})");
    CHECK(c.hits.empty());
}

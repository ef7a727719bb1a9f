#include "metering/json_array_framer.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace gm::metering;

namespace {

struct recorder : json_array_handler {
    std::string all;  // outside bytes and elements, in order: must give back the input
    std::vector<std::string> elements;
    std::string outside;
    bool accept = true;
    std::size_t decline_at = static_cast<std::size_t>(-1);
    void on_outside(std::string_view b) override {
        outside += b;
        all += b;
    }
    bool on_element(std::string_view e) override {
        if (!accept || elements.size() == decline_at) return false;
        elements.emplace_back(e);
        all += e;
        return true;
    }
};

recorder split(std::string_view text, const std::vector<std::size_t>& cuts, std::size_t decline_at = -1) {
    recorder r;
    r.decline_at = decline_at;
    json_array_framer f(r);
    std::size_t pos = 0;
    for (auto c : cuts) {
        f.feed(text.substr(pos, c - pos));
        pos = c;
    }
    f.feed(text.substr(pos));
    f.finish();
    return r;
}

}  // namespace

TEST_CASE("json_array_framer yields each object element whole, however the bytes arrive") {
    const std::string text = "[{\"a\": \"}]\\\\\", \"b\": [{\"c\": \"\\\"{\"}]}\n,\r\n{\"d\": {}}\n, {\"e\": \"" +
                             std::string(150, 'x') + "\"}]";
    for (std::size_t cut = 0; cut <= text.size(); ++cut) {
        INFO("cut at " << cut);
        for (auto cuts : {std::vector<std::size_t>{cut}, std::vector<std::size_t>{cut / 2, cut}}) {
            auto r = split(text, cuts);
            REQUIRE(r.elements.size() == 3);
            CHECK(r.elements[0] == "{\"a\": \"}]\\\\\", \"b\": [{\"c\": \"\\\"{\"}]}");
            CHECK(r.elements[1] == "{\"d\": {}}");
            CHECK(r.elements[2].size() == 159);
            CHECK(r.outside == "[\n,\r\n\n, ]");
            CHECK(r.all == text);
        }
    }
    std::vector<std::size_t> every;
    for (std::size_t k = 1; k < text.size(); ++k) every.push_back(k);
    auto r = split(text, every);
    CHECK(r.elements.size() == 3);
    CHECK(r.all == text);
}

TEST_CASE("json_array_framer hands everything on from the first thing it does not split") {
    SECTION("not an array") {
        auto r = split("{\"a\": [{\"b\": 1}]}", {3});
        CHECK(r.elements.empty());
        CHECK(r.outside == "{\"a\": [{\"b\": 1}]}");
    }
    SECTION("an element that is not an object") {
        auto r = split("[{\"a\": 1}, [{\"b\": 2}], {\"c\": 3}]", {});
        CHECK(r.elements == std::vector<std::string>{"{\"a\": 1}"});
        CHECK(r.outside == "[, [{\"b\": 2}], {\"c\": 3}]");
    }
    SECTION("an element the handler declines") {
        const std::string text = "[{\"a\": 1}, {\"b\": 2}, {\"c\": 3}]";
        for (std::size_t cut = 0; cut <= text.size(); ++cut) {
            auto r = split(text, {cut}, 1);
            CHECK(r.elements == std::vector<std::string>{"{\"a\": 1}"});
            CHECK(r.outside == "[, {\"b\": 2}, {\"c\": 3}]");
        }
    }
    SECTION("an element larger than max_element") {
        const std::string big = "{\"t\": \"" + std::string(json_array_framer::max_element, 'x') + "\"}";
        const std::string text = "[{\"a\": 1}," + big + ", {\"c\": 3}]";
        for (std::vector<std::size_t> cuts : {std::vector<std::size_t>{}, std::vector<std::size_t>{20, 40000}}) {
            auto r = split(text, cuts);
            CHECK(r.elements == std::vector<std::string>{"{\"a\": 1}"});
            CHECK(r.outside == "[," + big + ", {\"c\": 3}]");
        }
    }
    SECTION("an element cut short by the end of the body") {
        auto r = split("[{\"a\": 1}, {\"b\": [2", {12});
        CHECK(r.elements == std::vector<std::string>{"{\"a\": 1}"});
        CHECK(r.outside == "[, {\"b\": [2");
    }
}

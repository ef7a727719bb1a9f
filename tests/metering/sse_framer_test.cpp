#include "metering/sse_framer.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace gm::metering;

namespace {

struct events : sse_event_handler {
    std::string current;
    std::vector<std::string> data;
    std::vector<bool> done;
    void on_event_data(std::string_view piece) override { current += piece; }
    void on_event_end(bool is_done) override {
        data.push_back(current);
        done.push_back(is_done);
        current.clear();
    }
};

events frame(std::string_view text, std::size_t cut) {
    events e;
    sse_framer f(e);
    f.feed(text.substr(0, cut));
    f.feed(text.substr(cut));
    f.finish();
    return e;
}

}  // namespace

TEST_CASE("sse_framer yields each event's data for every separator style and split") {
    for (std::string sep : {"\n", "\r\n", "\r"}) {
        std::string text = ": comment" + sep + "event: message" + sep + "data: {\"a\":1}" + sep + sep +
                           "data:{\"b\":2}" + sep + "id: 7" + sep + sep + "data: [DONE]" + sep + sep;
        for (std::size_t cut = 0; cut <= text.size(); ++cut) {
            INFO("separator " << (sep == "\n" ? "LF" : sep == "\r\n" ? "CRLF" : "CR") << " cut at " << cut);
            auto e = frame(text, cut);
            REQUIRE(e.data.size() == 3);
            CHECK(e.data[0] == "{\"a\":1}");
            CHECK(e.data[1] == "{\"b\":2}");
            CHECK(e.data[2] == "[DONE]");
            CHECK(e.done == std::vector<bool>{false, false, true});
        }
    }
}

TEST_CASE("sse_framer joins multi-line data with newlines and dispatches an unterminated last event") {
    auto e = frame("data: {\"a\":\ndata:  1}\n\ndata: [DONE]x\n\ndata: {\"tail\":true}", 3);
    REQUIRE(e.data.size() == 3);
    CHECK(e.data[0] == "{\"a\":\n 1}");
    CHECK(e.done[1] == false);  // "[DONE]x" is not the end marker
    CHECK(e.data[2] == "{\"tail\":true}");
}

TEST_CASE("sse_framer ignores events without data and fields that only start like data") {
    auto e = frame("event: ping\n\ndatax: 1\n\n\n\ndata\n\n", 0);
    REQUIRE(e.data.size() == 1);
    CHECK(e.data[0].empty());
}

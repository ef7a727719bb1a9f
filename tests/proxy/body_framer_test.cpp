#include "proxy/body_framer.hpp"

#include <catch2/catch.hpp>
#include <string>

using gm::proxy::body_framer;

namespace {

struct outcome {
    std::string payload;
    std::size_t consumed = 0;
    body_framer::status state = body_framer::status::more;
};

// Feeds `raw` in two parts split at `cut`, the way bytes arrive from a socket.
outcome feed(body_framer f, const std::string& raw, std::size_t cut) {
    outcome o;
    auto sink = [&](std::string_view p) { o.payload.append(p); };
    o.consumed = f.consume(std::string_view(raw).substr(0, cut), sink);
    if (f.state() == body_framer::status::more)
        o.consumed += f.consume(std::string_view(raw).substr(cut), sink);
    o.state = f.state();
    return o;
}

}  // namespace

TEST_CASE("a chunked body is framed the same however the bytes are split") {
    const std::string raw = "7\r\ndata: {\r\n1a;ext=1\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: t\r\n\r\nNEXT";
    for (std::size_t cut = 0; cut <= raw.size(); ++cut) {
        INFO("cut at " << cut);
        auto o = feed(body_framer::chunked(), raw, cut);
        CHECK(o.state == body_framer::status::done);
        CHECK(o.payload == "data: {abcdefghijklmnopqrstuvwxyz");
        CHECK(o.consumed == raw.size() - 4);  // "NEXT" belongs to no message
    }
}

TEST_CASE("a Content-Length body ends after its length") {
    const std::string raw = "0123456789tail";
    for (std::size_t cut = 0; cut <= raw.size(); ++cut) {
        auto o = feed(body_framer::with_length(10), raw, cut);
        CHECK(o.state == body_framer::status::done);
        CHECK(o.payload == "0123456789");
        CHECK(o.consumed == 10);
    }
    CHECK(body_framer::with_length(0).done());
}

TEST_CASE("malformed chunk framing is reported, not relayed as if fine") {
    for (const std::string raw : {"zz\r\nabc\r\n", "3\r\nabcX\r\n", "3\nabc", "\r\n", "10000000000000000\r\n"}) {
        INFO(raw);
        body_framer f = body_framer::chunked();
        f.consume(raw, [](std::string_view) {});
        CHECK(f.state() == body_framer::status::bad);
    }
}

TEST_CASE("an end-of-connection body takes everything") {
    body_framer f = body_framer::until_eof();
    std::string got;
    CHECK(f.consume("abc", [&](std::string_view p) { got.append(p); }) == 3);
    CHECK(got == "abc");
    CHECK(f.state() == body_framer::status::more);
}

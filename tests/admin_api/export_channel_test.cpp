// The hand-over between the query thread that reads export rows and the I/O thread that
// writes them: order, the bound, the end, and a client going away while the producer waits.
#include "admin_api/export_channel.hpp"

#include <catch2/catch.hpp>

#include <future>

using gm::admin_api::export_channel;
using pop_result = export_channel::pop_result;

namespace {

// pop() may answer busy for an instant while the producer holds the lock; the session then
// asks again, and so does this.
pop_result pop_settled(export_channel& ch, std::string& out) {
    for (;;)
        if (auto r = ch.pop(out); r != pop_result::busy) return r;
}

}  // namespace

TEST_CASE("chunks come out in order, then done; a failed export ends failed") {
    export_channel ch(4);
    CHECK(ch.push("a"));
    CHECK(ch.push("b"));
    ch.finish(true);
    std::string out;
    CHECK(pop_settled(ch, out) == pop_result::chunk);
    CHECK(out == "a");
    CHECK(pop_settled(ch, out) == pop_result::chunk);
    CHECK(out == "b");
    CHECK(pop_settled(ch, out) == pop_result::done);

    export_channel bad(4);
    CHECK(pop_settled(bad, out) == pop_result::empty);
    bad.finish(false);
    CHECK(pop_settled(bad, out) == pop_result::failed);
}

TEST_CASE("a full channel holds the producer until a chunk is taken") {
    export_channel ch(1);
    CHECK(ch.push("first"));
    auto second = std::async(std::launch::async, [&] { return ch.push("second"); });
    std::string out;
    CHECK(pop_settled(ch, out) == pop_result::chunk);
    CHECK(out == "first");
    CHECK(second.get());
    CHECK(pop_settled(ch, out) == pop_result::chunk);
    CHECK(out == "second");
}

TEST_CASE("closing the channel releases a producer waiting for space, and refuses more") {
    export_channel ch(1);
    CHECK(ch.push("first"));
    auto blocked = std::async(std::launch::async, [&] { return ch.push("second"); });
    ch.close();
    CHECK_FALSE(blocked.get());
    CHECK_FALSE(ch.push("third"));
}

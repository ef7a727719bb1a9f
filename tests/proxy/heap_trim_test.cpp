#include "proxy/heap_trim.hpp"

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

TEST_CASE("the heap is trimmed once after buffers were dropped, when no more are dropped") {
    boost::asio::io_context ioc;
    gm::proxy::heap_trimmer trimmer(ioc);
    trimmer.note_release();
    trimmer.note_release();
    for (int i = 0; i < 500 && trimmer.trims() == 0; ++i)
        ioc.run_for(std::chrono::milliseconds(10));
    CHECK(trimmer.trims() == 1);
    // Nothing dropped since: no timer left, the context runs out of work.
    ioc.restart();
    ioc.run();
    CHECK(trimmer.trims() == 1);
}

// The query threads' way back to the I/O thread: every item runs once, on the thread that
// runs the io_context, one wake can carry many items, in the order one thread pushed them,
// and nothing runs after stop().
#include "admin_api/hand_back.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/executor_work_guard.hpp>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "support/eventually.hpp"

using gm::admin_api::hand_back;
using gm::test::eventually;

TEST_CASE("hand_back: items pushed from several threads each run once, on the I/O thread") {
    boost::asio::io_context ioc;
    auto work = boost::asio::make_work_guard(ioc);
    auto hb = std::make_shared<hand_back>(ioc);
    hb->start();
    std::thread io([&] { ioc.run(); });
    const auto io_id = io.get_id();

    constexpr int threads = 4, per_thread = 5000;
    std::vector<std::atomic<int>> ran(threads * per_thread);
    std::atomic<int> total{0}, elsewhere{0};
    std::vector<std::thread> pushers;
    for (int t = 0; t < threads; ++t)
        pushers.emplace_back([&, t] {
            for (int i = 0; i < per_thread; ++i)
                hb->push([&, k = t * per_thread + i] {
                    if (std::this_thread::get_id() != io_id) ++elsewhere;
                    ++ran[static_cast<std::size_t>(k)];
                    ++total;
                });
        });
    for (auto& p : pushers) p.join();
    REQUIRE(eventually([&] { return total.load() == threads * per_thread; }));
    for (auto& r : ran) CHECK(r.load() == 1);
    CHECK(elsewhere == 0);
    // At most one wake per item (items queued while a wake is outstanding go with it).
    CHECK(hb->wakes() >= 1);
    CHECK(hb->wakes() <= static_cast<std::uint64_t>(threads * per_thread));

    // Sequential pushes, each waited for: every one needs (and gets) a wake of its own.
    const auto before = hb->wakes();
    for (int i = 0; i < 10; ++i) {
        std::atomic<bool> done{false};
        hb->push([&] { done = true; });
        REQUIRE(eventually([&] { return done.load(); }));
    }
    CHECK(hb->wakes() - before == 10);

    hb->stop();
    std::atomic<bool> late{false};
    hb->push([&] { late = true; });
    work.reset();
    io.join();  // returns: stop() closed the eventfd, nothing else keeps the context busy
    CHECK_FALSE(late);
}

TEST_CASE("hand_back: items pushed by one thread run in the order it pushed them, many per wake") {
    boost::asio::io_context ioc;
    auto hb = std::make_shared<hand_back>(ioc);
    hb->start();
    // The I/O thread is not running yet: everything pushed now waits for one wake.
    std::vector<int> order;
    for (int i = 0; i < 1000; ++i) hb->push([&, i] { order.push_back(i); });
    ioc.run_one();
    REQUIRE(order.size() == 1000);
    for (int i = 0; i < 1000; ++i) CHECK(order[static_cast<std::size_t>(i)] == i);
    CHECK(hb->wakes() == 1);
    hb->stop();
    ioc.run();
}

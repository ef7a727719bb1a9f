// The retention thread: passes after the first delay and then every period, and a stop that
// ends a pass in progress (the pass sees the flag) and returns without waiting for the next.
#include "app/retention_job.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include "support/eventually.hpp"

using gm::app::retention_job;
using namespace std::chrono_literals;
using gm::test::eventually;

TEST_CASE("retention_job: a pass after the first delay, then one per period") {
    std::atomic<int> calls{0};
    retention_job job([&](const std::atomic<bool>&) { ++calls; }, 10ms, 20ms);
    CHECK(eventually([&] { return calls.load() >= 3; }));
    job.stop();
    const int after_stop = calls.load();
    std::this_thread::sleep_for(60ms);
    CHECK(calls.load() == after_stop);  // no pass after stop() returned
    CHECK(job.passes() == after_stop);
}

TEST_CASE("retention_job: stop() before the first delay runs no pass and does not wait for it") {
    std::atomic<int> calls{0};
    const auto start = std::chrono::steady_clock::now();
    {
        retention_job job([&](const std::atomic<bool>&) { ++calls; }, std::chrono::hours(1), std::chrono::hours(1));
        job.stop();
    }
    CHECK(calls.load() == 0);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::minutes(1));
}

TEST_CASE("retention_job: stop() during a pass raises the pass's flag and waits for it to end") {
    std::atomic<bool> in_pass{false}, saw_stop{false};
    retention_job job(
        [&](const std::atomic<bool>& stop) {
            in_pass = true;
            while (!stop.load()) std::this_thread::sleep_for(1ms);  // a long pass, batch after batch
            saw_stop = true;
        },
        1ms, std::chrono::hours(1));
    REQUIRE(eventually([&] { return in_pass.load(); }));
    job.stop();
    CHECK(saw_stop.load());  // stop() returned only after the pass had ended
    CHECK(job.passes() == 1);
}

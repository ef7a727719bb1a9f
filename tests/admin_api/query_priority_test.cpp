// The names --admin-priority takes, and what applying each does to a fresh thread; the CPU
// lists the query threads are kept on.
#include "admin_api/query_priority.hpp"

#include <catch2/catch.hpp>

#include <thread>

#include "support/thread_sched.hpp"

using namespace gm::admin_api;

TEST_CASE("idle, low and normal parse and print back; anything else is refused") {
    for (auto p : {query_priority::idle, query_priority::low, query_priority::normal})
        CHECK(parse_query_priority(to_string(p)) == p);
    CHECK_FALSE(parse_query_priority("IDLE"));
    CHECK_FALSE(parse_query_priority("realtime"));
    CHECK_FALSE(parse_query_priority(""));
}

TEST_CASE("applying a priority changes the calling thread only") {
    const auto main_before = gm::test::read_thread_sched(::gettid());
    gm::test::thread_sched seen;
    std::string error;
    std::thread([&] {
        error = apply_query_priority_to_this_thread(query_priority::idle);
        seen = gm::test::read_thread_sched(::gettid());
    }).join();
    const auto main_after = gm::test::read_thread_sched(::gettid());
    CHECK(main_after.policy == main_before.policy);
    CHECK(main_after.nice == main_before.nice);
    if (error.empty()) CHECK(seen.policy == SCHED_IDLE);
    else CHECK_THAT(error, Catch::Contains("SCHED_IDLE"));
}

TEST_CASE("cpus_without: the allowed CPUs in order, less the avoided ones; none left is empty") {
    CHECK(cpus_without({0, 1, 2, 3}, {1, 3}) == std::vector<int>{0, 2});
    CHECK(cpus_without({0, 1}, {}) == std::vector<int>{0, 1});
    CHECK(cpus_without({0, 1}, {5}) == std::vector<int>{0, 1});
    CHECK(cpus_without({2}, {2}).empty());
    CHECK(cpus_without({}, {0}).empty());
}

TEST_CASE("pin_this_thread restricts the calling thread only; an impossible CPU is refused") {
    const auto main_before = this_thread_cpus();
    REQUIRE_FALSE(main_before.empty());
    std::vector<int> seen;
    std::string error, bad;
    std::thread([&] {
        error = pin_this_thread({main_before.back()});
        seen = this_thread_cpus();
        bad = pin_this_thread({-1});
    }).join();
    CHECK(error.empty());
    CHECK(seen == std::vector<int>{main_before.back()});
    CHECK_THAT(bad, Catch::Contains("out of range"));
    CHECK(this_thread_cpus() == main_before);
}

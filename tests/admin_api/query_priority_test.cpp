// The names --admin-priority takes, and what applying each does to a fresh thread.
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

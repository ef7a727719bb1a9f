#include "admin_api/failure_limiter.hpp"

#include <catch2/catch.hpp>

using namespace gm::admin_api;

TEST_CASE("an address is blocked after max failures within the window, until they age out") {
    failure_limiter limiter(3, 60'000);
    const std::int64_t t0 = 1'000'000;
    CHECK(limiter.retry_after_s("10.0.0.1", t0) == 0);
    limiter.record_failure("10.0.0.1", t0);
    limiter.record_failure("10.0.0.1", t0 + 10'000);
    CHECK(limiter.retry_after_s("10.0.0.1", t0 + 10'000) == 0);
    limiter.record_failure("10.0.0.1", t0 + 20'000);
    CHECK(limiter.retry_after_s("10.0.0.1", t0 + 20'000) == 40);  // the first failure leaves at t0+60s
    CHECK(limiter.retry_after_s("10.0.0.2", t0 + 20'000) == 0);   // other addresses are not affected
    CHECK(limiter.retry_after_s("10.0.0.1", t0 + 59'500) == 1);
    CHECK(limiter.retry_after_s("10.0.0.1", t0 + 60'000) == 0);
    limiter.record_failure("10.0.0.1", t0 + 60'000);  // three within the window again
    CHECK(limiter.retry_after_s("10.0.0.1", t0 + 60'000) == 10);
}

TEST_CASE("the table of addresses stays bounded") {
    failure_limiter limiter(2, 60'000, 4);
    for (int i = 0; i < 100; ++i) limiter.record_failure("a" + std::to_string(i), i);
    limiter.record_failure("x", 200);
    limiter.record_failure("x", 201);
    CHECK(limiter.retry_after_s("x", 202) > 0);
}

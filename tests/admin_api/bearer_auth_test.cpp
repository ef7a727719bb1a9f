#include "admin_api/bearer_auth.hpp"

#include <catch2/catch.hpp>
#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

using namespace gm::admin_api;

TEST_CASE("bearer_auth accepts any configured token and nothing else") {
    bearer_auth auth({"old-token", "new-token"});
    CHECK(auth.configured());
    CHECK(auth.check("Bearer old-token") == auth_result::ok);
    CHECK(auth.check("Bearer new-token") == auth_result::ok);
    CHECK(auth.check("bearer new-token") == auth_result::ok);  // scheme is case-insensitive
    CHECK(auth.check("Bearer  new-token ") == auth_result::ok);
    CHECK(auth.check("Bearer new-token2") == auth_result::wrong);
    CHECK(auth.check("Bearer new-toke") == auth_result::wrong);
    CHECK(auth.check("Bearer NEW-TOKEN") == auth_result::wrong);  // tokens are case-sensitive
    CHECK(auth.check("") == auth_result::missing);
    CHECK(auth.check("Basic bmV3LXRva2Vu") == auth_result::malformed);
    CHECK(auth.check("Bearer") == auth_result::malformed);
    CHECK(auth.check("Bearer ") == auth_result::malformed);
    CHECK(auth.check("new-token") == auth_result::malformed);
}

TEST_CASE("bearer_auth without tokens says so instead of accepting") {
    bearer_auth auth({});
    CHECK_FALSE(auth.configured());
    CHECK(auth.check("Bearer anything") == auth_result::not_configured);
    CHECK(auth.check("") == auth_result::not_configured);
}

TEST_CASE("bearer_auth replace: the new set from the next check on; an empty set is refused and the old kept") {
    bearer_auth auth({"old-token"});
    auth.replace({"new-token", ""});
    CHECK(auth.check("Bearer new-token") == auth_result::ok);
    CHECK(auth.check("Bearer old-token") == auth_result::wrong);
    CHECK_THROWS_AS(auth.replace({}), std::invalid_argument);
    CHECK_THROWS_AS(auth.replace({""}), std::invalid_argument);
    CHECK(auth.check("Bearer new-token") == auth_result::ok);
    // Not configured at start, configured by a replace.
    bearer_auth later({});
    later.replace({"first-token"});
    CHECK(later.configured());
    CHECK(later.check("Bearer first-token") == auth_result::ok);
}

TEST_CASE("bearer_auth replace while other threads check: every check sees one whole set") {
    bearer_auth auth({"token-a", "token-b"});
    std::atomic<bool> stop{false};
    std::atomic<long> bad{0}, checks{0};
    std::vector<std::thread> checkers;
    for (int i = 0; i < 2; ++i)
        checkers.emplace_back([&] {
            while (!stop) {
                // token-a is in every set swapped in: a check that raced a swap still saw
                // a whole set, never an empty or half-built one.
                if (auth.check("Bearer token-a") != auth_result::ok) ++bad;
                ++checks;
            }
        });
    for (int i = 0; i < 20000; ++i) auth.replace({"token-a", i % 2 ? "token-b" : "token-c"});
    stop = true;
    for (auto& t : checkers) t.join();
    CHECK(bad == 0);
    CHECK(checks > 0);
    // The last set swapped in (i = 19999): token-a and token-b.
    CHECK(auth.check("Bearer token-b") == auth_result::ok);
    CHECK(auth.check("Bearer token-c") == auth_result::wrong);
}

#include "admin_api/bearer_auth.hpp"

#include <catch2/catch.hpp>

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

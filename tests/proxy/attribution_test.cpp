#include "proxy/attribution.hpp"

#include <catch2/catch.hpp>

using gm::metering::usage_record;

TEST_CASE("attribution headers are read into the record and removed") {
    gm::proxy::header_fields f;
    f.insert("X-Meter-User-Id", "u-42");
    f.insert("x-meter-user-email", "a@example.com");
    f.insert("X-Meter-Endpoint", "chat");
    f.insert("X-Meter-Bot-Id", "g-socratic");
    f.insert("X-Meter-Tag-Campaign", "spring");
    f.insert("x-goog-api-key", "secret");
    f.insert("Content-Type", "application/json");
    usage_record r;
    gm::proxy::take_attribution(f, r);
    CHECK(r.user_id == "u-42");
    CHECK(r.user_email == "a@example.com");
    CHECK(r.endpoint == "chat");
    CHECK(r.bot_id == "g-socratic");
    CHECK_FALSE(r.is_guest);
    REQUIRE(r.tags.size() == 1);
    CHECK(r.tags[0].first == "campaign");
    CHECK(r.tags[0].second == "spring");
    std::size_t remaining = 0;
    for (const auto& field : f) {
        CHECK(std::string(field.name_string).rfind("X-Meter", 0) != 0);
        ++remaining;
    }
    CHECK(remaining == 2);
}

TEST_CASE("a call without a user id is a guest call unless X-Meter-Guest says otherwise") {
    gm::proxy::header_fields f;
    usage_record r;
    gm::proxy::take_attribution(f, r);
    CHECK(r.is_guest);

    gm::proxy::header_fields g;
    g.insert("X-Meter-Guest", "false");
    usage_record r2;
    gm::proxy::take_attribution(g, r2);
    CHECK_FALSE(r2.is_guest);

    gm::proxy::header_fields h;
    h.insert("X-Meter-User-Id", "u1");
    h.insert("X-Meter-Guest", "true");
    usage_record r3;
    gm::proxy::take_attribution(h, r3);
    CHECK(r3.is_guest);
}

TEST_CASE("attribution values are bounded") {
    gm::proxy::header_fields f;
    f.insert("X-Meter-User-Id", std::string(5000, 'x'));
    usage_record r;
    gm::proxy::take_attribution(f, r);
    CHECK(r.user_id.size() == 512);
}

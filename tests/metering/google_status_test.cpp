#include "metering/google_status.hpp"

#include <catch2/catch.hpp>

using gm::metering::google_status_name;

TEST_CASE("google_status_name maps HTTP codes to Google's canonical statuses") {
    CHECK(google_status_name(400) == "INVALID_ARGUMENT");
    CHECK(google_status_name(401) == "UNAUTHENTICATED");
    CHECK(google_status_name(403) == "PERMISSION_DENIED");
    CHECK(google_status_name(404) == "NOT_FOUND");
    CHECK(google_status_name(429) == "RESOURCE_EXHAUSTED");
    CHECK(google_status_name(499) == "CANCELLED");
    CHECK(google_status_name(500) == "INTERNAL");
    CHECK(google_status_name(503) == "UNAVAILABLE");
    CHECK(google_status_name(504) == "DEADLINE_EXCEEDED");
    // Codes without a canonical name fall into the nearest class.
    CHECK(google_status_name(418) == "FAILED_PRECONDITION");
    CHECK(google_status_name(502) == "INTERNAL");
}

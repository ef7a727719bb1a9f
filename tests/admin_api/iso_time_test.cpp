#include "admin_api/iso_time.hpp"

#include <catch2/catch.hpp>

using namespace gm::admin_api;

TEST_CASE("parse_iso_time reads dates as midnight UTC and marks them date-only") {
    auto t = parse_iso_time("2024-11-06");
    REQUIRE(t);
    CHECK(t->ms == 1730851200000);
    CHECK(t->date_only);
}

TEST_CASE("parse_iso_time reads date-times with and without zone") {
    CHECK(parse_iso_time("2024-11-06T10:30:00Z")->ms == 1730889000000);
    CHECK(parse_iso_time("2024-11-06T10:30:00")->ms == 1730889000000);
    CHECK(parse_iso_time("2024-11-06T10:30")->ms == 1730889000000);
    CHECK(parse_iso_time("2024-11-06 10:30:00Z")->ms == 1730889000000);
    CHECK(parse_iso_time("2024-11-06T10:30:00.123Z")->ms == 1730889000123);
    CHECK(parse_iso_time("2024-11-06T10:30:00.1234567Z")->ms == 1730889000123);
    CHECK(parse_iso_time("2024-11-06T12:30:00+02:00")->ms == 1730889000000);
    CHECK(parse_iso_time("2024-11-06T05:30:00-05:00")->ms == 1730889000000);
    CHECK_FALSE(parse_iso_time("2024-11-06T10:30:00Z")->date_only);
}

TEST_CASE("parse_iso_time rejects what is not a real instant") {
    for (const char* bad : {"", "yesterday", "2024-13-01", "2024-02-30", "2023-02-29", "2024-11-6", "2024-11-06T24:00",
                            "2024-11-06T10:61", "2024-11-06T10:30:00.", "2024-11-06T10:30:00Q", "2024-11-06T",
                            "1969-12-31", "2024-11-06T10:30:00+0200", "12345", "2024-11-06 "}) {
        INFO(bad);
        CHECK_FALSE(parse_iso_time(bad));
    }
    CHECK(parse_iso_time("2024-02-29"));
}

TEST_CASE("format_iso_ms matches JavaScript's toISOString") {
    CHECK(format_iso_ms(0) == "1970-01-01T00:00:00.000Z");
    CHECK(format_iso_ms(1730889000123) == "2024-11-06T10:30:00.123Z");
    CHECK(format_iso_date(1730889000123) == "2024-11-06");
}

TEST_CASE("day and month starts") {
    CHECK(day_start_ms(1730889000123) == 1730851200000);
    CHECK(format_iso_ms(month_start_ms(1730889000123)) == "2024-11-01T00:00:00.000Z");
    CHECK(format_iso_ms(month_start_ms(1730889000123, -1)) == "2024-10-01T00:00:00.000Z");
    CHECK(format_iso_ms(month_start_ms(*&parse_iso_time("2024-01-15")->ms, -1)) == "2023-12-01T00:00:00.000Z");
    CHECK(format_iso_ms(month_start_ms(*&parse_iso_time("2024-12-15")->ms, 1)) == "2025-01-01T00:00:00.000Z");
}

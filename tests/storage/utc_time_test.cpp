#include "storage/utc_time.hpp"

#include <catch2/catch.hpp>

using namespace gm::storage;

TEST_CASE("utc_time: day numbers floor at midnight UTC", "[utc_time]") {
    CHECK(utc_day(0) == 0);
    CHECK(utc_day(ms_per_day - 1) == 0);
    CHECK(utc_day(ms_per_day) == 1);
    CHECK(utc_day(-1) == -1);
    CHECK(utc_day(-ms_per_day) == -1);
    CHECK(utc_day(-ms_per_day - 1) == -2);
}

TEST_CASE("utc_time: ISO text round-trips with milliseconds", "[utc_time]") {
    CHECK(format_iso_ms(0) == "1970-01-01T00:00:00.000Z");
    const std::int64_t ms = 1730889000123;  // 2024-11-06T10:30:00.123Z
    CHECK(format_iso_ms(ms) == "2024-11-06T10:30:00.123Z");
    CHECK(parse_iso_ms("2024-11-06T10:30:00.123Z") == ms);
    CHECK(parse_iso_ms("2024-11-06 10:30:00.123") == ms);
    CHECK(parse_iso_ms("2024-11-06T10:30:00.1234+00:00") == ms);
    CHECK(parse_iso_ms("2024-11-06T10:30:00Z") == ms - 123);
    CHECK(parse_iso_ms("2024-11-06") == ms - (10 * 3600 + 30 * 60) * 1000LL - 123);
    CHECK(format_date(utc_day(ms)) == "2024-11-06");
    CHECK(format_iso_ms(*parse_iso_ms("2024-02-29T23:59:59.999Z")) == "2024-02-29T23:59:59.999Z");
    CHECK(format_date(utc_day(*parse_iso_ms("2000-03-01"))) == "2000-03-01");
}

TEST_CASE("utc_time: malformed text is rejected", "[utc_time]") {
    CHECK_FALSE(parse_iso_ms(""));
    CHECK_FALSE(parse_iso_ms("2024-13-01"));
    CHECK_FALSE(parse_iso_ms("2024-11-06T25:00:00Z"));
    CHECK_FALSE(parse_iso_ms("2024-11-06T10:30:00+02:00"));
    CHECK_FALSE(parse_iso_ms("2024-11-06T10:30"));
    CHECK_FALSE(parse_iso_ms("yesterday"));
}

TEST_CASE("utc_time: months since 1970 and their first days", "[utc_time]") {
    CHECK(utc_month(0) == 0);
    CHECK(utc_month(utc_day(*parse_iso_ms("2024-11-30T23:59:59.999Z"))) == 658);
    CHECK(utc_month(utc_day(*parse_iso_ms("2024-12-01T00:00:00Z"))) == 659);
    CHECK(month_first_day(658) == utc_day(*parse_iso_ms("2024-11-01")));
    CHECK(month_first_day(utc_month(utc_day(*parse_iso_ms("2024-02-29")))) == utc_day(*parse_iso_ms("2024-02-01")));
    CHECK(utc_month(-1) == -1);
    CHECK(month_first_day(-1) == utc_day(*parse_iso_ms("1969-12-01")));
}

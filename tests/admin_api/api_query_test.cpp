#include "admin_api/api_query.hpp"

#include <catch2/catch.hpp>

#include "admin_api/iso_time.hpp"

using namespace gm::admin_api;

namespace {

const std::int64_t now = 1730889000000;  // 2024-11-06T10:30:00Z
const std::int64_t day = 86'400'000;

std::variant<api_query, param_error> parse(route_id r, query_params p, int max_days = 400) {
    return parse_api_query(r, p, {max_days}, now);
}

param_error error_of(route_id r, query_params p, int max_days = 400) {
    auto v = parse(r, std::move(p), max_days);
    REQUIRE(std::holds_alternative<param_error>(v));
    return std::get<param_error>(v);
}

api_query query_of(route_id r, query_params p) {
    auto v = parse(r, std::move(p));
    if (auto* e = std::get_if<param_error>(&v)) FAIL(e->parameter << ": " << e->message);
    return std::get<api_query>(v);
}

std::int64_t ms(const char* iso) { return parse_iso_time(iso)->ms; }

}  // namespace

TEST_CASE("defaults: the last 30 days up to now, limit 10 for top users and 50 for recent") {
    auto q = query_of(route_id::stats, {});
    CHECK(q.range.end_ms == now);
    CHECK(q.range.start_ms == now - 30 * day);
    CHECK(q.filter.empty());
    CHECK(query_of(route_id::top_users, {}).limit == 10);
    CHECK(query_of(route_id::recent, {}).limit == 50);
    CHECK_FALSE(query_of(route_id::recent, {}).before);
}

TEST_CASE("a date-only endDate includes that whole day; a date-time endDate is exact") {
    auto q = query_of(route_id::daily, {{"startDate", "2024-11-01"}, {"endDate", "2024-11-03"}});
    CHECK(q.range.start_ms == ms("2024-11-01"));
    CHECK(q.range.end_ms == ms("2024-11-04"));
    q = query_of(route_id::daily, {{"startDate", "2024-11-01T06:00:00Z"}, {"endDate", "2024-11-03T12:00:00Z"}});
    CHECK(q.range.start_ms == ms("2024-11-01T06:00:00Z"));
    CHECK(q.range.end_ms == ms("2024-11-03T12:00:00Z"));
}

TEST_CASE("only startDate: up to now; only endDate: the 30 days before it") {
    auto q = query_of(route_id::stats, {{"startDate", "2024-11-01"}});
    CHECK(q.range.start_ms == ms("2024-11-01"));
    CHECK(q.range.end_ms == now);
    q = query_of(route_id::stats, {{"endDate", "2024-10-31"}});
    CHECK(q.range.end_ms == ms("2024-11-01"));
    CHECK(q.range.start_ms == ms("2024-11-01") - 30 * day);
}

TEST_CASE("filters are read into the storage filter") {
    auto q = query_of(route_id::stats, {{"model", "gemini-2.5-flash"}, {"endpoint", "chat"}, {"botId", "g-socratic"},
                                        {"userId", "u1"}, {"guest", "false"}, {"tag", "team=core"}});
    CHECK(q.filter.model == "gemini-2.5-flash");
    CHECK(q.filter.endpoint == "chat");
    CHECK(q.filter.bot_id == "g-socratic");
    CHECK(q.filter.user_id == "u1");
    CHECK(q.filter.guest == false);
    CHECK(q.filter.tag == "team=core");
    CHECK(query_of(route_id::recent, {{"guest", "true"}}).filter.guest == true);
}

TEST_CASE("bad input names the parameter and what is allowed") {
    auto e = error_of(route_id::stats, {{"startDate", "2024-13-01"}});
    CHECK(e.parameter == "startDate");
    CHECK(e.allowed.find("YYYY-MM-DD") != std::string::npos);

    e = error_of(route_id::stats, {{"endDate", "tomorrow"}});
    CHECK(e.parameter == "endDate");

    e = error_of(route_id::stats, {{"startDate", "2024-11-05"}, {"endDate", "2024-11-01"}});
    CHECK(e.parameter == "endDate");
    CHECK(e.message == "endDate must be after startDate");

    e = error_of(route_id::stats, {{"startDate", "2024-11-05T10:00:00Z"}, {"endDate", "2024-11-05T10:00:00Z"}});
    CHECK(e.parameter == "endDate");

    e = error_of(route_id::daily, {{"startDate", "2023-01-01"}, {"endDate", "2024-11-01"}});
    CHECK(e.parameter == "endDate");
    CHECK(e.allowed == "a range of at most 400 days");
    CHECK(std::holds_alternative<api_query>(parse(route_id::daily, {{"startDate", "2024-01-01"}, {"endDate", "2024-01-10"}}, 10)));
    CHECK(std::holds_alternative<param_error>(parse(route_id::daily, {{"startDate", "2024-01-01"}, {"endDate", "2024-01-11"}}, 10)));

    for (const char* bad : {"0", "1001", "-1", "abc", "", "10x", "1e3", "99999999999"}) {
        INFO(bad);
        e = error_of(route_id::top_users, {{"limit", bad}});
        CHECK(e.parameter == "limit");
        CHECK(e.allowed == "an integer in 1..1000");
    }
    CHECK(query_of(route_id::recent, {{"limit", "1000"}}).limit == 1000);
    CHECK(query_of(route_id::recent, {{"limit", "1"}}).limit == 1);

    e = error_of(route_id::stats, {{"colour", "blue"}});
    CHECK(e.parameter == "colour");
    CHECK(e.message == "unknown parameter 'colour'");
    CHECK(e.allowed.find("startDate") != std::string::npos);

    e = error_of(route_id::stats, {{"limit", "5"}});  // stats takes no limit
    CHECK(e.parameter == "limit");
    e = error_of(route_id::recent, {{"startDate", "2024-11-01"}});  // recent pages by cursor, not dates
    CHECK(e.parameter == "startDate");
    e = error_of(route_id::pricing, {{"model", "x"}});
    CHECK(e.allowed == "no parameters");

    e = error_of(route_id::export_csv, {{"format", "xlsx"}});
    CHECK(e.parameter == "format");
    CHECK(e.allowed == "csv");

    e = error_of(route_id::stats, {{"guest", "yes"}});
    CHECK(e.parameter == "guest");
    CHECK(e.allowed == "true, false");

    CHECK(query_of(route_id::stats, {{"tag", "team"}}).filter.tag == "team");  // any value of the tag
    e = error_of(route_id::stats, {{"tag", ""}});
    CHECK(e.parameter == "tag");
    e = error_of(route_id::stats, {{"tag", "=x"}});
    CHECK(e.parameter == "tag");

    e = error_of(route_id::stats, {{"model", ""}});
    CHECK(e.parameter == "model");

    e = error_of(route_id::stats, {{"model", "a"}, {"model", "b"}});
    CHECK(e.parameter == "model");
    CHECK(e.message.find("more than once") != std::string::npos);

    e = error_of(route_id::recent, {{"before", "not a cursor!"}});
    CHECK(e.parameter == "before");
}

TEST_CASE("export accepts any range and csv") {
    auto q = query_of(route_id::export_csv, {{"format", "csv"}, {"startDate", "2020-01-01"}, {"endDate", "2024-11-01"}});
    CHECK(q.range.start_ms == ms("2020-01-01"));
}

TEST_CASE("compare defaults to this month so far against the whole of last month") {
    auto q = query_of(route_id::compare, {});
    CHECK(q.range.start_ms == ms("2024-11-01"));
    CHECK(q.range.end_ms == now);
    CHECK(q.baseline.start_ms == ms("2024-10-01"));
    CHECK(q.baseline.end_ms == ms("2024-11-01"));
}

TEST_CASE("compare: a given range is compared with the same length just before it, or with a given baseline") {
    auto q = query_of(route_id::compare, {{"startDate", "2024-11-01"}, {"endDate", "2024-11-07"}});
    CHECK(q.range.start_ms == ms("2024-11-01"));
    CHECK(q.range.end_ms == ms("2024-11-08"));
    CHECK(q.baseline.start_ms == ms("2024-10-25"));
    CHECK(q.baseline.end_ms == ms("2024-11-01"));
    q = query_of(route_id::compare, {{"startDate", "2024-11-01"}, {"endDate", "2024-11-07"},
                                     {"baselineStartDate", "2024-01-01"}, {"baselineEndDate", "2024-01-31"}});
    CHECK(q.baseline.start_ms == ms("2024-01-01"));
    CHECK(q.baseline.end_ms == ms("2024-02-01"));
    auto e = error_of(route_id::compare, {{"baselineStartDate", "2024-01-01"}});
    CHECK(e.parameter == "baselineEndDate");
}

TEST_CASE("cursors round-trip and reject tampering") {
    gm::storage::recent_cursor c{1730889000123, "01JC5ABCDEF"};
    auto text = encode_cursor(c);
    CHECK(text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == std::string::npos);
    auto back = decode_cursor(text);
    REQUIRE(back);
    CHECK(back->created_at_ms == c.created_at_ms);
    CHECK(back->id == c.id);
    CHECK_FALSE(decode_cursor(""));
    CHECK_FALSE(decode_cursor("abc$"));
    CHECK_FALSE(decode_cursor("eA"));  // "x": no separator
    auto q = query_of(route_id::recent, {{"before", text}});
    REQUIRE(q.before);
    CHECK(q.before->id == c.id);
}

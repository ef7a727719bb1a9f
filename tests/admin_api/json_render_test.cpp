#include "admin_api/json_render.hpp"

#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include "admin_api/api_query.hpp"
#include "admin_api/iso_time.hpp"
#include "support/parse_json.hpp"

using namespace gm::admin_api;
using gm::storage::usage_totals;

using gm::test::parse_json;

namespace {

usage_totals totals(std::int64_t calls, std::int64_t ok, std::int64_t in, std::int64_t out, std::int64_t pico) {
    usage_totals t;
    t.calls = calls;
    t.successful_calls = ok;
    t.failed_calls = calls - ok;
    t.input_tokens = in;
    t.output_tokens = out;
    t.total_tokens = in + out;
    t.cost_pico_usd = pico;
    return t;
}

}  // namespace

TEST_CASE("usd_from_pico rounds half away from zero to 6 decimals") {
    CHECK(usd_from_pico(0) == "0");
    CHECK(usd_from_pico(12'500'000'000'000) == "12.5");
    CHECK(usd_from_pico(420'000'000'000) == "0.42");
    CHECK(usd_from_pico(1) == "0");
    CHECK(usd_from_pico(499'999) == "0");
    CHECK(usd_from_pico(500'000) == "0.000001");
    CHECK(usd_from_pico(1'234'567'890'123) == "1.234568");
    CHECK(usd_from_pico(-1'500'000) == "-0.000002");
    CHECK(usd_from_pico(INT64_MAX) == "9223372.036855");
}

TEST_CASE("usd_fixed: six decimals, rounded half away from zero") {
    CHECK(usd_fixed(0) == "0.000000");
    CHECK(usd_fixed(12'500'000'000'000) == "12.500000");
    CHECK(usd_fixed(499'999) == "0.000000");
    CHECK(usd_fixed(500'000) == "0.000001");
    CHECK(usd_fixed(-1'500'000) == "-0.000002");
    CHECK(usd_fixed(-999'999) == "-0.000001");
    CHECK(usd_fixed(9'223'372'036'854'775'807) == "9223372.036855");
}

TEST_CASE("scale_rounded is exact for large values") {
    CHECK(scale_rounded(7, 30, 7) == 30);
    CHECK(scale_rounded(10, 30, 7) == 43);  // 42.857
    CHECK(scale_rounded(1, 1, 2) == 1);
    CHECK(scale_rounded(-1, 1, 2) == -1);
    CHECK(scale_rounded(INT64_MAX / 2, 30, 30) == INT64_MAX / 2);
}

TEST_CASE("render_stats has the specification's fields and nesting") {
    gm::storage::usage_stats s;
    s.totals = totals(3, 2, 1000, 500, 1'500'000'000'000);
    s.totals.guest_calls = 1;
    s.totals.registered_calls = 2;
    s.totals.duration_ms_sum = 1001;
    s.totals.duration_count = 2;
    s.by_model = {{"gemini-2.5-flash", totals(2, 2, 600, 300, 500'000'000'000)}, {"gemini-2.5-pro", totals(1, 0, 400, 200, 1'000'000'000'000)}};
    s.by_endpoint = {{"chat", totals(3, 2, 1000, 500, 1'500'000'000'000)}};
    s.by_bot = {{"", totals(1, 1, 100, 50, 1)}, {"g-socratic", totals(2, 1, 900, 450, 1'499'999'999'999)}};
    gm::storage::time_range r{parse_iso_time("2024-11-01")->ms, parse_iso_time("2024-11-08")->ms};
    auto d = parse_json(render_stats(r, s));
    CHECK(std::string(d["dateRange"]["start"].GetString()) == "2024-11-01T00:00:00.000Z");
    CHECK(std::string(d["dateRange"]["end"].GetString()) == "2024-11-08T00:00:00.000Z");
    const auto& st = d["stats"];
    CHECK(st["totalCalls"].GetInt64() == 3);
    CHECK(st["successfulCalls"].GetInt64() == 2);
    CHECK(st["failedCalls"].GetInt64() == 1);
    CHECK(st["totalInputTokens"].GetInt64() == 1000);
    CHECK(st["totalOutputTokens"].GetInt64() == 500);
    CHECK(st["totalTokens"].GetInt64() == 1500);
    CHECK(st["totalCostUSD"].GetDouble() == 1.5);
    CHECK(st["totalCostPicoUSD"].GetInt64() == 1'500'000'000'000);
    CHECK(st["averageDurationMs"].GetInt64() == 501);  // 500.5 rounds up
    CHECK(st["guestCalls"].GetInt64() == 1);
    CHECK(st["registeredCalls"].GetInt64() == 2);
    REQUIRE(st["byModel"].IsObject());
    CHECK(st["byModel"].MemberCount() == 2);
    const auto& pro = st["byModel"]["gemini-2.5-pro"];
    CHECK(pro["calls"].GetInt64() == 1);
    CHECK(pro["successfulCalls"].GetInt64() == 0);
    CHECK(pro["failedCalls"].GetInt64() == 1);
    CHECK(pro["inputTokens"].GetInt64() == 400);
    CHECK(pro["outputTokens"].GetInt64() == 200);
    CHECK(pro["totalTokens"].GetInt64() == 600);
    CHECK(pro["costUSD"].GetDouble() == 1.0);
    CHECK(pro["costPicoUSD"].GetInt64() == 1'000'000'000'000);
    CHECK(st["byEndpoint"]["chat"]["calls"].GetInt64() == 3);
    CHECK(st["byBot"][none_key]["calls"].GetInt64() == 1);
    CHECK(st["byBot"]["g-socratic"]["costUSD"].GetDouble() == 1.5);
}

TEST_CASE("render_recent: nulls for absent user, email and bot; the cursor decodes to the last row") {
    gm::storage::recent_page page;
    gm::metering::usage_record r;
    r.id = "c1";
    r.created_at_ms = parse_iso_time("2024-11-06T10:30:00Z")->ms;
    r.endpoint = "chat";
    r.model = "gemini-2.5-flash";
    r.tokens.prompt = 500;
    r.tokens.candidates = 250;
    r.tokens.thoughts = 50;
    r.tokens.total = 800;
    r.cost_pico_usd = 24'000'000'000;
    r.duration_ms = 1200;
    r.success = true;
    r.http_status = 200;
    page.calls.push_back(r);
    page.next = gm::storage::recent_cursor{r.created_at_ms, r.id};
    auto d = parse_json(render_recent(page));
    const auto& c = d["recentCalls"][0];
    CHECK(std::string(c["id"].GetString()) == "c1");
    CHECK(c["userId"].IsNull());
    CHECK(c["userEmail"].IsNull());
    CHECK(c["botId"].IsNull());
    CHECK(std::string(c["endpoint"].GetString()) == "chat");
    CHECK(std::string(c["model"].GetString()) == "gemini-2.5-flash");
    CHECK(c["inputTokens"].GetInt64() == 500);
    CHECK(c["outputTokens"].GetInt64() == 300);
    CHECK(c["totalTokens"].GetInt64() == 800);
    CHECK(c["estimatedCostUSD"].GetDouble() == 0.024);
    CHECK(c["durationMs"].GetInt64() == 1200);
    CHECK(c["success"].GetBool());
    CHECK(std::string(c["createdAt"].GetString()) == "2024-11-06T10:30:00.000Z");
    auto cursor = decode_cursor(d["nextCursor"].GetString());
    REQUIRE(cursor);
    CHECK(cursor->id == "c1");
    page.next.reset();
    CHECK(parse_json(render_recent(page))["nextCursor"].IsNull());
}

TEST_CASE("render_projections: averages over 7 days and 30-day projection from exact totals") {
    gm::storage::projection p;
    p.baseline = {parse_iso_time("2024-10-30")->ms, parse_iso_time("2024-11-06")->ms};
    p.baseline_days = 7;
    p.baseline_totals = totals(10, 10, 700, 350, 7'000'000'000'000);  // 10 calls, 1050 tokens, 7 USD
    p.by_model = {{"gemini-2.5-pro", totals(10, 10, 700, 350, 7'000'000'000'000)}};
    p.by_endpoint = {{"chat", totals(10, 10, 700, 350, 7'000'000'000'000)}};
    auto d = parse_json(render_projections(p));
    CHECK(d["baselinePeriod"]["days"].GetInt() == 7);
    CHECK(std::string(d["baselinePeriod"]["start"].GetString()) == "2024-10-30T00:00:00.000Z");
    CHECK(std::string(d["baselinePeriod"]["end"].GetString()) == "2024-11-06T00:00:00.000Z");
    CHECK(d["daily"]["avgCost"].GetDouble() == 1.0);
    CHECK(d["daily"]["avgCalls"].GetDouble() == Approx(1.43));  // 10/7 = 1.4286
    CHECK(d["daily"]["avgTokens"].GetDouble() == 150.0);
    CHECK(d["monthly"]["projectedCost"].GetDouble() == 30.0);
    CHECK(d["monthly"]["projectedCostPicoUSD"].GetInt64() == 30'000'000'000'000);
    CHECK(d["monthly"]["projectedCalls"].GetInt64() == 43);  // 42.86
    CHECK(d["monthly"]["projectedTokens"].GetInt64() == 4500);
    CHECK(d["breakdown"]["byModel"]["gemini-2.5-pro"]["calls"].GetInt64() == 10);
    CHECK(d["breakdown"]["byModel"]["gemini-2.5-pro"]["projectedMonthlyCostUSD"].GetDouble() == 30.0);
    CHECK(d["breakdown"]["byEndpoint"]["chat"]["costUSD"].GetDouble() == 7.0);
}

TEST_CASE("render_compare: differences and percentages, null when the baseline is zero") {
    gm::storage::usage_stats a, b;
    a.totals = totals(15, 15, 300, 150, 3'000'000'000'000);
    b.totals = totals(10, 10, 200, 100, 4'000'000'000'000);
    gm::storage::time_range ra{1000, 2000}, rb{0, 1000};
    auto d = parse_json(render_compare(ra, a, rb, b));
    CHECK(d["current"]["stats"]["totalCalls"].GetInt64() == 15);
    CHECK(d["baseline"]["stats"]["totalCalls"].GetInt64() == 10);
    CHECK(std::string(d["baseline"]["dateRange"]["start"].GetString()) == "1970-01-01T00:00:00.000Z");
    CHECK(d["change"]["calls"]["difference"].GetInt64() == 5);
    CHECK(d["change"]["calls"]["percentChange"].GetDouble() == 50.0);
    CHECK(d["change"]["cost"]["differenceUSD"].GetDouble() == -1.0);
    CHECK(d["change"]["cost"]["differencePicoUSD"].GetInt64() == -1'000'000'000'000);
    CHECK(d["change"]["cost"]["percentChange"].GetDouble() == -25.0);
    b.totals = {};
    d = parse_json(render_compare(ra, a, rb, b));
    CHECK(d["change"]["calls"]["percentChange"].IsNull());
    CHECK(d["change"]["cost"]["percentChange"].IsNull());
}

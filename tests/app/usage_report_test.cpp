// The report's rendering on hand-built results: groups in cost order, unpriced calls called
// out, and the JSON form's three parts (its money format is json_render's usd_fixed).
#include <catch2/catch.hpp>

#include "app/usage_report.hpp"
#include "support/parse_json.hpp"

using namespace gm;

TEST_CASE("the text report orders groups by cost and says when calls could not be priced") {
    app::usage_report r;
    r.range = {0, 86'400'000};
    r.stats.totals.calls = 3;
    r.stats.totals.unpriced_calls = 1;
    auto group = [](std::string key, std::int64_t calls, std::int64_t cost) {
        storage::keyed_totals g;
        g.key = std::move(key);
        g.totals.calls = calls;
        g.totals.cost_pico_usd = cost;
        return g;
    };
    r.stats.by_model = {group("a-cheap", 2, 10), group("b-dear", 1, 1'000'000), group("c-unknown", 1, 0),
                        group("d-unknown", 5, 0)};
    r.stats.by_model[2].totals.unpriced_calls = 1;
    const auto text = app::render_report_text(r);
    INFO(text);
    CHECK(text.find("unpriced      1 calls of models the price table does not know") != std::string::npos);
    const auto dear = text.find("  b-dear"), cheap = text.find("  a-cheap"), many = text.find("  d-unknown"),
               few = text.find("  c-unknown");
    CHECK(dear < cheap);
    CHECK(cheap < many);  // same cost (0): more calls first
    CHECK(many < few);
    CHECK(text.find("0.000000  (1 unpriced)\n") != std::string::npos);  // c-unknown's row
    CHECK(text.find("(5 unpriced)") == std::string::npos);
    CHECK(text.find("range         1970-01-01T00:00:00.000Z .. 1970-01-02T00:00:00.000Z") != std::string::npos);
}

TEST_CASE("the JSON report nests the three endpoints' documents") {
    app::usage_report r;
    r.range = {0, 86'400'000};
    r.stats.totals.calls = 7;
    const auto doc = gm::test::parse_json(app::render_report_json(r));
    REQUIRE(doc.IsObject());
    CHECK(doc["stats"]["stats"]["totalCalls"].GetInt64() == 7);
    CHECK(doc["topUsers"]["topUsers"].IsArray());
    CHECK(doc["projections"]["baselinePeriod"]["days"].GetInt64() == 7);
}

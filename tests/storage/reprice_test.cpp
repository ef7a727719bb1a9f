#include "storage/reprice.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "storage/retention.hpp"
#include "storage/sqlite_queries.hpp"
#include "storage/sqlite_store.hpp"
#include "support/temp_dir.hpp"
#include "test_records.hpp"

using namespace gm::storage;
using gm::test::at;
using gm::test::query_int;

namespace {

// a: flash, 11-06, u1, cost 1000      b: mystery (unpriced), 11-06, guest      c: pro, 11-08, u1, cost 5000
void fill(const std::string& db) {
    auto store = sqlite_store::open(db);
    gm::test::record_spec s;
    s.id = "a"; s.ms = at("2024-11-06T10:00:00Z"); s.user = "u1"; s.prompt = 100; s.candidates = 40;
    s.thoughts = 10; s.cost = 1000;
    store->sink().submit(gm::test::make_record(s));
    s = {}; s.id = "b"; s.ms = at("2024-11-06T11:00:00Z"); s.model = "mystery"; s.priced = false; s.prompt = 7;
    s.candidates = 3;
    store->sink().submit(gm::test::make_record(s));
    s = {}; s.id = "c"; s.ms = at("2024-11-08T10:00:00Z"); s.user = "u1"; s.model = "gemini-2.5-pro"; s.prompt = 1;
    s.cost = 5000;
    store->sink().submit(gm::test::make_record(s));
    REQUIRE(store->flush(std::chrono::seconds(30)));
}

// Input 10 pico-USD per token, output (candidates + thoughts) 40; everything is known.
price_result new_table(const gm::metering::usage_record& r) {
    return {true, (r.tokens.prompt + r.tokens.tool_use_prompt) * 10 + (r.tokens.candidates + r.tokens.thoughts) * 40,
            "v2"};
}

}  // namespace

TEST_CASE("reprice: costs and rollups move together, outside the range untouched", "[reprice]") {
    gm::test::temp_dir dir;
    const std::string db = dir.file("usage.db");
    fill(db);
    sqlite_queries q(db);
    const time_range nov6{at("2024-11-06"), at("2024-11-07")};
    REQUIRE(q.stats(nov6, {}).totals.cost_pico_usd == 1000);
    REQUIRE(q.stats(nov6, {}).totals.unpriced_calls == 1);

    const auto res = reprice(db, at("2024-11-06"), at("2024-11-07"), record_pricer(new_table));
    CHECK(res.examined == 2);
    CHECK(res.changed == 2);
    // a: 100*10 + 50*40 = 3000; b: 7*10 + 3*40 = 190.
    CHECK(res.cost_delta_pico_usd == (3000 - 1000) + 190);
    CHECK(query_int(db, "SELECT costPicoUsd FROM ApiUsage WHERE id = 'a'") == 3000);
    CHECK(query_int(db, "SELECT priced FROM ApiUsage WHERE id = 'b'") == 1);
    CHECK(query_int(db, "SELECT priceVersion = 'v2' FROM ApiUsage WHERE id = 'b'") == 1);
    CHECK(query_int(db, "SELECT estimatedCostUSD = 3000 / 1e12 FROM ApiUsage WHERE id = 'a'") == 1);
    CHECK(query_int(db, "SELECT costPicoUsd FROM ApiUsage WHERE id = 'c'") == 5000);

    const auto s = q.stats(nov6, {});
    CHECK(s.totals.cost_pico_usd == 3190);
    CHECK(s.totals.unpriced_calls == 0);
    usage_filter mystery;
    mystery.model = "mystery";
    CHECK(q.stats(nov6, mystery).totals.cost_pico_usd == 190);
    const auto top = q.top_users({at("2024-11-01"), at("2024-11-10")}, {}, 10);
    REQUIRE(top.size() == 1);
    CHECK(top[0].totals.cost_pico_usd == 3000 + 5000);
    // Every rollup still equals its rows.
    CHECK(query_int(db, "SELECT SUM(costPicoUsd) FROM UsageDaily") == query_int(db, "SELECT SUM(costPicoUsd) FROM ApiUsage"));
    CHECK(query_int(db, "SELECT SUM(costPicoUsd) FROM UsageDailyDim WHERE dim = 'bot'") == 8190);
    CHECK(query_int(db, "SELECT SUM(costPicoUsd) FROM UsageDailyUser") == 8000);
    CHECK(query_int(db, "SELECT SUM(costPicoUsd) FROM UsageDailyUserDim") == 8000);
    for (const char* dim : {"model", "endpoint", "bot", "guest"}) {
        INFO(dim);
        CHECK(query_int(db, fmt::format("SELECT SUM(costPicoUsd) FROM UsageHourlyDim WHERE dim = '{}'", dim)) == 8190);
        CHECK(query_int(db, fmt::format("SELECT SUM(costPicoUsd) FROM UsageDailyTagDim WHERE dim = '{}'", dim)) ==
              query_int(db, "SELECT SUM(costPicoUsd) FROM UsageDailyTag"));
        CHECK(query_int(db, fmt::format("SELECT SUM(unpricedCalls) FROM UsageHourlyTagDim WHERE dim = '{}'", dim)) ==
              query_int(db, "SELECT SUM(unpricedCalls) FROM UsageHourlyTag"));
    }
    CHECK(query_int(db, "SELECT SUM(unpricedCalls) FROM UsageDailyUserDim") ==
          query_int(db, "SELECT SUM(unpricedCalls) FROM UsageDailyUser"));

    // Idempotent: the same table changes nothing the second time.
    const auto again = reprice(db, at("2024-11-06"), at("2024-11-07"), record_pricer(new_table), 1);
    CHECK(again.examined == 2);
    CHECK(again.changed == 0);
}

TEST_CASE("reprice: the model-and-tokens form, small batches, empty ranges", "[reprice]") {
    gm::test::temp_dir dir;
    const std::string db = dir.file("usage.db");
    fill(db);
    const model_pricer flat = [](const std::string& model, const gm::metering::token_counts& t) {
        return price_result{model != "mystery", model == "mystery" ? 0 : t.total, "flat"};
    };
    const auto res = reprice(db, at("2024-11-01"), at("2024-12-01"), flat, 1);
    CHECK(res.examined == 3);
    CHECK(res.changed == 3);  // b stays unpriced at 0 but gets the new version
    CHECK(query_int(db, "SELECT SUM(costPicoUsd) FROM ApiUsage") == 150 + 1);
    sqlite_queries q(db);
    CHECK(q.stats({at("2024-11-01"), at("2024-12-01")}, {}).totals.cost_pico_usd == 151);
    CHECK(q.stats({at("2024-11-01"), at("2024-12-01")}, {}).totals.unpriced_calls == 1);
    CHECK(reprice(db, at("2024-12-01"), at("2024-11-01"), flat).examined == 0);
    CHECK(reprice(db, at("2030-01-01"), at("2030-02-01"), flat).examined == 0);
}

#include "metering/record_finisher.hpp"

#include <catch2/catch.hpp>

using namespace gm::metering;

namespace {
tap_result flash_usage() {
    tap_result t;
    t.has_usage = true;
    t.source = usage_source::response;
    t.tokens.prompt = 1000;
    t.tokens.candidates = 100;
    t.tokens.total = 1100;
    t.model_version = "gemini-2.5-flash";
    t.response_id = "r1";
    t.finished = true;
    return t;
}
}  // namespace

TEST_CASE("apply_usage prices with the response's modelVersion") {
    usage_record rec;
    rec.model = "gemini-flash-latest";  // what the app asked for
    apply_usage(rec, flash_usage(), pricing_table::builtin());
    CHECK(rec.priced);
    CHECK(rec.cost_pico_usd == 1000LL * 300'000 + 100LL * 2'500'000);
    CHECK(rec.model_version == "gemini-2.5-flash");
    CHECK(rec.response_id == "r1");
    CHECK(rec.source == usage_source::response);
    CHECK(rec.tokens.prompt == 1000);
    CHECK(rec.price_version == "builtin-2025-12-19");
    CHECK_FALSE(rec.partial);
    CHECK(rec.problems.empty());
}

TEST_CASE("apply_usage falls back to the request's model when modelVersion is unknown to the table") {
    usage_record rec;
    rec.model = "gemini-2.5-pro";
    auto t = flash_usage();
    t.model_version = "gemini-2.5-pro-experimental-build-7";
    apply_usage(rec, t, pricing_table::builtin());
    CHECK(rec.priced);
    CHECK(rec.cost_pico_usd == 1000LL * 1'250'000 + 100LL * 10'000'000);
}

TEST_CASE("apply_usage: unknown model keeps its tokens, unpriced, with the reason") {
    usage_record rec;
    rec.model = "gemini-9-ultra";
    auto t = flash_usage();
    t.model_version.clear();
    apply_usage(rec, t, pricing_table::builtin());
    CHECK_FALSE(rec.priced);
    CHECK(rec.cost_pico_usd == 0);
    CHECK(rec.tokens.prompt == 1000);
    REQUIRE(rec.problems.size() == 1);
    CHECK(rec.problems[0] == "model 'gemini-9-ultra' is not in price table builtin-2025-12-19");
}

TEST_CASE("apply_usage: no usage, an error, a broken stream") {
    usage_record err;
    err.model = "gemini-2.5-flash";
    tap_result e;
    e.finished = true;
    e.error_message = "quota";
    apply_usage(err, e, pricing_table::builtin());
    CHECK(err.source == usage_source::none);
    CHECK_FALSE(err.priced);
    CHECK(err.cost_pico_usd == 0);
    CHECK(err.error_message == "quota");
    CHECK_FALSE(err.partial);

    usage_record broken;
    broken.model = "gemini-2.5-flash";
    broken.ending = call_ending::client_gone;
    broken.error_message = "client closed the connection";
    auto t = flash_usage();
    t.finished = false;
    t.problems = {"body incomplete"};
    apply_usage(broken, t, pricing_table::builtin());
    CHECK(broken.partial);
    CHECK(broken.priced);
    CHECK(broken.error_message == "client closed the connection");  // the proxy's reason is kept
    CHECK(broken.problems == std::vector<std::string>{"body incomplete"});

    usage_record unreachable;
    unreachable.ending = call_ending::upstream_unreachable;
    apply_usage(unreachable, tap_result{}, pricing_table::builtin());
    CHECK_FALSE(unreachable.partial);
}

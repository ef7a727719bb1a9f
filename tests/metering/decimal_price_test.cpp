#include "metering/decimal_price.hpp"

#include <catch2/catch.hpp>

using namespace gm::metering;

TEST_CASE("parse_usd_per_million is exact to the pico-USD") {
    CHECK(*parse_usd_per_million("1.25").pico == 1'250'000);
    CHECK(*parse_usd_per_million("0.01875").pico == 18'750);
    CHECK(*parse_usd_per_million("0.075").pico == 75'000);
    CHECK(*parse_usd_per_million("10").pico == 10'000'000);
    CHECK(*parse_usd_per_million(".5").pico == 500'000);
    CHECK(*parse_usd_per_million("0.000001").pico == 1);
    CHECK(*parse_usd_per_million("0.10000000").pico == 100'000);
    CHECK(*parse_usd_per_million("0").pico == 0);
    CHECK(*parse_usd_per_million("1000000").pico == 1'000'000'000'000);
}

TEST_CASE("parse_usd_per_million rejects what it cannot represent exactly") {
    CHECK(parse_usd_per_million("-1").error == "negative price");
    CHECK(parse_usd_per_million("1e-3").error == "exponent notation is not supported");
    CHECK(parse_usd_per_million("0.0000001").error == "more than 6 decimals (finer than 1 pico-USD per token)");
    CHECK(parse_usd_per_million("abc").error == "not a decimal number");
    CHECK(parse_usd_per_million("").error == "empty price");
    CHECK(parse_usd_per_million("1.").error == "no digits after the decimal point");
    CHECK(parse_usd_per_million("1,25").error == "not a decimal number");
    CHECK(parse_usd_per_million("10000000").error == "price too large (at most 1000000 USD per 1M tokens)");
    CHECK_FALSE(parse_usd_per_million("1.2.3").pico);
}

TEST_CASE("format_usd_per_million and format_pico_usd print the shortest exact decimal") {
    CHECK(format_usd_per_million(1'250'000) == "1.25");
    CHECK(format_usd_per_million(18'750) == "0.01875");
    CHECK(format_usd_per_million(10'000'000) == "10");
    CHECK(format_usd_per_million(0) == "0");
    CHECK(format_pico_usd(1'261'000'000) == "0.001261");
    CHECK(format_pico_usd(1) == "0.000000000001");
    CHECK(format_pico_usd(-1'500'000'000'000) == "-1.5");
}

#include "metering/pricing_render.hpp"

#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include <string>

using namespace gm::metering;

TEST_CASE("render_pricing_table prints every model with its rates and dates") {
    const std::string text = render_pricing_table(pricing_table::builtin());
    INFO(text);
    CHECK(text.starts_with("price table builtin-2025-12-19 (source date 2025-12-19)"));
    for (const auto& e : pricing_table::builtin().entries()) CHECK(text.find(e.model + " ") != std::string::npos);
    CHECK(text.find("0.01875") != std::string::npos);
    CHECK(text.find("200000") != std::string::npos);
    CHECK(text.find("2025-06-22") != std::string::npos);
}

TEST_CASE("render_pricing_json gives decimal strings and exact integers") {
    const std::string json = render_pricing_json(pricing_table::builtin());
    rapidjson::Document d;
    d.Parse(json.c_str());
    REQUIRE_FALSE(d.HasParseError());
    CHECK(std::string(d["version"].GetString()) == "builtin-2025-12-19");
    CHECK(std::string(d["unit"].GetString()) == "USD per 1M tokens");
    const auto& models = d["models"];
    REQUIRE(models.Size() == pricing_table::builtin().entries().size());
    const auto& pro = models[0];
    CHECK(std::string(pro["model"].GetString()) == "gemini-2.5-pro");
    CHECK(pro["tierThreshold"].GetInt64() == 200000);
    CHECK(std::string(pro["rates"]["input"]["usdPerMillion"].GetString()) == "1.25");
    CHECK(pro["rates"]["input"]["picoUsdPerToken"].GetInt64() == 1'250'000);
    CHECK(pro["aboveTier"]["output"]["picoUsdPerToken"].GetInt64() == 15'000'000);
    CHECK(models[1]["aboveTier"].IsNull());
}

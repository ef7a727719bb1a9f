#include "metering/pricing_table.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include "tap_test_util.hpp"

using namespace gm::metering;

namespace {

token_counts tokens(std::int64_t prompt, std::int64_t cached, std::int64_t tool, std::int64_t candidates,
                    std::int64_t thoughts) {
    token_counts t;
    t.prompt = prompt;
    t.cached = cached;
    t.tool_use_prompt = tool;
    t.candidates = candidates;
    t.thoughts = thoughts;
    t.total = prompt + tool + candidates + thoughts;
    return t;
}

std::int64_t cost(std::string_view model, const token_counts& t) {
    auto r = pricing_table::builtin().price(model, t);
    INFO(model << ": " << r.problem);
    REQUIRE(r.priced);
    return r.cost_pico_usd;
}

std::string temp_file(const std::string& content) {
    static std::atomic<int> n{0};
    auto p = std::filesystem::temp_directory_path() /
             ("gm_pricing_test_" + std::to_string(::getpid()) + "_" + std::to_string(n++) + ".json");
    std::ofstream(p) << content;
    return p.string();
}

}  // namespace

// Rates below are typed by hand from GEMINI_WIRE.md section 8, in pico-USD per token
// (USD per 1M tokens x 10^6). A call: 10,000 prompt tokens of which 4,000 cached,
// 500 tool-use prompt tokens, 700 candidates and 300 thinking tokens.
TEST_CASE("golden cost of one call for each model of the default table") {
    const auto t = tokens(10'000, 4'000, 500, 700, 300);
    // (prompt - cached + toolUse) = 6,500 input; 4,000 cached; (candidates + thoughts) = 1,000 output.
    CHECK(cost("gemini-2.5-pro", t) == 6'500LL * 1'250'000 + 4'000LL * 125'000 + 1'000LL * 10'000'000);
    CHECK(cost("gemini-2.5-flash", t) == 6'500LL * 300'000 + 4'000LL * 30'000 + 1'000LL * 2'500'000);
    CHECK(cost("gemini-2.5-flash-lite", t) == 6'500LL * 100'000 + 4'000LL * 10'000 + 1'000LL * 400'000);
    CHECK(cost("gemini-2.0-flash", t) == 6'500LL * 100'000 + 4'000LL * 25'000 + 1'000LL * 400'000);
    // No cached rate published: cached tokens bill at the input rate.
    CHECK(cost("gemini-2.0-flash-lite", t) == 6'500LL * 75'000 + 4'000LL * 75'000 + 1'000LL * 300'000);
    CHECK(cost("gemini-1.5-flash", t) == 6'500LL * 75'000 + 4'000LL * 18'750 + 1'000LL * 300'000);
    CHECK(cost("gemini-1.5-pro", t) == 6'500LL * 1'250'000 + 4'000LL * 1'250'000 + 1'000LL * 5'000'000);
    CHECK(cost("gemini-3-pro-preview", t) == 6'500LL * 2'000'000 + 4'000LL * 200'000 + 1'000LL * 12'000'000);
    CHECK(cost("gemini-3-flash-preview", t) == 6'500LL * 500'000 + 4'000LL * 50'000 + 1'000LL * 3'000'000);
    CHECK(cost("gemini-embedding-001", tokens(10'000, 0, 0, 0, 0)) == 10'000LL * 150'000);
    CHECK(pricing_table::builtin().entries().size() == 10);
}

TEST_CASE("golden cost per token class (gemini-2.5-flash, one million tokens each)") {
    const std::int64_t M = 1'000'000;
    CHECK(cost("gemini-2.5-flash", tokens(M, 0, 0, 0, 0)) == 300'000'000'000);       // $0.30 input
    CHECK(cost("gemini-2.5-flash", tokens(0, 0, 0, M, 0)) == 2'500'000'000'000);     // $2.50 output
    CHECK(cost("gemini-2.5-flash", tokens(0, 0, 0, 0, M)) == 2'500'000'000'000);     // thinking bills as output
    CHECK(cost("gemini-2.5-flash", tokens(M, M, 0, 0, 0)) == 30'000'000'000);        // $0.03 cached (a subset of prompt)
    CHECK(cost("gemini-2.5-flash", tokens(0, 0, M, 0, 0)) == 300'000'000'000);       // tool-use prompt bills as input
    auto audio = tokens(M, 0, 0, 0, 0);
    audio.prompt_audio = M;
    CHECK(cost("gemini-2.5-flash", audio) == 1'000'000'000'000);                     // $1.00 audio input
    audio.cached = M;
    audio.cached_audio = M;
    CHECK(cost("gemini-2.5-flash", audio) == 100'000'000'000);                       // $0.10 cached audio
    // Mixed: 1,200 prompt (1,000 audio), 400 cached (300 audio), 10 candidates.
    auto mixed = tokens(1'200, 400, 0, 10, 0);
    mixed.prompt_audio = 1'000;
    mixed.cached_audio = 300;
    CHECK(cost("gemini-2.5-flash", mixed) ==
          100LL * 300'000 + 700LL * 1'000'000 + 100LL * 30'000 + 300LL * 100'000 + 10LL * 2'500'000);
    // A model without audio rates bills audio at its input rate.
    CHECK(cost("gemini-2.0-flash-lite", audio) == M * 75'000);
    CHECK(cost("gemini-3-flash-preview", audio) == M * 50'000);  // cached audio falls back to cached
}

TEST_CASE("golden cost on both sides of the long-context tier") {
    // gemini-2.5-pro: <= 200,000 prompt tokens at 1.25/10/0.125, above at 2.50/15/0.25 for the whole call.
    CHECK(cost("gemini-2.5-pro", tokens(200'000, 0, 0, 1'000, 0)) == 200'000LL * 1'250'000 + 1'000LL * 10'000'000);
    CHECK(cost("gemini-2.5-pro", tokens(200'001, 0, 0, 1'000, 0)) == 200'001LL * 2'500'000 + 1'000LL * 15'000'000);
    CHECK(cost("gemini-2.5-pro", tokens(200'001, 100'000, 0, 0, 500)) ==
          100'001LL * 2'500'000 + 100'000LL * 250'000 + 500LL * 15'000'000);
    // The tier is chosen by promptTokenCount alone: tool-use tokens do not push a call over.
    CHECK(cost("gemini-2.5-pro", tokens(200'000, 0, 5'000, 0, 0)) == 205'000LL * 1'250'000);
    CHECK(cost("gemini-3-pro-preview", tokens(200'000, 0, 0, 10, 0)) == 200'000LL * 2'000'000 + 10LL * 12'000'000);
    CHECK(cost("gemini-3-pro-preview", tokens(200'001, 1, 0, 10, 0)) ==
          200'000LL * 4'000'000 + 1LL * 400'000 + 10LL * 18'000'000);
    CHECK(cost("gemini-1.5-flash", tokens(128'000, 0, 0, 10, 0)) == 128'000LL * 75'000 + 10LL * 300'000);
    CHECK(cost("gemini-1.5-flash", tokens(128'001, 1'000, 0, 10, 0)) ==
          127'001LL * 150'000 + 1'000LL * 37'500 + 10LL * 600'000);
    CHECK(cost("gemini-1.5-pro", tokens(128'000, 0, 0, 10, 0)) == 128'000LL * 1'250'000 + 10LL * 5'000'000);
    CHECK(cost("gemini-1.5-pro", tokens(128'001, 0, 0, 10, 0)) == 128'001LL * 2'500'000 + 10LL * 10'000'000);
    auto r = pricing_table::builtin().price("gemini-2.5-pro", tokens(200'001, 0, 0, 0, 0));
    CHECK(r.above_tier);
}

TEST_CASE("model names match through prefixes, versions and aliases, never to a different model") {
    const auto& t = pricing_table::builtin();
    auto match = [&](std::string_view m) {
        const auto* e = t.find(m);
        return e ? e->model : std::string("<none>");
    };
    CHECK(match("models/gemini-2.5-flash") == "gemini-2.5-flash");
    CHECK(match("gemini-2.5-flash-preview-05-20") == "gemini-2.5-flash");
    CHECK(match("gemini-2.5-flash-lite-preview-06-17") == "gemini-2.5-flash-lite");
    CHECK(match("gemini-1.5-flash-002") == "gemini-1.5-flash");
    CHECK(match("gemini-1.5-pro-latest") == "gemini-1.5-pro");
    CHECK(match("gemini-2.0-flash-exp") == "gemini-2.0-flash");
    CHECK(match("gemini-2.0-flash-lite-001") == "gemini-2.0-flash-lite");
    CHECK(match("gemini-3-pro-preview-11-2025") == "gemini-3-pro-preview");
    CHECK(match("gemini-2.5-flash-image") == "<none>");
    CHECK(match("gemini-2.5-flash-image-preview") == "<none>");
    CHECK(match("gemini-2.5-flash-preview-tts") == "<none>");
    CHECK(match("gemini-1.5-flash-8b") == "<none>");
    CHECK(match("gemini-3-pro") == "<none>");
    CHECK(match("gemini-2.5-flashy") == "<none>");
    CHECK(match("gpt-4o") == "<none>");
    CHECK(match("") == "<none>");

    auto unknown = t.price("gemini-9-ultra", tokens(10, 0, 0, 10, 0));
    CHECK_FALSE(unknown.priced);
    CHECK(unknown.cost_pico_usd == 0);
    CHECK(unknown.problem == "model 'gemini-9-ultra' is not in price table builtin-2025-12-19");

    // A longer entry wins over the fall-back to a base model.
    auto custom = pricing_table::from_json(
        R"({"version": "v", "models": {"gemini-2.5-flash": {"input": 1}, "gemini-2.5-flash-preview-05-20": {"input": 2}},
            "aliases": {"gemini-flash-latest": "gemini-2.5-flash"}})",
        "custom.json");
    CHECK(custom.find("gemini-2.5-flash-preview-05-20")->model == "gemini-2.5-flash-preview-05-20");
    CHECK(custom.find("gemini-2.5-flash-preview-04-17")->model == "gemini-2.5-flash");
    CHECK(custom.find("models/gemini-flash-latest")->model == "gemini-2.5-flash");
}

TEST_CASE("the built-in table equals the shipped metering/pricing_default.json") {
    const auto file = pricing_table::load_file(std::string(GM_SOURCE_DIR) + "/metering/pricing_default.json");
    const auto& b = pricing_table::builtin();
    CHECK(file.version() == b.version());
    CHECK(b.version() == "builtin-2025-12-19");
    CHECK(b.source_date() == "2025-12-19");
    REQUIRE(file.entries().size() == b.entries().size());
    for (std::size_t i = 0; i < b.entries().size(); ++i) {
        const auto& x = file.entries()[i];
        const auto& y = b.entries()[i];
        CHECK(x.model == y.model);
        CHECK(x.tier_threshold == y.tier_threshold);
        CHECK(x.checked == y.checked);
        for (bool above : {false, true}) {
            CHECK(x.rates(above).input == y.rates(above).input);
            CHECK(x.rates(above).output == y.rates(above).output);
            CHECK(x.rates(above).cached_input == y.rates(above).cached_input);
            CHECK(x.rates(above).audio_input == y.rates(above).audio_input);
            CHECK(x.rates(above).cached_audio_input == y.rates(above).cached_audio_input);
        }
    }
}

TEST_CASE("the specification's 2024 prices load from metering/pricing_spec_2024.json") {
    const auto t = pricing_table::load_file(std::string(GM_SOURCE_DIR) + "/metering/pricing_spec_2024.json");
    CHECK(t.version() == "spec-2024-11");
    auto r = t.price("gemini-2.5-flash", tokens(1'000'000, 0, 0, 1'000'000, 0));
    CHECK(r.priced);
    CHECK(r.cost_pico_usd == 75'000'000'000 + 300'000'000'000);  // $0.075 + $0.30
}

TEST_CASE("a pricing file loads from disk, numbers read exactly") {
    const auto path = temp_file(R"({"version": "ours-1", "source_date": "2025-01-01", "models": {
        "gemini-x": {"input": 0.1, "output": "0.000001", "cached_input": 0.01875, "tier_threshold": 1000,
                     "above_tier": {"input": 0.2}, "checked": "2025-01-01", "note": "test"}}})");
    const auto t = pricing_table::load_file(path);
    std::filesystem::remove(path);
    REQUIRE(t.entries().size() == 1);
    const auto& e = t.entries()[0];
    CHECK(*e.base.input == 100'000);  // 0.1 as a double would not be exact; as digits it is
    CHECK(*e.base.output == 1);
    CHECK(*e.base.cached_input == 18'750);
    CHECK(e.rates(true).input == 200'000);
    CHECK(e.rates(true).output == 1);           // absent above-tier output: the base output
    CHECK(e.rates(true).cached_input == 200'000);  // absent above-tier cached: the tier's input
}

TEST_CASE("a malformed pricing file is rejected naming file, field and reason, all at once") {
    const auto path = temp_file(R"({"models": {
        "gemini-a": {"input": "-1", "output": "1e-3"},
        "gemini-b": {"output": 1, "cached_imput": 1, "tier_threshold": 100},
        "gemini-c": {"input": 1, "output": 1, "input": 2}},
      "aliases": {"x": "gemini-zzz"}, "extra": 1})");
    try {
        (void)pricing_table::load_file(path);
        FAIL("no exception");
    } catch (const pricing_error& e) {
        const std::string msg = e.what();
        INFO(msg);
        CHECK(msg.find(path + ": models.gemini-a.input: negative price (\"-1\")") != std::string::npos);
        CHECK(msg.find(path + ": models.gemini-a.output: exponent notation is not supported") != std::string::npos);
        CHECK(msg.find(path + ": models.gemini-b.cached_imput: unknown field") != std::string::npos);
        CHECK(msg.find(path + ": models.gemini-b.input: required") != std::string::npos);
        CHECK(msg.find(path + ": models.gemini-b.above_tier: required with tier_threshold") != std::string::npos);
        CHECK(msg.find(path + ": models.gemini-c.input: duplicated") != std::string::npos);
        CHECK(msg.find(path + ": aliases.x: names unknown model 'gemini-zzz'") != std::string::npos);
        CHECK(msg.find(path + ": extra: unknown field") != std::string::npos);
        CHECK(msg.find(path + ": version: required") != std::string::npos);
    }
    std::filesystem::remove(path);

    const auto broken = temp_file(R"({"version": "v", "models": {)");
    CHECK_THROWS_WITH(pricing_table::load_file(broken), Catch::Contains(broken + ": offset") && Catch::Contains("malformed JSON"));
    std::filesystem::remove(broken);
    CHECK_THROWS_AS(pricing_table::load_file("/nonexistent/pricing.json"), pricing_error);
}

TEST_CASE("costs too large for 64 bits are refused, not wrapped") {
    auto r = pricing_table::builtin().price("gemini-2.5-pro", tokens(0, 0, 0, std::int64_t{1} << 53, std::int64_t{1} << 53));
    CHECK_FALSE(r.priced);
    CHECK(r.problem == "cost overflows 64 bits");
}

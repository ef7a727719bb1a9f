#include "metering/usage_parser.hpp"

#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

using namespace gm::metering;

TEST_CASE("parse_gemini_usage reads every token class and the audio details") {
    auto r = parse_gemini_usage(
        R"({"promptTokenCount": 1844, "cachedContentTokenCount": 901, "candidatesTokenCount": 51,
            "thoughtsTokenCount": 91, "toolUsePromptTokenCount": 1934, "totalTokenCount": 3920,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 844}, {"modality": "AUDIO", "tokenCount": 1000}],
            "cacheTokensDetails": [{"modality": "AUDIO", "tokenCount": 500}],
            "toolUsePromptTokensDetails": [{"modality": "TEXT", "tokenCount": 1934}], "trafficType": "ON_DEMAND"})");
    REQUIRE(r.ok);
    CHECK(r.note.empty());
    token_counts want;
    want.prompt = 1844;
    want.cached = 901;
    want.candidates = 51;
    want.thoughts = 91;
    want.tool_use_prompt = 1934;
    want.total = 3920;
    want.prompt_audio = 1000;
    want.cached_audio = 500;
    CHECK(r.tokens == want);
}

TEST_CASE("parse_gemini_usage defaults absent fields to zero and notes a total that does not add up") {
    auto r = parse_gemini_usage(R"({"promptTokenCount": 12, "totalTokenCount": 12})");
    REQUIRE(r.ok);
    CHECK(r.tokens.prompt == 12);
    CHECK(r.tokens.candidates == 0);
    CHECK(r.note.empty());
    auto odd = parse_gemini_usage(R"({"promptTokenCount": 12, "candidatesTokenCount": 3, "totalTokenCount": 99})");
    REQUIRE(odd.ok);
    CHECK(odd.note == "usageMetadata: totalTokenCount 99 != sum of parts 15");
}

TEST_CASE("parse_gemini_usage rejects values it cannot trust, saying why") {
    struct bad {
        const char* json;
        const char* why;
    };
    const bad cases[] = {
        {R"({"promptTokenCount": -5})", "usageMetadata.promptTokenCount is negative (-5)"},
        {R"({"promptTokenCount": 1.5})", "usageMetadata.promptTokenCount is not an integer"},
        {R"({"promptTokenCount": 1e3})", "usageMetadata.promptTokenCount is not an integer"},
        {R"({"promptTokenCount": "12"})", "usageMetadata.promptTokenCount is not a number"},
        {R"({"promptTokenCount": null})", "usageMetadata.promptTokenCount is null"},
        {R"({"promptTokenCount": 9007199254740993})", "usageMetadata.promptTokenCount is too large (9007199254740993)"},
        {R"({"promptTokenCount": 18446744073709551615})", "usageMetadata.promptTokenCount is too large (18446744073709551615)"},
        {R"({"promptTokenCount": 99999999999999999999999})", "usageMetadata.promptTokenCount is not an integer"},
        {R"({"promptTokenCount": 5, "promptTokenCount": 7})", "usageMetadata.promptTokenCount is duplicated"},
        {R"({"promptTokenCount": 5, "cachedContentTokenCount": 6})",
         "usageMetadata: cachedContentTokenCount 6 exceeds promptTokenCount 5"},
        {R"({"promptTokenCount": 5, "promptTokensDetails": [{"modality": "AUDIO", "tokenCount": 6}]})",
         "usageMetadata: AUDIO token details exceed their totals"},
        {R"({"promptTokenCount": 5, "promptTokensDetails": [{"modality": "AUDIO", "tokenCount": 1}, {"modality": "AUDIO", "tokenCount": 1}]})",
         "usageMetadata.promptTokensDetails lists AUDIO twice"},
        {R"({"promptTokenCount": 5, "promptTokensDetails": {"modality": "AUDIO"}})",
         "usageMetadata.promptTokensDetails is not an array"},
        {R"([1,2])", "usage is not an object"},
    };
    for (const auto& c : cases) {
        INFO(c.json);
        auto r = parse_gemini_usage(c.json);
        CHECK_FALSE(r.ok);
        CHECK(r.problem == c.why);
        CHECK(r.tokens == token_counts{});
    }
    auto malformed = parse_gemini_usage(R"({"promptTokenCount": 5,,})");
    CHECK_FALSE(malformed.ok);
    CHECK(malformed.problem.starts_with("malformed usage JSON"));
}

TEST_CASE("parse_gemini_usage survives hostile nesting inside the usage object") {
    std::string deep = R"({"promptTokenCount": 5, "x": )" + std::string(5000, '[') + std::string(5000, ']') + "}";
    auto r = parse_gemini_usage(deep);
    CHECK(r.ok);
    CHECK(r.tokens.prompt == 5);
}

TEST_CASE("parse_openai_usage derives thinking and reads cached tokens") {
    auto r = parse_openai_usage(
        R"({"completion_tokens": 9, "prompt_tokens": 5, "total_tokens": 40, "prompt_tokens_details": {"cached_tokens": 2}, "completion_tokens_details": null})");
    REQUIRE(r.ok);
    CHECK(r.tokens.prompt == 5);
    CHECK(r.tokens.candidates == 9);
    CHECK(r.tokens.total == 40);
    CHECK(r.tokens.thoughts == 26);
    CHECK(r.tokens.cached == 2);

    auto no_total = parse_openai_usage(R"({"completion_tokens": 9, "prompt_tokens": 5})");
    REQUIRE(no_total.ok);
    CHECK(no_total.tokens.thoughts == 0);

    auto less = parse_openai_usage(R"({"completion_tokens": 9, "prompt_tokens": 5, "total_tokens": 10})");
    CHECK_FALSE(less.ok);
    CHECK(less.problem == "usage: total_tokens 10 is less than prompt + completion 14");
    auto dup = parse_openai_usage(R"({"prompt_tokens": 5, "prompt_tokens": 5})");
    CHECK_FALSE(dup.ok);
    CHECK(dup.problem == "usage.prompt_tokens is duplicated");
    auto neg = parse_openai_usage(R"({"prompt_tokens": -1})");
    CHECK_FALSE(neg.ok);
    CHECK(neg.problem == "usage.prompt_tokens is negative (-1)");
}

namespace {

bool same(const usage_parse_result& a, const usage_parse_result& b) {
    return a.ok == b.ok && a.tokens == b.tokens && a.problem == b.problem && a.note == b.note;
}

}  // namespace

TEST_CASE("parse_gemini_usage's quick reader agrees with the DOM reading, damaged objects included") {
    const std::vector<std::string> objects{
        R"({"promptTokenCount": 1844, "cachedContentTokenCount": 901, "candidatesTokenCount": 51,
            "thoughtsTokenCount": 91, "toolUsePromptTokenCount": 1934, "totalTokenCount": 3920,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 844}, {"modality": "AUDIO", "tokenCount": 1000}],
            "cacheTokensDetails": [{"modality": "AUDIO", "tokenCount": 500}],
            "toolUsePromptTokensDetails": [{"modality": "TEXT", "tokenCount": 1934}], "trafficType": "ON_DEMAND"})",
        R"({"promptTokenCount": 12,"candidatesTokenCount": 9,"totalTokenCount": 60,"thoughtsTokenCount": 39,"promptTokensDetails": [{"modality": "TEXT","tokenCount": 12}]})",
        R"({"promptTokenCount":0,"totalTokenCount":0,"x":[true,false,null,{"a":[]},{}],"y":{}})",
        R"({})",
        R"({"promptTokenCount": 5, "cacheTokensDetails": [], "promptTokensDetails": [{}]})",
    };
    std::mt19937 rng(5);
    static const std::string alphabet = "0123456789-.eE\"\\{}[],: \nAUDIOxtruenl";
    std::size_t quick = 0, total = 0;
    for (const auto& object : objects) {
        for (int round = 0; round < 3000; ++round) {
            std::string s = object;
            for (int e = 0; round > 0 && e < 1 + round % 3; ++e) {
                const std::size_t at = rng() % s.size();
                switch (rng() % 3) {
                    case 0: s[at] = alphabet[rng() % alphabet.size()]; break;
                    case 1: s.erase(at, 1 + rng() % 4); break;
                    default: s.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
                }
                if (s.empty()) s = "{";
            }
            INFO(s);
            const auto fast = parse_gemini_usage(s);
            const auto dom = parse_gemini_usage_dom(s);
            CHECK(same(fast, dom));
            ++total;
            if (fast.ok && fast.note.empty()) ++quick;
        }
    }
    CHECK(quick * 10 > total);  // enough of the damaged objects stay readable to compare
}

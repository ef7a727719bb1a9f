// Tests metering/call_metrics.cpp (owned by the admin engineer, hence kept here).
#include "metering/call_metrics.hpp"

#include <catch2/catch.hpp>

#include <thread>

using namespace gm::metering;

namespace {
usage_record call(std::string model, std::string endpoint, int status, call_ending ending, std::int64_t duration_ms) {
    usage_record r;
    r.model = std::move(model);
    r.endpoint = std::move(endpoint);
    r.http_status = status;
    r.ending = ending;
    r.duration_ms = duration_ms;
    r.ttfb_ms = duration_ms / 2;
    r.priced = true;
    r.tokens.prompt = 100;
    r.tokens.candidates = 20;
    r.tokens.cached = 10;
    r.tokens.thoughts = 5;
    r.tokens.tool_use_prompt = 1;
    r.cost_pico_usd = 1000;
    return r;
}
const call_series* find(const call_metrics_snapshot& s, const std::string& model, const std::string& cls) {
    for (const auto& x : s.series)
        if (x.model == model && x.status_class == cls) return &x;
    return nullptr;
}
}  // namespace

TEST_CASE("call_metrics counts calls, tokens by kind and cost per label set") {
    call_metrics m;
    m.observe(call("flash", "chat", 200, call_ending::completed, 7));
    m.observe(call("flash", "chat", 200, call_ending::completed, 7));
    auto failed = call("flash", "chat", 0, call_ending::upstream_timeout, 30'000);
    failed.priced = false;
    failed.problems.push_back("no usage");
    m.observe(failed);
    m.observe(call("pro", "analyze", 429, call_ending::completed, 3000));
    auto s = m.snapshot();
    REQUIRE(s.series.size() == 3);
    const auto* ok = find(s, "flash", "2xx");
    REQUIRE(ok);
    CHECK(ok->calls == 2);
    CHECK(ok->ending == "completed");
    CHECK(ok->cost_pico_usd == 2000);
    CHECK(ok->tokens[static_cast<int>(token_kind::prompt)] == 200);
    CHECK(ok->tokens[static_cast<int>(token_kind::candidates)] == 40);
    CHECK(ok->tokens[static_cast<int>(token_kind::cached)] == 20);
    CHECK(ok->tokens[static_cast<int>(token_kind::thoughts)] == 10);
    CHECK(ok->tokens[static_cast<int>(token_kind::tool_use)] == 2);
    const auto* timeout = find(s, "flash", "none");
    REQUIRE(timeout);
    CHECK(timeout->ending == "upstream_timeout");
    CHECK(timeout->unpriced_calls == 1);
    CHECK(find(s, "pro", "4xx")->calls == 1);
    CHECK(s.usage_problems == 1);
    // Histogram: 7, 7 -> le 10; 3000 -> le 5000; 30000 -> le 30000.
    const auto& b = s.duration.bounds_ms;
    auto cum = [&](std::int64_t le) {
        for (std::size_t i = 0; i < b.size(); ++i)
            if (b[i] == le) return s.duration.cumulative[i];
        FAIL("no bound " << le);
        return std::int64_t{-1};
    };
    CHECK(cum(5) == 0);
    CHECK(cum(10) == 2);
    CHECK(cum(2500) == 2);
    CHECK(cum(5000) == 3);
    CHECK(cum(30000) == 4);
    CHECK(s.duration.count == 4);
    CHECK(s.duration.sum_ms == 7 + 7 + 30'000 + 3000);
    CHECK(s.ttfb.count == 4);
}

TEST_CASE("call_metrics caps the number of series and counts the overflow") {
    call_metrics m(3);
    for (int i = 0; i < 10; ++i) m.observe(call("m" + std::to_string(i), "e", 200, call_ending::completed, 1));
    auto s = m.snapshot();
    CHECK(s.series.size() == 4);  // 3 real + "_other"
    const auto* other = find(s, "_other", "2xx");
    REQUIRE(other);
    CHECK(other->calls == 7);
    CHECK(s.overflowed_calls == 7);
}

TEST_CASE("call_metrics is safe to observe from several threads") {
    call_metrics m;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&m, t] {
            for (int i = 0; i < 5000; ++i) m.observe(call(t % 2 ? "a" : "b", "chat", 200, call_ending::completed, i % 100));
        });
    for (auto& th : threads) th.join();
    auto s = m.snapshot();
    std::int64_t total = 0;
    for (const auto& x : s.series) total += x.calls;
    CHECK(total == 20000);
    CHECK(s.duration.count == 20000);
    CHECK(s.duration.cumulative.back() == 20000);
}

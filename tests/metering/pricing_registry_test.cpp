#include "metering/pricing_registry.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <vector>

using namespace gm::metering;

namespace {
std::shared_ptr<const pricing_table> table(const std::string& version, const char* input) {
    return std::make_shared<const pricing_table>(
        pricing_table::from_json(R"({"version": ")" + version + R"(", "models": {"m": {"input": ")" + input + "\"}}}",
                                 "test"));
}
}  // namespace

TEST_CASE("pricing_registry swaps tables while readers keep a consistent snapshot") {
    pricing_registry reg(table("v0", "1"));
    CHECK(reg.current()->version() == "v0");
    reg.replace(nullptr);  // ignored: there is always a table
    CHECK(reg.current()->version() == "v0");

    std::atomic<bool> stop{false};
    std::atomic<long> reads{0}, inconsistent{0};
    std::vector<std::thread> readers;
    for (int i = 0; i < 2; ++i) {
        readers.emplace_back([&] {
            while (!stop.load()) {
                auto t = reg.current();
                token_counts tc;
                tc.prompt = 1;
                // Within one snapshot the version and the price always agree.
                const auto cost = t->price("m", tc).cost_pico_usd;
                const bool odd = t->version() == "v1";
                if (cost != (odd ? 2'000'000 : 1'000'000)) ++inconsistent;
                ++reads;
            }
        });
    }
    for (int k = 0; k < 200; ++k) reg.replace(k % 2 == 0 ? table("v1", "2") : table("v0", "1"));
    while (reads.load() < 1000) std::this_thread::yield();
    stop = true;
    for (auto& t : readers) t.join();
    CHECK(inconsistent.load() == 0);
    CHECK(reg.current()->version() == "v0");
}

#pragma once
// Live counters over every finished call, read by the admin API's /metrics. observe()
// runs once per call on the proxy's I/O threads, so it takes one short lock (a hash
// lookup and a few additions) and never allocates after a series exists. Counters only
// go up; snapshot() copies them out under the same short lock.
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "metering/usage_record.hpp"

namespace gm::metering {

// Token kinds exported, in this order, as the `kind` label.
enum class token_kind : std::uint8_t { prompt, candidates, cached, thoughts, tool_use, count_ };
const char* to_string(token_kind) noexcept;

// One label set of gemini_meter_calls_total and its per-series sums.
struct call_series {
    std::string model;
    std::string endpoint;
    std::string status_class;  // "2xx".."5xx", "none" when no status was relayed
    std::string ending;        // to_string(call_ending)
    std::int64_t calls = 0;
    std::int64_t unpriced_calls = 0;
    std::int64_t cost_pico_usd = 0;
    std::array<std::int64_t, static_cast<std::size_t>(token_kind::count_)> tokens{};
};

// Cumulative histogram in milliseconds; bounds are the Prometheus `le` values.
struct histogram_snapshot {
    std::vector<std::int64_t> bounds_ms;
    std::vector<std::int64_t> cumulative;  // same size as bounds_ms; +Inf is `count`
    std::int64_t count = 0;
    std::int64_t sum_ms = 0;
};

struct call_metrics_snapshot {
    std::vector<call_series> series;  // sorted by (model, endpoint, status_class, ending)
    histogram_snapshot duration;
    histogram_snapshot ttfb;
    std::int64_t usage_problems = 0;     // calls whose usage could not be read cleanly
    std::int64_t overflowed_calls = 0;   // calls folded into the "_other" series
};

class call_metrics {
public:
    // Label values come from request headers (X-Meter-Endpoint) that clients choose, so
    // the number of series is capped; calls beyond it are counted under model and
    // endpoint "_other" instead of growing memory without bound.
    explicit call_metrics(std::size_t max_series = 2000);

    void observe(const usage_record& record) noexcept;
    call_metrics_snapshot snapshot() const;

    // Bucket upper bounds in milliseconds: Prometheus' defaults, extended for long
    // generations.
    static const std::vector<std::int64_t>& bucket_bounds_ms();

private:
    struct histogram {
        std::vector<std::atomic<std::int64_t>> buckets;  // non-cumulative, one per bound
        std::atomic<std::int64_t> count{0};
        std::atomic<std::int64_t> sum_ms{0};
        histogram();
        void observe(std::int64_t ms) noexcept;
        histogram_snapshot snapshot() const;
    };

    std::size_t max_series_;
    mutable std::mutex mutex_;  // guards series_ (the map's structure and the values in it)
    std::unordered_map<std::string, call_series> series_;
    histogram duration_;
    histogram ttfb_;
    std::atomic<std::int64_t> usage_problems_{0};
    std::atomic<std::int64_t> overflowed_{0};
};

}  // namespace gm::metering

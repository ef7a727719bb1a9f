#include "metering/call_metrics.hpp"

#include <algorithm>
#include <tuple>

namespace gm::metering {

const char* to_string(token_kind k) noexcept {
    switch (k) {
    case token_kind::prompt: return "prompt";
    case token_kind::candidates: return "candidates";
    case token_kind::cached: return "cached";
    case token_kind::thoughts: return "thoughts";
    case token_kind::tool_use: return "tool_use";
    case token_kind::count_: break;
    }
    return "unknown";
}

namespace {

const char* status_class(int status) noexcept {
    if (status >= 100 && status < 200) return "1xx";
    if (status >= 200 && status < 300) return "2xx";
    if (status >= 300 && status < 400) return "3xx";
    if (status >= 400 && status < 500) return "4xx";
    if (status >= 500 && status < 600) return "5xx";
    return "none";
}

// A key that cannot be produced by two different label sets: labels are separated by a
// byte that never appears in an HTTP header value.
std::string series_key(const std::string& model, const std::string& endpoint, const char* cls,
                       const char* ending) {
    std::string key;
    key.reserve(model.size() + endpoint.size() + 16);
    key.append(model).push_back('\0');
    key.append(endpoint).push_back('\0');
    key.append(cls).push_back('\0');
    key.append(ending);
    return key;
}

}  // namespace

const std::vector<std::int64_t>& call_metrics::bucket_bounds_ms() {
    static const std::vector<std::int64_t> bounds{5,    10,    25,    50,    100,   250,   500,
                                                  1000, 2500,  5000,  10000, 30000, 60000, 120000};
    return bounds;
}

call_metrics::histogram::histogram() : buckets(bucket_bounds_ms().size()) {}

void call_metrics::histogram::observe(std::int64_t ms) noexcept {
    const auto& bounds = bucket_bounds_ms();
    auto it = std::lower_bound(bounds.begin(), bounds.end(), ms);
    if (it != bounds.end()) buckets[static_cast<std::size_t>(it - bounds.begin())].fetch_add(1, std::memory_order_relaxed);
    sum_ms.fetch_add(ms, std::memory_order_relaxed);
    count.fetch_add(1, std::memory_order_relaxed);
}

histogram_snapshot call_metrics::histogram::snapshot() const {
    histogram_snapshot s;
    s.bounds_ms = bucket_bounds_ms();
    s.cumulative.resize(buckets.size());
    // count is read first: buckets observed afterwards can only make the cumulative
    // values larger, and we clamp so that the +Inf bucket is never below the last bound.
    s.count = count.load(std::memory_order_relaxed);
    s.sum_ms = sum_ms.load(std::memory_order_relaxed);
    std::int64_t running = 0;
    for (std::size_t i = 0; i < buckets.size(); ++i) {
        running += buckets[i].load(std::memory_order_relaxed);
        s.cumulative[i] = std::min(running, s.count);
    }
    return s;
}

call_metrics::call_metrics(std::size_t max_series) : max_series_(max_series) {}

void call_metrics::observe(const usage_record& r) noexcept {
    try {
        const char* cls = status_class(r.http_status);
        const char* ending = to_string(r.ending);
        std::string key = series_key(r.model, r.endpoint, cls, ending);
        {
            std::lock_guard lock(mutex_);
            auto it = series_.find(key);
            if (it == series_.end()) {
                if (series_.size() >= max_series_) {
                    overflowed_.fetch_add(1, std::memory_order_relaxed);
                    static const std::string other = "_other";
                    key = series_key(other, other, cls, ending);
                    it = series_.find(key);
                }
                if (it == series_.end()) {
                    call_series s;
                    bool overflow = series_.size() >= max_series_;
                    s.model = overflow ? "_other" : r.model;
                    s.endpoint = overflow ? "_other" : r.endpoint;
                    s.status_class = cls;
                    s.ending = ending;
                    it = series_.emplace(std::move(key), std::move(s)).first;
                }
            }
            call_series& s = it->second;
            s.calls += 1;
            if (!r.priced) s.unpriced_calls += 1;
            s.cost_pico_usd += r.cost_pico_usd;
            s.tokens[static_cast<std::size_t>(token_kind::prompt)] += r.tokens.prompt;
            s.tokens[static_cast<std::size_t>(token_kind::candidates)] += r.tokens.candidates;
            s.tokens[static_cast<std::size_t>(token_kind::cached)] += r.tokens.cached;
            s.tokens[static_cast<std::size_t>(token_kind::thoughts)] += r.tokens.thoughts;
            s.tokens[static_cast<std::size_t>(token_kind::tool_use)] += r.tokens.tool_use_prompt;
        }
        if (r.duration_ms >= 0) duration_.observe(r.duration_ms);
        if (r.ttfb_ms >= 0) ttfb_.observe(r.ttfb_ms);
        if (!r.problems.empty()) usage_problems_.fetch_add(1, std::memory_order_relaxed);
    } catch (...) {
        // Only std::bad_alloc can get here; losing one observation beats taking the
        // proxy's I/O thread down.
    }
}

call_metrics_snapshot call_metrics::snapshot() const {
    call_metrics_snapshot snap;
    {
        std::lock_guard lock(mutex_);
        snap.series.reserve(series_.size());
        for (const auto& [key, s] : series_) snap.series.push_back(s);
    }
    std::sort(snap.series.begin(), snap.series.end(), [](const call_series& a, const call_series& b) {
        return std::tie(a.model, a.endpoint, a.status_class, a.ending) <
               std::tie(b.model, b.endpoint, b.status_class, b.ending);
    });
    snap.duration = duration_.snapshot();
    snap.ttfb = ttfb_.snapshot();
    snap.usage_problems = usage_problems_.load(std::memory_order_relaxed);
    snap.overflowed_calls = overflowed_.load(std::memory_order_relaxed);
    return snap;
}

}  // namespace gm::metering

#pragma once
// The realistic usage records the storage benchmarks write: evenly spread over the days
// before now, skewed (Zipf-like) over models, endpoints, bots and users as real traffic is.
// Deterministic (fixed seed), so that two programs or two rounds write the same rows.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "metering/usage_record.hpp"
#include "storage/utc_time.hpp"

namespace gm::bench {

struct fill_shape {
    long long rows = 10'000'000;
    int days = 90;
    int users = 50'000;
    int dims = 20;  // models, endpoints and bots each
};

// Zipf(s=1) over n items by inverse CDF on a precomputed table.
class zipf {
public:
    zipf(int n, double s) : cdf_(static_cast<std::size_t>(n)) {
        double sum = 0;
        for (int i = 0; i < n; ++i) sum += 1.0 / std::pow(i + 1, s);
        double acc = 0;
        for (int i = 0; i < n; ++i) {
            acc += 1.0 / std::pow(i + 1, s) / sum;
            cdf_[static_cast<std::size_t>(i)] = acc;
        }
    }
    int operator()(std::mt19937_64& rng) const {
        const double u = std::uniform_real_distribution<double>(0, 1)(rng);
        return static_cast<int>(std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin());
    }

private:
    std::vector<double> cdf_;
};

class usage_generator {
public:
    explicit usage_generator(const fill_shape& a)
        : a_(a), models_(a.dims, 1.2), endpoints_(a.dims, 1.0), bots_(a.dims, 1.0), users_(a.users, 0.9) {
        const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
        end_ms_ = now;
        start_ms_ = now - static_cast<std::int64_t>(a.days) * gm::storage::ms_per_day;
    }

    gm::metering::usage_record make(long long i) {
        gm::metering::usage_record r;
        // Evenly spread in time, so ids (time first) are in insertion order as in production.
        r.created_at_ms = start_ms_ + (end_ms_ - start_ms_) * i / a_.rows;
        r.id = fmt::format("{:012x}{:014x}", r.created_at_ms, static_cast<unsigned long long>(i));
        // Dimensions correlate as in a real app: a feature (endpoint) mostly uses one model,
        // and bots belong to the chat-like features.
        const int e = endpoints_(rng_);
        const int m = rng_() % 100 < 85 ? e % std::min(a_.dims, 5) : models_(rng_);
        r.model = fmt::format("gemini-model-{:02}", m);
        r.endpoint = fmt::format("endpoint-{:02}", e);
        if (e < 5 && rng_() % 10 != 0) r.bot_id = fmt::format("bot-{:02}", bots_(rng_));
        if (rng_() % 10 >= 4) {
            const int u = users_(rng_);
            r.user_id = fmt::format("user-{:05}", u);
            r.user_email = fmt::format("user{}@example.com", u);
            r.is_guest = false;
        }
        if (rng_() % 5 == 0) r.tags.emplace_back("team", fmt::format("team-{}", rng_() % 5));
        r.http_method = "POST";
        r.gemini_method = rng_() % 3 ? "generateContent" : "streamGenerateContent";
        r.streamed = r.gemini_method[0] == 's';
        r.path = "/v1beta/models/" + r.model + ":" + r.gemini_method;
        r.success = rng_() % 50 != 0;
        r.http_status = r.success ? 200 : 429;
        if (!r.success) r.error_message = "You exceeded your current quota";
        r.source = gm::metering::usage_source::response;
        if (r.success) {
            r.tokens.prompt = 200 + static_cast<std::int64_t>(rng_() % 5000);
            r.tokens.candidates = 20 + static_cast<std::int64_t>(rng_() % 1500);
            r.tokens.thoughts = rng_() % 3 == 0 ? static_cast<std::int64_t>(rng_() % 800) : 0;
            r.tokens.cached = rng_() % 4 == 0 ? r.tokens.prompt / 2 : 0;
            r.tokens.total = r.tokens.prompt + r.tokens.candidates + r.tokens.thoughts;
            r.response_id = fmt::format("resp{:x}", rng_() & 0xffffffffffULL);
            r.model_version = r.model;
        }
        r.priced = m != a_.dims - 1;
        const std::int64_t in_rate = 75'000 + m * 50'000, out_rate = 300'000 + m * 200'000;  // pico-USD/token
        r.cost_pico_usd = r.priced ? (r.tokens.prompt - r.tokens.cached) * in_rate + r.tokens.cached * in_rate / 10 +
                                         (r.tokens.candidates + r.tokens.thoughts) * out_rate
                                   : 0;
        r.price_version = "bench-1";
        r.duration_ms = 200 + static_cast<std::int64_t>(rng_() % 5000);
        r.ttfb_ms = r.duration_ms / 3;
        r.request_bytes = 500 + static_cast<std::int64_t>(rng_() % 20000);
        r.response_bytes = 300 + static_cast<std::int64_t>(rng_() % 8000);
        return r;
    }

private:
    fill_shape a_;
    std::mt19937_64 rng_{42};
    zipf models_, endpoints_, bots_, users_;
    std::int64_t start_ms_ = 0, end_ms_ = 0;
};

}  // namespace gm::bench

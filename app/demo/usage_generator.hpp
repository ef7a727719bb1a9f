#pragma once
// Realistic usage records, made up: evenly spread over a span of time, skewed (Zipf-like)
// over models, endpoints, bots and users as real traffic is. Two users: the storage
// benchmarks (numbered names, their own rates, ids of their own) and the demo's history
// (the demo catalog's names, priced by a pricing_table, the proxy's own record ids so that
// history and live rows sort together). Deterministic (fixed seed): the same shape gives
// the same rows in every program and round (the demo's ids aside).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "metering/pricing_table.hpp"
#include "metering/record_id.hpp"
#include "metering/usage_record.hpp"
#include "storage/utc_time.hpp"

namespace gm::demo {

struct fill_shape {
    long long rows = 10'000'000;
    int days = 90;
    int users = 50'000;
    int dims = 20;  // models, endpoints and bots each (numbered names only)
};

// What each drawn index is called. Endpoints below chat_like have bots; each endpoint
// mostly uses one of the first five models.
struct record_names {
    std::vector<std::string> models, endpoints, bots, teams, user_ids, user_emails;
    int chat_like = 5;

    // The benchmarks' names: gemini-model-07, endpoint-03, bot-12, team-4, user-00042.
    static record_names numbered(const fill_shape& a) {
        record_names n;
        for (int i = 0; i < a.dims; ++i) {
            n.models.push_back(fmt::format("gemini-model-{:02}", i));
            n.endpoints.push_back(fmt::format("endpoint-{:02}", i));
            n.bots.push_back(fmt::format("bot-{:02}", i));
        }
        for (int i = 0; i < 5; ++i) n.teams.push_back(fmt::format("team-{}", i));
        for (int u = 0; u < a.users; ++u) {
            n.user_ids.push_back(fmt::format("user-{:05}", u));
            n.user_emails.push_back(fmt::format("user{}@example.com", u));
        }
        return n;
    }
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
        const auto i = std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin();
        // The last cumulative sum may round to just below 1.
        return static_cast<int>(std::min<std::ptrdiff_t>(i, static_cast<std::ptrdiff_t>(cdf_.size()) - 1));
    }

private:
    std::vector<double> cdf_;
};

class usage_generator {
public:
    // The benchmarks' records: a.days before now, numbered names, the bench's own rates (the
    // last model unpriced), ids of time and index in hex.
    explicit usage_generator(const fill_shape& a) : usage_generator(a, record_names::numbered(a), nullptr) {
        end_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
        start_ms_ = end_ms_ - static_cast<std::int64_t>(a.days) * gm::storage::ms_per_day;
    }

    // The demo's records: day d (the UTC day starting at start_ms + d days) holds
    // rows_per_day[d] records spread evenly over it (a.rows must be their sum); named from
    // names (users: names.user_ids; a.users and a.dims unused), priced by table, ids by
    // make_record_id.
    usage_generator(const fill_shape& a, record_names names, const metering::pricing_table& table,
                    std::int64_t start_ms, const std::vector<long long>& rows_per_day)
        : usage_generator(a, std::move(names), &table) {
        start_ms_ = start_ms;
        end_ms_ = start_ms + static_cast<std::int64_t>(rows_per_day.size()) * gm::storage::ms_per_day;
        long long before = 0;
        for (long long n : rows_per_day) {
            day_first_row_.push_back(before);
            before += n;
        }
        day_first_row_.push_back(before);
    }

    metering::usage_record make(long long i) {
        metering::usage_record r;
        // Evenly spread in time (within each day when days are given), so ids (time first)
        // are in insertion order as in production.
        r.created_at_ms = created_at(i);
        r.id = table_ ? metering::make_record_id(r.created_at_ms)
                      : fmt::format("{:012x}{:014x}", r.created_at_ms, static_cast<unsigned long long>(i));
        // Dimensions correlate as in a real app: a feature (endpoint) mostly uses one model,
        // and bots belong to the chat-like features.
        const int e = endpoints_(rng_);
        const int m = rng_() % 100 < 85 ? e % std::min(n_models_, 5) : models_(rng_);
        r.model = names_.models[static_cast<std::size_t>(m)];
        r.endpoint = names_.endpoints[static_cast<std::size_t>(e)];
        if (e < names_.chat_like && rng_() % 10 != 0) r.bot_id = names_.bots[static_cast<std::size_t>(bots_(rng_))];
        if (rng_() % 10 >= 4) {
            const auto u = static_cast<std::size_t>(users_(rng_));
            r.user_id = names_.user_ids[u];
            r.user_email = names_.user_emails[u];
            r.is_guest = false;
        }
        if (rng_() % 5 == 0) r.tags.emplace_back("team", names_.teams[rng_() % names_.teams.size()]);
        r.http_method = "POST";
        r.gemini_method = rng_() % 3 ? "generateContent" : "streamGenerateContent";
        r.streamed = r.gemini_method[0] == 's';
        r.path = "/v1beta/models/" + r.model + ":" + r.gemini_method;
        r.success = rng_() % 50 != 0;
        r.http_status = r.success ? 200 : 429;
        if (!r.success) r.error_message = "You exceeded your current quota";
        r.source = metering::usage_source::response;
        if (r.success) {
            r.tokens.prompt = 200 + static_cast<std::int64_t>(rng_() % 5000);
            r.tokens.candidates = 20 + static_cast<std::int64_t>(rng_() % 1500);
            r.tokens.thoughts = rng_() % 3 == 0 ? static_cast<std::int64_t>(rng_() % 800) : 0;
            r.tokens.cached = rng_() % 4 == 0 ? r.tokens.prompt / 2 : 0;
            r.tokens.total = r.tokens.prompt + r.tokens.candidates + r.tokens.thoughts;
            r.response_id = fmt::format("resp{:x}", rng_() & 0xffffffffffULL);
            r.model_version = r.model;
        }
        price(r, m);
        r.duration_ms = 200 + static_cast<std::int64_t>(rng_() % 5000);
        r.ttfb_ms = r.duration_ms / 3;
        r.request_bytes = 500 + static_cast<std::int64_t>(rng_() % 20000);
        r.response_bytes = 300 + static_cast<std::int64_t>(rng_() % 8000);
        return r;
    }

private:
    usage_generator(const fill_shape& a, record_names names, const metering::pricing_table* table)
        : a_(a), names_(std::move(names)), table_(table), n_models_(static_cast<int>(names_.models.size())),
          models_(n_models_, 1.2), endpoints_(static_cast<int>(names_.endpoints.size()), 1.0),
          bots_(static_cast<int>(names_.bots.size()), 1.0), users_(static_cast<int>(names_.user_ids.size()), 0.9) {}

    std::int64_t created_at(long long i) const {
        if (day_first_row_.empty()) return start_ms_ + (end_ms_ - start_ms_) * i / a_.rows;
        // The day whose rows include i: the last one starting at or before it.
        const auto next = std::upper_bound(day_first_row_.begin(), day_first_row_.end() - 1, i);
        const auto d = static_cast<std::int64_t>(next - day_first_row_.begin()) - 1;
        const long long first = day_first_row_[static_cast<std::size_t>(d)], count = *next - first;
        return start_ms_ + d * gm::storage::ms_per_day + gm::storage::ms_per_day * (i - first) / count;
    }

    void price(metering::usage_record& r, int m) const {
        if (table_) {
            r.price_version = table_->version();
            // As the proxy records a live call (record_finisher): an error carries no usage
            // and is not priced; an answer is priced by the model that answered.
            if (!r.success) {
                r.source = metering::usage_source::none;
                return;
            }
            const auto p = table_->price(r.model_version.empty() ? r.model : r.model_version, r.tokens);
            r.priced = p.priced;
            r.cost_pico_usd = p.priced ? p.cost_pico_usd : 0;
            return;
        }
        r.priced = m != n_models_ - 1;
        const std::int64_t in_rate = 75'000 + m * 50'000, out_rate = 300'000 + m * 200'000;  // pico-USD/token
        r.cost_pico_usd = r.priced ? (r.tokens.prompt - r.tokens.cached) * in_rate + r.tokens.cached * in_rate / 10 +
                                         (r.tokens.candidates + r.tokens.thoughts) * out_rate
                                   : 0;
        r.price_version = "bench-1";
    }

    fill_shape a_;
    record_names names_;
    const metering::pricing_table* table_;  // null: the bench's rates and ids
    int n_models_;
    std::mt19937_64 rng_{42};
    zipf models_, endpoints_, bots_, users_;
    std::int64_t start_ms_ = 0, end_ms_ = 0;
    std::vector<long long> day_first_row_;  // the demo's: first row of each day, then the total
};

}  // namespace gm::demo

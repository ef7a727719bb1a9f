#include "admin_api/json_render.hpp"

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "admin_api/api_query.hpp"
#include "admin_api/iso_time.hpp"

namespace gm::admin_api {

namespace {

using writer = rapidjson::Writer<rapidjson::StringBuffer>;

void str(writer& w, std::string_view s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); }
void key(writer& w, std::string_view s) { w.Key(s.data(), static_cast<rapidjson::SizeType>(s.size())); }
void str_or_null(writer& w, const std::string& s) {
    if (s.empty()) w.Null();
    else str(w, s);
}

void money(writer& w, std::string_view usd_key, std::string_view pico_key, std::int64_t pico) {
    key(w, usd_key);
    std::string n = usd_from_pico(pico);
    w.RawValue(n.data(), n.size(), rapidjson::kNumberType);
    key(w, pico_key);
    w.Int64(pico);
}

void date_range(writer& w, const storage::time_range& r) {
    key(w, "dateRange");
    w.StartObject();
    key(w, "start");
    str(w, format_iso_ms(r.start_ms));
    key(w, "end");
    str(w, format_iso_ms(r.end_ms));
    w.EndObject();
}

std::int64_t average_duration(const storage::usage_totals& t) {
    return t.duration_count > 0 ? scale_rounded(t.duration_ms_sum, 1, t.duration_count) : 0;
}

// The fields shared by every group (byModel entries, days, users).
void group_fields(writer& w, const storage::usage_totals& t) {
    key(w, "calls"); w.Int64(t.calls);
    key(w, "successfulCalls"); w.Int64(t.successful_calls);
    key(w, "failedCalls"); w.Int64(t.failed_calls);
    key(w, "inputTokens"); w.Int64(t.input_tokens);
    key(w, "outputTokens"); w.Int64(t.output_tokens);
    key(w, "totalTokens"); w.Int64(t.total_tokens);
    money(w, "costUSD", "costPicoUSD", t.cost_pico_usd);
}

void keyed(writer& w, std::string_view name, const std::vector<storage::keyed_totals>& groups) {
    key(w, name);
    w.StartObject();
    for (const auto& g : groups) {
        key(w, g.key.empty() ? std::string_view(none_key) : std::string_view(g.key));
        w.StartObject();
        group_fields(w, g.totals);
        w.EndObject();
    }
    w.EndObject();
}

void totals_fields(writer& w, const storage::usage_totals& t) {
    key(w, "totalCalls"); w.Int64(t.calls);
    key(w, "successfulCalls"); w.Int64(t.successful_calls);
    key(w, "failedCalls"); w.Int64(t.failed_calls);
    key(w, "totalInputTokens"); w.Int64(t.input_tokens);
    key(w, "totalOutputTokens"); w.Int64(t.output_tokens);
    key(w, "totalTokens"); w.Int64(t.total_tokens);
    key(w, "cachedTokens"); w.Int64(t.cached_tokens);
    key(w, "thoughtsTokens"); w.Int64(t.thoughts_tokens);
    money(w, "totalCostUSD", "totalCostPicoUSD", t.cost_pico_usd);
    key(w, "averageDurationMs"); w.Int64(average_duration(t));
    key(w, "guestCalls"); w.Int64(t.guest_calls);
    key(w, "registeredCalls"); w.Int64(t.registered_calls);
    key(w, "unpricedCalls"); w.Int64(t.unpriced_calls);
}

std::string done(rapidjson::StringBuffer& buf) { return std::string(buf.GetString(), buf.GetSize()); }

// A number with two decimals, rounded half away from zero, from an exact ratio.
void ratio2(writer& w, std::int64_t num, std::int64_t den) {
    const std::int64_t hundredths = scale_rounded(num, 100, den);
    const std::int64_t a = hundredths < 0 ? -hundredths : hundredths;
    std::string s = fmt::format("{}{}.{:02}", hundredths < 0 ? "-" : "", a / 100, a % 100);
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
    w.RawValue(s.data(), s.size(), rapidjson::kNumberType);
}

}  // namespace

std::int64_t scale_rounded(std::int64_t value, std::int64_t num, std::int64_t den) {
    __int128 p = static_cast<__int128>(value) * num;
    __int128 q = p / den, r = p % den;
    if (r != 0) {
        __int128 twice = (r < 0 ? -r : r) * 2;
        __int128 d = den < 0 ? -den : den;
        if (twice >= d) q += ((p < 0) != (den < 0)) ? -1 : 1;
    }
    return static_cast<std::int64_t>(q);
}

std::string usd_fixed(std::int64_t pico) {
    const std::int64_t micro = scale_rounded(pico, 1, 1'000'000);
    const std::uint64_t a = micro < 0 ? static_cast<std::uint64_t>(-(micro + 1)) + 1 : static_cast<std::uint64_t>(micro);
    return fmt::format("{}{}.{:06}", micro < 0 ? "-" : "", a / 1'000'000, a % 1'000'000);
}

std::string usd_from_pico(std::int64_t pico) {
    std::string s = usd_fixed(pico);
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
    return s;
}

std::string render_stats(const storage::time_range& range, const storage::usage_stats& stats) {
    rapidjson::StringBuffer buf;
    writer w(buf);
    w.StartObject();
    date_range(w, range);
    key(w, "stats");
    w.StartObject();
    totals_fields(w, stats.totals);
    keyed(w, "byModel", stats.by_model);
    keyed(w, "byEndpoint", stats.by_endpoint);
    keyed(w, "byBot", stats.by_bot);
    w.EndObject();
    w.EndObject();
    return done(buf);
}

std::string render_daily(const storage::time_range& range, const std::vector<storage::daily_usage>& days) {
    rapidjson::StringBuffer buf;
    writer w(buf);
    w.StartObject();
    date_range(w, range);
    key(w, "daily");
    w.StartArray();
    for (const auto& d : days) {
        w.StartObject();
        key(w, "date"); str(w, d.date);
        group_fields(w, d.totals);
        w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return done(buf);
}

std::string render_top_users(const storage::time_range& range, const std::vector<storage::user_usage>& users) {
    rapidjson::StringBuffer buf;
    writer w(buf);
    w.StartObject();
    date_range(w, range);
    key(w, "topUsers");
    w.StartArray();
    for (const auto& u : users) {
        w.StartObject();
        key(w, "userId"); str(w, u.user_id);
        key(w, "email"); str_or_null(w, u.email);
        group_fields(w, u.totals);
        w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return done(buf);
}

std::string render_recent(const storage::recent_page& page) {
    rapidjson::StringBuffer buf;
    writer w(buf);
    w.StartObject();
    key(w, "recentCalls");
    w.StartArray();
    for (const auto& r : page.calls) {
        w.StartObject();
        key(w, "id"); str(w, r.id);
        key(w, "userId"); str_or_null(w, r.user_id);
        key(w, "userEmail"); str_or_null(w, r.user_email);
        key(w, "isGuest"); w.Bool(r.is_guest);
        key(w, "endpoint"); str(w, r.endpoint);
        key(w, "model"); str(w, r.model);
        key(w, "botId"); str_or_null(w, r.bot_id);
        key(w, "inputTokens"); w.Int64(r.input_tokens());
        key(w, "outputTokens"); w.Int64(r.output_tokens());
        key(w, "totalTokens"); w.Int64(r.tokens.total);
        money(w, "estimatedCostUSD", "estimatedCostPicoUSD", r.cost_pico_usd);
        key(w, "durationMs"); w.Int64(r.duration_ms);
        key(w, "success"); w.Bool(r.success);
        key(w, "httpStatus"); w.Int(r.http_status);
        key(w, "errorMessage"); str_or_null(w, r.error_message);
        key(w, "createdAt"); str(w, format_iso_ms(r.created_at_ms));
        w.EndObject();
    }
    w.EndArray();
    key(w, "nextCursor");
    if (page.next) str(w, encode_cursor(*page.next));
    else w.Null();
    w.EndObject();
    return done(buf);
}

std::string render_projections(const storage::projection& p) {
    const std::int64_t days = p.baseline_days > 0 ? p.baseline_days : 7;
    const auto& t = p.baseline_totals;
    rapidjson::StringBuffer buf;
    writer w(buf);
    w.StartObject();
    key(w, "baselinePeriod");
    w.StartObject();
    key(w, "days"); w.Int64(days);
    key(w, "start"); str(w, format_iso_ms(p.baseline.start_ms));
    key(w, "end"); str(w, format_iso_ms(p.baseline.end_ms));
    w.EndObject();
    key(w, "daily");
    w.StartObject();
    money(w, "avgCost", "avgCostPicoUSD", scale_rounded(t.cost_pico_usd, 1, days));
    key(w, "avgCalls"); ratio2(w, t.calls, days);
    key(w, "avgTokens"); ratio2(w, t.total_tokens, days);
    w.EndObject();
    // Projected from the exact baseline totals (× 30 / days), not from the rounded averages.
    key(w, "monthly");
    w.StartObject();
    money(w, "projectedCost", "projectedCostPicoUSD", scale_rounded(t.cost_pico_usd, 30, days));
    key(w, "projectedCalls"); w.Int64(scale_rounded(t.calls, 30, days));
    key(w, "projectedTokens"); w.Int64(scale_rounded(t.total_tokens, 30, days));
    w.EndObject();
    key(w, "breakdown");
    w.StartObject();
    auto projected_groups = [&](std::string_view name, const std::vector<storage::keyed_totals>& groups) {
        key(w, name);
        w.StartObject();
        for (const auto& g : groups) {
            key(w, g.key.empty() ? std::string_view(none_key) : std::string_view(g.key));
            w.StartObject();
            group_fields(w, g.totals);
            money(w, "projectedMonthlyCostUSD", "projectedMonthlyCostPicoUSD", scale_rounded(g.totals.cost_pico_usd, 30, days));
            w.EndObject();
        }
        w.EndObject();
    };
    projected_groups("byModel", p.by_model);
    projected_groups("byEndpoint", p.by_endpoint);
    w.EndObject();
    w.EndObject();
    return done(buf);
}

std::string render_compare(const storage::time_range& current, const storage::usage_stats& current_stats,
                           const storage::time_range& baseline, const storage::usage_stats& baseline_stats) {
    rapidjson::StringBuffer buf;
    writer w(buf);
    w.StartObject();
    auto period = [&](std::string_view name, const storage::time_range& r, const storage::usage_stats& s) {
        key(w, name);
        w.StartObject();
        date_range(w, r);
        key(w, "stats");
        w.StartObject();
        totals_fields(w, s.totals);
        w.EndObject();
        w.EndObject();
    };
    period("current", current, current_stats);
    period("baseline", baseline, baseline_stats);
    const auto& a = current_stats.totals;
    const auto& b = baseline_stats.totals;
    auto change = [&](std::string_view name, std::int64_t now, std::int64_t before) {
        key(w, name);
        w.StartObject();
        key(w, "difference"); w.Int64(now - before);
        key(w, "percentChange");
        if (before == 0) w.Null();
        else ratio2(w, (now - before) * 100, before);
        w.EndObject();
    };
    key(w, "change");
    w.StartObject();
    change("calls", a.calls, b.calls);
    change("inputTokens", a.input_tokens, b.input_tokens);
    change("outputTokens", a.output_tokens, b.output_tokens);
    change("totalTokens", a.total_tokens, b.total_tokens);
    key(w, "cost");
    w.StartObject();
    money(w, "differenceUSD", "differencePicoUSD", a.cost_pico_usd - b.cost_pico_usd);
    key(w, "percentChange");
    if (b.cost_pico_usd == 0) w.Null();
    else ratio2(w, scale_rounded(a.cost_pico_usd - b.cost_pico_usd, 100 * 100, b.cost_pico_usd), 100);
    w.EndObject();
    w.EndObject();
    w.EndObject();
    return done(buf);
}

}  // namespace gm::admin_api

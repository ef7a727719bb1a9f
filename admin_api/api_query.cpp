#include "admin_api/api_query.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>

#include "admin_api/iso_time.hpp"

namespace gm::admin_api {

namespace {

constexpr std::int64_t default_range_ms = 30 * ms_per_day;
constexpr std::string_view filter_names[] = {"model", "endpoint", "botId", "userId", "guest", "tag"};
constexpr std::string_view range_names[] = {"startDate", "endDate"};

std::vector<std::string_view> allowed_params(route_id r) {
    std::vector<std::string_view> out;
    auto add_filters = [&] { out.insert(out.end(), std::begin(filter_names), std::end(filter_names)); };
    auto add_range = [&] { out.insert(out.end(), std::begin(range_names), std::end(range_names)); };
    switch (r) {
    case route_id::stats:
    case route_id::daily: add_range(); add_filters(); break;
    case route_id::top_users: add_range(); add_filters(); out.push_back("limit"); break;
    case route_id::recent: add_filters(); out.push_back("limit"); out.push_back("before"); break;
    case route_id::projections: add_filters(); break;
    case route_id::export_csv: add_range(); add_filters(); out.push_back("format"); break;
    case route_id::compare:
        add_range(); add_filters();
        out.push_back("baselineStartDate");
        out.push_back("baselineEndDate");
        break;
    default: break;
    }
    return out;
}

std::string join(const std::vector<std::string_view>& v) {
    std::string s;
    for (auto n : v) {
        if (!s.empty()) s += ", ";
        s += n;
    }
    return s.empty() ? "no parameters" : s;
}

const std::string* find(const query_params& params, std::string_view name) {
    for (const auto& [k, v] : params)
        if (k == name) return &v;
    return nullptr;
}

constexpr std::string_view date_allowed =
    "ISO 8601 date (YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:MM[:SS[.sss]][Z|+HH:MM]), UTC unless an offset is given";

// Reads [start, end) from two parameters. A date-only end means the end of that day.
std::optional<param_error> read_range(const query_params& params, std::string_view start_name,
                                      std::string_view end_name, std::int64_t default_end,
                                      std::int64_t default_length, storage::time_range& out) {
    std::optional<std::int64_t> start, end;
    if (auto v = find(params, start_name)) {
        auto t = parse_iso_time(*v);
        if (!t) return param_error{std::string(start_name), fmt::format("invalid {}: '{}'", start_name, *v), std::string(date_allowed)};
        start = t->ms;
    }
    if (auto v = find(params, end_name)) {
        auto t = parse_iso_time(*v);
        if (!t) return param_error{std::string(end_name), fmt::format("invalid {}: '{}'", end_name, *v), std::string(date_allowed)};
        end = t->date_only ? t->ms + ms_per_day : t->ms;
    }
    out.end_ms = end ? *end : (start ? std::max(default_end, *start) : default_end);
    out.start_ms = start ? *start : out.end_ms - default_length;
    if (out.end_ms <= out.start_ms)
        return param_error{std::string(end_name), fmt::format("{} must be after {}", end_name, start_name),
                           fmt::format("a time after {}", start_name)};
    return std::nullopt;
}

std::optional<param_error> check_length(const storage::time_range& r, std::string_view end_name, int max_days) {
    if (r.end_ms - r.start_ms > static_cast<std::int64_t>(max_days) * ms_per_day)
        return param_error{std::string(end_name), fmt::format("the range is longer than {} days", max_days),
                           fmt::format("a range of at most {} days", max_days)};
    return std::nullopt;
}

}  // namespace

std::variant<api_query, param_error> parse_api_query(route_id route, const query_params& params,
                                                     const query_limits& limits, std::int64_t now_ms) {
    api_query q;
    q.route = route;
    q.now_ms = now_ms;
    const auto allowed = allowed_params(route);
    for (std::size_t i = 0; i < params.size(); ++i) {
        const auto& name = params[i].first;
        if (std::find(allowed.begin(), allowed.end(), name) == allowed.end())
            return param_error{name, fmt::format("unknown parameter '{}'", name), join(allowed)};
        for (std::size_t j = 0; j < i; ++j)
            if (params[j].first == name)
                return param_error{name, fmt::format("parameter '{}' given more than once", name), "once"};
    }

    // Filters: exact matches, given as bound values to storage.
    auto text_filter = [&](std::string_view name, std::optional<std::string>& field) -> std::optional<param_error> {
        if (auto v = find(params, name)) {
            if (v->empty()) return param_error{std::string(name), fmt::format("{} must not be empty", name), "a non-empty value"};
            field = *v;
        }
        return std::nullopt;
    };
    if (auto e = text_filter("model", q.filter.model)) return *e;
    if (auto e = text_filter("endpoint", q.filter.endpoint)) return *e;
    if (auto e = text_filter("botId", q.filter.bot_id)) return *e;
    if (auto e = text_filter("userId", q.filter.user_id)) return *e;
    if (auto v = find(params, "guest")) {
        if (*v == "true") q.filter.guest = true;
        else if (*v == "false") q.filter.guest = false;
        else return param_error{"guest", fmt::format("invalid guest: '{}'", *v), "true, false"};
    }
    if (auto v = find(params, "tag")) {
        // "name=value" matches that value; "name" alone matches any value of the tag.
        if (v->empty() || v->front() == '=')
            return param_error{"tag", fmt::format("invalid tag: '{}'", *v), "name=value or name"};
        q.filter.tag = *v;
    }

    if (auto v = find(params, "limit")) {
        int n = 0;
        auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
        if (v->empty() || ec != std::errc{} || p != v->data() + v->size() || n < 1 || n > 1000)
            return param_error{"limit", fmt::format("invalid limit: '{}'", *v), "an integer in 1..1000"};
        q.limit = n;
    } else {
        q.limit = route == route_id::recent ? 50 : 10;
    }

    if (auto v = find(params, "before")) {
        q.before = decode_cursor(*v);
        if (!q.before) return param_error{"before", "invalid cursor", "the nextCursor value of a previous response"};
    }

    if (auto v = find(params, "format")) {
        if (*v != "csv") return param_error{"format", fmt::format("unknown format '{}'", *v), "csv"};
    }

    switch (route) {
    case route_id::stats:
    case route_id::daily:
    case route_id::top_users:
        if (auto e = read_range(params, "startDate", "endDate", now_ms, default_range_ms, q.range)) return *e;
        if (auto e = check_length(q.range, "endDate", limits.max_range_days)) return *e;
        break;
    case route_id::export_csv:
        // An export is streamed row by row, so any range is allowed.
        if (auto e = read_range(params, "startDate", "endDate", now_ms, default_range_ms, q.range)) return *e;
        break;
    case route_id::compare: {
        const bool current_given = find(params, "startDate") || find(params, "endDate");
        const bool base_start = find(params, "baselineStartDate") != nullptr;
        const bool base_end = find(params, "baselineEndDate") != nullptr;
        if (!current_given) {
            // This month so far against the whole of last month.
            q.range = {month_start_ms(now_ms), now_ms};
            if (q.range.end_ms <= q.range.start_ms) q.range.end_ms = q.range.start_ms + 1;
            q.baseline = {month_start_ms(now_ms, -1), month_start_ms(now_ms)};
        } else {
            if (auto e = read_range(params, "startDate", "endDate", now_ms, default_range_ms, q.range)) return *e;
            q.baseline = {q.range.start_ms - (q.range.end_ms - q.range.start_ms), q.range.start_ms};
        }
        if (base_start != base_end)
            return param_error{base_start ? "baselineEndDate" : "baselineStartDate",
                               "baselineStartDate and baselineEndDate go together", "both or neither"};
        if (base_start) {
            if (auto e = read_range(params, "baselineStartDate", "baselineEndDate", now_ms, default_range_ms, q.baseline))
                return *e;
        }
        if (auto e = check_length(q.range, "endDate", limits.max_range_days)) return *e;
        if (auto e = check_length(q.baseline, "baselineEndDate", limits.max_range_days)) return *e;
        break;
    }
    default: break;
    }
    return q;
}

namespace {
constexpr char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string b64url_encode(std::string_view in) {
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                     static_cast<unsigned char>(in[i + 2]);
        out += b64[v >> 18]; out += b64[(v >> 12) & 63]; out += b64[(v >> 6) & 63]; out += b64[v & 63];
    }
    if (i + 1 == in.size()) {
        unsigned v = static_cast<unsigned char>(in[i]) << 16;
        out += b64[v >> 18]; out += b64[(v >> 12) & 63];
    } else if (i + 2 == in.size()) {
        unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
        out += b64[v >> 18]; out += b64[(v >> 12) & 63]; out += b64[(v >> 6) & 63];
    }
    return out;
}

std::optional<std::string> b64url_decode(std::string_view in) {
    if (in.size() % 4 == 1) return std::nullopt;
    std::string out;
    unsigned acc = 0;
    int bits = 0;
    for (char c : in) {
        const char* p = std::find(b64, b64 + 64, c);
        if (p == b64 + 64) return std::nullopt;
        acc = (acc << 6) | static_cast<unsigned>(p - b64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xff);
        }
    }
    return out;
}
}  // namespace

std::string encode_cursor(const storage::recent_cursor& c) {
    return b64url_encode(fmt::format("{}:{}", c.created_at_ms, c.id));
}

std::optional<storage::recent_cursor> decode_cursor(std::string_view text) {
    if (text.empty() || text.size() > 512) return std::nullopt;
    auto raw = b64url_decode(text);
    if (!raw) return std::nullopt;
    auto colon = raw->find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == raw->size()) return std::nullopt;
    storage::recent_cursor c;
    auto [p, ec] = std::from_chars(raw->data(), raw->data() + colon, c.created_at_ms);
    if (ec != std::errc{} || p != raw->data() + colon || c.created_at_ms < 0) return std::nullopt;
    c.id = raw->substr(colon + 1);
    for (unsigned char ch : c.id)
        if (ch < 0x20 || ch == 0x7f) return std::nullopt;
    return c;
}

}  // namespace gm::admin_api

#include "storage/sqlite_queries.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <unordered_set>

#include "storage/rollup_columns.hpp"
#include "storage/row_reader.hpp"
#include "storage/utc_time.hpp"

namespace gm::storage {
namespace {

using group = sqlite_queries::group;

usage_totals read_sums(const sqlite_stmt& st, int c) {
    usage_totals t;
    t.calls = st.col_int(c + 0);
    t.successful_calls = st.col_int(c + 1);
    t.guest_calls = st.col_int(c + 2);
    t.input_tokens = st.col_int(c + 3);
    t.output_tokens = st.col_int(c + 4);
    t.total_tokens = st.col_int(c + 5);
    t.cached_tokens = st.col_int(c + 6);
    t.thoughts_tokens = st.col_int(c + 7);
    t.cost_pico_usd = st.col_int(c + 8);
    t.duration_ms_sum = st.col_int(c + 9);
    t.duration_count = st.col_int(c + 10);
    t.unpriced_calls = st.col_int(c + 11);
    t.failed_calls = t.calls - t.successful_calls;
    t.registered_calls = t.calls - t.guest_calls;
    return t;
}


// "name=value" matches that tag's value; "name" alone matches any value of that tag.
std::pair<std::string, std::optional<std::string>> split_tag(const std::string& tag) {
    const auto eq = tag.find('=');
    if (eq == std::string::npos) return {tag, std::nullopt};
    return {tag.substr(0, eq), tag.substr(eq + 1)};
}

// WHERE fragments on raw ApiUsage rows (alias a), appending bound values. The model,
// endpoint and userId indexes order each value's rows by (createdAtMs, id), so a filter
// and a time range or a newest-first page use one of them as well as the time index.
template <class Param>
void raw_filter(const usage_filter& f, std::string& sql, std::vector<Param>& params) {
    if (f.model) { sql += " AND a.model = ?"; params.emplace_back(*f.model); }
    if (f.endpoint) { sql += " AND a.endpoint = ?"; params.emplace_back(*f.endpoint); }
    if (f.bot_id) { sql += " AND COALESCE(a.botId, '') = ?"; params.emplace_back(*f.bot_id); }
    if (f.guest) { sql += " AND (a.isGuest <> 0) = ?"; params.emplace_back(std::int64_t{*f.guest ? 1 : 0}); }
    if (f.user_id) { sql += " AND a.userId = ?"; params.emplace_back(*f.user_id); }
    if (f.tag) {
        auto [name, value] = split_tag(*f.tag);
        if (value) {
            sql += " AND EXISTS (SELECT 1 FROM json_each(a.metadata, '$.tags') WHERE key = ? AND value = ?)";
            params.emplace_back(std::move(name));
            params.emplace_back(std::move(*value));
        } else {
            sql += " AND EXISTS (SELECT 1 FROM json_each(a.metadata, '$.tags') WHERE key = ?)";
            params.emplace_back(std::move(name));
        }
    }
}

// Top users' order: cost, then calls, descending; then id.
bool ranks_before(const user_usage& a, const user_usage& b) {
    if (a.totals.cost_pico_usd != b.totals.cost_pico_usd) return a.totals.cost_pico_usd > b.totals.cost_pico_usd;
    if (a.totals.calls != b.totals.calls) return a.totals.calls > b.totals.calls;
    return a.user_id < b.user_id;
}

// The one rollup dimension a filter names when it names exactly one of model, endpoint, bot
// and guest (nothing else), with the key it asks for; nullptr otherwise.
const char* single_dim(const usage_filter& f, std::string& key) {
    if (f.user_id || f.tag) return nullptr;
    const int n = (f.model ? 1 : 0) + (f.endpoint ? 1 : 0) + (f.bot_id ? 1 : 0) + (f.guest ? 1 : 0);
    if (n != 1) return nullptr;
    if (f.model) { key = *f.model; return "model"; }
    if (f.endpoint) { key = *f.endpoint; return "endpoint"; }
    if (f.bot_id) { key = *f.bot_id; return "bot"; }
    key.assign(1, *f.guest ? '1' : '0');  // assign(char*) trips GCC 12's false -Wrestrict
    return "guest";
}

// The per-dimension tables' dim holding a grouping's keys ("guest": its two rows per bucket
// sum to the bucket's totals, for no grouping).
const char* dim_of(group g) {
    return g == group::model ? "model" : g == group::endpoint ? "endpoint" : g == group::bot ? "bot" : "guest";
}

// The buckets first .. end-1 (the first two parameters) as table d(x), to drive one index
// seek per bucket.
constexpr const char* day_series = "WITH RECURSIVE d(x) AS (SELECT ? UNION ALL SELECT x + 1 FROM d WHERE x + 1 < ?)";

const char* raw_key(group g) {
    switch (g) {
    case group::none: return "''";
    case group::model: return "a.model";
    case group::endpoint: return "a.endpoint";
    case group::bot: return "COALESCE(a.botId, '')";
    case group::day: return "a.createdAtMs / 86400000";
    case group::user: return "a.userId";
    case group::breakdown: return "a.model || char(31) || a.endpoint || char(31) || COALESCE(a.botId, '')";
    }
    return "''";
}

void sub_totals(usage_totals& t, const usage_totals& o) {
    usage_totals neg;
    neg.calls = -o.calls;
    neg.successful_calls = -o.successful_calls;
    neg.guest_calls = -o.guest_calls;
    neg.input_tokens = -o.input_tokens;
    neg.output_tokens = -o.output_tokens;
    neg.total_tokens = -o.total_tokens;
    neg.cached_tokens = -o.cached_tokens;
    neg.thoughts_tokens = -o.thoughts_tokens;
    neg.cost_pico_usd = -o.cost_pico_usd;
    neg.duration_ms_sum = -o.duration_ms_sum;
    neg.duration_count = -o.duration_count;
    neg.unpriced_calls = -o.unpriced_calls;
    add_totals(t, neg);
}

// Keys whose additions and subtractions cancelled out (a value seen only outside the range).
void drop_empty(std::map<std::string, usage_totals>& m) {
    std::erase_if(m, [](const auto& e) { return e.second == usage_totals{}; });
}

// Splitting a range into pieces of the rollups. A span [s, e) is covered at a level
// (month, day, hour) by the whole buckets inside it, and each end that is not on a bucket
// boundary either by finer pieces of its own, or as the whole bucket it lies in less the
// finer pieces of that bucket outside the span, whichever reads fewer buckets: "the last
// 30 days" starting at 01:23 is that day less its hour 0 and its raw rows 01:00-01:23
// (3 reads), not hours 2..23 and the raw rows 01:23-02:00 (23). Buckets and raw spans that
// lie in a gap (no row there, see gaps_around) cost nothing and are not read: the range
// ending now reads the current month's or day's row, not its days or hours up to now.
enum class level { month, day, hour, raw };

level finer(level l) { return l == level::month ? level::day : l == level::day ? level::hour : level::raw; }

std::int64_t bucket_of(level l, std::int64_t ms) {
    return l == level::month ? utc_month(utc_day(ms)) : l == level::day ? utc_day(ms) : utc_hour(ms);
}
std::int64_t bucket_start(level l, std::int64_t b) {
    return l == level::month ? day_start_ms(month_first_day(b)) : l == level::day ? day_start_ms(b) : b * ms_per_hour;
}

struct piece {
    level lv;
    std::int64_t first, end;  // buckets [first, end), or ms for raw
    int sign;
};

struct plan {
    double cost = 0;
    std::vector<piece> pieces;
    void add(const plan& o, int sign) {
        cost += o.cost;
        for (auto p : o.pieces) {
            p.sign *= sign;
            pieces.push_back(p);
        }
    }
};

class range_planner {
public:
    // spans: [from, to) with no row and no rollup sum. folded_day: the last day folded into the
    // monthly rollup (its later days cost one more read each).
    // stored_from: the oldest stored row, if any. Raw rows before it may have been removed by
    // retention while the rollups still count them, so no raw span before it is subtracted.
    range_planner(const std::vector<std::pair<std::int64_t, std::int64_t>>& spans,
                  std::optional<std::int64_t> stored_from, std::int64_t folded_day)
        : spans_(spans), stored_from_(stored_from.value_or(std::numeric_limits<std::int64_t>::max())),
          folded_day_(folded_day) {}

    // [a, b) less the gaps at its ends; empty (a >= b) when it lies in gaps.
    std::pair<std::int64_t, std::int64_t> trim(std::int64_t a, std::int64_t b) const {
        for (bool moved = true; moved && a < b;) {
            moved = false;
            for (const auto& [from, to] : spans_) {
                if (from <= a && a < to) { a = to; moved = true; }
                if (a < b && from < b && b <= to) { b = from; moved = true; }
            }
        }
        return {a, b};
    }

    plan cover(std::int64_t s, std::int64_t e, level l) const {
        plan out;
        if (s >= e) return out;
        if (const auto [a, b] = trim(s, e); a >= b) return out;
        if (l == level::raw) {
            const auto [a, b] = trim(s, e);
            // A raw span costs a seek and its rows: taken as 50 bucket reads per hour.
            out.cost = 1 + 50.0 * static_cast<double>(b - a) / ms_per_hour;
            out.pieces.push_back({level::raw, s, e, 1});
            return out;
        }
        std::int64_t b1 = bucket_of(l, s);
        if (bucket_start(l, b1) < s) ++b1;
        const std::int64_t b2 = bucket_of(l, e);
        if (b1 <= b2) {
            out.add(buckets(l, b1, b2), 1);
            out.add(edge(s, bucket_start(l, b1), l, true), 1);
            out.add(edge(bucket_start(l, b2), e, l, false), 1);
            return out;
        }
        // Both ends inside one bucket: finer pieces, or the bucket less both outer parts.
        const std::int64_t b = b2;
        plan direct = cover(s, e, finer(l));
        plan whole = buckets(l, b, b + 1);
        whole.add(cover(bucket_start(l, b), s, finer(l)), -1);
        whole.add(cover(e, bucket_start(l, b + 1), finer(l)), -1);
        forbid_removed(whole);
        return whole.cost < direct.cost ? whole : direct;
    }

private:
    // [s, x) ending on a boundary (left), or [x, e) starting on one.
    plan edge(std::int64_t a, std::int64_t b, level l, bool left) const {
        plan out;
        if (a >= b) return out;
        plan direct = cover(a, b, finer(l));
        const std::int64_t bucket = bucket_of(l, left ? a : b);
        plan whole = buckets(l, bucket, bucket + 1);
        if (left)
            whole.add(cover(bucket_start(l, bucket), a, finer(l)), -1);
        else
            whole.add(cover(b, bucket_start(l, bucket + 1), finer(l)), -1);
        forbid_removed(whole);
        return whole.cost < direct.cost ? whole : direct;
    }

    plan buckets(level l, std::int64_t first, std::int64_t end) const {
        plan out;
        if (first >= end) return out;
        const auto [a, b] = trim(bucket_start(l, first), bucket_start(l, end));
        if (a >= b) return out;
        const std::int64_t f = bucket_of(l, a), e = bucket_of(l, b - 1) + 1;
        out.cost = static_cast<double>(e - f);
        if (l == level::month) {
            // Days after the fold marker are read from the daily rollup.
            const std::int64_t unfolded = utc_day(b - 1) + 1 - std::max(folded_day_ + 1, utc_day(a));
            if (unfolded > 0) out.cost += static_cast<double>(unfolded);
        }
        out.pieces.push_back({l, first, end, 1});
        return out;
    }

    // A whole bucket less raw spans of removed rows would count those rows: never chosen.
    void forbid_removed(plan& whole) const {
        for (const auto& p : whole.pieces)
            if (p.lv == level::raw && p.sign < 0 && p.first < stored_from_) whole.cost += 1e12;
    }

    const std::vector<std::pair<std::int64_t, std::int64_t>>& spans_;
    std::int64_t stored_from_;
    std::int64_t folded_day_;
};

std::vector<std::string> split_key(const std::string& k) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    for (;;) {
        const auto pos = k.find('\x1f', start);
        parts.push_back(k.substr(start, pos == std::string::npos ? std::string::npos : pos - start));
        if (pos == std::string::npos) return parts;
        start = pos + 1;
    }
}

}  // namespace

struct sqlite_queries::range_pieces {
    std::int64_t start_ms, end_ms;
    std::uint64_t gaps_id;
    bool monthly;
    std::vector<piece> pieces;
};

sqlite_queries::~sqlite_queries() = default;

sqlite_queries::sqlite_queries(const std::string& db_path) : conn_(db_path, sqlite_conn::mode::read_write, 5000) {
    // Opened read-write so that SQLite can use the WAL index like any other connection,
    // then forbidden to write: a reader can never take the writer's lock.
    conn_.exec("PRAGMA query_only=1");
    // No memory-mapped reads: in WAL mode SQLite unmaps a reader's whole mapping at the start
    // of every read transaction once anything was written since its last one (pager.c,
    // pagerBeginReadTransaction), so under proxy load each admin query unmapped and mapped the
    // whole file again and faulted its pages back in. Those page-table changes are the
    // process's, shared with the I/O threads (TLB shootdowns): gm-io's system calls cost
    // 1.7-2.9x while a query ran on the other CPU, and the queries themselves took twice the
    // CPU (bench/admin_run.sh READ_MMAP, bench/read_mmap_preload.c). pread into the
    // connection's page cache has no such cost.
    conn_.exec("PRAGMA mmap_size=0");
}

sqlite_stmt& sqlite_queries::prepared(const std::string& sql, const std::vector<param>& params) {
    auto it = stmts_.find(sql);
    if (it == stmts_.end()) it = stmts_.emplace(sql, conn_.prepare(sql)).first;
    auto& st = it->second;
    st.reset();
    int i = 1;
    for (const auto& p : params) {
        if (const auto* v = std::get_if<std::int64_t>(&p))
            st.bind(i++, *v);
        else
            st.bind(i++, std::get<std::string>(p));
    }
    return st;
}

void sqlite_queries::run_grouped(const std::string& sql, const std::vector<param>& params,
                                 std::map<std::string, usage_totals>& out) {
    if (sql.starts_with(day_series) && params.size() >= 2) {
        // A few buckets: one plain seek each. The bucket series is a recursive CTE, which
        // SQLite materializes into a temporary B-tree on every run (~13,000 instructions,
        // more than the seeks: a top-users candidate's 6-8 pieces are one or two buckets).
        const std::int64_t first = std::get<std::int64_t>(params[0]), end = std::get<std::int64_t>(params[1]);
        if (end - first <= 3) {
            const auto from = sql.find(" FROM d JOIN "), on = sql.find(" ON ", from), at = sql.find(" = d.x", on);
            const std::string one = "SELECT" + sql.substr(std::string_view(day_series).size() + 7,
                                                          from - std::string_view(day_series).size() - 7) +
                                    " FROM " + sql.substr(from + 13, on - from - 13) + " WHERE " +
                                    sql.substr(on + 4, at - on - 4) + " = ?1 AND ?2 > ?1" + sql.substr(at + 6);
            std::vector<param> p = params;
            for (std::int64_t b = first; b < end; ++b) {
                p[0] = b;
                p[1] = b + 1;
                run_grouped(one, p, out);
            }
            return;
        }
    }
    auto& st = prepared(sql, params);
    while (st.step()) {
        const usage_totals t = read_sums(st, 1);
        if (t.calls == 0 && t.duration_count == 0) continue;  // the empty aggregate of "no group"
        if (sign_ > 0)
            add_totals(out[st.col_text(0)], t);
        else
            sub_totals(out[st.col_text(0)], t);
    }
    st.reset();
}

void sqlite_queries::raw_part(std::int64_t start_ms, std::int64_t end_ms, const usage_filter& f, group g,
                              std::map<std::string, usage_totals>& out) {
    // Each row's own sums, added up by run_grouped: SQLite's GROUP BY would first sort the
    // rows through a temporary B-tree and step twelve aggregates per row (10M rows, the
    // partial hour at the start of "the last 30 days": ~1,900 rows, most of the query).
    std::vector<param> params{start_ms, end_ms};
    std::string sql = fmt::format("SELECT {}, {} FROM ApiUsage a WHERE a.createdAtMs >= ? AND a.createdAtMs < ?",
                                  raw_key(g), raw_row_sums);
    raw_filter(f, sql, params);
    if (g == group::user) sql += " AND a.userId IS NOT NULL";
    run_grouped(sql, params, out);
}

sqlite_queries::rollups sqlite_queries::rollups_for(const usage_filter& f, group g) {
    const bool dims_filter_only = !f.user_id && !f.tag;
    const bool user_only = f.user_id && !f.model && !f.endpoint && !f.bot_id && !f.guest && !f.tag;
    if (g == group::user) return f.empty() || user_only ? rollups::user : rollups::none;
    if (user_only && (g == group::none || g == group::day)) return rollups::user;
    if (user_only) return rollups::user_one_dim;
    // The per-day user rollup by dimensions carries model, endpoint and bot (and guest, which
    // it does not filter on: sums of rows removed by retention before schema 5 are kept there
    // with guest 0).
    if (f.user_id) return !f.guest && !f.tag ? rollups::user_dims : rollups::none;
    if (dims_filter_only) return rollups::dims;
    // "name=value" only: a bare tag name would count a call with two values of it twice.
    if (f.tag && !f.user_id && f.tag->find('=') != std::string::npos) return rollups::tag;
    return rollups::none;
}

void sqlite_queries::rollup_part(std::int64_t first, std::int64_t end, bool hourly, rollups r, const usage_filter& f,
                                 group g, std::map<std::string, usage_totals>& out) {
    if (r == rollups::user_one_dim) {
        if (hourly) {
            // Partial days: the user's hourly rows by model, endpoint, bot and guest.
            r = rollups::user_dims;
        } else if (const std::int64_t folded = folded_user_day(); end > folded + 1) {
            // Days not yet folded into the one-dimension table (today, until the writer's
            // first batch after midnight): their rows by model, endpoint, bot and guest.
            rollup_part(std::max(first, folded + 1), end, false, rollups::user_dims, f, g, out);
            end = std::max(first, folded + 1);
            if (first >= end) return;
        }
    }
    std::string one_dim_key;
    const char* one_dim = single_dim(f, one_dim_key);
    if (r == rollups::dims && one_dim && g == group::breakdown && !hourly) {
        // Folded days: the value's rows by each other dimension (~40 a day); later days
        // (today, until the writer's first batch after midnight) by every combination below.
        const std::int64_t split = std::clamp(folded_user_day() + 1, first, end);
        pair_part(first, split, one_dim, one_dim_key, out);
        first = split;
        if (first >= end) return;
    }
    std::vector<param> params{first, end};
    std::string sql;
    // Rows as they are, added up by run_grouped: SQLite's GROUP BY sorts them through a
    // temporary B-tree first and steps twelve aggregates per row (10M rows, the busiest
    // user's stats over the last 30 days: ~22M instructions, nearly all of it the sort).
    // Only the per-user grouping, with a key per user, keeps SQL's GROUP BY.
    const bool group_by = g == group::user;
    const char* sums = group_by ? rollup_sum_select : rollup_sum_columns;
    const char* bucket = hourly ? "hour" : "day";
    const char* user_table = hourly ? "UsageHourlyUser" : "UsageDailyUser";
    if (r == rollups::user) {
        // Per user per day or hour; also answers a user filter for totals and daily series.
        const char* key = g == group::user ? "userId" : g == group::day ? (hourly ? "hour / 24" : "day") : "''";
        if (f.user_id) {
            // One seek per bucket on the (bucket, userId) key instead of reading every user's
            // row of every bucket in the range.
            // Totals: each bucket's one row as it is (run_grouped adds them), without SQLite's
            // twelve aggregate contexts per run (top users runs this per candidate).
            sql = fmt::format("{} SELECT {}, {} FROM d JOIN {} ON {} = d.x AND userId = ?", day_series, key, sums,
                              user_table, bucket);
            params.emplace_back(*f.user_id);
        } else {
            sql = fmt::format("SELECT {}, {} FROM {} WHERE {} >= ? AND {} < ?", key, sums, user_table, bucket,
                              bucket);
        }
    } else if (r == rollups::user_one_dim) {
        // One user's breakdowns over folded days: per day, one row per model, endpoint and bot
        // value (one seek per day to the user's rows), instead of one per combination of the
        // three. A breakdown's totals come from the per-user table, under the "guest"
        // dimension's name that stats() folds into the totals (the key does not matter there).
        const char* table = "UsageDailyUserOneDim";
        if (g == group::breakdown) {
            run_grouped(fmt::format("{} SELECT 'guest' || char(31), {} FROM d JOIN {} ON {} = d.x AND userId = ?",
                                    day_series, rollup_sum_select, user_table, bucket),
                        {first, end, *f.user_id}, out);
            sql = fmt::format("{} SELECT dim || char(31) || key, {} FROM d JOIN {} ON {} = d.x AND userId = ?",
                              day_series, sums, table, bucket);
            params.emplace_back(*f.user_id);
        } else {
            const char* dim = g == group::model ? "model" : g == group::endpoint ? "endpoint" : "bot";
            sql = fmt::format("{} SELECT key, {} FROM d JOIN {} ON {} = d.x AND userId = ? AND dim = ?", day_series,
                              sums, table, bucket);
            params.emplace_back(*f.user_id);
            params.emplace_back(std::string(dim));
        }
    } else if (r == rollups::dims && one_dim && (g == group::none || g == group::day)) {
        // One model, endpoint, bot or guest value, for totals or a daily series: its one row
        // per bucket in the per-dimension table (one seek each), instead of every
        // (endpoint, bot, guest) combination of it.
        const char* table = hourly ? "UsageHourlyDim" : "UsageDailyDim";
        const char* key = g == group::day ? (hourly ? "hour / 24" : "day") : "''";
        sql = fmt::format("{} SELECT {}, {} FROM d JOIN {} ON {} = d.x AND dim = ? AND key = ?", day_series, key,
                          sums, table, bucket);
        params.emplace_back(std::string(one_dim));
        params.emplace_back(std::move(one_dim_key));
    } else if (r == rollups::user_dims) {
        // One user per day or hour by model, endpoint, bot and guest: one seek per bucket to
        // the user's rows of that bucket.
        const char* key = g == group::day         ? (hourly ? "hour / 24" : "day")
                          : g == group::model     ? "model"
                          : g == group::endpoint  ? "endpoint"
                          : g == group::bot       ? "botId"
                          : g == group::breakdown ? "model || char(31) || endpoint || char(31) || botId"
                                                  : "''";
        sql = fmt::format("{} SELECT {}, {} FROM d JOIN {} ON {} = d.x AND userId = ?", day_series, key, sums,
                          hourly ? "UsageHourlyUserDim" : "UsageDailyUserDim", bucket);
        params.emplace_back(*f.user_id);
        if (f.model) { sql += " AND model = ?"; params.emplace_back(*f.model); }
        if (f.endpoint) { sql += " AND endpoint = ?"; params.emplace_back(*f.endpoint); }
        if (f.bot_id) { sql += " AND botId = ?"; params.emplace_back(*f.bot_id); }
    } else if ((r == rollups::dims && f.empty()) ||
               (r == rollups::tag && !f.model && !f.endpoint && !f.bot_id && !f.guest)) {
        // One row per day or hour per dimension value (and per tag for the tag tables): the
        // smallest tables that answer a breakdown with no filter but the tag. The "guest"
        // dimension's two rows per bucket sum to the bucket's totals.
        const char* table = r == rollups::tag ? (hourly ? "UsageHourlyTagDim" : "UsageDailyTagDim")
                                              : (hourly ? "UsageHourlyDim" : "UsageDailyDim");
        if (g == group::breakdown) {
            sql = fmt::format("SELECT dim || char(31) || key, {} FROM {} WHERE {} >= ? AND {} < ?", rollup_sum_columns,
                              table, bucket, bucket);
        } else {
            const char* key = g == group::day ? (hourly ? "hour / 24" : "day") : g == group::none ? "''" : "key";
            sql = fmt::format("SELECT {}, {} FROM {} WHERE {} >= ? AND {} < ? AND dim = ?", key, rollup_sum_columns,
                              table, bucket, bucket);
            params.emplace_back(std::string(dim_of(g)));
        }
        if (r == rollups::tag) {
            auto [name, value] = split_tag(*f.tag);
            sql += " AND name = ? AND value = ?";
            params.emplace_back(std::move(name));
            params.emplace_back(std::move(*value));
        }
    } else {
        const char* table = r == rollups::tag ? (hourly ? "UsageHourlyTag" : "UsageDailyTag")
                                              : (hourly ? "UsageHourly" : "UsageDaily");
        const char* key = g == group::model       ? "model"
                          : g == group::endpoint  ? "endpoint"
                          : g == group::bot       ? "botId"
                          : g == group::day       ? (hourly ? "hour / 24" : "day")
                          : g == group::breakdown ? "model || char(31) || endpoint || char(31) || botId"
                                                  : "''";
        if (f.model && r == rollups::dims) {
            // The key starts (bucket, model): one seek per day or hour to the model's rows
            // instead of reading every model's.
            sql = fmt::format("{} SELECT {}, {} FROM d JOIN {} ON {} = d.x", day_series, key, sums, table, bucket);
        } else {
            sql = fmt::format("SELECT {}, {} FROM {} WHERE {} >= ? AND {} < ?", key, sums, table, bucket, bucket);
        }
        if (r == rollups::tag) {
            auto [name, value] = split_tag(*f.tag);
            sql += " AND name = ? AND value = ?";
            params.emplace_back(std::move(name));
            params.emplace_back(std::move(*value));
        }
        if (f.model) { sql += " AND model = ?"; params.emplace_back(*f.model); }
        if (f.endpoint) { sql += " AND endpoint = ?"; params.emplace_back(*f.endpoint); }
        if (f.bot_id) { sql += " AND botId = ?"; params.emplace_back(*f.bot_id); }
        if (f.guest) { sql += " AND isGuest = ?"; params.emplace_back(std::int64_t{*f.guest ? 1 : 0}); }
    }
    if (group_by) sql += " GROUP BY 1";
    run_grouped(sql, params, out);
}

std::int64_t sqlite_queries::folded_user_day() {
    auto& st = prepared(daily_user_one_dim_state, {});
    const std::int64_t day = st.step() ? st.col_int(0) : std::numeric_limits<std::int64_t>::min() / 2;
    st.reset();
    return day;
}

void sqlite_queries::month_part(std::int64_t first, std::int64_t end, rollups r, const usage_filter& f, group g,
                                const gaps& gp, std::map<std::string, usage_totals>& out) {
    if (first >= end) return;
    if (r == rollups::user) {
        // One row per month and user: read as they are (see rollup_part's per-user seeks).
        run_grouped(fmt::format("{} SELECT '', {} FROM d JOIN UsageMonthlyUserSums ON month = d.x AND userId = ?",
                                day_series, rollup_sum_columns),
                    {first, end, *f.user_id}, out);
    } else {
        // No filter: one row per month and dimension value (schema 12), read as they are and
        // added up by run_grouped, as rollup_part reads the per-day table.
        std::vector<param> params{first, end};
        std::string sql;
        if (g == group::breakdown) {
            sql = fmt::format("SELECT dim || char(31) || key, {} FROM UsageMonthlyDim WHERE month >= ? AND month < ?",
                              rollup_sum_columns);
        } else {
            sql = fmt::format("SELECT {}, {} FROM UsageMonthlyDim WHERE month >= ? AND month < ? AND dim = ?",
                              g == group::none ? "''" : "key", rollup_sum_columns);
            params.emplace_back(std::string(dim_of(g)));
        }
        run_grouped(sql, params, out);
    }
    // The months' days after the fold marker are not in their monthly rows yet.
    const std::int64_t from = std::max(gp.folded_day + 1, month_first_day(first));
    std::int64_t to = month_first_day(end);
    // Not past the newest row's day: later days are empty (they would cost a seek each).
    if (gp.newest) to = std::min(to, utc_day(*gp.newest) + 1);
    if (from < to) rollup_part(from, to, false, r, f, r == rollups::user ? group::none : g, out);
}

void sqlite_queries::pair_part(std::int64_t first, std::int64_t end, const char* dim, const std::string& key,
                               std::map<std::string, usage_totals>& out) {
    if (first >= end) return;
    // The value's totals under the "guest" dimension's name, which stats() folds into the
    // totals, and again under its own dimension (a model filter's by-model breakdown).
    // (dim is one of the four dimension names, never a caller's text.)
    for (const std::string_view as : {std::string_view("guest"), std::string_view(dim)}) {
        run_grouped(fmt::format("{} SELECT '{}' || char(31){}, {} FROM d JOIN UsageDailyDim ON day = d.x "
                                "AND dim = ? AND key = ?",
                                day_series, as, as == "guest" ? "" : " || key", rollup_sum_select),
                    {first, end, std::string(dim), key}, out);
        if (std::string_view(dim) == "guest") break;
    }
    // Rows as they are, added up by run_grouped: SQLite's GROUP BY would sort them through a
    // temporary B-tree first (10M rows, a model's 30 days: ~1,200 rows, half the work).
    run_grouped(fmt::format("{} SELECT byDim || char(31) || byKey, {} FROM d JOIN UsageDailyDimPair ON day = d.x "
                            "AND dim = ? AND key = ?",
                            day_series, rollup_sum_columns),
                {first, end, std::string(dim), key}, out);
}

// Spans that hold no row, neither stored nor summed in a rollup: after the newest row;
// between the last row before the range and its start; between its end and the first row
// after it. Retention removes the oldest rows first, so a span after a stored row that holds
// no stored row never held one (a span before every stored row may hold removed rows'
// sums, and is not a gap). One exception: a journal replayed after retention ran can store
// a row older than rows already removed; until the next retention run removes it, a gap
// next to it may hide removed rows' sums from a partial day's complement.
sqlite_queries::gaps sqlite_queries::gaps_around(const time_range& range) {
    gaps g;
    g.id = ++gaps_made_;
    g.folded_day = folded_user_day();
    auto one = [&](const char* sql, std::vector<param> params) -> std::optional<std::int64_t> {
        auto& st = prepared(sql, params);
        std::optional<std::int64_t> v;
        if (st.step()) v = st.col_int(0);
        st.reset();
        return v;
    };
    const auto newest = one("SELECT createdAtMs FROM ApiUsage ORDER BY createdAtMs DESC LIMIT 1", {});
    if (!newest) return g;  // no stored row: nothing is known about what the rollups hold
    g.newest = newest;
    constexpr std::int64_t forever = std::numeric_limits<std::int64_t>::max();
    g.spans.emplace_back(*newest + 1, forever);
    if (const auto before = one("SELECT createdAtMs FROM ApiUsage WHERE createdAtMs < ? "
                                "ORDER BY createdAtMs DESC LIMIT 1",
                                {range.start_ms})) {
        g.spans.emplace_back(*before + 1, range.start_ms);
    }
    const auto oldest = one("SELECT createdAtMs FROM ApiUsage ORDER BY createdAtMs LIMIT 1", {});
    g.oldest = oldest;
    if (oldest && *oldest < range.end_ms) {
        const auto after =
            one("SELECT createdAtMs FROM ApiUsage WHERE createdAtMs >= ? ORDER BY createdAtMs LIMIT 1", {range.end_ms});
        g.spans.emplace_back(range.end_ms, after ? *after : forever);
    }
    return g;
}

std::map<std::string, usage_totals> sqlite_queries::grouped(const time_range& range, const usage_filter& f, group g) {
    if (range.end_ms <= range.start_ms) return {};
    // One snapshot for every part: rollups and raw rows then agree with each other (and
    // with the gaps) however the writer commits meanwhile.
    read_transaction snapshot(conn_);
    return grouped_in_snapshot(range, f, g, gaps_around(range));
}

std::map<std::string, usage_totals> sqlite_queries::grouped_in_snapshot(const time_range& range,
                                                                        const usage_filter& f, group g,
                                                                        const gaps& gp) {
    std::map<std::string, usage_totals> out;
    if (range.end_ms <= range.start_ms) return out;
    const rollups r = rollups_for(f, g);
    if (r == rollups::none) {
        raw_part(range.start_ms, range.end_ms, f, g, out);
        return out;
    }
    // A user's totals have monthly rows (schema 11), and so has everything unfiltered but a
    // daily series (schema 12); everything else starts at days.
    const bool monthly = (r == rollups::user && g == group::none && f.user_id) ||
                         (r == rollups::dims && f.empty() && g != group::day);
    const range_planner planner(gp.spans, gp.oldest, gp.folded_day);
    if (!plan_ || plan_->start_ms != range.start_ms || plan_->end_ms != range.end_ms || plan_->gaps_id != gp.id ||
        plan_->monthly != monthly) {
        plan_ = std::make_unique<range_pieces>(range_pieces{
            range.start_ms, range.end_ms, gp.id, monthly,
            planner.cover(range.start_ms, range.end_ms, monthly ? level::month : level::day).pieces});
    }
    for (const auto& p : plan_->pieces) {
        sign_ = p.sign;
        try {
            if (p.lv == level::raw) {
                const auto [a, b] = planner.trim(p.first, p.end);
                if (a < b) raw_part(a, b, f, g, out);
            } else {
                const auto [a, b] = planner.trim(bucket_start(p.lv, p.first), bucket_start(p.lv, p.end));
                if (a >= b) continue;
                const std::int64_t first = bucket_of(p.lv, a), end = bucket_of(p.lv, b - 1) + 1;
                if (p.lv == level::month)
                    month_part(first, end, r, f, g, gp, out);
                else
                    rollup_part(first, end, p.lv == level::hour, r, f, g, out);
            }
        } catch (...) {
            sign_ = 1;
            throw;
        }
    }
    sign_ = 1;
    drop_empty(out);
    return out;
}

usage_stats sqlite_queries::stats(const time_range& range, const usage_filter& filter) {
    // One pass per source: every row or rollup row is folded into the totals and the three
    // breakdowns at once.
    std::map<std::string, usage_totals> by_model, by_endpoint, by_bot;
    usage_totals totals;
    for (const auto& [key, t] : grouped(range, filter, group::breakdown)) {
        const auto parts = split_key(key);
        if (parts.size() == 3) {
            add_totals(totals, t);
            add_totals(by_model[parts[0]], t);
            add_totals(by_endpoint[parts[1]], t);
            add_totals(by_bot[parts[2]], t);
        } else if (parts.size() == 2) {
            if (parts[0] == "guest") add_totals(totals, t);
            else if (parts[0] == "model") add_totals(by_model[parts[1]], t);
            else if (parts[0] == "endpoint") add_totals(by_endpoint[parts[1]], t);
            else if (parts[0] == "bot") add_totals(by_bot[parts[1]], t);
        }
    }
    auto to_vec = [](std::map<std::string, usage_totals>& m) {
        drop_empty(m);
        std::vector<keyed_totals> v;
        v.reserve(m.size());
        for (auto& [k, t] : m) v.push_back({k, t});
        return v;
    };
    usage_stats s;
    s.totals = totals;
    s.by_model = to_vec(by_model);
    s.by_endpoint = to_vec(by_endpoint);
    s.by_bot = to_vec(by_bot);
    return s;
}

std::vector<daily_usage> sqlite_queries::daily(const time_range& range, const usage_filter& filter) {
    std::vector<daily_usage> out;
    if (range.end_ms <= range.start_ms) return out;
    const auto by_day = grouped(range, filter, group::day);
    const std::int64_t last = utc_day(range.end_ms - 1);
    for (std::int64_t d = utc_day(range.start_ms); d <= last; ++d) {
        daily_usage u{format_date(d), {}};
        if (auto it = by_day.find(std::to_string(d)); it != by_day.end()) u.totals = it->second;
        out.push_back(std::move(u));
    }
    return out;
}

std::vector<user_usage> sqlite_queries::top_users(const time_range& range, const usage_filter& filter, int limit) {
    std::vector<user_usage> out;
    if (range.end_ms <= range.start_ms || limit <= 0) return out;
    const std::int64_t first_month = utc_month(utc_day(range.start_ms));
    const std::int64_t last_month = utc_month(utc_day(range.end_ms - 1));
    if (filter.empty() && last_month - first_month < max_top_user_months) {
        out = top_users_by_month(range, first_month, last_month, static_cast<std::size_t>(limit));
    } else {
        auto m = grouped(range, filter, group::user);
        out.reserve(m.size());
        for (auto& [k, t] : m) out.push_back({k, "", t});
        const auto n = std::min<std::size_t>(out.size(), static_cast<std::size_t>(limit));
        std::partial_sort(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n), out.end(), ranks_before);
        out.resize(n);
    }
    for (auto& u : out) {
        auto& st = prepared("SELECT email FROM UsageUser WHERE userId = ?", {u.user_id});
        if (st.step()) u.email = st.col_text(0);
        st.reset();
    }
    return out;
}

std::vector<user_usage> sqlite_queries::top_users_by_month(const time_range& range, std::int64_t first_month,
                                                           std::int64_t last_month, std::size_t limit) {
    // Fagin's threshold algorithm. Each month covering the range lists its users by cost,
    // descending; a user's cost summed over those months bounds their cost in the range
    // from above (costs are never negative). Users are read from all lists in turn and each
    // new one's exact totals for the range are computed (a few index seeks); once the k-th
    // best exact cost is above the sum of the costs where the lists stand, no unread user
    // can reach the top, and reading stops: the work grows with how many users are close
    // to the top, not with how many users or rows there are.
    struct list {
        sqlite_stmt st;
        std::int64_t bound = 0;  // cost of the last user read; nothing below it is larger
        bool done = false;
    };
    // One snapshot for the lists and every candidate's totals, and the range's gaps found once.
    read_transaction snapshot(conn_);
    const gaps gp = gaps_around(range);
    std::vector<list> lists;
    for (std::int64_t m = first_month; m <= last_month; ++m) {
        list l{conn_.prepare("SELECT userId, costPicoUsd FROM UsageMonthlyUser WHERE month = ? "
                             "ORDER BY costPicoUsd DESC, userId")};
        l.st.bind(1, m);
        lists.push_back(std::move(l));
    }
    std::vector<user_usage> best;  // sorted by rank, at most limit
    std::unordered_set<std::string> seen;
    for (;;) {
        bool any = false;
        for (auto& l : lists) {
            if (l.done) continue;
            if (!l.st.step()) {
                l.done = true;
                l.bound = 0;
                continue;
            }
            any = true;
            l.bound = l.st.col_int(1);
            std::string user = l.st.col_text(0);
            if (!seen.insert(user).second) continue;
            usage_filter only;
            only.user_id = user;
            const auto m = grouped_in_snapshot(range, only, group::none, gp);
            if (m.empty()) continue;  // active in the months, not in the range
            user_usage u{std::move(user), "", m.begin()->second};
            if (u.totals.calls == 0) continue;
            const auto at = std::lower_bound(best.begin(), best.end(), u, ranks_before);
            if (static_cast<std::size_t>(at - best.begin()) < limit) {
                best.insert(at, std::move(u));
                if (best.size() > limit) best.pop_back();
            }
        }
        if (!any) break;
        std::int64_t threshold = 0;
        for (const auto& l : lists) threshold += l.bound;
        // Strictly above: an unread user with exactly the threshold cost could still win
        // on calls or id.
        if (best.size() == limit && best.back().totals.cost_pico_usd > threshold) break;
    }
    return best;
}

recent_page sqlite_queries::recent(const usage_filter& filter, int limit, const std::optional<recent_cursor>& before) {
    recent_page page;
    if (limit <= 0) return page;
    std::vector<param> params;
    std::string sql = fmt::format("SELECT {}, u.email FROM ApiUsage a LEFT JOIN UsageUser u ON u.userId = a.userId "
                                  "WHERE 1",
                                  record_select);
    if (before) {
        // Row-value comparison: SQLite seeks the (createdAtMs, id) index straight to the
        // cursor, so a deep page costs what the first one does.
        sql += " AND (a.createdAtMs, a.id) < (?, ?)";
        params.emplace_back(before->created_at_ms);
        params.emplace_back(before->id);
    }
    // Newest first: backwards along the time index, or along a filtered value's own index.
    raw_filter(filter, sql, params);
    sql += " ORDER BY a.createdAtMs DESC, a.id DESC LIMIT ?";
    params.emplace_back(std::int64_t{limit} + 1);
    auto& st = prepared(sql, params);
    while (st.step()) {
        if (static_cast<int>(page.calls.size()) == limit) {
            const auto& last = page.calls.back();
            page.next = recent_cursor{last.created_at_ms, last.id};
            break;
        }
        auto r = read_record(st);
        r.user_email = st.col_text(record_select_count);
        page.calls.push_back(std::move(r));
    }
    st.reset();
    return page;
}

projection sqlite_queries::projections(std::int64_t now_ms, const usage_filter& filter) {
    projection p;
    const std::int64_t today = utc_day(now_ms);
    p.baseline_days = 7;
    p.baseline = {day_start_ms(today - 7), day_start_ms(today)};
    auto s = stats(p.baseline, filter);
    p.baseline_totals = s.totals;
    p.by_model = std::move(s.by_model);
    p.by_endpoint = std::move(s.by_endpoint);
    return p;
}

void sqlite_queries::export_rows(const time_range& range, const usage_filter& filter,
                                 const std::function<bool(const metering::usage_record&)>& row) {
    if (range.end_ms <= range.start_ms) return;
    std::vector<param> params{range.start_ms, range.end_ms};
    std::string sql = fmt::format("SELECT {}, u.email FROM ApiUsage a LEFT JOIN UsageUser u ON u.userId = a.userId "
                                  "WHERE a.createdAtMs >= ? AND a.createdAtMs < ?",
                                  record_select);
    raw_filter(filter, sql, params);
    sql += " ORDER BY a.createdAtMs, a.id";
    // Not the cached statement: a callback could call back into this object.
    auto st = conn_.prepare(sql);
    int i = 1;
    for (const auto& p : params) {
        if (const auto* v = std::get_if<std::int64_t>(&p))
            st.bind(i++, *v);
        else
            st.bind(i++, std::get<std::string>(p));
    }
    // One record refilled from row to row (read_record's reusing form).
    metering::usage_record r;
    while (st.step()) {
        read_record(st, 0, r);
        r.user_email.assign(st.col_view(record_select_count));
        if (!row(r)) break;
    }
}

}  // namespace gm::storage

// Latency of each read-side function on a filled database (see storage_fill), printed next
// to the same question asked as a plain GROUP BY over the raw ApiUsage table.
//   storage_bench [--db PATH] [--runs N] [--no-raw] [--only TEXT] [--migrate]
// --no-raw skips the raw GROUP BY column (minutes at 10M rows; it also evicts the rollups
// from the page cache); --only runs the cases whose name contains TEXT (=TEXT: is TEXT, for
// one case under callgrind); --migrate first
// applies pending schema migrations to the file (use a copy) and prints how long they took.
// Ranges are relative to now, as the admin API's defaults are: "30 days ago .. now"
// (unaligned edges: partial days read from raw rows) and the same range rounded to whole
// UTC days (rollups only).
#include <algorithm>
#include <cstdint>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "storage/migrations.hpp"
#include "storage/rollup_columns.hpp"
#include "storage/sqlite_conn.hpp"
#include "storage/sqlite_queries.hpp"
#include "storage/utc_time.hpp"

namespace {

using namespace gm::storage;
using clock_type = std::chrono::steady_clock;

struct timing {
    double p50 = 0, max = 0;
};

timing measure(int runs, const std::function<void()>& f) {
    f();  // warm the page cache and statement cache
    std::vector<double> ms;
    for (int i = 0; i < runs; ++i) {
        const auto t0 = clock_type::now();
        f();
        ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    return {ms[ms.size() / 2], ms.back()};
}

// Runs a raw query; a filter (" AND ...") appended after " GROUP BY 1" is moved in front of it.
void raw(sqlite_conn& c, std::string sql, std::int64_t a, std::int64_t b, const std::string& text = {},
         const std::string& text2 = {}) {
    if (const auto g = sql.find(" GROUP BY 1"); g != std::string::npos && sql.compare(g + 11, 5, " AND ") == 0) {
        const std::string tail = sql.substr(g + 11);
        sql = sql.substr(0, g) + tail + " GROUP BY 1";
    }
    auto st = c.prepare(sql);
    st.bind(1, a).bind(2, b);
    if (!text.empty()) st.bind(3, text);
    if (!text2.empty()) st.bind(4, text2);
    std::int64_t sink = 0;
    while (st.step()) sink += st.col_int(1);
    if (sink == -1) std::puts("");
}

}  // namespace

int main(int argc, char** argv) {
    std::string db = "bench-usage.db";
    int runs = 20;
    bool with_raw = true;
    std::string only;
    bool do_migrate = false;
    for (int i = 1; i < argc; ++i) {
        const std::string k = argv[i];
        if (k == "--no-raw") with_raw = false;
        else if (k == "--migrate") do_migrate = true;
        else if (i + 1 >= argc) break;
        else if (k == "--db") db = argv[++i];
        else if (k == "--runs") runs = std::atoi(argv[++i]);
        else if (k == "--only") only = argv[++i];
    }
    if (do_migrate) {
        const auto before = migration_state(db);
        const auto t0 = clock_type::now();
        migrate(db);
        std::printf("storage_bench: migrated %s from schema %d to %d in %.1f s\n", db.c_str(), before.current,
                    latest_schema_version(), std::chrono::duration<double>(clock_type::now() - t0).count());
    }
    sqlite_queries q(db);
    sqlite_conn c(db, sqlite_conn::mode::read_write);
    c.exec("PRAGMA query_only=1");
    std::int64_t rows = 0;
    {
        auto st = c.prepare("SELECT COUNT(*) FROM ApiUsage");
        if (st.step()) rows = st.col_int(0);
    }
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    const time_range last30{now - 30 * ms_per_day, now};
    const time_range days30{day_start_ms(utc_day(now) - 30), day_start_ms(utc_day(now))};
    const time_range last90{now - 90 * ms_per_day, now};
    const time_range since90{day_start_ms(utc_day(now) - 90), now};  // the admin API's startDate=<a date>
    std::string top_model;
    std::string top_user;
    {
        auto st = c.prepare("SELECT key FROM UsageDailyDim WHERE dim = 'model' GROUP BY key ORDER BY SUM(calls) DESC LIMIT 1");
        if (st.step()) top_model = st.col_text(0);
        auto su = c.prepare("SELECT userId FROM UsageDailyUser GROUP BY userId ORDER BY SUM(calls) DESC LIMIT 1");
        if (su.step()) top_user = su.col_text(0);
    }
    usage_filter by_model;
    by_model.model = top_model;
    usage_filter by_user;
    by_user.user_id = top_user;
    usage_filter by_user_model = by_user;
    by_user_model.model = top_model;
    usage_filter by_tag;
    by_tag.tag = "team=team-1";
    std::optional<recent_cursor> deep;
    {
        auto page = q.recent({}, 50, std::nullopt);
        for (int i = 0; i < 200 && page.next; ++i) {
            deep = page.next;
            page = q.recent({}, 50, deep);
        }
    }

    const std::string sums = raw_sum_select;
    const std::string where = " FROM ApiUsage a WHERE a.createdAtMs >= ? AND a.createdAtMs < ?";
    const std::string raw_stats[] = {
        "SELECT 0, " + sums + where,
        "SELECT a.model, " + sums + where + " GROUP BY 1",
        "SELECT a.endpoint, " + sums + where + " GROUP BY 1",
        "SELECT COALESCE(a.botId, ''), " + sums + where + " GROUP BY 1",
    };
    // Filters appended to a raw_stats query before its GROUP BY (raw() moves it there).
    const std::string user_where = " AND a.userId = ?3";
    const std::string tag_where =
        " AND EXISTS (SELECT 1 FROM json_each(a.metadata, '$.tags') WHERE key = 'team' AND value = 'team-1')";
    const int raw_runs = std::max(1, runs / 10);

    struct row {
        std::string name;
        std::function<void()> fn;
        std::function<void()> raw_fn;
    };
    const std::vector<row> cases = {
        {"stats, last 30 days (unaligned)", [&] { q.stats(last30, {}); },
         [&] { for (const auto& s : raw_stats) raw(c, s, last30.start_ms, last30.end_ms); }},
        {"stats, 90 days to now (from midnight)", [&] { q.stats(since90, {}); },
         [&] { for (const auto& s : raw_stats) raw(c, s, since90.start_ms, since90.end_ms); }},
        {"stats, 30 whole days", [&] { q.stats(days30, {}); },
         [&] { for (const auto& s : raw_stats) raw(c, s, days30.start_ms, days30.end_ms); }},
        {"stats, 30 whole days, model filter", [&] { q.stats(days30, by_model); },
         [&] { raw(c, "SELECT a.endpoint, " + sums + where + " AND a.model = ? GROUP BY 1", days30.start_ms, days30.end_ms, top_model); }},
        {"stats, 30 whole days, busiest user", [&] { q.stats(days30, by_user); },
         [&] { for (const auto& s : raw_stats) raw(c, s + user_where, days30.start_ms, days30.end_ms, top_user); }},
        {"stats, last 30 days (unaligned), busiest user", [&] { q.stats(last30, by_user); },
         [&] { for (const auto& s : raw_stats) raw(c, s + user_where, last30.start_ms, last30.end_ms, top_user); }},
        {"stats, last 30 days (unaligned), busiest user + model", [&] { q.stats(last30, by_user_model); },
         [&] { for (const auto& s : raw_stats) raw(c, s + user_where + " AND a.model = ?4", last30.start_ms, last30.end_ms, top_user, top_model); }},
        {"stats, 30 whole days, tag filter", [&] { q.stats(days30, by_tag); },
         [&] { for (const auto& s : raw_stats) raw(c, s + tag_where, days30.start_ms, days30.end_ms); }},
        {"stats, last 30 days (unaligned), tag filter", [&] { q.stats(last30, by_tag); },
         [&] { for (const auto& s : raw_stats) raw(c, s + tag_where, last30.start_ms, last30.end_ms); }},
        {"stats, last 30 days (unaligned), model filter", [&] { q.stats(last30, by_model); },
         [&] { for (const auto& s : raw_stats) raw(c, s + " AND a.model = ?3", last30.start_ms, last30.end_ms, top_model); }},
        {"daily, last 30 days (unaligned)", [&] { q.daily(last30, {}); },
         [&] { raw(c, "SELECT a.createdAtMs / 86400000, " + sums + where + " GROUP BY 1", last30.start_ms, last30.end_ms); }},
        {"daily, last 90 days (unaligned), model filter", [&] { q.daily(last90, by_model); },
         [&] { raw(c, "SELECT a.createdAtMs / 86400000, " + sums + where + " AND a.model = ?3 GROUP BY 1", last90.start_ms, last90.end_ms, top_model); }},
        {"daily, 30 whole days", [&] { q.daily(days30, {}); },
         [&] { raw(c, "SELECT a.createdAtMs / 86400000, " + sums + where + " GROUP BY 1", days30.start_ms, days30.end_ms); }},
        {"daily, 30 whole days, busiest user", [&] { q.daily(days30, by_user); },
         [&] { raw(c, "SELECT a.createdAtMs / 86400000, " + sums + where + " AND a.userId = ?3 GROUP BY 1", days30.start_ms, days30.end_ms, top_user); }},
        {"daily, last 30 days (unaligned), busiest user", [&] { q.daily(last30, by_user); },
         [&] { raw(c, "SELECT a.createdAtMs / 86400000, " + sums + where + " AND a.userId = ?3 GROUP BY 1", last30.start_ms, last30.end_ms, top_user); }},
        {"top_users 10, last 30 days (unaligned)", [&] { q.top_users(last30, {}, 10); },
         [&] { raw(c, "SELECT a.userId, SUM(a.costPicoUsd) " + where + " AND a.userId IS NOT NULL GROUP BY 1 ORDER BY 2 DESC LIMIT 10", last30.start_ms, last30.end_ms); }},
        {"top_users 100, last 90 days (unaligned)", [&] { q.top_users(last90, {}, 100); },
         [&] { raw(c, "SELECT a.userId, SUM(a.costPicoUsd) " + where + " AND a.userId IS NOT NULL GROUP BY 1 ORDER BY 2 DESC LIMIT 100", last90.start_ms, last90.end_ms); }},
        {"top_users 10, 30 whole days", [&] { q.top_users(days30, {}, 10); },
         [&] { raw(c, "SELECT a.userId, SUM(a.costPicoUsd) " + where + " AND a.userId IS NOT NULL GROUP BY 1 ORDER BY 2 DESC LIMIT 10", days30.start_ms, days30.end_ms); }},
        {"recent 50, first page", [&] { q.recent({}, 50, std::nullopt); }, nullptr},
        {"recent 50, page 200 (keyset; raw: OFFSET)", [&] { q.recent({}, 50, deep); },
         [&] { raw(c, "SELECT a.id, a.createdAtMs" + where + " ORDER BY a.createdAtMs DESC, a.id DESC LIMIT 50 OFFSET 10000", 0, INT64_MAX); }},
        {"recent 50, model filter", [&] { q.recent(by_model, 50, std::nullopt); },
         [&] { raw(c, "SELECT a.id, a.createdAtMs" + where + " AND a.model = ?3 ORDER BY a.createdAtMs DESC, a.id DESC LIMIT 50", 0, INT64_MAX, top_model); }},
        {"recent 50, user filter", [&] { q.recent(by_user, 50, std::nullopt); },
         [&] { raw(c, "SELECT a.id, a.createdAtMs" + where + " AND a.userId = ?3 ORDER BY a.createdAtMs DESC, a.id DESC LIMIT 50", 0, INT64_MAX, top_user); }},
        {"projections", [&] { q.projections(now, {}); },
         [&] {
             const auto s = day_start_ms(utc_day(now) - 7), e = day_start_ms(utc_day(now));
             raw(c, raw_stats[0], s, e);
             raw(c, raw_stats[1], s, e);
             raw(c, raw_stats[2], s, e);
         }},
    };

    std::printf("storage_bench: %s, %lld rows, %d runs per query (raw GROUP BY: %d)\n", db.c_str(),
                static_cast<long long>(rows), runs, raw_runs);
    std::printf("%-50s %10s %10s   %14s\n", "query", "p50 ms", "max ms", "raw GROUP BY ms");
    for (const auto& r : cases) {
        if (!only.empty() && (only[0] == '=' ? r.name != only.substr(1) : r.name.find(only) == std::string::npos))
            continue;
        const timing t = measure(runs, r.fn);
        std::string raw_col = "-";
        if (r.raw_fn && with_raw) raw_col = fmt::format("{:.1f}", measure(raw_runs, r.raw_fn).p50);
        std::printf("%-50s %10.2f %10.2f   %14s\n", r.name.c_str(), t.p50, t.max, raw_col.c_str());
        std::fflush(stdout);
    }
    return 0;
}

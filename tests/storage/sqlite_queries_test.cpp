#include "storage/sqlite_queries.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <random>

#include "storage/migrations.hpp"
#include "storage/reprice.hpp"
#include "storage/rollup_columns.hpp"
#include "storage/utc_time.hpp"

#include "storage/sqlite_store.hpp"
#include "support/temp_dir.hpp"
#include "test_records.hpp"

using namespace gm::storage;
using gm::test::at;
using gm::test::record_spec;

namespace {

// Six calls around the midnights of 2024-11-06 and -07 (UTC); every expectation below is
// summed by hand from this table.
//   id  createdAt                 user        model    endpoint bot  ok  in   out  total cost   dur
//   r1  11-05T23:59:59.999Z       u1 (a@x)    flash    chat     b1   y   100  60   160   1000   100  (cached 20, thoughts 10)
//   r2  11-06T00:00:00.000Z       u2          pro      analyze  -    y   200  100  300   5000   200
//   r3  11-06T12:00:00.000Z       guest       flash    chat     b1   n   0    0    0     0      50
//   r4  11-06T23:59:59.999Z       u1 (b@x)    flash    chat     b2   y   10   5    15    300    10   tag team=red
//   r5  11-07T00:00:00.000Z       u3          mystery  chat     -    y   7    3    10    0      30   unpriced, tag team=blue
//   r6  11-08T10:00:00.000Z       guest       pro      analyze  b1   y   1000 500  1500  20000  1000
struct fixture {
    gm::test::temp_dir dir;
    std::string db = dir.file("usage.db");
    std::unique_ptr<usage_queries> q;

    fixture() {
        auto store = sqlite_store::open(db);
        auto add = [&](record_spec s) { store->sink().submit(gm::test::make_record(s)); };
        record_spec s;
        s = {}; s.id = "r1"; s.ms = at("2024-11-05T23:59:59.999Z"); s.user = "u1"; s.email = "a@x"; s.bot = "b1";
        s.prompt = 100; s.candidates = 50; s.thoughts = 10; s.cached = 20; s.cost = 1000; s.duration = 100; add(s);
        s = {}; s.id = "r2"; s.ms = at("2024-11-06T00:00:00.000Z"); s.user = "u2"; s.model = "gemini-2.5-pro";
        s.endpoint = "analyze"; s.prompt = 200; s.candidates = 100; s.cost = 5000; s.duration = 200; add(s);
        s = {}; s.id = "r3"; s.ms = at("2024-11-06T12:00:00.000Z"); s.bot = "b1"; s.success = false; s.duration = 50; add(s);
        s = {}; s.id = "r4"; s.ms = at("2024-11-06T23:59:59.999Z"); s.user = "u1"; s.email = "b@x"; s.bot = "b2";
        s.prompt = 10; s.candidates = 5; s.cost = 300; s.duration = 10; s.tags = {{"team", "red"}}; add(s);
        s = {}; s.id = "r5"; s.ms = at("2024-11-07T00:00:00.000Z"); s.user = "u3"; s.model = "mystery"; s.priced = false;
        s.prompt = 7; s.candidates = 3; s.duration = 30; s.tags = {{"team", "blue"}}; add(s);
        s = {}; s.id = "r6"; s.ms = at("2024-11-08T10:00:00.000Z"); s.model = "gemini-2.5-pro"; s.endpoint = "analyze";
        s.bot = "b1"; s.prompt = 1000; s.candidates = 500; s.cost = 20000; s.duration = 1000; add(s);
        REQUIRE(store->flush(std::chrono::seconds(30)));
        q = store->open_reader();
    }
};

const keyed_totals* find(const std::vector<keyed_totals>& v, const std::string& key) {
    for (const auto& k : v)
        if (k.key == key) return &k;
    return nullptr;
}

std::vector<std::string> keys(const std::vector<keyed_totals>& v) {
    std::vector<std::string> out;
    for (const auto& k : v) out.push_back(k.key);
    return out;
}

}  // namespace

TEST_CASE("sqlite_queries: stats over one whole UTC day excludes both neighbouring midnights' other sides",
          "[sqlite_queries]") {
    fixture f;
    const auto s = f.q->stats({at("2024-11-06"), at("2024-11-07")}, {});
    CHECK(s.totals.calls == 3);  // r2 r3 r4
    CHECK(s.totals.successful_calls == 2);
    CHECK(s.totals.failed_calls == 1);
    CHECK(s.totals.guest_calls == 1);
    CHECK(s.totals.registered_calls == 2);
    CHECK(s.totals.input_tokens == 210);
    CHECK(s.totals.output_tokens == 105);
    CHECK(s.totals.total_tokens == 315);
    CHECK(s.totals.cost_pico_usd == 5300);
    CHECK(s.totals.duration_ms_sum == 260);
    CHECK(s.totals.duration_count == 3);
    CHECK(s.totals.unpriced_calls == 0);
    CHECK(keys(s.by_model) == std::vector<std::string>{"gemini-2.5-flash", "gemini-2.5-pro"});
    CHECK(find(s.by_model, "gemini-2.5-flash")->totals.calls == 2);
    CHECK(find(s.by_model, "gemini-2.5-flash")->totals.cost_pico_usd == 300);
    CHECK(find(s.by_model, "gemini-2.5-flash")->totals.failed_calls == 1);
    CHECK(find(s.by_model, "gemini-2.5-pro")->totals.cost_pico_usd == 5000);
    CHECK(keys(s.by_endpoint) == std::vector<std::string>{"analyze", "chat"});
    CHECK(find(s.by_endpoint, "chat")->totals.calls == 2);
    CHECK(keys(s.by_bot) == std::vector<std::string>{"", "b1", "b2"});
    CHECK(find(s.by_bot, "")->totals.cost_pico_usd == 5000);
    CHECK(find(s.by_bot, "b2")->totals.input_tokens == 10);
}

TEST_CASE("sqlite_queries: unaligned ranges add the partial days from raw rows", "[sqlite_queries]") {
    fixture f;
    // One millisecond either side of the day: r1 (last ms of 11-05) and r5 (first ms of 11-07) join.
    const auto s = f.q->stats({at("2024-11-05T23:59:59.999Z"), at("2024-11-07T00:00:00.001Z")}, {});
    CHECK(s.totals.calls == 5);
    CHECK(s.totals.cost_pico_usd == 6300);
    CHECK(s.totals.input_tokens == 317);
    CHECK(s.totals.output_tokens == 168);
    CHECK(s.totals.cached_tokens == 20);
    CHECK(s.totals.thoughts_tokens == 10);
    CHECK(s.totals.unpriced_calls == 1);
    CHECK(find(s.by_model, "mystery")->totals.calls == 1);
    CHECK(find(s.by_bot, "b1")->totals.calls == 2);  // r1 from the head, r3 from the rollup

    // Inside one day, exclusive end: only r3.
    const auto inner = f.q->stats({at("2024-11-06T00:00:00.001Z"), at("2024-11-06T23:59:59.999Z")}, {});
    CHECK(inner.totals.calls == 1);
    CHECK(inner.totals.failed_calls == 1);
    // Half-open: the end instant is out, the start instant is in.
    CHECK(f.q->stats({at("2024-11-06"), at("2024-11-06T12:00:00Z")}, {}).totals.calls == 1);        // r2
    CHECK(f.q->stats({at("2024-11-06T12:00:00Z"), at("2024-11-06T12:00:00.001Z")}, {}).totals.calls == 1);  // r3
}

TEST_CASE("sqlite_queries: empty, reversed and future ranges answer zero", "[sqlite_queries]") {
    fixture f;
    const usage_totals zero{};
    CHECK(f.q->stats({at("2024-11-06"), at("2024-11-06")}, {}).totals == zero);
    CHECK(f.q->stats({at("2024-11-07"), at("2024-11-06")}, {}).totals == zero);
    CHECK(f.q->stats({at("2030-01-01"), at("2030-01-08")}, {}).by_model.empty());
    CHECK(f.q->daily({at("2024-11-06"), at("2024-11-06")}, {}).empty());
    CHECK(f.q->top_users({at("2030-01-01"), at("2030-01-08")}, {}, 10).empty());
    const auto future = f.q->daily({at("2030-01-01"), at("2030-01-08")}, {});
    REQUIRE(future.size() == 7);
    CHECK(future.front().date == "2030-01-01");
    CHECK(future.back().date == "2030-01-07");
    for (const auto& d : future) CHECK(d.totals == zero);
}

TEST_CASE("sqlite_queries: daily is one zero-filled entry per UTC day touched", "[sqlite_queries]") {
    fixture f;
    const auto d = f.q->daily({at("2024-11-04"), at("2024-11-10")}, {});
    REQUIRE(d.size() == 6);
    CHECK(d[0].date == "2024-11-04");
    CHECK(d[0].totals.calls == 0);
    CHECK(d[1].date == "2024-11-05");
    CHECK(d[1].totals.calls == 1);
    CHECK(d[1].totals.cost_pico_usd == 1000);
    CHECK(d[2].date == "2024-11-06");
    CHECK(d[2].totals.calls == 3);
    CHECK(d[2].totals.cost_pico_usd == 5300);
    CHECK(d[3].date == "2024-11-07");
    CHECK(d[3].totals.unpriced_calls == 1);
    CHECK(d[4].date == "2024-11-08");
    CHECK(d[4].totals.total_tokens == 1500);
    CHECK(d[5].date == "2024-11-09");
    CHECK(d[5].totals.calls == 0);

    // Unaligned: the first and last days are partial and still one entry each.
    const auto p = f.q->daily({at("2024-11-05T12:00:00Z"), at("2024-11-08T09:59:59.999Z")}, {});
    REQUIRE(p.size() == 4);
    CHECK(p[0].totals.calls == 1);  // r1
    CHECK(p[3].date == "2024-11-08");
    CHECK(p[3].totals.calls == 0);  // r6 is at 10:00, after the end
    // A single day.
    const auto one = f.q->daily({at("2024-11-07"), at("2024-11-08")}, {});
    REQUIRE(one.size() == 1);
    CHECK(one[0].totals.calls == 1);
}

TEST_CASE("sqlite_queries: filters on rollup dimensions, user and tag", "[sqlite_queries]") {
    fixture f;
    const time_range all{at("2024-11-05"), at("2024-11-09")};
    usage_filter flash;
    flash.model = "gemini-2.5-flash";
    auto s = f.q->stats(all, flash);
    CHECK(s.totals.calls == 3);  // r1 r3 r4
    CHECK(s.totals.cost_pico_usd == 1300);
    CHECK(keys(s.by_endpoint) == std::vector<std::string>{"chat"});
    CHECK(keys(s.by_bot) == std::vector<std::string>{"b1", "b2"});

    usage_filter guests;
    guests.guest = true;
    s = f.q->stats(all, guests);
    CHECK(s.totals.calls == 2);  // r3 r6
    CHECK(s.totals.cost_pico_usd == 20000);

    usage_filter no_bot;
    no_bot.bot_id = "";
    CHECK(f.q->stats(all, no_bot).totals.calls == 2);  // r2 r5

    usage_filter pro_analyze;
    pro_analyze.model = "gemini-2.5-pro";
    pro_analyze.endpoint = "analyze";
    pro_analyze.guest = false;
    CHECK(f.q->stats(all, pro_analyze).totals.cost_pico_usd == 5000);  // r2

    usage_filter u1;
    u1.user_id = "u1";
    s = f.q->stats(all, u1);
    CHECK(s.totals.calls == 2);
    CHECK(s.totals.cost_pico_usd == 1300);
    CHECK(keys(s.by_bot) == std::vector<std::string>{"b1", "b2"});
    const auto d = f.q->daily(all, u1);
    REQUIRE(d.size() == 4);
    CHECK(d[0].totals.calls == 1);
    CHECK(d[1].totals.calls == 1);
    CHECK(d[2].totals.calls == 0);

    usage_filter red;
    red.tag = "team=red";
    CHECK(f.q->stats(all, red).totals.calls == 1);
    usage_filter any_team;
    any_team.tag = "team";
    CHECK(f.q->stats(all, any_team).totals.calls == 2);
    usage_filter evil;
    evil.model = "x' OR '1'='1";
    CHECK(f.q->stats(all, evil).totals.calls == 0);
    evil = {};
    evil.tag = "team') OR 1=1 --=red";
    CHECK(f.q->stats(all, evil).totals.calls == 0);
}

TEST_CASE("sqlite_queries: top users by cost with their latest email", "[sqlite_queries]") {
    fixture f;
    const auto top = f.q->top_users({at("2024-11-05"), at("2024-11-09")}, {}, 10);
    REQUIRE(top.size() == 3);
    CHECK(top[0].user_id == "u2");
    CHECK(top[0].totals.cost_pico_usd == 5000);
    CHECK(top[0].email.empty());
    CHECK(top[1].user_id == "u1");
    CHECK(top[1].email == "b@x");
    CHECK(top[1].totals.calls == 2);
    CHECK(top[1].totals.input_tokens == 110);
    CHECK(top[2].user_id == "u3");
    CHECK(f.q->top_users({at("2024-11-05"), at("2024-11-09")}, {}, 2).size() == 2);

    // Unaligned range from raw edges + rollups, same ranking.
    const auto edge = f.q->top_users({at("2024-11-05T23:59:59.999Z"), at("2024-11-06T23:59:59.999Z")}, {}, 10);
    REQUIRE(edge.size() == 2);
    CHECK(edge[0].user_id == "u2");
    CHECK(edge[1].user_id == "u1");
    CHECK(edge[1].totals.calls == 1);  // r1 only: r4 is at the excluded end instant

    usage_filter flash;
    flash.model = "gemini-2.5-flash";
    const auto ff = f.q->top_users({at("2024-11-05"), at("2024-11-09")}, flash, 10);
    REQUIRE(ff.size() == 1);
    CHECK(ff[0].user_id == "u1");
    CHECK(ff[0].totals.cost_pico_usd == 1300);
}

TEST_CASE("sqlite_queries: recent pages newest first with a keyset cursor", "[sqlite_queries]") {
    fixture f;
    std::vector<std::string> seen;
    std::optional<recent_cursor> cursor;
    int pages = 0;
    do {
        const auto page = f.q->recent({}, 2, cursor);
        for (const auto& r : page.calls) seen.push_back(r.id);
        cursor = page.next;
        ++pages;
    } while (cursor && pages < 10);
    CHECK(seen == std::vector<std::string>{"r6", "r5", "r4", "r3", "r2", "r1"});
    CHECK(pages == 3);

    const auto first = f.q->recent({}, 3, std::nullopt);
    REQUIRE(first.calls.size() == 3);
    const auto& r4 = first.calls[2];
    CHECK(r4.id == "r4");
    CHECK(r4.user_email == "b@x");
    CHECK(r4.created_at_ms == at("2024-11-06T23:59:59.999Z"));
    CHECK(r4.tokens.prompt == 10);
    CHECK(r4.tokens.candidates == 5);
    CHECK(r4.tags == std::vector<std::pair<std::string, std::string>>{{"team", "red"}});
    CHECK(r4.bot_id == "b2");
    CHECK(r4.http_status == 200);

    usage_filter pro;
    pro.model = "gemini-2.5-pro";
    const auto p = f.q->recent(pro, 10, std::nullopt);
    REQUIRE(p.calls.size() == 2);
    CHECK(p.calls[0].id == "r6");
    CHECK(p.calls[1].id == "r2");
    CHECK_FALSE(p.next);
    // Same millisecond, different ids: the cursor's id breaks the tie.
    const auto after = f.q->recent({}, 10, recent_cursor{at("2024-11-06T23:59:59.999Z"), "r4"});
    REQUIRE(after.calls.size() == 3);
    CHECK(after.calls[0].id == "r3");
}

TEST_CASE("sqlite_queries: projections use the 7 full UTC days before today", "[sqlite_queries]") {
    fixture f;
    auto p = f.q->projections(at("2024-11-14T05:00:00Z"), {});
    CHECK(p.baseline_days == 7);
    CHECK(p.baseline.start_ms == at("2024-11-07"));
    CHECK(p.baseline.end_ms == at("2024-11-14"));
    CHECK(p.baseline_totals.calls == 2);  // r5 r6
    CHECK(p.baseline_totals.cost_pico_usd == 20000);
    CHECK(keys(p.by_model) == std::vector<std::string>{"gemini-2.5-pro", "mystery"});
    CHECK(keys(p.by_endpoint) == std::vector<std::string>{"analyze", "chat"});

    // At midnight exactly, "today" has just begun and is excluded.
    p = f.q->projections(at("2024-11-13T00:00:00Z"), {});
    CHECK(p.baseline.start_ms == at("2024-11-06"));
    CHECK(p.baseline_totals.calls == 5);  // r2 r3 r4 r5 r6
    CHECK(p.baseline_totals.cost_pico_usd == 25300);

    usage_filter chat;
    chat.endpoint = "chat";
    CHECK(f.q->projections(at("2024-11-13T00:00:00Z"), chat).baseline_totals.calls == 3);  // r3 r4 r5
    CHECK(f.q->projections(at("2031-01-01"), {}).baseline_totals.calls == 0);
}

TEST_CASE("sqlite_queries: export streams raw rows oldest first and can stop", "[sqlite_queries]") {
    fixture f;
    std::vector<std::string> ids;
    f.q->export_rows({at("2024-11-01"), at("2024-12-01")}, {}, [&](const gm::metering::usage_record& r) {
        ids.push_back(r.id);
        return true;
    });
    CHECK(ids == std::vector<std::string>{"r1", "r2", "r3", "r4", "r5", "r6"});
    ids.clear();
    usage_filter u1;
    u1.user_id = "u1";
    f.q->export_rows({at("2024-11-01"), at("2024-12-01")}, u1, [&](const gm::metering::usage_record& r) {
        ids.push_back(r.id);
        return false;
    });
    CHECK(ids == std::vector<std::string>{"r1"});
}

namespace {

bool matches(const gm::metering::usage_record& r, const usage_filter& f) {
    if (f.model && r.model != *f.model) return false;
    if (f.endpoint && r.endpoint != *f.endpoint) return false;
    if (f.bot_id && r.bot_id != *f.bot_id) return false;
    if (f.guest && r.is_guest != *f.guest) return false;
    if (f.user_id && r.user_id != *f.user_id) return false;
    if (f.tag) {
        const auto eq = f.tag->find('=');
        const std::string name = f.tag->substr(0, eq);
        bool any = false;
        for (const auto& [k, v] : r.tags)
            any = any || (k == name && (eq == std::string::npos || v == f.tag->substr(eq + 1)));
        if (!any) return false;
    }
    return true;
}

// How draw_call picks a call's fields: of user_slots equally likely user numbers, the first
// registered are users u0, u1, ... and the rest guests; 1 call in pro_one_in is "pro"; a
// bot is set unless rng() % bot_one_in is 0.
struct call_mix {
    std::uint32_t user_slots, registered, pro_one_in, bot_one_in;
};

// Fills every field of s but id, ms and tags from rng, always in the same order, so that a
// seed gives the same calls.
void draw_call(std::mt19937& rng, const call_mix& mix, record_spec& s) {
    const auto u = rng() % mix.user_slots;
    if (u < mix.registered) s.user = fmt::format("u{}", u);
    s.model = rng() % mix.pro_one_in ? "flash" : "pro";
    s.endpoint = rng() % 3 ? "chat" : "analyze";
    if (rng() % mix.bot_one_in) s.bot = rng() % 2 ? "b1" : "b2";
    s.success = rng() % 5 != 0;
    s.prompt = static_cast<std::int64_t>(rng() % 100);
    s.candidates = static_cast<std::int64_t>(rng() % 50);
    s.cost = static_cast<std::int64_t>(rng() % 10000);
    s.priced = rng() % 7 != 0;
    s.duration = static_cast<std::int64_t>(rng() % 900);
}

}  // namespace

TEST_CASE("sqlite_queries: every rollup path (daily, hourly, tag, user, raw edges) agrees with a brute-force sum",
          "[sqlite_queries]") {
    gm::test::temp_dir dir;
    const std::string db = dir.file("usage.db");
    std::vector<gm::metering::usage_record> all;
    std::mt19937 rng(7);
    const std::int64_t base = at("2024-11-05T00:00:00Z");
    {
        auto store = sqlite_store::open(db);
        for (int i = 0; i < 600; ++i) {
            record_spec s;
            s.id = fmt::format("q{:05}", i);
            s.ms = base + static_cast<std::int64_t>(rng() % (3 * ms_per_day));
            draw_call(rng, {6, 4, 2, 2}, s);
            if (rng() % 3 == 0) s.tags.emplace_back("team", rng() % 2 ? "red" : "blue");
            if (rng() % 10 == 0) s.tags.emplace_back("team", "red");  // duplicate pairs count once
            auto r = gm::test::make_record(s);
            store->sink().submit(gm::metering::usage_record(r));
            all.push_back(std::move(r));
        }
        REQUIRE(store->flush(std::chrono::seconds(30)));
    }
    sqlite_queries q(db);

    std::vector<usage_filter> filters(13);
    filters[1].model = "pro";
    filters[2].guest = false;
    filters[2].endpoint = "chat";
    filters[3].tag = "team=red";
    filters[4].tag = "team=blue";
    filters[4].bot_id = "";
    filters[5].tag = "team";
    filters[6].user_id = "u1";
    filters[7].user_id = "u2";
    filters[7].model = "flash";
    filters[8].bot_id = "b1";
    filters[8].guest = true;
    // One dimension alone: its totals and daily series read the per-dimension tables.
    filters[9].endpoint = "analyze";
    filters[10].bot_id = "b2";
    filters[11].guest = false;
    filters[12].user_id = "u3";

    std::vector<time_range> ranges = {
        {base, base + 3 * ms_per_day},                                      // whole days
        {base + 5 * ms_per_hour, base + 2 * ms_per_day + 7 * ms_per_hour},  // whole hours
        {base + 1, base + 3 * ms_per_day - 1},                              // off by a millisecond
        {base + ms_per_day + 3 * ms_per_hour + 12345, base + ms_per_day + 3 * ms_per_hour + 999999},  // inside an hour
    };
    for (int i = 0; i < 8; ++i) {
        const auto a = base + static_cast<std::int64_t>(rng() % (3 * ms_per_day));
        const auto b = base + static_cast<std::int64_t>(rng() % (3 * ms_per_day));
        ranges.push_back({std::min(a, b), std::max(a, b) + 1});
    }

    for (std::size_t fi = 0; fi < filters.size(); ++fi) {
        for (const auto& range : ranges) {
            INFO("filter " << fi << " range " << range.start_ms << " .. " << range.end_ms);
            usage_totals want;
            std::map<std::string, usage_totals> want_model, want_bot;
            std::map<std::int64_t, usage_totals> want_day;
            std::map<std::string, usage_totals> want_user;
            for (const auto& r : all) {
                if (r.created_at_ms < range.start_ms || r.created_at_ms >= range.end_ms || !matches(r, filters[fi]))
                    continue;
                gm::storage::add_record(want, r);
                gm::storage::add_record(want_model[r.model], r);
                gm::storage::add_record(want_bot[r.bot_id], r);
                gm::storage::add_record(want_day[utc_day(r.created_at_ms)], r);
                if (!r.user_id.empty()) gm::storage::add_record(want_user[r.user_id], r);
            }
            const auto s = q.stats(range, filters[fi]);
            CHECK(s.totals == want);
            REQUIRE(s.by_model.size() == want_model.size());
            for (const auto& k : s.by_model) CHECK(k.totals == want_model[k.key]);
            REQUIRE(s.by_bot.size() == want_bot.size());
            for (const auto& k : s.by_bot) CHECK(k.totals == want_bot[k.key]);
            const auto d = q.daily(range, filters[fi]);
            for (const auto& e : d) {
                const auto day = utc_day(*parse_iso_ms(e.date));
                CHECK(e.totals == want_day[day]);
            }
            if (!filters[fi].tag) {
                const auto top = q.top_users(range, filters[fi], 3);
                CHECK(top.size() == std::min<std::size_t>(3, want_user.size()));
                for (const auto& u : top) CHECK(u.totals == want_user[u.user_id]);
                for (std::size_t i = 1; i < top.size(); ++i)
                    CHECK(top[i - 1].totals.cost_pico_usd >= top[i].totals.cost_pico_usd);
            }
        }
    }
}

TEST_CASE("sqlite_queries: top users across a month boundary reads past users whose cost lies outside the range",
          "[sqlite_queries]") {
    gm::test::temp_dir dir;
    const std::string db = dir.file("usage.db");
    {
        auto store = sqlite_store::open(db);
        int n = 0;
        auto add = [&](const char* user, const char* iso, std::int64_t cost) {
            record_spec s;
            s.id = fmt::format("m{:03}", n++);
            s.ms = at(iso);
            s.user = user;
            s.cost = cost;
            store->sink().submit(gm::test::make_record(s));
        };
        // October's and November's lists both start with users whose big costs are outside
        // the range: the winners inside it sit lower in both lists.
        add("whale-oct", "2024-10-02T00:00:00Z", 1'000'000);
        add("whale-nov", "2024-11-20T00:00:00Z", 900'000);
        add("whale-oct", "2024-10-31T13:00:00Z", 1);
        for (int i = 0; i < 20; ++i) add(fmt::format("small{:02}", i).c_str(), "2024-10-31T18:00:00Z", 100 + i);
        add("mid", "2024-10-31T20:00:00Z", 500);
        add("mid", "2024-11-01T01:00:00Z", 400);
        add("late", "2024-11-01T11:00:00Z", 800);
        REQUIRE(store->flush(std::chrono::seconds(30)));
    }
    sqlite_queries q(db);
    const auto top = q.top_users({at("2024-10-31T12:00:00Z"), at("2024-11-01T12:00:00Z")}, {}, 3);
    REQUIRE(top.size() == 3);
    CHECK(top[0].user_id == "mid");
    CHECK(top[0].totals.cost_pico_usd == 900);
    CHECK(top[0].totals.calls == 2);
    CHECK(top[1].user_id == "late");
    CHECK(top[2].user_id == "small19");
    // A range holding none of the whales' big calls never lists them, however big.
    for (const auto& u : top) CHECK(u.user_id.rfind("whale", 0) != 0);
    const auto one = q.top_users({at("2024-10-31T12:00:00Z"), at("2024-10-31T14:00:00Z")}, {}, 5);
    REQUIRE(one.size() == 1);
    CHECK(one[0].user_id == "whale-oct");
    CHECK(one[0].totals.cost_pico_usd == 1);
}

TEST_CASE("sqlite_queries: a range ending inside an hour reads that hour's rollup only when no later row of it exists",
          "[sqlite_queries]") {
    // Three calls in the 10:00 hour of 2024-11-06; the ranges end at various points of it.
    gm::test::temp_dir dir;
    const std::string db = dir.file("usage.db");
    {
        auto store = sqlite_store::open(db);
        record_spec s;
        s = {}; s.id = "h1"; s.ms = at("2024-11-06T10:10:00.000Z"); s.cost = 1; s.prompt = 1; store->sink().submit(gm::test::make_record(s));
        s = {}; s.id = "h2"; s.ms = at("2024-11-06T10:20:00.000Z"); s.cost = 10; s.prompt = 2; store->sink().submit(gm::test::make_record(s));
        s = {}; s.id = "h3"; s.ms = at("2024-11-06T10:40:00.000Z"); s.cost = 100; s.prompt = 4; s.model = "gemini-2.5-pro";
        store->sink().submit(gm::test::make_record(s));
        REQUIRE(store->flush(std::chrono::seconds(30)));
    }
    auto store = sqlite_store::open(db);
    auto q = store->open_reader();
    const auto day = at("2024-11-06T00:00:00.000Z");
    // h3 lies after the end: raw rows, h1 + h2.
    CHECK(q->stats({day, at("2024-11-06T10:30:00.000Z")}, {}).totals.cost_pico_usd == 11);
    CHECK(q->stats({day, at("2024-11-06T10:40:00.000Z")}, {}).totals.cost_pico_usd == 11);  // end is exclusive
    // Nothing of the hour after the end: the hour's rollup, all three.
    CHECK(q->stats({day, at("2024-11-06T10:40:00.001Z")}, {}).totals.cost_pico_usd == 111);
    const auto now_like = q->stats({day, at("2024-11-06T10:50:00.000Z")}, {});
    CHECK(now_like.totals.calls == 3);
    CHECK(now_like.totals.input_tokens == 7);
    CHECK(find(now_like.by_model, "gemini-2.5-pro")->totals.calls == 1);
    // A filter applies to the rollup row as to raw rows.
    usage_filter flash;
    flash.model = "gemini-2.5-flash";
    CHECK(q->stats({day, at("2024-11-06T10:50:00.000Z")}, flash).totals.cost_pico_usd == 11);
    // A range inside the hour itself never takes the hour's rollup.
    CHECK(q->stats({at("2024-11-06T10:15:00.000Z"), at("2024-11-06T10:50:00.000Z")}, {}).totals.cost_pico_usd == 110);
    // Daily series agree.
    const auto days = q->daily({day, at("2024-11-06T10:50:00.000Z")}, {});
    REQUIRE(days.size() == 1);
    CHECK(days[0].totals.cost_pico_usd == 111);
}

TEST_CASE("sqlite_queries: a user's partial days come from the hourly user rollups, breakdowns by one dimension",
          "[sqlite_queries]") {
    fixture f;
    usage_filter u1;
    u1.user_id = "u1";
    // 11-05 from 23:00 (one whole hour: r1) and the whole of 11-06 (r4).
    auto s = f.q->stats({at("2024-11-05T23:00:00Z"), at("2024-11-07")}, u1);
    CHECK(s.totals.calls == 2);
    CHECK(s.totals.registered_calls == 2);
    CHECK(s.totals.cost_pico_usd == 1300);
    CHECK(s.totals.input_tokens == 110);
    CHECK(s.totals.output_tokens == 65);
    CHECK(s.totals.cached_tokens == 20);
    CHECK(s.totals.duration_ms_sum == 110);
    CHECK(keys(s.by_model) == std::vector<std::string>{"gemini-2.5-flash"});
    CHECK(find(s.by_model, "gemini-2.5-flash")->totals.cost_pico_usd == 1300);
    CHECK(keys(s.by_endpoint) == std::vector<std::string>{"chat"});
    CHECK(keys(s.by_bot) == std::vector<std::string>{"b1", "b2"});
    CHECK(find(s.by_bot, "b1")->totals.cost_pico_usd == 1000);
    CHECK(find(s.by_bot, "b2")->totals.input_tokens == 10);

    // The last millisecond of 11-05 to the last of 11-06, exclusive: r1 only.
    s = f.q->stats({at("2024-11-05T23:59:59.999Z"), at("2024-11-06T23:59:59.999Z")}, u1);
    CHECK(s.totals.calls == 1);
    CHECK(s.totals.cost_pico_usd == 1000);
    CHECK(keys(s.by_bot) == std::vector<std::string>{"b1"});
    // A millisecond after midnight to the next midnight: 11-06's 23:00 hour whole, r4 only.
    s = f.q->stats({at("2024-11-06T00:00:00.001Z"), at("2024-11-07")}, u1);
    CHECK(s.totals.calls == 1);
    CHECK(s.totals.cost_pico_usd == 300);
    CHECK(keys(s.by_bot) == std::vector<std::string>{"b2"});
    // Inside one hour.
    CHECK(f.q->stats({at("2024-11-06T23:30:00Z"), at("2024-11-06T23:59:59.999Z")}, u1).totals.calls == 0);
    CHECK(f.q->stats({at("2024-11-06T23:30:00Z"), at("2024-11-07T00:00:00.001Z")}, u1).totals.calls == 1);
    // Empty and future ranges.
    const usage_totals zero{};
    CHECK(f.q->stats({at("2024-11-06"), at("2024-11-06")}, u1).totals == zero);
    s = f.q->stats({at("2030-01-01T05:00:00Z"), at("2030-01-08T05:00:00Z")}, u1);
    CHECK(s.totals == zero);
    CHECK(s.by_model.empty());
    CHECK(s.by_bot.empty());

    // Daily: the partial first day from the hourly rollup, r4 excluded by the end.
    const auto d = f.q->daily({at("2024-11-05T23:00:00Z"), at("2024-11-06T23:59:59.999Z")}, u1);
    REQUIRE(d.size() == 2);
    CHECK(d[0].date == "2024-11-05");
    CHECK(d[0].totals.cost_pico_usd == 1000);
    CHECK(d[1].totals.calls == 0);

    // One breakdown alone.
    sqlite_queries q(f.db);
    const auto bots = q.grouped({at("2024-11-05T23:00:00Z"), at("2024-11-07")}, u1, sqlite_queries::group::bot);
    REQUIRE(bots.size() == 2);
    CHECK(bots.at("b1").calls == 1);
    CHECK(bots.at("b2").cost_pico_usd == 300);
    usage_filter u2;
    u2.user_id = "u2";
    const auto endpoints = q.grouped({at("2024-11-05T23:00:00Z"), at("2024-11-07")}, u2, sqlite_queries::group::endpoint);
    REQUIRE(endpoints.size() == 1);
    CHECK(endpoints.at("analyze").output_tokens == 100);
}

TEST_CASE("sqlite_queries: top users over partial days read the hourly user rollup", "[sqlite_queries]") {
    fixture f;
    // 11-05 23:00 .. 11-06 00:00:00.001: r1 (u1) from the 23:00 hour's rollup; r2 (u2) in the
    // partial 00:00 hour, whose rows all lie before the end, so from that hour's rollup too.
    auto top = f.q->top_users({at("2024-11-05T23:00:00Z"), at("2024-11-06T00:00:00.001Z")}, {}, 10);
    REQUIRE(top.size() == 2);
    CHECK(top[0].user_id == "u2");
    CHECK(top[0].totals.cost_pico_usd == 5000);
    CHECK(top[0].totals.input_tokens == 200);
    CHECK(top[1].user_id == "u1");
    CHECK(top[1].email == "b@x");
    CHECK(top[1].totals.calls == 1);
    CHECK(top[1].totals.thoughts_tokens == 10);
    // The 23:00 hour of 11-06 alone: r4 (u1), not r5 (u3) at the next midnight.
    top = f.q->top_users({at("2024-11-06T23:00:00Z"), at("2024-11-07")}, {}, 10);
    REQUIRE(top.size() == 1);
    CHECK(top[0].user_id == "u1");
    CHECK(top[0].totals.cost_pico_usd == 300);
    // Past the data and inside an hour without rows.
    CHECK(f.q->top_users({at("2030-01-01T05:00:00Z"), at("2030-01-08T05:00:00Z")}, {}, 10).empty());
    CHECK(f.q->top_users({at("2024-11-06T12:10:00Z"), at("2024-11-06T12:20:00Z")}, {}, 10).empty());
}

TEST_CASE("sqlite_queries: one model, endpoint, bot or guest filter's daily series and totals by the dimension tables",
          "[sqlite_queries]") {
    fixture f;
    usage_filter flash;
    flash.model = "gemini-2.5-flash";
    // 11-05 from 23:00 (r1), 11-06 whole (r3 r4), 11-07 (none), 11-08 to 10:00:00.001 (r6 is pro).
    const auto d = f.q->daily({at("2024-11-05T23:00:00Z"), at("2024-11-08T10:00:00.001Z")}, flash);
    REQUIRE(d.size() == 4);
    CHECK(d[0].totals.calls == 1);
    CHECK(d[0].totals.cost_pico_usd == 1000);
    CHECK(d[1].totals.calls == 2);
    CHECK(d[1].totals.failed_calls == 1);
    CHECK(d[1].totals.cost_pico_usd == 300);
    CHECK(d[2].totals.calls == 0);
    CHECK(d[3].totals.calls == 0);

    usage_filter guests;
    guests.guest = true;
    const auto g = f.q->daily({at("2024-11-06"), at("2024-11-09")}, guests);
    REQUIRE(g.size() == 3);
    CHECK(g[0].totals.calls == 1);  // r3
    CHECK(g[0].totals.guest_calls == 1);
    CHECK(g[1].totals.calls == 0);
    CHECK(g[2].totals.cost_pico_usd == 20000);  // r6

    sqlite_queries q(f.db);
    const time_range all{at("2024-11-05T12:00:00Z"), at("2024-11-08T12:00:00Z")};
    usage_filter b1;
    b1.bot_id = "b1";
    auto t = q.grouped(all, b1, sqlite_queries::group::none);
    REQUIRE(t.size() == 1);
    CHECK(t.begin()->second.calls == 3);  // r1 r3 r6
    CHECK(t.begin()->second.cost_pico_usd == 21000);
    usage_filter no_bot;
    no_bot.bot_id = "";
    t = q.grouped(all, no_bot, sqlite_queries::group::none);
    CHECK(t.begin()->second.calls == 2);  // r2 r5
    CHECK(t.begin()->second.unpriced_calls == 1);
    usage_filter analyze;
    analyze.endpoint = "analyze";
    t = q.grouped(all, analyze, sqlite_queries::group::none);
    CHECK(t.begin()->second.cost_pico_usd == 25000);  // r2 r6
    // A future range and a value nobody used answer nothing.
    CHECK(q.grouped({at("2030-01-01"), at("2030-01-02T06:00:00Z")}, analyze, sqlite_queries::group::none).empty());
    usage_filter nobody;
    nobody.model = "no-such-model";
    for (const auto& e : f.q->daily(all, nobody)) CHECK(e.totals.calls == 0);
}

TEST_CASE("sqlite_queries: a user's days not yet folded into the one-dimension rollup read the per-day rows, and "
          "agree once the writer folds them",
          "[sqlite_queries]") {
    // Calls of user u over the last three UTC days (wall clock: the writer folds days that
    // are over). Yesterday is first left unfolded, as before the writer's first batch after
    // midnight.
    gm::test::temp_dir dir;
    const std::string db = dir.file("usage.db");
    const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
    const std::int64_t today = utc_day(now);
    const std::int64_t start = day_start_ms(today - 2);
    int n = 0;
    auto add = [&](sqlite_store& store, std::int64_t ms, const char* model, const char* bot, std::int64_t cost) {
        record_spec s;
        s.id = fmt::format("f{:03}", n++);
        s.ms = ms;
        s.user = "u";
        s.model = model;
        s.bot = bot;
        s.cost = cost;
        s.prompt = 3;
        store.sink().submit(gm::test::make_record(s));
    };
    const time_range whole{start, day_start_ms(today)};   // two folded-or-not whole days
    const time_range edges{start + 5 * ms_per_hour, now + 1};
    {
        auto store = sqlite_store::open(db);
        add(*store, start + 6 * ms_per_hour, "flash", "b1", 1);          // two days ago
        add(*store, start + ms_per_day + 1, "pro", "", 10);             // yesterday
        add(*store, start + ms_per_day + 2, "flash", "b1", 100);         // yesterday
        add(*store, day_start_ms(today) + 1, "pro", "b2", 1000);  // today, at or before now
        REQUIRE(store->flush(std::chrono::seconds(30)));
    }
    {
        // As if yesterday had not been folded yet.
        sqlite_conn c(db, sqlite_conn::mode::read_write);
        c.exec(fmt::format("UPDATE UsageRollupState SET value = {} WHERE name = 'UsageDailyUserOneDim'", today - 2));
        c.exec(fmt::format("DELETE FROM UsageDailyUserOneDim WHERE day >= {}", today - 1));
    }
    usage_filter u;
    u.user_id = "u";
    auto check = [&](sqlite_queries& q) {
        auto s = q.stats(whole, u);
        CHECK(s.totals.calls == 3);
        CHECK(s.totals.cost_pico_usd == 111);
        CHECK(s.totals.input_tokens == 9);
        CHECK(keys(s.by_model) == std::vector<std::string>{"flash", "pro"});
        CHECK(find(s.by_model, "flash")->totals.cost_pico_usd == 101);
        CHECK(keys(s.by_bot) == std::vector<std::string>{"", "b1"});
        CHECK(find(s.by_bot, "")->totals.cost_pico_usd == 10);
        s = q.stats(edges, u);
        CHECK(s.totals.calls == 4);
        CHECK(s.totals.cost_pico_usd == 1111);
        CHECK(find(s.by_bot, "b2")->totals.cost_pico_usd == 1000);
        CHECK(find(s.by_model, "pro")->totals.calls == 2);
        const auto bots = q.grouped(whole, u, sqlite_queries::group::bot);
        REQUIRE(bots.size() == 2);
        CHECK(bots.at("b1").cost_pico_usd == 101);
    };
    {
        sqlite_queries q(db);
        check(q);
    }
    CHECK(gm::test::query_int(db, fmt::format("SELECT COUNT(*) FROM UsageDailyUserOneDim WHERE day = {}", today - 1)) == 0);
    {
        // The next batch folds yesterday; a late call of two days ago (already folded) is added directly.
        auto store = sqlite_store::open(db);
        add(*store, start + 7 * ms_per_hour, "flash", "", 10000);
        REQUIRE(store->flush(std::chrono::seconds(30)));
    }
    CHECK(gm::test::query_int(db, "SELECT value FROM UsageRollupState WHERE name = 'UsageDailyUserOneDim'") == today - 1);
    CHECK(gm::test::query_int(db, fmt::format("SELECT SUM(costPicoUsd) FROM UsageDailyUserOneDim WHERE day = {} AND dim = 'model'",
                                    today - 1)) == 110);
    CHECK(gm::test::query_int(db, fmt::format("SELECT costPicoUsd FROM UsageDailyUserOneDim WHERE day = {} AND dim = 'bot' "
                                    "AND key = ''",
                                    today - 2)) == 10000);
    CHECK(gm::test::query_int(db, fmt::format("SELECT COUNT(*) FROM UsageDailyUserOneDim WHERE day = {}", today)) == 0);
    sqlite_queries q(db);
    const auto s = q.stats(whole, u);
    CHECK(s.totals.calls == 4);
    CHECK(s.totals.cost_pico_usd == 10111);
    CHECK(find(s.by_bot, "")->totals.cost_pico_usd == 10010);
    CHECK(find(s.by_model, "flash")->totals.cost_pico_usd == 10101);
}

namespace {

// Six calls around the month boundaries of November 2024; every expectation in the test
// below is summed by hand from this table. All their days are folded (the marker starts at
// yesterday), so the writer adds them to the monthly and pair rollups directly.
//   id  createdAt                   user   model  endpoint  bot  cost  prompt
//   m1  10-31T23:30:00.000Z         u1     flash  chat      b1   100   1
//   m2  11-01T00:00:00.000Z         u1     flash  analyze   -    200   2
//   m3  11-01T00:30:00.000Z         u2     pro    chat      b1   1000  4
//   m4  11-15T12:00:00.000Z         u1     flash  chat      b2   50    8
//   m5  12-01T00:00:00.000Z         guest  flash  chat      b1   7     16
//   m6  12-01T00:00:00.001Z         u2     flash  chat      -    3000  32
void fill_month_edges(const std::string& db) {
    auto store = sqlite_store::open(db);
    auto add = [&](const char* id, const char* iso, const char* user, const char* model, const char* endpoint,
                   const char* bot, std::int64_t cost, std::int64_t prompt) {
        record_spec s;
        s.id = id;
        s.ms = at(iso);
        s.user = user;
        s.model = model;
        s.endpoint = endpoint;
        s.bot = bot;
        s.cost = cost;
        s.prompt = prompt;
        s.duration = 10;
        store->sink().submit(gm::test::make_record(s));
    };
    add("m1", "2024-10-31T23:30:00.000Z", "u1", "flash", "chat", "b1", 100, 1);
    add("m2", "2024-11-01T00:00:00.000Z", "u1", "flash", "analyze", "", 200, 2);
    add("m3", "2024-11-01T00:30:00.000Z", "u2", "pro", "chat", "b1", 1000, 4);
    add("m4", "2024-11-15T12:00:00.000Z", "u1", "flash", "chat", "b2", 50, 8);
    add("m5", "2024-12-01T00:00:00.000Z", "", "flash", "chat", "b1", 7, 16);
    add("m6", "2024-12-01T00:00:00.001Z", "u2", "flash", "chat", "", 3000, 32);
    REQUIRE(store->flush(std::chrono::seconds(30)));
}

std::vector<std::pair<std::string, std::int64_t>> costs(const std::vector<user_usage>& v) {
    std::vector<std::pair<std::string, std::int64_t>> out;
    for (const auto& u : v) out.emplace_back(u.user_id, u.totals.cost_pico_usd);
    return out;
}

std::map<std::string, std::int64_t> key_costs(const std::vector<keyed_totals>& v) {
    std::map<std::string, std::int64_t> out;
    for (const auto& k : v) out[k.key] = k.totals.cost_pico_usd;
    return out;
}

using cost_list = std::vector<std::pair<std::string, std::int64_t>>;
using cost_map = std::map<std::string, std::int64_t>;

}  // namespace

TEST_CASE("sqlite_queries: top users and a one-dimension filter's breakdowns across month boundaries, by hand",
          "[sqlite_queries]") {
    gm::test::temp_dir dir;
    const std::string db = dir.file("usage.db");
    fill_month_edges(db);
    sqlite_queries q(db);
    const time_range partial_month{at("2024-10-31T23:45:00Z"), at("2024-12-01T00:00:00Z")};
    const time_range whole_days{at("2024-10-31T00:00:00Z"), at("2024-12-01T00:00:00Z")};
    const time_range november{at("2024-11-01T00:00:00Z"), at("2024-12-01T00:00:00Z")};
    const time_range shifted{at("2024-11-01T00:00:00.001Z"), at("2024-12-01T00:00:00.002Z")};
    usage_filter flash;
    flash.model = "flash";
    const time_range flash_range{at("2024-10-31T23:45:00Z"), at("2024-12-01T00:00:00.001Z")};
    const time_range quarter{at("2024-10-01T00:00:00Z"), at("2025-01-01T00:00:00Z")};
    usage_filter guests;
    guests.guest = true;

    auto check_all = [&](bool removed) {
        // m2 + m4 for u1 (m1 is before 23:45), m3 for u2.
        CHECK(costs(q.top_users(partial_month, {}, 10)) == cost_list{{"u2", 1000}, {"u1", 250}});
        CHECK(q.top_users(partial_month, {}, 10)[1].totals.calls == 2);
        CHECK(costs(q.top_users(whole_days, {}, 10)) == cost_list{{"u2", 1000}, {"u1", 350}});
        CHECK(costs(q.top_users(november, {}, 10)) == cost_list{{"u2", 1000}, {"u1", 250}});
        CHECK(costs(q.top_users(november, {}, 1)) == cost_list{{"u2", 1000}});
        // m2 lies exactly at the excluded start; m6 one millisecond inside the end. Once
        // retention has removed m3, a partial day sees only the rows still stored.
        if (!removed) {
            CHECK(costs(q.top_users(shifted, {}, 10)) == cost_list{{"u2", 4000}, {"u1", 50}});
            CHECK(q.top_users(shifted, {}, 10)[0].totals.calls == 2);
        } else {
            CHECK(costs(q.top_users(shifted, {}, 10)) == cost_list{{"u2", 3000}, {"u1", 50}});
        }

        // flash: m2, m4, m5 (m1 before the start, m6 at the excluded end).
        const auto s = q.stats(flash_range, flash);
        CHECK(s.totals.calls == 3);
        CHECK(s.totals.cost_pico_usd == 257);
        CHECK(s.totals.input_tokens == 2 + 8 + 16);
        CHECK(s.totals.guest_calls == 1);
        CHECK(key_costs(s.by_model) == cost_map{{"flash", 257}});
        CHECK(key_costs(s.by_endpoint) == cost_map{{"analyze", 200}, {"chat", 57}});
        CHECK(key_costs(s.by_bot) == cost_map{{"", 200}, {"b1", 7}, {"b2", 50}});
        // Whole months around it: m1, m2, m4, m5, m6.
        const auto all = q.stats(quarter, flash);
        CHECK(all.totals.calls == 5);
        CHECK(all.totals.cost_pico_usd == 3357);
        CHECK(key_costs(all.by_endpoint) == cost_map{{"analyze", 200}, {"chat", 3157}});
        CHECK(key_costs(all.by_bot) == cost_map{{"", 3200}, {"b1", 107}, {"b2", 50}});
        // No filter, whole months (the monthly per-dimension rollup): every call.
        const auto everything = q.stats(quarter, {});
        CHECK(everything.totals.calls == 6);
        CHECK(everything.totals.cost_pico_usd == 4357);
        CHECK(everything.totals.guest_calls == 1);
        CHECK(key_costs(everything.by_model) == cost_map{{"flash", 3357}, {"pro", 1000}});
        CHECK(key_costs(everything.by_endpoint) == cost_map{{"analyze", 200}, {"chat", 4157}});
        CHECK(key_costs(everything.by_bot) == cost_map{{"", 3200}, {"b1", 1107}, {"b2", 50}});
        // No filter, a partial day and a whole month: m2, m3, m4 (m1 before the start).
        const auto nov = q.stats(partial_month, {});
        CHECK(nov.totals.calls == 3);
        CHECK(nov.totals.cost_pico_usd == 1250);
        CHECK(key_costs(nov.by_model) == cost_map{{"flash", 250}, {"pro", 1000}});
        CHECK(key_costs(nov.by_endpoint) == cost_map{{"analyze", 200}, {"chat", 1050}});
        CHECK(key_costs(nov.by_bot) == cost_map{{"", 200}, {"b1", 1000}, {"b2", 50}});
        // A month less its first day: m4 only (m2 and m3 on November 1st).
        const auto rest = q.stats({at("2024-11-02T00:00:00Z"), at("2024-12-01T00:00:00Z")}, {});
        CHECK(rest.totals.calls == 1);
        CHECK(key_costs(rest.by_bot) == cost_map{{"b2", 50}});
        // Guests only: m5.
        const auto g = q.stats({at("2024-11-01T00:00:00Z"), at("2024-12-02T00:00:00Z")}, guests);
        CHECK(g.totals.calls == 1);
        CHECK(key_costs(g.by_model) == cost_map{{"flash", 7}});
        CHECK(key_costs(g.by_endpoint) == cost_map{{"chat", 7}});
        CHECK(key_costs(g.by_bot) == cost_map{{"b1", 7}});
        // Empty, reversed and future ranges.
        for (const time_range r : {time_range{november.start_ms, november.start_ms},
                                   time_range{november.end_ms, november.start_ms},
                                   time_range{at("2030-01-01T00:00:00Z"), at("2030-03-01T00:00:00Z")}}) {
            CHECK(q.top_users(r, {}, 10).empty());
            CHECK(q.stats(r, flash).totals == usage_totals{});
            CHECK(q.stats(r, flash).by_endpoint.empty());
        }
    };
    check_all(false);
    // Retention removes the oldest rows (m1, m2, m3): whole days and months answer the same
    // from the rollups, and the partial first day starts after the last removed row.
    {
        sqlite_conn c(db, sqlite_conn::mode::read_write);
        c.exec("DELETE FROM ApiUsage WHERE id IN ('m1', 'm2', 'm3')");
    }
    check_all(true);
}

TEST_CASE("sqlite_queries: monthly, monthly per-dimension and pair rollups equal their rows through the fold, late "
          "calls, re-pricing and retention",
          "[sqlite_queries]") {
    gm::test::temp_dir dir;
    const std::string db = dir.file("usage.db");
    const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
    const std::int64_t today = utc_day(now);
    const std::int64_t base = day_start_ms(today - 75);
    // Folded up to 40 days ago: the writer's first batch folds the days after it up to
    // yesterday, and adds calls of older days directly.
    migrate(db);
    {
        sqlite_conn c(db, sqlite_conn::mode::read_write);
        c.exec(fmt::format("UPDATE UsageRollupState SET value = {} WHERE name = 'UsageDailyUserOneDim'", today - 40));
    }
    std::vector<gm::metering::usage_record> all;
    std::mt19937 rng(11);
    {
        auto store = sqlite_store::open(db);
        for (int chunk = 0; chunk < 3; ++chunk) {
            for (int i = 0; i < 400; ++i) {
                record_spec s;
                s.id = fmt::format("f{}{:04}", chunk, i);
                s.ms = base + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(now - base));
                draw_call(rng, {7, 5, 3, 3}, s);
                auto r = gm::test::make_record(s);
                store->sink().submit(gm::metering::usage_record(r));
                all.push_back(std::move(r));
            }
            REQUIRE(store->flush(std::chrono::seconds(30)));
        }
    }
    const std::int64_t folded = gm::test::query_int(db, std::string(daily_user_one_dim_state));
    CHECK(folded == today - 1);

    // Each folded rollup row by row equals the same sums computed from ApiUsage.
    auto check_tables = [&] {
        const std::string raw_months = fmt::format(
            "SELECT {}, userId, {} FROM ApiUsage WHERE userId IS NOT NULL AND createdAtMs / 86400000 <= {} "
            "GROUP BY 1, 2",
            month_of_day_sql("createdAtMs / 86400000"), raw_sum_select, folded);
        const std::string months = fmt::format("SELECT month, userId, {} FROM UsageMonthlyUserSums", rollup_sum_columns);
        const std::string raw_pairs = fmt::format(
            "SELECT day, pairs.dim, {}, pairs.byDim, {}, {} FROM "
            "(SELECT createdAtMs / 86400000 AS day, model, endpoint, COALESCE(botId, '') AS botId, "
            "isGuest <> 0 AS isGuest, success, inputTokens, outputTokens, totalTokens, cachedTokens, thoughtsTokens, "
            "costPicoUsd, durationMs, priced FROM ApiUsage WHERE createdAtMs / 86400000 <= {}), {} "
            "GROUP BY 1, 2, 3, 4, 5",
            dim_pair_key, dim_pair_by_key, raw_sum_select, folded, dim_pair_rows);
        const std::string pairs =
            fmt::format("SELECT day, dim, key, byDim, byKey, {} FROM UsageDailyDimPair", rollup_sum_columns);
        const std::string raw_month_dims = fmt::format(
            "SELECT {}, dims.dim, CASE dims.dim WHEN 'model' THEN model WHEN 'endpoint' THEN endpoint "
            "WHEN 'bot' THEN COALESCE(botId, '') ELSE CAST(isGuest <> 0 AS TEXT) END, {} FROM ApiUsage, "
            "(SELECT 'model' AS dim UNION ALL SELECT 'endpoint' UNION ALL SELECT 'bot' UNION ALL SELECT 'guest') dims "
            "WHERE createdAtMs / 86400000 <= {} GROUP BY 1, 2, 3",
            month_of_day_sql("createdAtMs / 86400000"), raw_sum_select, folded);
        const std::string month_dims = fmt::format("SELECT month, dim, key, {} FROM UsageMonthlyDim", rollup_sum_columns);
        for (const auto& [a, b] : {std::pair{raw_months, months}, std::pair{months, raw_months},
                                   std::pair{raw_pairs, pairs}, std::pair{pairs, raw_pairs},
                                   std::pair{raw_month_dims, month_dims}, std::pair{month_dims, raw_month_dims}}) {
            INFO(a << "\nEXCEPT\n" << b);
            CHECK(gm::test::query_int(db, "SELECT COUNT(*) FROM (" + a + " EXCEPT " + b + ")") == 0);
        }
        CHECK(gm::test::query_int(db, "SELECT COUNT(*) FROM UsageMonthlyUserSums") > 5);
        CHECK(gm::test::query_int(db, "SELECT COUNT(DISTINCT month) FROM UsageMonthlyDim") >= 3);
    };
    check_tables();

    sqlite_queries q(db);
    std::vector<usage_filter> filters(6);
    filters[1].model = "pro";
    filters[2].endpoint = "analyze";
    filters[3].bot_id = "";
    filters[4].guest = true;
    filters[5].user_id = "u2";
    std::vector<time_range> ranges = {
        {base, now},                                                               // everything, to now
        {day_start_ms(today - 60), day_start_ms(today - 1)},                       // whole days
        {day_start_ms(today - 50) + 5 * ms_per_hour + 17, now + ms_per_day},       // into the future
        {day_start_ms(today - 80), day_start_ms(today - 30) + 3},                  // from before any row
        {now + ms_per_day, now + 40 * ms_per_day},                                 // future only
    };
    for (int i = 0; i < 10; ++i) {
        const auto a = base + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(now - base));
        const auto b = base + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(now - base));
        ranges.push_back({std::min(a, b), std::max(a, b) + 1});
    }
    auto check_queries = [&](const std::vector<time_range>& rs, const std::vector<gm::metering::usage_record>& rows) {
        for (std::size_t fi = 0; fi < filters.size(); ++fi) {
            for (const auto& range : rs) {
                INFO("filter " << fi << " range " << range.start_ms << " .. " << range.end_ms);
                usage_totals want;
                std::map<std::string, usage_totals> want_model, want_endpoint, want_bot, want_user;
                std::map<std::int64_t, usage_totals> want_day;
                for (const auto& r : rows) {
                    if (r.created_at_ms < range.start_ms || r.created_at_ms >= range.end_ms) continue;
                    if (fi == 0 && !r.user_id.empty()) gm::storage::add_record(want_user[r.user_id], r);
                    if (!matches(r, filters[fi])) continue;
                    gm::storage::add_record(want, r);
                    gm::storage::add_record(want_model[r.model], r);
                    gm::storage::add_record(want_endpoint[r.endpoint], r);
                    gm::storage::add_record(want_bot[r.bot_id], r);
                    gm::storage::add_record(want_day[utc_day(r.created_at_ms)], r);
                }
                const auto s = q.stats(range, filters[fi]);
                CHECK(s.totals == want);
                REQUIRE(s.by_model.size() == want_model.size());
                for (const auto& k : s.by_model) CHECK(k.totals == want_model[k.key]);
                REQUIRE(s.by_endpoint.size() == want_endpoint.size());
                for (const auto& k : s.by_endpoint) CHECK(k.totals == want_endpoint[k.key]);
                REQUIRE(s.by_bot.size() == want_bot.size());
                for (const auto& k : s.by_bot) CHECK(k.totals == want_bot[k.key]);
                for (const auto& e : q.daily(range, filters[fi]))
                    CHECK(e.totals == want_day[utc_day(*parse_iso_ms(e.date))]);
                if (fi == 0) {
                    const auto top = q.top_users(range, {}, 3);
                    CHECK(top.size() == std::min<std::size_t>(3, want_user.size()));
                    for (const auto& u : top) CHECK(u.totals == want_user[u.user_id]);
                }
            }
        }
    };
    check_queries(ranges, all);

    // Re-pricing a month of folded days and today: the trigger moves the folded rollups.
    const std::int64_t since = day_start_ms(today - 45), until = now + 1;
    auto doubled = [](const gm::metering::usage_record& r) {
        return price_result{true, r.model == "pro" ? r.cost_pico_usd * 2 : r.cost_pico_usd, "v2"};
    };
    reprice(db, since, until, record_pricer(doubled));
    for (auto& r : all) {
        if (r.created_at_ms < since || r.created_at_ms >= until) continue;
        const auto p = doubled(r);
        r.cost_pico_usd = p.cost_pico_usd;
        r.priced = p.priced;
    }
    check_tables();
    check_queries(ranges, all);

    // Retention removes the rows before a midnight: ranges from a midnight at or before it
    // still answer every call, removed ones from the rollups.
    const std::int64_t cutoff = day_start_ms(today - 35);
    {
        sqlite_conn c(db, sqlite_conn::mode::read_write);
        c.exec(fmt::format("DELETE FROM ApiUsage WHERE createdAtMs < {}", cutoff));
    }
    std::vector<time_range> after_retention = {
        {day_start_ms(today - 70), now},
        {day_start_ms(today - 62), day_start_ms(today - 3) + 7 * ms_per_hour + 5},
        {day_start_ms(today - 40), cutoff + 17},
        {cutoff, now + ms_per_day},
    };
    check_queries(after_retention, all);
}

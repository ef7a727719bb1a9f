#include "storage/reprice.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <tuple>

#include "storage/record_codec.hpp"
#include "storage/row_reader.hpp"
#include "storage/sqlite_conn.hpp"
#include "storage/utc_time.hpp"

namespace gm::storage {
namespace {

struct delta {
    std::int64_t cost = 0;
    std::int64_t unpriced = 0;
    void add(std::int64_t c, std::int64_t u) {
        cost += c;
        unpriced += u;
    }
};

}  // namespace

reprice_result reprice(const std::string& db_path, std::int64_t since_ms, std::int64_t until_ms,
                       const record_pricer& price, std::size_t batch) {
    reprice_result res;
    if (until_ms <= since_ms) return res;
    if (batch == 0) batch = 1;
    sqlite_conn conn(db_path, sqlite_conn::mode::read_write, 10000);
    conn.exec("PRAGMA synchronous=NORMAL");
    auto select = conn.prepare(fmt::format("SELECT a.rowid, {} FROM ApiUsage a WHERE (a.createdAtMs, a.id) > (?, ?) "
                                           "AND a.createdAtMs >= ? AND a.createdAtMs < ? ORDER BY a.createdAtMs, a.id LIMIT ?",
                                           record_select));
    auto update_row = conn.prepare(
        "UPDATE ApiUsage SET costPicoUsd = ?, estimatedCostUSD = ?, priced = ?, priceVersion = ? WHERE rowid = ?");
    auto update_daily = conn.prepare(
        "UPDATE UsageDaily SET costPicoUsd = costPicoUsd + ?, unpricedCalls = unpricedCalls + ? "
        "WHERE day = ? AND model = ? AND endpoint = ? AND botId = ? AND isGuest = ?");
    auto update_hourly = conn.prepare(
        "UPDATE UsageHourly SET costPicoUsd = costPicoUsd + ?, unpricedCalls = unpricedCalls + ? "
        "WHERE hour = ? AND model = ? AND endpoint = ? AND botId = ? AND isGuest = ?");
    auto update_daily_tag = conn.prepare(
        "UPDATE UsageDailyTag SET costPicoUsd = costPicoUsd + ?, unpricedCalls = unpricedCalls + ? "
        "WHERE day = ? AND name = ? AND value = ? AND model = ? AND endpoint = ? AND botId = ? AND isGuest = ?");
    auto update_hourly_tag = conn.prepare(
        "UPDATE UsageHourlyTag SET costPicoUsd = costPicoUsd + ?, unpricedCalls = unpricedCalls + ? "
        "WHERE hour = ? AND name = ? AND value = ? AND model = ? AND endpoint = ? AND botId = ? AND isGuest = ?");
    auto update_user_month = conn.prepare(
        "UPDATE UsageMonthlyUser SET costPicoUsd = costPicoUsd + ? WHERE month = ? AND userId = ?");
    auto update_hourly_dim = conn.prepare(
        "UPDATE UsageHourlyDim SET costPicoUsd = costPicoUsd + ?, unpricedCalls = unpricedCalls + ? "
        "WHERE hour = ? AND dim = ? AND key = ?");
    auto update_daily_tag_dim = conn.prepare(
        "UPDATE UsageDailyTagDim SET costPicoUsd = costPicoUsd + ?, unpricedCalls = unpricedCalls + ? "
        "WHERE day = ? AND name = ? AND value = ? AND dim = ? AND key = ?");
    auto update_hourly_tag_dim = conn.prepare(
        "UPDATE UsageHourlyTagDim SET costPicoUsd = costPicoUsd + ?, unpricedCalls = unpricedCalls + ? "
        "WHERE hour = ? AND name = ? AND value = ? AND dim = ? AND key = ?");
    auto update_dim = conn.prepare(
        "UPDATE UsageDailyDim SET costPicoUsd = costPicoUsd + ?, unpricedCalls = unpricedCalls + ? "
        "WHERE day = ? AND dim = ? AND key = ?");
    auto update_user = conn.prepare(
        "UPDATE UsageDailyUser SET costPicoUsd = costPicoUsd + ?, unpricedCalls = unpricedCalls + ? "
        "WHERE day = ? AND userId = ?");
    auto update_user_dim = conn.prepare(
        "UPDATE UsageDailyUserDim SET costPicoUsd = costPicoUsd + ?, unpricedCalls = unpricedCalls + ? "
        "WHERE day = ? AND userId = ? AND model = ? AND endpoint = ? AND botId = ? AND isGuest = ?");
    auto update_user_hour = conn.prepare(
        "UPDATE UsageHourlyUser SET costPicoUsd = costPicoUsd + ?, unpricedCalls = unpricedCalls + ? "
        "WHERE hour = ? AND userId = ?");
    auto update_user_day_one_dim = conn.prepare(
        "UPDATE UsageDailyUserOneDim SET costPicoUsd = costPicoUsd + ?, unpricedCalls = unpricedCalls + ? "
        "WHERE day = ? AND userId = ? AND dim = ? AND key = ?");
    auto update_user_hour_dim = conn.prepare(
        "UPDATE UsageHourlyUserDim SET costPicoUsd = costPicoUsd + ?, unpricedCalls = unpricedCalls + ? "
        "WHERE hour = ? AND userId = ? AND model = ? AND endpoint = ? AND botId = ? AND isGuest = ?");

    // Keyset cursor over (createdAtMs, id), starting before every row of the range.
    std::int64_t cur_ms = since_ms - 1;
    std::string cur_id;
    for (;;) {
        using group_key = std::tuple<std::int64_t, std::string, std::string, std::string, int>;
        using tag_key = std::tuple<std::int64_t, std::string, std::string, std::string, std::string, std::string, int>;
        std::map<group_key, delta> daily, hourly;
        std::map<tag_key, delta> daily_tags, hourly_tags;
        std::map<std::tuple<std::int64_t, std::string, std::string>, delta> dims, hourly_dims;
        using tag_dim_key = std::tuple<std::int64_t, std::string, std::string, std::string, std::string>;
        std::map<tag_dim_key, delta> daily_tag_dims, hourly_tag_dims;
        using user_key = std::tuple<std::int64_t, std::string, std::string, std::string, std::string, int>;
        std::map<user_key, delta> user_dims;
        std::map<std::pair<std::int64_t, std::string>, delta> users, user_months, user_hours;
        using user_one_dim_key = std::tuple<std::int64_t, std::string, std::string, std::string>;
        // UsageDailyUserOneDim's rows exist for folded days only: an UPDATE of a later day
        // finds none, and the day's fold later reads the repriced UsageDailyUserDim.
        std::map<user_one_dim_key, delta> user_day_one_dims;
        std::map<user_key, delta> user_hour_dims;
        std::size_t seen = 0;
        conn.exec("BEGIN IMMEDIATE");
        try {
            select.reset();
            select.bind(1, cur_ms).bind(2, cur_id).bind(3, since_ms).bind(4, until_ms);
            select.bind(5, static_cast<std::int64_t>(batch));
            while (select.step()) {
                ++seen;
                const std::int64_t rowid = select.col_int(0);
                const metering::usage_record r = read_record(select, 1);
                cur_ms = r.created_at_ms;
                cur_id = r.id;
                ++res.examined;
                const price_result p = price(r);
                if (p.priced == r.priced && p.cost_pico_usd == r.cost_pico_usd && p.price_version == r.price_version)
                    continue;
                ++res.changed;
                const std::int64_t dc = p.cost_pico_usd - r.cost_pico_usd;
                const std::int64_t du = (p.priced ? 0 : 1) - (r.priced ? 0 : 1);
                res.cost_delta_pico_usd += dc;
                update_row.reset();
                update_row.bind(1, p.cost_pico_usd).bind(2, pico_to_usd(p.cost_pico_usd)).bind(3, p.priced);
                update_row.bind_text_or_null(4, p.price_version).bind(5, rowid);
                update_row.run();
                if (dc == 0 && du == 0) continue;
                const std::int64_t day = utc_day(r.created_at_ms);
                const std::int64_t hour = utc_hour(r.created_at_ms);
                const int guest = r.is_guest ? 1 : 0;
                daily[{day, r.model, r.endpoint, r.bot_id, guest}].add(dc, du);
                hourly[{hour, r.model, r.endpoint, r.bot_id, guest}].add(dc, du);
                auto tags = r.tags;
                std::sort(tags.begin(), tags.end());
                tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
                const std::string guest_key = r.is_guest ? "1" : "0";
                for (const auto& [name, value] : tags) {
                    daily_tags[{day, name, value, r.model, r.endpoint, r.bot_id, guest}].add(dc, du);
                    hourly_tags[{hour, name, value, r.model, r.endpoint, r.bot_id, guest}].add(dc, du);
                    for (auto [dim, key] : {std::pair<const char*, const std::string*>{"model", &r.model},
                                            {"endpoint", &r.endpoint}, {"bot", &r.bot_id}, {"guest", &guest_key}}) {
                        daily_tag_dims[{day, name, value, dim, *key}].add(dc, du);
                        hourly_tag_dims[{hour, name, value, dim, *key}].add(dc, du);
                    }
                }
                hourly_dims[{hour, "model", r.model}].add(dc, du);
                hourly_dims[{hour, "endpoint", r.endpoint}].add(dc, du);
                hourly_dims[{hour, "bot", r.bot_id}].add(dc, du);
                hourly_dims[{hour, "guest", guest_key}].add(dc, du);
                dims[{day, "model", r.model}].add(dc, du);
                dims[{day, "endpoint", r.endpoint}].add(dc, du);
                dims[{day, "bot", r.bot_id}].add(dc, du);
                dims[{day, "guest", r.is_guest ? "1" : "0"}].add(dc, du);
                if (!r.user_id.empty()) {
                    users[{day, r.user_id}].add(dc, du);
                    user_dims[{day, r.user_id, r.model, r.endpoint, r.bot_id, guest}].add(dc, du);
                    user_months[{utc_month(day), r.user_id}].add(dc, du);
                    user_hours[{hour, r.user_id}].add(dc, du);
                    user_hour_dims[{hour, r.user_id, r.model, r.endpoint, r.bot_id, guest}].add(dc, du);
                    for (auto [dim, key] : {std::pair<const char*, const std::string*>{"model", &r.model},
                                            {"endpoint", &r.endpoint}, {"bot", &r.bot_id}})
                        user_day_one_dims[{day, r.user_id, dim, *key}].add(dc, du);
                }
            }
            select.reset();
            for (auto [map, st] : {std::pair{&daily, &update_daily}, std::pair{&hourly, &update_hourly}}) {
                for (const auto& [k, d] : *map) {
                    st->reset();
                    st->bind(1, d.cost).bind(2, d.unpriced).bind(3, std::get<0>(k)).bind(4, std::get<1>(k));
                    st->bind(5, std::get<2>(k)).bind(6, std::get<3>(k)).bind(7, std::get<4>(k));
                    st->run();
                }
            }
            for (auto [map, st] :
                 {std::pair{&daily_tags, &update_daily_tag}, std::pair{&hourly_tags, &update_hourly_tag}}) {
                for (const auto& [k, d] : *map) {
                    st->reset();
                    st->bind(1, d.cost).bind(2, d.unpriced).bind(3, std::get<0>(k)).bind(4, std::get<1>(k));
                    st->bind(5, std::get<2>(k)).bind(6, std::get<3>(k)).bind(7, std::get<4>(k));
                    st->bind(8, std::get<5>(k)).bind(9, std::get<6>(k));
                    st->run();
                }
            }
            for (auto [map, st] : {std::pair{&dims, &update_dim}, std::pair{&hourly_dims, &update_hourly_dim}}) {
                for (const auto& [k, d] : *map) {
                    st->reset();
                    st->bind(1, d.cost).bind(2, d.unpriced).bind(3, std::get<0>(k)).bind(4, std::get<1>(k));
                    st->bind(5, std::get<2>(k));
                    st->run();
                }
            }
            for (auto [map, st] : {std::pair{&daily_tag_dims, &update_daily_tag_dim},
                                   std::pair{&hourly_tag_dims, &update_hourly_tag_dim}}) {
                for (const auto& [k, d] : *map) {
                    st->reset();
                    st->bind(1, d.cost).bind(2, d.unpriced).bind(3, std::get<0>(k)).bind(4, std::get<1>(k));
                    st->bind(5, std::get<2>(k)).bind(6, std::get<3>(k)).bind(7, std::get<4>(k));
                    st->run();
                }
            }
            for (const auto& [k, d] : users) {
                update_user.reset();
                update_user.bind(1, d.cost).bind(2, d.unpriced).bind(3, k.first).bind(4, k.second);
                update_user.run();
            }
            for (const auto& [k, d] : user_dims) {
                update_user_dim.reset();
                update_user_dim.bind(1, d.cost).bind(2, d.unpriced).bind(3, std::get<0>(k)).bind(4, std::get<1>(k));
                update_user_dim.bind(5, std::get<2>(k)).bind(6, std::get<3>(k)).bind(7, std::get<4>(k));
                update_user_dim.bind(8, std::get<5>(k));
                update_user_dim.run();
            }
            for (const auto& [k, d] : user_hours) {
                update_user_hour.reset();
                update_user_hour.bind(1, d.cost).bind(2, d.unpriced).bind(3, k.first).bind(4, k.second);
                update_user_hour.run();
            }
            for (const auto& [k, d] : user_day_one_dims) {
                update_user_day_one_dim.reset();
                update_user_day_one_dim.bind(1, d.cost).bind(2, d.unpriced).bind(3, std::get<0>(k));
                update_user_day_one_dim.bind(4, std::get<1>(k)).bind(5, std::get<2>(k)).bind(6, std::get<3>(k));
                update_user_day_one_dim.run();
            }
            for (const auto& [k, d] : user_hour_dims) {
                update_user_hour_dim.reset();
                update_user_hour_dim.bind(1, d.cost).bind(2, d.unpriced).bind(3, std::get<0>(k)).bind(4, std::get<1>(k));
                update_user_hour_dim.bind(5, std::get<2>(k)).bind(6, std::get<3>(k)).bind(7, std::get<4>(k));
                update_user_hour_dim.bind(8, std::get<5>(k));
                update_user_hour_dim.run();
            }
            for (const auto& [k, d] : user_months) {
                update_user_month.reset();
                update_user_month.bind(1, d.cost).bind(2, k.first).bind(3, k.second);
                update_user_month.run();
            }
            conn.exec("COMMIT");
        } catch (...) {
            try {
                conn.exec("ROLLBACK");
            } catch (...) {
            }
            throw;
        }
        if (seen < batch) break;
    }
    return res;
}

reprice_result reprice(const std::string& db_path, std::int64_t since_ms, std::int64_t until_ms,
                       const model_pricer& price, std::size_t batch) {
    return reprice(
        db_path, since_ms, until_ms,
        record_pricer([&price](const metering::usage_record& r) { return price(r.model, r.tokens); }), batch);
}

}  // namespace gm::storage

#include "storage/sqlite_batch_inserter.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <map>
#include <string_view>
#include <tuple>
#include <unordered_map>

#include "storage/multi_row_statement.hpp"
#include "storage/record_codec.hpp"
#include "storage/rollup_columns.hpp"
#include "storage/utc_time.hpp"

namespace gm::storage {
namespace {

// A rollup's upsert: the key columns, then the twelve sums added to the row's.
multi_row_statement rollup_upsert(sqlite_conn& conn, const char* table, const char* key_cols, int key_count) {
    return multi_row_statement(conn, fmt::format("INSERT INTO {} ({}, {})", table, key_cols, rollup_sum_columns),
                               key_count + rollup_sum_count,
                               fmt::format(" ON CONFLICT DO UPDATE SET {}", rollup_sum_upsert));
}

void bind_sums(sqlite_stmt& st, int first, const usage_totals& t) {
    st.bind(first + 0, t.calls).bind(first + 1, t.successful_calls).bind(first + 2, t.guest_calls);
    st.bind(first + 3, t.input_tokens).bind(first + 4, t.output_tokens).bind(first + 5, t.total_tokens);
    st.bind(first + 6, t.cached_tokens).bind(first + 7, t.thoughts_tokens).bind(first + 8, t.cost_pico_usd);
    st.bind(first + 9, t.duration_ms_sum).bind(first + 10, t.duration_count).bind(first + 11, t.unpriced_calls);
}

struct user_seen {
    std::int64_t first_ms = 0;
    std::int64_t last_ms = 0;
    std::string_view email;
    std::int64_t email_ms = 0;
};

constexpr std::string_view dim_names[] = {"model", "endpoint", "bot", "guest"};

struct daily_key {
    std::int64_t day;
    std::string_view model, endpoint, bot;
    int guest;
    friend bool operator==(const daily_key&, const daily_key&) = default;
    friend bool operator<(const daily_key& a, const daily_key& b) {
        return std::tie(a.day, a.model, a.endpoint, a.bot, a.guest) < std::tie(b.day, b.model, b.endpoint, b.bot, b.guest);
    }
};
// A UsageDaily / UsageHourly key (bucket: day or hour), and with a tag for the tag tables.
struct tag_key {
    std::int64_t bucket;
    std::string_view name, value, model, endpoint, bot;
    int guest;
    friend bool operator==(const tag_key&, const tag_key&) = default;
    friend bool operator<(const tag_key& a, const tag_key& b) {
        return std::tie(a.name, a.value, a.bucket, a.model, a.endpoint, a.bot, a.guest) <
               std::tie(b.name, b.value, b.bucket, b.model, b.endpoint, b.bot, b.guest);
    }
};
struct dim_key {
    std::int64_t day;
    int dim;  // index into dim_names
    std::string_view key;
    friend bool operator==(const dim_key&, const dim_key&) = default;
    friend bool operator<(const dim_key& a, const dim_key& b) {
        // dim_names' order is not alphabetical; compare the names as the table does.
        return std::tie(a.day, dim_names[a.dim], a.key) < std::tie(b.day, dim_names[b.dim], b.key);
    }
};
struct user_day_key {
    std::int64_t day;
    std::string_view user;
    friend bool operator==(const user_day_key&, const user_day_key&) = default;
    friend bool operator<(const user_day_key& a, const user_day_key& b) {
        return std::tie(a.day, a.user) < std::tie(b.day, b.user);
    }
};
// UsageDailyUserDim's key: (day, userId) and the day rollup's dimensions.
struct user_dim_key {
    std::int64_t day;
    std::string_view user, model, endpoint, bot;
    int guest;
    friend bool operator==(const user_dim_key&, const user_dim_key&) = default;
    friend bool operator<(const user_dim_key& a, const user_dim_key& b) {
        return std::tie(a.day, a.user, a.model, a.endpoint, a.bot, a.guest) <
               std::tie(b.day, b.user, b.model, b.endpoint, b.bot, b.guest);
    }
};
// UsageMonthlyUser's key.
struct user_month_key {
    std::int64_t month;
    std::string_view user;
    friend bool operator==(const user_month_key&, const user_month_key&) = default;
    friend bool operator<(const user_month_key& a, const user_month_key& b) {
        return std::tie(a.month, a.user) < std::tie(b.month, b.user);
    }
};

// A key of the one-dimension tables (UsageHourlyDim, UsageDailyTagDim, UsageHourlyTagDim),
// folded from the batch's per-combination groups; name and value are empty for
// UsageHourlyDim. Ordered as the tables' keys.
struct fold_key {
    std::string_view name, value;
    std::int64_t bucket;
    int dim;  // index into dim_names
    std::string_view key;
    friend bool operator==(const fold_key&, const fold_key&) = default;
    friend bool operator<(const fold_key& a, const fold_key& b) {
        return std::tie(a.name, a.value, a.bucket, dim_names[a.dim], a.key) <
               std::tie(b.name, b.value, b.bucket, dim_names[b.dim], b.key);
    }
};


constexpr int row_params = 26;  // ApiUsage's columns, as insert_row_ lists them

// Binds one ApiUsage row from parameter p on. meta and iso are bound without a copy: they
// must stay as they are until the statement has run. Every parameter is bound on every
// row, so no stale binding survives a rewind.
void bind_row(sqlite_stmt& st, int p, const metering::usage_record& r, std::string_view meta, std::string_view iso) {
    st.bind_static(p, r.id).bind_static_or_null(p + 1, r.user_id).bind(p + 2, r.is_guest);
    st.bind_static(p + 3, r.endpoint).bind_static(p + 4, r.model).bind_static_or_null(p + 5, r.bot_id);
    st.bind(p + 6, r.input_tokens()).bind(p + 7, r.output_tokens()).bind(p + 8, r.tokens.total);
    st.bind(p + 9, pico_to_usd(r.cost_pico_usd)).bind(p + 10, r.duration_ms).bind(p + 11, r.success);
    st.bind_static_or_null(p + 12, r.error_message).bind_static(p + 13, meta).bind_static(p + 14, iso);
    st.bind(p + 15, r.tokens.cached).bind(p + 16, r.tokens.thoughts).bind(p + 17, r.tokens.tool_use_prompt);
    st.bind(p + 18, r.cost_pico_usd).bind(p + 19, r.priced).bind_static_or_null(p + 20, r.price_version);
    if (r.http_status) st.bind(p + 21, r.http_status); else st.bind_null(p + 21);
    st.bind_static_or_null(p + 22, r.gemini_method).bind(p + 23, r.streamed).bind(p + 24, r.partial);
    st.bind(p + 25, r.created_at_ms);
}

// Thrown (and caught by commit) when a batch written as fresh turns out to hold an id
// that is already stored.
struct repeated_id {};

std::size_t mix(std::size_t h, std::size_t v) { return h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2)); }

struct key_hash {
    using sv_hash = std::hash<std::string_view>;
    std::size_t operator()(const daily_key& k) const {
        return mix(mix(mix(mix(std::hash<std::int64_t>()(k.day), sv_hash()(k.model)), sv_hash()(k.endpoint)),
                       sv_hash()(k.bot)),
                   static_cast<std::size_t>(k.guest));
    }
    std::size_t operator()(const tag_key& k) const {
        std::size_t h = std::hash<std::int64_t>()(k.bucket);
        for (auto v : {k.name, k.value, k.model, k.endpoint, k.bot}) h = mix(h, sv_hash()(v));
        return mix(h, static_cast<std::size_t>(k.guest));
    }
    std::size_t operator()(const dim_key& k) const {
        return mix(mix(std::hash<std::int64_t>()(k.day), static_cast<std::size_t>(k.dim)), sv_hash()(k.key));
    }
    std::size_t operator()(const user_day_key& k) const {
        return mix(std::hash<std::int64_t>()(k.day), sv_hash()(k.user));
    }
    std::size_t operator()(const user_dim_key& k) const {
        std::size_t h = std::hash<std::int64_t>()(k.day);
        for (auto v : {k.user, k.model, k.endpoint, k.bot}) h = mix(h, sv_hash()(v));
        return mix(h, static_cast<std::size_t>(k.guest));
    }
    std::size_t operator()(const user_month_key& k) const {
        return mix(std::hash<std::int64_t>()(k.month), sv_hash()(k.user));
    }
    std::size_t operator()(const fold_key& k) const {
        std::size_t h = mix(std::hash<std::int64_t>()(k.bucket), static_cast<std::size_t>(k.dim));
        for (auto v : {k.name, k.value, k.key}) h = mix(h, sv_hash()(v));
        return h;
    }
};
// Hashed while folding (a lookup per group and dimension: a tree's string compares cost
// ~3,000 instructions per row), sorted once when written.
using fold_map = std::unordered_map<fold_key, usage_totals, key_hash>;

void fold(fold_map& out, std::string_view name, std::string_view value, std::int64_t bucket, std::string_view model,
          std::string_view endpoint, std::string_view bot, int guest, const usage_totals& t) {
    add_totals(out[{name, value, bucket, 0, model}], t);
    add_totals(out[{name, value, bucket, 1, endpoint}], t);
    add_totals(out[{name, value, bucket, 2, bot}], t);
    add_totals(out[{name, value, bucket, 3, guest ? "1" : "0"}], t);
}

template <class Map>
std::vector<const typename Map::value_type*> sorted(const Map& m) {
    std::vector<const typename Map::value_type*> v;
    v.reserve(m.size());
    for (const auto& e : m) v.push_back(&e);
    std::sort(v.begin(), v.end(), [](const auto* a, const auto* b) { return a->first < b->first; });
    return v;
}

// UsageDailyUserOneDim's key (bucket: the day); dim is one of
// the static strings "bot", "endpoint", "model", so views stay valid.
struct user_one_dim_key {
    std::int64_t bucket;
    std::string_view user, dim, key;
    friend bool operator==(const user_one_dim_key&, const user_one_dim_key&) = default;
    friend bool operator<(const user_one_dim_key& a, const user_one_dim_key& b) {
        return std::tie(a.bucket, a.user, a.dim, a.key) < std::tie(b.bucket, b.user, b.dim, b.key);
    }
};
struct user_one_dim_hash {
    std::size_t operator()(const user_one_dim_key& k) const {
        std::size_t h = std::hash<std::int64_t>()(k.bucket);
        for (auto v : {k.user, k.dim, k.key}) h = mix(h, std::hash<std::string_view>()(v));
        return h;
    }
};

}  // namespace

// Schema 10's per-user rollups of one batch: a user's calls per hour, alone and by model,
// endpoint, bot and guest, and, for a call of a day already folded into UsageDailyUserOneDim
// (a late one), that table's rows directly. Filled row by row next to the other per-user
// groups, written by write_user_hour_rollups in key order.
struct sqlite_batch_inserter::user_hour_rollups {
    std::int64_t folded_day = 0;  // UsageDailyUserOneDim holds every day up to this one
    std::unordered_map<user_day_key, usage_totals, key_hash> hours;  // (hour, user)
    std::unordered_map<user_dim_key, usage_totals, key_hash> hour_dims;
    std::unordered_map<user_one_dim_key, usage_totals, user_one_dim_hash> day_dims;

    void add(const metering::usage_record& r, std::int64_t day, std::int64_t hour) {
        add_record(hours[{hour, r.user_id}], r);
        add_record(hour_dims[{hour, r.user_id, r.model, r.endpoint, r.bot_id, r.is_guest ? 1 : 0}], r);
        if (day > folded_day) return;
        for (auto [dim, key] : {std::pair<std::string_view, std::string_view>{"bot", r.bot_id},
                                {"endpoint", r.endpoint}, {"model", r.model}})
            add_record(day_dims[{day, r.user_id, dim, key}], r);
    }
};

// Schema 11's and 12's folded rollups for the batch's calls of days already folded (late
// calls, a replayed journal): per month x user, per day x dimension value x other dimension,
// and per month x dimension value.
struct sqlite_batch_inserter::folded_day_rollups {
    struct pair_key {
        std::int64_t day;
        std::string_view dim, key, by_dim, by_key;  // dim and by_dim: static strings
        friend bool operator==(const pair_key&, const pair_key&) = default;
        friend bool operator<(const pair_key& a, const pair_key& b) {
            return std::tie(a.day, a.dim, a.key, a.by_dim, a.by_key) < std::tie(b.day, b.dim, b.key, b.by_dim, b.by_key);
        }
    };
    struct pair_hash {
        std::size_t operator()(const pair_key& k) const {
            std::size_t h = std::hash<std::int64_t>()(k.day);
            for (auto v : {k.dim, k.key, k.by_dim, k.by_key}) h = mix(h, std::hash<std::string_view>()(v));
            return h;
        }
    };
    std::unordered_map<user_month_key, usage_totals, key_hash> months;
    std::unordered_map<pair_key, usage_totals, pair_hash> pairs;
    fold_map month_dims;  // UsageMonthlyDim: bucket is the month, name and value empty

    // From the batch's groups, not its rows (a group of a folded day, at most UsageRollupState's
    // marker): one lookup per group and pair instead of nine per call.
    void add_user_day(std::int64_t day, std::string_view user, const usage_totals& t) {
        add_totals(months[{utc_month(day), user}], t);
    }
    void add_daily(std::int64_t day, std::string_view model, std::string_view endpoint, std::string_view bot,
                   int guest, const usage_totals& t) {
        const std::pair<std::string_view, std::string_view> values[] = {
            {"model", model}, {"endpoint", endpoint}, {"bot", bot}, {"guest", guest ? "1" : "0"}};
        for (const auto& [dim, key] : values)
            for (const auto& [by_dim, by_key] : values)
                if (by_dim != dim && by_dim != "guest") add_totals(pairs[{day, dim, key, by_dim, by_key}], t);
        fold(month_dims, {}, {}, utc_month(day), model, endpoint, bot, guest, t);
    }
};

void sqlite_batch_inserter::write_folded_day_rollups(const folded_day_rollups& groups) {
    upsert_user_month_sums_.run_all(sorted(groups.months), [](sqlite_stmt& st, int p, const auto* e) {
        const auto& [k, t] = *e;
        st.bind(p, k.month).bind_static(p + 1, k.user);
        bind_sums(st, p + 2, t);
    });
    upsert_day_pair_.run_all(sorted(groups.pairs), [](sqlite_stmt& st, int p, const auto* e) {
        const auto& [k, t] = *e;
        st.bind(p, k.day).bind_static(p + 1, k.dim).bind_static(p + 2, k.key).bind_static(p + 3, k.by_dim);
        st.bind_static(p + 4, k.by_key);
        bind_sums(st, p + 5, t);
    });
    upsert_month_dim_.run_all(sorted(groups.month_dims), [](sqlite_stmt& st, int p, const auto* e) {
        const auto& [k, t] = *e;
        st.bind(p, k.bucket).bind_static(p + 1, dim_names[k.dim]).bind_static(p + 2, k.key);
        bind_sums(st, p + 3, t);
    });
}

std::int64_t sqlite_batch_inserter::folded_user_day() {
    auto& st = read_folded_user_day_;
    st.rewind();
    const std::int64_t day = st.step() ? st.col_int(0) : std::numeric_limits<std::int64_t>::max();
    st.rewind();
    return day;
}

void sqlite_batch_inserter::write_user_hour_rollups(const user_hour_rollups& groups) {
    upsert_user_hour_.run_all(sorted(groups.hours), [](sqlite_stmt& st, int p, const auto* e) {
        const auto& [k, t] = *e;
        st.bind(p, k.day).bind_static(p + 1, k.user);
        bind_sums(st, p + 2, t);
    });
    upsert_user_hour_dim_.run_all(sorted(groups.hour_dims), [](sqlite_stmt& st, int p, const auto* e) {
        const auto& [k, t] = *e;
        st.bind(p, k.day).bind_static(p + 1, k.user).bind_static(p + 2, k.model).bind_static(p + 3, k.endpoint);
        st.bind_static(p + 4, k.bot).bind(p + 5, k.guest);
        bind_sums(st, p + 6, t);
    });
    upsert_user_day_one_dim_.run_all(sorted(groups.day_dims), [](sqlite_stmt& st, int p, const auto* e) {
        const auto& [k, t] = *e;
        st.bind(p, k.bucket).bind_static(p + 1, k.user).bind_static(p + 2, k.dim).bind_static(p + 3, k.key);
        bind_sums(st, p + 4, t);
    });
    // Once a UTC day is over, fold it from UsageDailyUserDim (which holds this batch already):
    // one statement a day instead of three upserts per call. A day is never folded twice:
    // its later calls were added directly above.
    const std::int64_t yesterday = utc_day(std::chrono::duration_cast<std::chrono::milliseconds>(
                                               std::chrono::system_clock::now().time_since_epoch())
                                               .count()) -
                                   1;
    if (groups.folded_day < yesterday) {
        fold_user_days_.rewind();
        fold_user_days_.bind(1, groups.folded_day).bind(2, yesterday);
        fold_user_days_.run();
        fold_day_pairs_.rewind();
        fold_day_pairs_.bind(1, groups.folded_day).bind(2, yesterday);
        fold_day_pairs_.run();
        // One day at a time, its month bound from here: a day's (day, userId) rows are already
        // one per user, in key order, so neither SQL date functions nor a GROUP BY sort run.
        for (std::int64_t day = groups.folded_day + 1; day <= yesterday; ++day) {
            fold_user_months_.rewind();
            fold_user_months_.bind(1, utc_month(day)).bind(2, day);
            fold_user_months_.run();
            fold_dim_months_.rewind();
            fold_dim_months_.bind(1, utc_month(day)).bind(2, day);
            fold_dim_months_.run();
        }
        set_folded_user_day_.rewind();
        set_folded_user_day_.bind(1, yesterday);
        set_folded_user_day_.run();
    }
}

sqlite_batch_inserter::sqlite_batch_inserter(const std::string& db_path, int busy_timeout_ms, std::int64_t cache_kib,
                                             std::int64_t checkpoint_pages, bool idle_checkpoints)
    : conn_(db_path, sqlite_conn::mode::read_write, busy_timeout_ms) {
    if (conn_.read_only()) throw sqlite_error(8 /* SQLITE_READONLY */, "attempt to write a readonly database");
    conn_.exec("PRAGMA journal_mode=WAL");
    // NORMAL in WAL: a commit survives a process crash; only an OS crash or power cut can
    // lose the last commits, and the journal's page cache copy goes with it anyway.
    conn_.exec("PRAGMA synchronous=NORMAL");
    conn_.exec(fmt::format("PRAGMA cache_size=-{}", cache_kib));
    conn_.exec("PRAGMA temp_store=MEMORY");
    // Checkpoints run on their own thread (wal_checkpointer), less often than every 1000
    // pages: the pages a batch dirties (the ends of the time-ordered indexes, today's rollup
    // rows) are the same from batch to batch, and a checkpoint copies each once however
    // many commits wrote it. The hook replaces SQLite's automatic checkpoint on this
    // connection.
    checkpointer_ =
        std::make_unique<wal_checkpointer>(db_path, checkpoint_pages, 4 * checkpoint_pages, idle_checkpoints);
    sqlite3_wal_hook(
        conn_.handle(),
        [](void* self, sqlite3*, const char*, int frames) {
            static_cast<wal_checkpointer*>(self)->committed(frames);
            return SQLITE_OK;
        },
        checkpointer_.get());
    begin_ = conn_.prepare("BEGIN IMMEDIATE");
    commit_ = conn_.prepare("COMMIT");
    rollback_ = conn_.prepare("ROLLBACK");
    insert_rows_ = multi_row_statement(
        conn_,
        "INSERT OR IGNORE INTO ApiUsage (id, userId, isGuest, endpoint, model, botId, inputTokens, outputTokens, "
        "totalTokens, estimatedCostUSD, durationMs, success, errorMessage, metadata, createdAt, cachedTokens, "
        "thoughtsTokens, toolUsePromptTokens, costPicoUsd, priced, priceVersion, httpStatus, geminiMethod, streamed, "
        "partial, createdAtMs)",
        row_params, "", insert_rows_per_statement);
    upsert_daily_ = rollup_upsert(conn_, "UsageDaily", "day, model, endpoint, botId, isGuest", 5);
    upsert_hourly_ = rollup_upsert(conn_, "UsageHourly", "hour, model, endpoint, botId, isGuest", 5);
    upsert_daily_tag_ = rollup_upsert(conn_, "UsageDailyTag", "day, name, value, model, endpoint, botId, isGuest", 7);
    upsert_hourly_tag_ =
        rollup_upsert(conn_, "UsageHourlyTag", "hour, name, value, model, endpoint, botId, isGuest", 7);
    upsert_dim_ = rollup_upsert(conn_, "UsageDailyDim", "day, dim, key", 3);
    upsert_hourly_dim_ = rollup_upsert(conn_, "UsageHourlyDim", "hour, dim, key", 3);
    upsert_daily_tag_dim_ = rollup_upsert(conn_, "UsageDailyTagDim", "day, name, value, dim, key", 5);
    upsert_hourly_tag_dim_ = rollup_upsert(conn_, "UsageHourlyTagDim", "hour, name, value, dim, key", 5);
    upsert_user_day_ = rollup_upsert(conn_, "UsageDailyUser", "day, userId", 2);
    upsert_user_dim_ =
        rollup_upsert(conn_, "UsageDailyUserDim", "day, userId, model, endpoint, botId, isGuest", 6);
    upsert_user_month_ = multi_row_statement(
        conn_, "INSERT INTO UsageMonthlyUser (month, userId, costPicoUsd)", 3,
        " ON CONFLICT DO UPDATE SET costPicoUsd = costPicoUsd + excluded.costPicoUsd");
    upsert_user_ = multi_row_statement(
        conn_, "INSERT INTO UsageUser (userId, email, emailSeen, firstSeen, lastSeen)", 5,
        " ON CONFLICT DO UPDATE SET "
        "email = CASE WHEN excluded.email IS NOT NULL AND (emailSeen IS NULL OR excluded.emailSeen >= emailSeen) "
        "  THEN excluded.email ELSE email END, "
        "emailSeen = CASE WHEN excluded.email IS NOT NULL AND (emailSeen IS NULL OR excluded.emailSeen >= emailSeen) "
        "  THEN excluded.emailSeen ELSE emailSeen END, "
        "firstSeen = MIN(firstSeen, excluded.firstSeen), lastSeen = MAX(lastSeen, excluded.lastSeen)");
    insert_row_ = conn_.prepare(
        "INSERT OR IGNORE INTO ApiUsage (id, userId, isGuest, endpoint, model, botId, inputTokens, outputTokens, "
        "totalTokens, estimatedCostUSD, durationMs, success, errorMessage, metadata, createdAt, cachedTokens, "
        "thoughtsTokens, toolUsePromptTokens, costPicoUsd, priced, priceVersion, httpStatus, geminiMethod, streamed, "
        "partial, createdAtMs) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    upsert_user_hour_ = rollup_upsert(conn_, "UsageHourlyUser", "hour, userId", 2);
    upsert_user_hour_dim_ =
        rollup_upsert(conn_, "UsageHourlyUserDim", "hour, userId, model, endpoint, botId, isGuest", 6);
    upsert_user_day_one_dim_ = rollup_upsert(conn_, "UsageDailyUserOneDim", "day, userId, dim, key", 4);
    read_folded_user_day_ = conn_.prepare(daily_user_one_dim_state);
    fold_user_days_ = conn_.prepare(fmt::format(
        "INSERT INTO UsageDailyUserOneDim (day, userId, dim, key, {0}) "
        "SELECT day, userId, dims.dim, {1}, {2} FROM UsageDailyUserDim, {3} WHERE day > ? AND day <= ? "
        "GROUP BY 1, 2, 3, 4 ON CONFLICT DO UPDATE SET {4}",
        rollup_sum_columns, one_dim_key, rollup_sum_select, one_dim_rows, rollup_sum_upsert));
    set_folded_user_day_ =
        conn_.prepare("UPDATE UsageRollupState SET value = ? WHERE name = 'UsageDailyUserOneDim'");
    upsert_user_month_sums_ = rollup_upsert(conn_, "UsageMonthlyUserSums", "month, userId", 2);
    upsert_day_pair_ = rollup_upsert(conn_, "UsageDailyDimPair", "day, dim, key, byDim, byKey", 5);
    fold_user_months_ = conn_.prepare(fmt::format(
        "INSERT INTO UsageMonthlyUserSums (month, userId, {0}) SELECT ?, userId, {0} FROM UsageDailyUser "
        "WHERE day = ? ON CONFLICT DO UPDATE SET {1}",
        rollup_sum_columns, rollup_sum_upsert));
    upsert_month_dim_ = rollup_upsert(conn_, "UsageMonthlyDim", "month, dim, key", 3);
    fold_dim_months_ = conn_.prepare(fmt::format(
        "INSERT INTO UsageMonthlyDim (month, dim, key, {0}) SELECT ?, dim, key, {0} FROM UsageDailyDim "
        "WHERE day = ? ON CONFLICT DO UPDATE SET {1}",
        rollup_sum_columns, rollup_sum_upsert));
    fold_day_pairs_ = conn_.prepare(fmt::format(
        "INSERT INTO UsageDailyDimPair (day, dim, key, byDim, byKey, {0}) "
        "SELECT day, pairs.dim, {1}, pairs.byDim, {2}, {3} FROM UsageDaily, {4} WHERE day > ? AND day <= ? "
        "GROUP BY 1, 2, 3, 4, 5 ON CONFLICT DO UPDATE SET {5}",
        rollup_sum_columns, dim_pair_key, dim_pair_by_key, rollup_sum_select, dim_pair_rows, rollup_sum_upsert));
}

sqlite_batch_inserter::~sqlite_batch_inserter() {
    // Statements and the connection outlive the checkpointer; no commit may call into it.
    sqlite3_wal_hook(conn_.handle(), nullptr, nullptr);
}

std::size_t sqlite_batch_inserter::commit(const std::vector<metering::usage_record>& batch) {
    checkpointer_->before_write();
    // Ids are new but after a crash (the journal replays what may already be stored): the
    // rows go in 32 per statement, and a batch that turns out to repeat an id is rolled
    // back and written again row by row, each row's rollups counted only if it was new.
    try {
        return write(batch, true);
    } catch (const repeated_id&) {
        return write(batch, false);
    }
}

void sqlite_batch_inserter::insert_fresh(const std::vector<metering::usage_record>& batch) {
    const std::int64_t before = conn_.total_changes();
    std::size_t row = 0;  // the row's slot in the statement's buffers
    insert_rows_.run_all(batch, [&](sqlite_stmt& st, int p, const metering::usage_record& r) {
        row = static_cast<std::size_t>((p - 1) / row_params);
        std::string& meta = metas_[row];
        meta.clear();
        encode_metadata(r, meta);
        const std::size_t iso_len = format_iso_ms(r.created_at_ms, isos_[row]);
        bind_row(st, p, r, meta, std::string_view(isos_[row], iso_len));
    });
    if (conn_.total_changes() - before != static_cast<std::int64_t>(batch.size())) throw repeated_id{};
}

std::size_t sqlite_batch_inserter::write(const std::vector<metering::usage_record>& batch, bool fresh) {
    // Group keys are views into the batch's records, which outlive this call: aggregating
    // allocates map nodes only, never key strings.
    std::unordered_map<daily_key, usage_totals, key_hash> daily, hourly;
    std::unordered_map<tag_key, usage_totals, key_hash> daily_tags, hourly_tags;
    std::vector<std::pair<std::string_view, std::string_view>> row_tags;
    std::unordered_map<dim_key, usage_totals, key_hash> dims;
    std::unordered_map<user_day_key, usage_totals, key_hash> user_days;
    std::unordered_map<user_dim_key, usage_totals, key_hash> user_dims;
    std::unordered_map<user_month_key, std::int64_t, key_hash> user_months;
    std::unordered_map<std::string_view, user_seen> users;
    user_hour_rollups user_hour_groups;
    folded_day_rollups folded_day_groups;
    std::size_t inserted = 0;

    begin_.rewind();
    begin_.run();
    try {
        user_hour_groups.folded_day = folded_user_day();
        if (fresh) insert_fresh(batch);
        for (const auto& r : batch) {
            if (!fresh) {
                metas_[0].clear();
                encode_metadata(r, metas_[0]);
                const std::size_t iso_len = format_iso_ms(r.created_at_ms, isos_[0]);
                insert_row_.rewind();
                bind_row(insert_row_, 1, r, metas_[0], std::string_view(isos_[0], iso_len));
                insert_row_.run();
                if (conn_.changes() == 0) continue;  // already stored: a replay
            }
            ++inserted;

            const std::int64_t day = utc_day(r.created_at_ms);
            const std::int64_t hour = utc_hour(r.created_at_ms);
            const int guest = r.is_guest ? 1 : 0;
            add_record(daily[{day, r.model, r.endpoint, r.bot_id, guest}], r);
            add_record(hourly[{hour, r.model, r.endpoint, r.bot_id, guest}], r);
            if (!r.tags.empty()) {
                // A call counts once per distinct name=value pair, as the raw filter's EXISTS does.
                row_tags.assign(r.tags.begin(), r.tags.end());
                std::sort(row_tags.begin(), row_tags.end());
                row_tags.erase(std::unique(row_tags.begin(), row_tags.end()), row_tags.end());
                for (const auto& [name, value] : row_tags) {
                    add_record(daily_tags[{day, name, value, r.model, r.endpoint, r.bot_id, guest}], r);
                    add_record(hourly_tags[{hour, name, value, r.model, r.endpoint, r.bot_id, guest}], r);
                }
            }
            add_record(dims[{day, 0, r.model}], r);
            add_record(dims[{day, 1, r.endpoint}], r);
            add_record(dims[{day, 2, r.bot_id}], r);
            add_record(dims[{day, 3, r.is_guest ? "1" : "0"}], r);
            if (!r.user_id.empty()) {
                add_record(user_days[{day, r.user_id}], r);
                add_record(user_dims[{day, r.user_id, r.model, r.endpoint, r.bot_id, guest}], r);
                user_months[{utc_month(day), r.user_id}] += r.cost_pico_usd;
                user_hour_groups.add(r, day, hour);
                auto [it, fresh] = users.try_emplace(r.user_id);
                auto& u = it->second;
                if (fresh || r.created_at_ms < u.first_ms) u.first_ms = r.created_at_ms;
                if (fresh || r.created_at_ms > u.last_ms) u.last_ms = r.created_at_ms;
                if (!r.user_email.empty() && (u.email.empty() || r.created_at_ms >= u.email_ms)) {
                    u.email = r.user_email;
                    u.email_ms = r.created_at_ms;
                }
            }
        }
        // Upserts in key order: neighbouring keys share B-tree pages.
        for (auto [map, st] : {std::pair{&daily, &upsert_daily_}, std::pair{&hourly, &upsert_hourly_}}) {
            st->run_all(sorted(*map), [](sqlite_stmt& st, int p, const auto* e) {
                const auto& [k, t] = *e;
                st.bind(p, k.day).bind_static(p + 1, k.model).bind_static(p + 2, k.endpoint).bind_static(p + 3, k.bot);
                st.bind(p + 4, k.guest);
                bind_sums(st, p + 5, t);
            });
        }
        for (auto [map, st] : {std::pair{&daily_tags, &upsert_daily_tag_}, std::pair{&hourly_tags, &upsert_hourly_tag_}}) {
            st->run_all(sorted(*map), [](sqlite_stmt& st, int p, const auto* e) {
                const auto& [k, t] = *e;
                st.bind(p, k.bucket).bind_static(p + 1, k.name).bind_static(p + 2, k.value).bind_static(p + 3, k.model);
                st.bind_static(p + 4, k.endpoint).bind_static(p + 5, k.bot).bind(p + 6, k.guest);
                bind_sums(st, p + 7, t);
            });
        }
        // The one-dimension tables, folded from the groups above: a few hundred rows a batch.
        {
            fold_map hourly_dims, daily_tag_dims, hourly_tag_dims;
            for (const auto& [k, t] : hourly) fold(hourly_dims, {}, {}, k.day, k.model, k.endpoint, k.bot, k.guest, t);
            for (const auto& [k, t] : daily_tags)
                fold(daily_tag_dims, k.name, k.value, k.bucket, k.model, k.endpoint, k.bot, k.guest, t);
            for (const auto& [k, t] : hourly_tags)
                fold(hourly_tag_dims, k.name, k.value, k.bucket, k.model, k.endpoint, k.bot, k.guest, t);
            upsert_hourly_dim_.run_all(sorted(hourly_dims), [](sqlite_stmt& st, int p, const auto* e) {
                const auto& [k, t] = *e;
                st.bind(p, k.bucket).bind_static(p + 1, dim_names[k.dim]).bind_static(p + 2, k.key);
                bind_sums(st, p + 3, t);
            });
            for (auto [map, st] : {std::pair{&daily_tag_dims, &upsert_daily_tag_dim_},
                                   std::pair{&hourly_tag_dims, &upsert_hourly_tag_dim_}}) {
                st->run_all(sorted(*map), [](sqlite_stmt& st, int p, const auto* e) {
                    const auto& [k, t] = *e;
                    st.bind(p, k.bucket).bind_static(p + 1, k.name).bind_static(p + 2, k.value);
                    st.bind_static(p + 3, dim_names[k.dim]).bind_static(p + 4, k.key);
                    bind_sums(st, p + 5, t);
                });
            }
        }
        upsert_dim_.run_all(sorted(dims), [](sqlite_stmt& st, int p, const auto* e) {
            const auto& [k, t] = *e;
            st.bind(p, k.day).bind_static(p + 1, dim_names[k.dim]).bind_static(p + 2, k.key);
            bind_sums(st, p + 3, t);
        });
        upsert_user_day_.run_all(sorted(user_days), [](sqlite_stmt& st, int p, const auto* e) {
            const auto& [k, t] = *e;
            st.bind(p, k.day).bind_static(p + 1, k.user);
            bind_sums(st, p + 2, t);
        });
        upsert_user_dim_.run_all(sorted(user_dims), [](sqlite_stmt& st, int p, const auto* e) {
            const auto& [k, t] = *e;
            st.bind(p, k.day).bind_static(p + 1, k.user).bind_static(p + 2, k.model).bind_static(p + 3, k.endpoint);
            st.bind_static(p + 4, k.bot).bind(p + 5, k.guest);
            bind_sums(st, p + 6, t);
        });
        upsert_user_month_.run_all(sorted(user_months), [](sqlite_stmt& st, int p, const auto* e) {
            const auto& [k, cost] = *e;
            st.bind(p, k.month).bind_static(p + 1, k.user).bind(p + 2, cost);
        });
        // Calls of folded days (late ones, a replayed journal): the folded rollups directly.
        for (const auto& [k, t] : daily)
            if (k.day <= user_hour_groups.folded_day)
                folded_day_groups.add_daily(k.day, k.model, k.endpoint, k.bot, k.guest, t);
        for (const auto& [k, t] : user_days)
            if (k.day <= user_hour_groups.folded_day) folded_day_groups.add_user_day(k.day, k.user, t);
        write_folded_day_rollups(folded_day_groups);
        write_user_hour_rollups(user_hour_groups);
        upsert_user_.run_all(sorted(users), [](sqlite_stmt& st, int p, const auto* e) {
            const auto& [id, u] = *e;
            // The times are formatted on the stack, and a row's statement runs after this
            // returns: bound as copies.
            char email_seen[40], first[40], last[40];
            st.bind_static(p, id);
            if (u.email.empty()) {
                st.bind_null(p + 1).bind_null(p + 2);
            } else {
                st.bind_static(p + 1, u.email).bind(p + 2, std::string_view(email_seen, format_iso_ms(u.email_ms, email_seen)));
            }
            st.bind(p + 3, std::string_view(first, format_iso_ms(u.first_ms, first)));
            st.bind(p + 4, std::string_view(last, format_iso_ms(u.last_ms, last)));
        });
        commit_.rewind();
        commit_.run();
    } catch (...) {
        try {
            rollback_.rewind();
            rollback_.run();
        } catch (...) {
            // No transaction left to roll back (SQLite already did on a fatal error).
        }
        throw;
    }
    return inserted;
}

}  // namespace gm::storage

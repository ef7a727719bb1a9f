#include "storage/sqlite_batch_inserter.hpp"

#include <fmt/format.h>

#include <map>
#include <tuple>
#include <unordered_map>

#include "storage/record_codec.hpp"
#include "storage/rollup_columns.hpp"
#include "storage/utc_time.hpp"

namespace gm::storage {
namespace {

std::string upsert_sql(const char* table, const char* key_cols, int key_count) {
    std::string params;
    for (int i = 0; i < key_count + rollup_sum_count; ++i) params += i ? ",?" : "?";
    return fmt::format("INSERT INTO {} ({}, {}) VALUES ({}) ON CONFLICT DO UPDATE SET {}", table, key_cols,
                       rollup_sum_columns, params, rollup_sum_upsert);
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
    std::string email;
    std::int64_t email_ms = 0;
};

}  // namespace

sqlite_batch_inserter::sqlite_batch_inserter(const std::string& db_path, int busy_timeout_ms, std::int64_t cache_kib)
    : conn_(db_path, sqlite_conn::mode::read_write, busy_timeout_ms) {
    if (conn_.read_only()) throw sqlite_error(8 /* SQLITE_READONLY */, "attempt to write a readonly database");
    conn_.exec("PRAGMA journal_mode=WAL");
    // NORMAL in WAL: a commit survives a process crash; only an OS crash or power cut can
    // lose the last commits, and the journal's page cache copy goes with it anyway.
    conn_.exec("PRAGMA synchronous=NORMAL");
    conn_.exec(fmt::format("PRAGMA cache_size=-{}", cache_kib));
    conn_.exec("PRAGMA temp_store=MEMORY");
    begin_ = conn_.prepare("BEGIN IMMEDIATE");
    commit_ = conn_.prepare("COMMIT");
    rollback_ = conn_.prepare("ROLLBACK");
    insert_row_ = conn_.prepare(
        "INSERT OR IGNORE INTO ApiUsage (id, userId, isGuest, endpoint, model, botId, inputTokens, outputTokens, "
        "totalTokens, estimatedCostUSD, durationMs, success, errorMessage, metadata, createdAt, cachedTokens, "
        "thoughtsTokens, toolUsePromptTokens, costPicoUsd, priced, priceVersion, httpStatus, geminiMethod, streamed, "
        "partial, createdAtMs) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    upsert_daily_ = conn_.prepare(upsert_sql("UsageDaily", "day, model, endpoint, botId, isGuest", 5));
    upsert_dim_ = conn_.prepare(upsert_sql("UsageDailyDim", "day, dim, key", 3));
    upsert_user_day_ = conn_.prepare(upsert_sql("UsageDailyUser", "day, userId", 2));
    upsert_user_ = conn_.prepare(
        "INSERT INTO UsageUser (userId, email, emailSeen, firstSeen, lastSeen) VALUES (?,?,?,?,?) "
        "ON CONFLICT DO UPDATE SET "
        "email = CASE WHEN excluded.email IS NOT NULL AND (emailSeen IS NULL OR excluded.emailSeen >= emailSeen) "
        "  THEN excluded.email ELSE email END, "
        "emailSeen = CASE WHEN excluded.email IS NOT NULL AND (emailSeen IS NULL OR excluded.emailSeen >= emailSeen) "
        "  THEN excluded.emailSeen ELSE emailSeen END, "
        "firstSeen = MIN(firstSeen, excluded.firstSeen), lastSeen = MAX(lastSeen, excluded.lastSeen)");
}

std::size_t sqlite_batch_inserter::commit(const std::vector<metering::usage_record>& batch) {
    using daily_key = std::tuple<std::int64_t, std::string, std::string, std::string, int>;
    using dim_key = std::tuple<std::int64_t, const char*, std::string>;
    std::map<daily_key, usage_totals> daily;
    std::map<dim_key, usage_totals> dims;
    std::map<std::pair<std::int64_t, std::string>, usage_totals> user_days;
    std::unordered_map<std::string, user_seen> users;
    std::size_t inserted = 0;

    begin_.reset();
    begin_.run();
    try {
        for (const auto& r : batch) {
            auto& st = insert_row_;
            st.reset();
            st.bind(1, r.id).bind_text_or_null(2, r.user_id).bind(3, r.is_guest).bind(4, r.endpoint);
            st.bind(5, r.model).bind_text_or_null(6, r.bot_id).bind(7, r.input_tokens()).bind(8, r.output_tokens());
            st.bind(9, r.tokens.total).bind(10, pico_to_usd(r.cost_pico_usd)).bind(11, r.duration_ms);
            st.bind(12, r.success).bind_text_or_null(13, r.error_message).bind(14, encode_metadata(r));
            st.bind(15, format_iso_ms(r.created_at_ms)).bind(16, r.tokens.cached).bind(17, r.tokens.thoughts);
            st.bind(18, r.tokens.tool_use_prompt).bind(19, r.cost_pico_usd).bind(20, r.priced);
            st.bind_text_or_null(21, r.price_version);
            if (r.http_status) st.bind(22, r.http_status); else st.bind_null(22);
            st.bind_text_or_null(23, r.gemini_method).bind(24, r.streamed).bind(25, r.partial);
            st.bind(26, r.created_at_ms);
            st.run();
            if (conn_.changes() == 0) continue;  // already stored: a replay
            ++inserted;

            const std::int64_t day = utc_day(r.created_at_ms);
            add_record(daily[{day, r.model, r.endpoint, r.bot_id, r.is_guest ? 1 : 0}], r);
            add_record(dims[{day, "model", r.model}], r);
            add_record(dims[{day, "endpoint", r.endpoint}], r);
            add_record(dims[{day, "bot", r.bot_id}], r);
            add_record(dims[{day, "guest", r.is_guest ? "1" : "0"}], r);
            if (!r.user_id.empty()) {
                add_record(user_days[{day, r.user_id}], r);
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
        for (const auto& [k, t] : daily) {
            auto& st = upsert_daily_;
            st.reset();
            st.bind(1, std::get<0>(k)).bind(2, std::get<1>(k)).bind(3, std::get<2>(k)).bind(4, std::get<3>(k));
            st.bind(5, std::get<4>(k));
            bind_sums(st, 6, t);
            st.run();
        }
        for (const auto& [k, t] : dims) {
            auto& st = upsert_dim_;
            st.reset();
            st.bind(1, std::get<0>(k)).bind(2, std::get<1>(k)).bind(3, std::get<2>(k));
            bind_sums(st, 4, t);
            st.run();
        }
        for (const auto& [k, t] : user_days) {
            auto& st = upsert_user_day_;
            st.reset();
            st.bind(1, k.first).bind(2, k.second);
            bind_sums(st, 3, t);
            st.run();
        }
        for (const auto& [id, u] : users) {
            auto& st = upsert_user_;
            st.reset();
            st.bind(1, id);
            if (u.email.empty()) {
                st.bind_null(2).bind_null(3);
            } else {
                st.bind(2, u.email).bind(3, format_iso_ms(u.email_ms));
            }
            st.bind(4, format_iso_ms(u.first_ms)).bind(5, format_iso_ms(u.last_ms));
            st.run();
        }
        commit_.reset();
        commit_.run();
    } catch (...) {
        try {
            rollback_.reset();
            rollback_.run();
        } catch (...) {
            // No transaction left to roll back (SQLite already did on a fatal error).
        }
        throw;
    }
    return inserted;
}

}  // namespace gm::storage

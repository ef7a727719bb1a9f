#pragma once
// Builders for the records the storage tests store, and small readers that look at the
// database through a connection of their own (never the store's).
#include <cstdint>
#include <string>

#include <fmt/format.h>

#include "metering/usage_record.hpp"
#include "storage/sqlite_conn.hpp"
#include "storage/utc_time.hpp"

namespace gm::test {

inline std::int64_t at(const char* iso) { return storage::parse_iso_ms(iso).value(); }

struct record_spec {
    std::string id;
    std::int64_t ms = 0;
    std::string user;
    std::string email;
    std::string model = "gemini-2.5-flash";
    std::string endpoint = "chat";
    std::string bot;
    bool success = true;
    std::int64_t prompt = 0, candidates = 0, thoughts = 0, cached = 0, tool_use = 0;
    std::int64_t cost = 0;
    bool priced = true;
    std::int64_t duration = 0;
    std::vector<std::pair<std::string, std::string>> tags;
};

inline metering::usage_record make_record(const record_spec& s) {
    metering::usage_record r;
    r.id = s.id;
    r.created_at_ms = s.ms;
    r.user_id = s.user;
    r.user_email = s.email;
    r.is_guest = s.user.empty();
    r.endpoint = s.endpoint;
    r.bot_id = s.bot;
    r.tags = s.tags;
    r.http_method = "POST";
    r.path = "/v1beta/models/" + s.model + ":generateContent";
    r.gemini_method = "generateContent";
    r.model = s.model;
    r.http_status = s.success ? 200 : 429;
    r.success = s.success;
    if (!s.success) {
        r.error_message = "quota exceeded";
        r.ending = metering::call_ending::completed;
    }
    r.source = metering::usage_source::response;
    r.tokens.prompt = s.prompt;
    r.tokens.candidates = s.candidates;
    r.tokens.thoughts = s.thoughts;
    r.tokens.cached = s.cached;
    r.tokens.tool_use_prompt = s.tool_use;
    r.tokens.total = s.prompt + s.candidates + s.thoughts + s.tool_use;
    r.priced = s.priced;
    r.cost_pico_usd = s.cost;
    r.price_version = "test-1";
    r.duration_ms = s.duration;
    r.ttfb_ms = s.duration / 2;
    return r;
}

// A plain record for volume tests: id sortable by n.
inline metering::usage_record numbered_record(int n, std::int64_t base_ms = 1'730'800'000'000) {
    record_spec s;
    s.id = fmt::format("rec{:08}", n);
    s.ms = base_ms + n;
    s.user = n % 3 ? fmt::format("user{}", n % 7) : "";
    s.prompt = 10 + n % 5;
    s.candidates = 5;
    s.cost = 1000 + n;
    s.duration = 20;
    return make_record(s);
}

inline std::int64_t query_int(const std::string& db, const std::string& sql) {
    storage::sqlite_conn c(db, storage::sqlite_conn::mode::read_write);
    auto st = c.prepare(sql);
    return st.step() ? st.col_int(0) : -1;
}

// Every field a record carries through the journal, the database or the metadata JSON.
inline bool same_record(const metering::usage_record& a, const metering::usage_record& b) {
    return a.id == b.id && a.created_at_ms == b.created_at_ms && a.user_id == b.user_id &&
           a.user_email == b.user_email && a.is_guest == b.is_guest && a.endpoint == b.endpoint &&
           a.bot_id == b.bot_id && a.tags == b.tags && a.http_method == b.http_method && a.path == b.path &&
           a.gemini_method == b.gemini_method && a.model == b.model && a.model_version == b.model_version &&
           a.response_id == b.response_id && a.streamed == b.streamed && a.http_status == b.http_status &&
           a.ending == b.ending && a.success == b.success && a.partial == b.partial &&
           a.error_message == b.error_message && a.source == b.source && a.tokens == b.tokens &&
           a.priced == b.priced && a.cost_pico_usd == b.cost_pico_usd && a.price_version == b.price_version &&
           a.duration_ms == b.duration_ms && a.ttfb_ms == b.ttfb_ms && a.request_bytes == b.request_bytes &&
           a.response_bytes == b.response_bytes && a.problems == b.problems;
}

}  // namespace gm::test

#include "admin_api/csv_export.hpp"

#include <charconv>

#include "admin_api/iso_time.hpp"
#include "admin_api/json_render.hpp"

namespace gm::admin_api {

namespace {

// A plain loop rather than find_first_of: that calls memchr over the four special
// characters once per byte of the field (it showed as 5% of an export's CPU).
bool needs_quotes(std::string_view v) {
    for (char c : v)
        if (c == ',' || c == '"' || c == '\r' || c == '\n') return true;
    return false;
}

void quoted_body(std::string& out, std::string_view v) {
    for (char c : v) {
        if (c == '"') out.push_back('"');
        out.push_back(c);
    }
}

void field(std::string& out, std::string_view v) {
    if (!needs_quotes(v)) {
        out.append(v);
        return;
    }
    out.push_back('"');
    quoted_body(out, v);
    out.push_back('"');
}

void num(std::string& out, std::int64_t v) {
    char buf[24];
    const auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
    out.append(buf, static_cast<std::size_t>(end - buf));
}

// "name=value" pairs joined by ';', as one field, written in place (no joined copy).
void tags_field(std::string& out, const metering::usage_record& r) {
    bool quote = false;
    for (const auto& [k, v] : r.tags) quote = quote || needs_quotes(k) || needs_quotes(v);
    if (quote) out.push_back('"');
    bool first = true;
    for (const auto& [k, v] : r.tags) {
        if (!first) out.push_back(';');
        first = false;
        if (quote) {
            quoted_body(out, k);
            out.push_back('=');
            quoted_body(out, v);
        } else {
            out.append(k);
            out.push_back('=');
            out.append(v);
        }
    }
    if (quote) out.push_back('"');
}

}  // namespace

const std::string& csv_header() {
    static const std::string h =
        "id,createdAt,userId,userEmail,isGuest,endpoint,model,botId,inputTokens,outputTokens,totalTokens,"
        "cachedTokens,thoughtsTokens,estimatedCostUSD,costPicoUSD,priced,durationMs,ttfbMs,success,httpStatus,"
        "ending,streamed,geminiMethod,errorMessage,tags\r\n";
    return h;
}

namespace {

// Every field after id and createdAt.
void append_rest(std::string& out, const metering::usage_record& r) {
    field(out, r.user_id); out += ',';
    field(out, r.user_email); out += ',';
    out += r.is_guest ? "true," : "false,";
    field(out, r.endpoint); out += ',';
    field(out, r.model); out += ',';
    field(out, r.bot_id); out += ',';
    num(out, r.input_tokens()); out += ',';
    num(out, r.output_tokens()); out += ',';
    num(out, r.tokens.total); out += ',';
    num(out, r.tokens.cached); out += ',';
    num(out, r.tokens.thoughts); out += ',';
    out += usd_from_pico(r.cost_pico_usd); out += ',';
    num(out, r.cost_pico_usd); out += ',';
    out += r.priced ? "true," : "false,";
    num(out, r.duration_ms); out += ',';
    if (r.ttfb_ms >= 0) num(out, r.ttfb_ms);
    out += ',';
    out += r.success ? "true," : "false,";
    num(out, r.http_status); out += ',';
    out += metering::to_string(r.ending); out += ',';
    out += r.streamed ? "true," : "false,";
    field(out, r.gemini_method); out += ',';
    field(out, r.error_message); out += ',';
    tags_field(out, r);
    out += "\r\n";
}

}  // namespace

void append_csv_row(std::string& out, const metering::usage_record& r) {
    field(out, r.id); out += ',';
    out += format_iso_ms(r.created_at_ms); out += ',';
    append_rest(out, r);
}

void csv_row_writer::append(std::string& out, const metering::usage_record& r) {
    field(out, r.id); out += ',';
    created_at(out, r.created_at_ms); out += ',';
    append_rest(out, r);
}

void csv_row_writer::created_at(std::string& out, std::int64_t ms) {
    constexpr std::int64_t minute_ms = 60'000;
    if (ms < 0) {  // before 1970: never stored, but format_iso_ms knows the calendar
        out += format_iso_ms(ms);
        return;
    }
    if (ms / minute_ms != minute_) {
        const std::string full = format_iso_ms(ms);
        // "YYYY-MM-DDTHH:MM:SS.mmmZ"; any other shape (a year past 9999) is used whole.
        if (full.size() != 24) {
            minute_ = -1;
            out += full;
            return;
        }
        minute_ = ms / minute_ms;
        prefix_.assign(full, 0, 17);
    }
    const auto in_minute = static_cast<int>(ms % minute_ms);  // seconds and milliseconds
    const int sec = in_minute / 1000, milli = in_minute % 1000;
    const char tail[] = {static_cast<char>('0' + sec / 10), static_cast<char>('0' + sec % 10), '.',
                         static_cast<char>('0' + milli / 100), static_cast<char>('0' + milli / 10 % 10),
                         static_cast<char>('0' + milli % 10), 'Z'};
    out += prefix_;
    out.append(tail, sizeof tail);
}

}  // namespace gm::admin_api

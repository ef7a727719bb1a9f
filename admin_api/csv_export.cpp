#include "admin_api/csv_export.hpp"

#include <fmt/format.h>

#include "admin_api/iso_time.hpp"
#include "admin_api/json_render.hpp"

namespace gm::admin_api {

namespace {

void field(std::string& out, std::string_view v) {
    if (v.find_first_of(",\"\r\n") == std::string_view::npos) {
        out.append(v);
        return;
    }
    out.push_back('"');
    for (char c : v) {
        if (c == '"') out.push_back('"');
        out.push_back(c);
    }
    out.push_back('"');
}

void num(std::string& out, std::int64_t v) { fmt::format_to(std::back_inserter(out), "{}", v); }

}  // namespace

const std::string& csv_header() {
    static const std::string h =
        "id,createdAt,userId,userEmail,isGuest,endpoint,model,botId,inputTokens,outputTokens,totalTokens,"
        "cachedTokens,thoughtsTokens,estimatedCostUSD,costPicoUSD,priced,durationMs,ttfbMs,success,httpStatus,"
        "ending,streamed,geminiMethod,errorMessage,tags\r\n";
    return h;
}

void append_csv_row(std::string& out, const metering::usage_record& r) {
    field(out, r.id); out += ',';
    out += format_iso_ms(r.created_at_ms); out += ',';
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
    std::string tags;
    for (const auto& [k, v] : r.tags) {
        if (!tags.empty()) tags += ';';
        tags += k;
        tags += '=';
        tags += v;
    }
    field(out, tags);
    out += "\r\n";
}

}  // namespace gm::admin_api

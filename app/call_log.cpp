#include "app/call_log.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <unistd.h>

#include <chrono>

namespace gm::app {

namespace {

std::string iso_time(std::int64_t ms) {
    const std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03d}Z", tm, static_cast<int>(ms % 1000));
}

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;

void key_string(json_writer& w, const char* key, std::string_view value) {
    w.Key(key);
    w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

}  // namespace

std::string format_call_line(const metering::usage_record& r, log_format format) {
    if (format == log_format::text) {
        return fmt::format("{} {} {} {} {}ms {}B/{}B model={} endpoint={} tokens={}/{} cost_pusd={}{}\n",
                           iso_time(r.created_at_ms), r.http_method, r.path, r.http_status, r.duration_ms,
                           r.request_bytes, r.response_bytes, r.model.empty() ? "-" : r.model, r.endpoint,
                           r.input_tokens(), r.output_tokens(), r.cost_pico_usd,
                           r.ending == metering::call_ending::completed
                               ? ""
                               : std::string(" ending=") + metering::to_string(r.ending));
    }
    rapidjson::StringBuffer out;
    json_writer w(out);
    w.StartObject();
    key_string(w, "ts", iso_time(r.created_at_ms));
    key_string(w, "event", "call");
    key_string(w, "id", r.id);
    key_string(w, "method", r.http_method);
    key_string(w, "path", r.path);
    w.Key("status");
    w.Int(r.http_status);
    w.Key("durationMs");
    w.Int64(r.duration_ms);
    w.Key("ttfbMs");
    w.Int64(r.ttfb_ms);
    w.Key("requestBytes");
    w.Int64(r.request_bytes);
    w.Key("responseBytes");
    w.Int64(r.response_bytes);
    key_string(w, "ending", metering::to_string(r.ending));
    key_string(w, "endpoint", r.endpoint);
    if (!r.model.empty())
        key_string(w, "model", r.model);
    if (!r.user_id.empty())
        key_string(w, "userId", r.user_id);
    w.Key("inputTokens");
    w.Int64(r.input_tokens());
    w.Key("outputTokens");
    w.Int64(r.output_tokens());
    w.Key("costPicoUSD");
    w.Int64(r.cost_pico_usd);
    if (!r.error_message.empty())
        key_string(w, "error", r.error_message);
    w.EndObject();
    std::string line(out.GetString(), out.GetSize());
    line.push_back('\n');
    return line;
}

std::string format_event_line(std::string_view event, std::string_view message, log_format format) {
    if (format == log_format::text)
        return fmt::format("{} {} {}\n", iso_time(now_ms()), event, message);
    rapidjson::StringBuffer out;
    json_writer w(out);
    w.StartObject();
    key_string(w, "ts", iso_time(now_ms()));
    key_string(w, "event", event);
    key_string(w, "message", message);
    w.EndObject();
    std::string line(out.GetString(), out.GetSize());
    line.push_back('\n');
    return line;
}

void write_line(const std::string& line) noexcept {
    const char* p = line.data();
    std::size_t left = line.size();
    while (left > 0) {
        const ssize_t n = ::write(STDOUT_FILENO, p, left);
        if (n <= 0)
            return;  // stdout gone: logging must never stop the proxy
        p += n;
        left -= static_cast<std::size_t>(n);
    }
}

}  // namespace gm::app

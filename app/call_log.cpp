#include "app/call_log.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <chrono>

#include "storage/utc_time.hpp"

namespace gm::app {

namespace {

std::string_view iso_time(std::int64_t ms, char (&buf)[40]) {
    return {buf, storage::format_iso_ms(ms, buf)};
}

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// A flat JSON object appended to one string: a line per call is on every call's path, and a
// general JSON writer cost as much as the relay's own work. Keys are literals of ours and
// need no escaping.
class json_line {
public:
    json_line() {
        out_.reserve(512);
        out_.push_back('{');
    }
    json_line& str(std::string_view key, std::string_view value) {
        name(key);
        quoted(value);
        return *this;
    }
    json_line& num(std::string_view key, std::int64_t value) {
        name(key);
        char digits[24];
        const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
        out_.append(digits, end);
        return *this;
    }
    std::string finish() {
        out_.append("}\n");
        return std::move(out_);
    }

private:
    void name(std::string_view key) {
        // ,"key": in one copy; the reserve above makes room for every key of a call line.
        char text[40];
        std::size_t n = 0;
        if (out_.size() > 1)
            text[n++] = ',';
        text[n++] = '"';
        const std::size_t len = std::min(key.size(), sizeof text - 4);
        std::memcpy(text + n, key.data(), len);
        n += len;
        text[n++] = '"';
        text[n++] = ':';
        out_.append(text, n);
    }
    // RFC 8259 section 7: quote, backslash and control characters are escaped; other bytes
    // pass as they are.
    void quoted(std::string_view s) {
        out_.push_back('"');
        std::size_t plain = 0;
        std::size_t i = 0;
        // Eight bytes at a time while none needs escaping: most values are plain ASCII.
        for (; i + 8 <= s.size(); i += 8) {
            std::uint64_t w;
            std::memcpy(&w, s.data() + i, 8);
            if (needs_escape(w))
                break;
        }
        for (; i < s.size(); ++i) {
            const auto c = static_cast<unsigned char>(s[i]);
            if (c >= 0x20 && c != '"' && c != '\\')
                continue;
            out_.append(s.substr(plain, i - plain));
            plain = i + 1;
            switch (c) {
                case '"': out_.append("\\\""); break;
                case '\\': out_.append("\\\\"); break;
                case '\n': out_.append("\\n"); break;
                case '\r': out_.append("\\r"); break;
                case '\t': out_.append("\\t"); break;
                default: {
                    static constexpr char hex[] = "0123456789abcdef";
                    const char esc[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                    out_.append(esc, sizeof esc);
                }
            }
        }
        out_.append(s.substr(plain));
        out_.push_back('"');
    }

    // True when one of the eight bytes is below 0x20, a quote or a backslash (the SWAR
    // tests of "Bit Twiddling Hacks": has-less-than and has-zero-byte after an xor).
    static bool needs_escape(std::uint64_t w) noexcept {
        constexpr std::uint64_t ones = 0x0101010101010101ULL;
        constexpr std::uint64_t highs = 0x8080808080808080ULL;
        const auto has_zero = [](std::uint64_t v) { return (v - ones) & ~v & highs; };
        const std::uint64_t below_space = (w - ones * 0x20) & ~w & highs;
        return (below_space | has_zero(w ^ (ones * '"')) | has_zero(w ^ (ones * '\\'))) != 0;
    }

    std::string out_;
};

}  // namespace

std::string format_call_line(const metering::usage_record& r, log_format format) {
    char ts[40];
    if (format == log_format::text) {
        return fmt::format("{} {} {} {} {}ms {}B/{}B model={} endpoint={} tokens={}/{} cost_pusd={}{}\n",
                           iso_time(r.created_at_ms, ts), r.http_method, r.path, r.http_status, r.duration_ms,
                           r.request_bytes, r.response_bytes, r.model.empty() ? "-" : r.model, r.endpoint,
                           r.input_tokens(), r.output_tokens(), r.cost_pico_usd,
                           r.ending == metering::call_ending::completed
                               ? ""
                               : std::string(" ending=") + metering::to_string(r.ending));
    }
    json_line line;
    line.str("ts", iso_time(r.created_at_ms, ts))
        .str("event", "call")
        .str("id", r.id)
        .str("method", r.http_method)
        .str("path", r.path)
        .num("status", r.http_status)
        .num("durationMs", r.duration_ms)
        .num("ttfbMs", r.ttfb_ms)
        .num("requestBytes", r.request_bytes)
        .num("responseBytes", r.response_bytes)
        .str("ending", metering::to_string(r.ending))
        .str("endpoint", r.endpoint);
    if (!r.model.empty())
        line.str("model", r.model);
    if (!r.user_id.empty())
        line.str("userId", r.user_id);
    line.num("inputTokens", r.input_tokens()).num("outputTokens", r.output_tokens()).num("costPicoUSD", r.cost_pico_usd);
    if (!r.error_message.empty())
        line.str("error", r.error_message);
    return line.finish();
}

std::string format_event_line(std::string_view event, std::string_view message, log_format format) {
    char ts[40];
    if (format == log_format::text)
        return fmt::format("{} {} {}\n", iso_time(now_ms(), ts), event, message);
    return json_line().str("ts", iso_time(now_ms(), ts)).str("event", event).str("message", message).finish();
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

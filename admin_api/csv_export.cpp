#include "admin_api/csv_export.hpp"

#include <array>
#include <charconv>
#include <cstring>
#include <string_view>

#include "admin_api/iso_time.hpp"

namespace gm::admin_api {

namespace {

// The bytes that make a field quoted; a table rather than four comparisons per byte.
constexpr std::array<bool, 256> special = [] {
    std::array<bool, 256> t{};
    t[','] = t['"'] = t['\r'] = t['\n'] = true;
    return t;
}();

bool needs_quotes(std::string_view v) {
    for (char c : v)
        if (special[static_cast<unsigned char>(c)]) return true;
    return false;
}

// Room a text field can take: every byte a doubled quote, and the quotes around.
constexpr std::size_t worst(std::string_view v) { return 2 * v.size() + 2; }

// One row written into room sized for its worst case beforehand, so that no byte checks the
// string's capacity: appending field by field to the std::string was ~4,900 instructions
// per row, a sixth of an export's (callgrind, 1,157 rows).
struct row_out {
    char* p;

    void lit(std::string_view s) {
        std::memcpy(p, s.data(), s.size());
        p += s.size();
    }
    void sep() { *p++ = ','; }
    void quoted_body(std::string_view v) {
        for (char c : v) {
            if (c == '"') *p++ = '"';
            *p++ = c;
        }
    }
    void field(std::string_view v) {
        if (!needs_quotes(v)) return lit(v);
        *p++ = '"';
        quoted_body(v);
        *p++ = '"';
    }
    void num(std::int64_t v) { p = std::to_chars(p, p + 20, v).ptr; }  // 20: "-9223372036854775808"
    void flag(bool b) { b ? lit("true") : lit("false"); }

    // usd_from_pico's text (micro-USD rounded half away from zero, trailing zeros dropped)
    // without its two fmt::format calls and strings: 1,200 instructions per row.
    void usd(std::int64_t pico) {
        std::int64_t micro = pico / 1'000'000;
        const std::int64_t rem = pico % 1'000'000;
        if (rem >= 500'000)
            ++micro;
        else if (rem <= -500'000)
            --micro;
        if (micro < 0) *p++ = '-';
        const std::uint64_t a = micro < 0 ? static_cast<std::uint64_t>(-(micro + 1)) + 1 : static_cast<std::uint64_t>(micro);
        p = std::to_chars(p, p + 20, a / 1'000'000).ptr;
        std::uint64_t frac = a % 1'000'000;
        if (frac == 0) return;
        int digits = 6;
        while (frac % 10 == 0) {
            frac /= 10;
            --digits;
        }
        *p++ = '.';
        for (int i = digits - 1; i >= 0; --i, frac /= 10) p[i] = static_cast<char>('0' + frac % 10);
        p += digits;
    }

    // "name=value" pairs joined by ';', as one field.
    void tags(const metering::usage_record& r) {
        bool quote = false;
        for (const auto& [k, v] : r.tags) quote = quote || needs_quotes(k) || needs_quotes(v);
        if (quote) *p++ = '"';
        bool first = true;
        for (const auto& [k, v] : r.tags) {
            if (!first) *p++ = ';';
            first = false;
            if (quote) {
                quoted_body(k);
                *p++ = '=';
                quoted_body(v);
            } else {
                lit(k);
                *p++ = '=';
                lit(v);
            }
        }
        if (quote) *p++ = '"';
    }
};

// Numbers (21 each with the comma), flags, the USD text, the ending's name, commas, CRLF.
constexpr std::size_t fixed_room = 320;

void append_row(std::string& out, const metering::usage_record& r, std::string_view created_at) {
    std::size_t room = fixed_room + created_at.size() + worst(r.id) + worst(r.user_id) + worst(r.user_email) +
                       worst(r.endpoint) + worst(r.model) + worst(r.bot_id) + worst(r.gemini_method) +
                       worst(r.error_message) + 2;
    for (const auto& [k, v] : r.tags) room += worst(k) + worst(v);
    const std::size_t start = out.size();
    out.resize(start + room);
    row_out w{out.data() + start};
    w.field(r.id); w.sep();
    w.lit(created_at); w.sep();
    w.field(r.user_id); w.sep();
    w.field(r.user_email); w.sep();
    w.flag(r.is_guest); w.sep();
    w.field(r.endpoint); w.sep();
    w.field(r.model); w.sep();
    w.field(r.bot_id); w.sep();
    w.num(r.input_tokens()); w.sep();
    w.num(r.output_tokens()); w.sep();
    w.num(r.tokens.total); w.sep();
    w.num(r.tokens.cached); w.sep();
    w.num(r.tokens.thoughts); w.sep();
    w.usd(r.cost_pico_usd); w.sep();
    w.num(r.cost_pico_usd); w.sep();
    w.flag(r.priced); w.sep();
    w.num(r.duration_ms); w.sep();
    if (r.ttfb_ms >= 0) w.num(r.ttfb_ms);
    w.sep();
    w.flag(r.success); w.sep();
    w.num(r.http_status); w.sep();
    w.lit(metering::to_string(r.ending)); w.sep();
    w.flag(r.streamed); w.sep();
    w.field(r.gemini_method); w.sep();
    w.field(r.error_message); w.sep();
    w.tags(r);
    w.lit("\r\n");
    out.resize(static_cast<std::size_t>(w.p - out.data()));
}

}  // namespace

const std::string& csv_header() {
    static const std::string h =
        "id,createdAt,userId,userEmail,isGuest,endpoint,model,botId,inputTokens,outputTokens,totalTokens,"
        "cachedTokens,thoughtsTokens,estimatedCostUSD,costPicoUSD,priced,durationMs,ttfbMs,success,httpStatus,"
        "ending,streamed,geminiMethod,errorMessage,tags\r\n";
    return h;
}

void append_csv_row(std::string& out, const metering::usage_record& r) {
    append_row(out, r, format_iso_ms(r.created_at_ms));
}

void csv_row_writer::append(std::string& out, const metering::usage_record& r) {
    append_row(out, r, created_at(r.created_at_ms));
}

std::string_view csv_row_writer::created_at(std::int64_t ms) {
    constexpr std::int64_t minute_ms = 60'000;
    if (ms < 0) {  // before 1970: never stored, but format_iso_ms knows the calendar
        minute_ = -1;
        return other_ = format_iso_ms(ms);
    }
    if (ms / minute_ms != minute_) {
        const std::string full = format_iso_ms(ms);
        // "YYYY-MM-DDTHH:MM:SS.mmmZ"; any other shape (a year past 9999) is used whole.
        if (full.size() != sizeof stamp_) {
            minute_ = -1;
            return other_ = full;
        }
        minute_ = ms / minute_ms;
        std::memcpy(stamp_, full.data(), 17);
    }
    const auto in_minute = static_cast<int>(ms % minute_ms);  // seconds and milliseconds
    const int sec = in_minute / 1000, milli = in_minute % 1000;
    const char tail[] = {static_cast<char>('0' + sec / 10), static_cast<char>('0' + sec % 10), '.',
                         static_cast<char>('0' + milli / 100), static_cast<char>('0' + milli / 10 % 10),
                         static_cast<char>('0' + milli % 10), 'Z'};
    std::memcpy(stamp_ + 17, tail, sizeof tail);
    return {stamp_, sizeof stamp_};
}

}  // namespace gm::admin_api

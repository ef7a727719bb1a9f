#include "storage/record_codec.hpp"

#include <zlib.h>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <fmt/format.h>

#include <bit>
#include <cstdio>
#include <cstring>
#include <optional>

#include "storage/utc_time.hpp"

namespace gm::storage {
namespace {

using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;
using metering::call_ending;
using metering::usage_source;

void put(json_writer& w, const char* key, std::string_view v) {
    w.Key(key);
    w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
}
void put(json_writer& w, const char* key, std::int64_t v) {
    w.Key(key);
    w.Int64(v);
}
void put(json_writer& w, const char* key, bool v) {
    w.Key(key);
    w.Bool(v);
}

std::string get_str(const rapidjson::Value& o, const char* key) {
    const auto it = o.FindMember(key);
    return it != o.MemberEnd() && it->value.IsString()
               ? std::string(it->value.GetString(), it->value.GetStringLength())
               : std::string();
}
std::int64_t get_int(const rapidjson::Value& o, const char* key, std::int64_t dflt = 0) {
    const auto it = o.FindMember(key);
    return it != o.MemberEnd() && it->value.IsInt64() ? it->value.GetInt64() : dflt;
}
bool get_bool(const rapidjson::Value& o, const char* key, bool dflt = false) {
    const auto it = o.FindMember(key);
    return it != o.MemberEnd() && it->value.IsBool() ? it->value.GetBool() : dflt;
}

void write_metadata_members(json_writer& w, const metering::usage_record& r) {
    w.Key("tags");
    w.StartObject();
    for (const auto& [k, v] : r.tags) put(w, k.c_str(), v);
    w.EndObject();
    if (!r.problems.empty()) {
        w.Key("problems");
        w.StartArray();
        for (const auto& p : r.problems) w.String(p.data(), static_cast<rapidjson::SizeType>(p.size()));
        w.EndArray();
    }
    if (!r.response_id.empty()) put(w, "responseId", r.response_id);
    if (!r.model_version.empty()) put(w, "modelVersion", r.model_version);
    put(w, "ending", std::string_view(ending_name(r.ending)));
    put(w, "source", std::string_view(source_name(r.source)));
    put(w, "ttfbMs", r.ttfb_ms);
    put(w, "requestBytes", r.request_bytes);
    put(w, "responseBytes", r.response_bytes);
    if (!r.http_method.empty()) put(w, "httpMethod", r.http_method);
    if (!r.path.empty()) put(w, "path", r.path);
    if (r.tokens.prompt_audio) put(w, "promptAudioTokens", r.tokens.prompt_audio);
    if (r.tokens.cached_audio) put(w, "cachedAudioTokens", r.tokens.cached_audio);
}

}  // namespace

// The names are metering's own (stable: stored in rows and journals); one list, not two.
const char* ending_name(call_ending e) noexcept {
    return metering::to_string(e);
}

const char* source_name(usage_source s) noexcept {
    return metering::to_string(s);
}

std::optional<call_ending> parse_ending(std::string_view s) noexcept {
    for (auto e : {call_ending::completed, call_ending::upstream_unreachable, call_ending::upstream_timeout,
                   call_ending::client_gone, call_ending::upstream_broken, call_ending::rejected})
        if (s == ending_name(e)) return e;
    return std::nullopt;
}

std::optional<usage_source> parse_source(std::string_view s) noexcept {
    for (auto v : {usage_source::response, usage_source::none, usage_source::estimated})
        if (s == source_name(v)) return v;
    return std::nullopt;
}

std::string encode_journal_line(const metering::usage_record& r) {
    rapidjson::StringBuffer buf;
    json_writer w(buf);
    w.StartObject();
    put(w, "id", r.id);
    put(w, "at", r.created_at_ms);
    put(w, "user", r.user_id);
    put(w, "email", r.user_email);
    put(w, "guest", r.is_guest);
    put(w, "endpoint", r.endpoint);
    put(w, "bot", r.bot_id);
    put(w, "geminiMethod", r.gemini_method);
    put(w, "model", r.model);
    put(w, "streamed", r.streamed);
    put(w, "status", static_cast<std::int64_t>(r.http_status));
    put(w, "success", r.success);
    put(w, "partial", r.partial);
    put(w, "error", r.error_message);
    w.Key("tok");
    w.StartArray();
    for (auto v : {r.tokens.prompt, r.tokens.candidates, r.tokens.cached, r.tokens.thoughts, r.tokens.tool_use_prompt,
                   r.tokens.total, r.tokens.prompt_audio, r.tokens.cached_audio})
        w.Int64(v);
    w.EndArray();
    put(w, "priced", r.priced);
    put(w, "cost", r.cost_pico_usd);
    put(w, "priceVersion", r.price_version);
    put(w, "durationMs", r.duration_ms);
    // The journal keeps tag order and duplicates, which a JSON object would not.
    w.Key("tagList");
    w.StartArray();
    for (const auto& [k, v] : r.tags) {
        w.String(k.data(), static_cast<rapidjson::SizeType>(k.size()));
        w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
    }
    w.EndArray();
    w.Key("meta");
    w.StartObject();
    write_metadata_members(w, r);
    w.EndObject();
    w.EndObject();

    const auto crc = crc32(0L, reinterpret_cast<const Bytef*>(buf.GetString()), static_cast<uInt>(buf.GetSize()));
    std::string line;
    line.reserve(buf.GetSize() + 10);
    char hex[10];
    std::snprintf(hex, sizeof hex, "%08lx ", static_cast<unsigned long>(crc));
    line.append(hex, 9);
    line.append(buf.GetString(), buf.GetSize());
    line.push_back('\n');
    return line;
}

std::optional<metering::usage_record> decode_journal_line(std::string_view line) {
    if (line.size() < 11 || line[8] != ' ') return std::nullopt;
    const std::string_view json = line.substr(9);
    unsigned long want = 0;
    for (int i = 0; i < 8; ++i) {
        const char c = line[static_cast<std::size_t>(i)];
        const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) return std::nullopt;
        want = want * 16 + static_cast<unsigned long>(d);
    }
    if (crc32(0L, reinterpret_cast<const Bytef*>(json.data()), static_cast<uInt>(json.size())) != want)
        return std::nullopt;
    rapidjson::Document d;
    d.Parse(json.data(), json.size());
    if (d.HasParseError() || !d.IsObject()) return std::nullopt;

    metering::usage_record r;
    r.id = get_str(d, "id");
    if (r.id.empty()) return std::nullopt;
    r.created_at_ms = get_int(d, "at");
    r.user_id = get_str(d, "user");
    r.user_email = get_str(d, "email");
    r.is_guest = get_bool(d, "guest", true);
    r.endpoint = get_str(d, "endpoint");
    r.bot_id = get_str(d, "bot");
    r.gemini_method = get_str(d, "geminiMethod");
    r.model = get_str(d, "model");
    r.streamed = get_bool(d, "streamed");
    r.http_status = static_cast<int>(get_int(d, "status"));
    r.success = get_bool(d, "success");
    r.partial = get_bool(d, "partial");
    r.error_message = get_str(d, "error");
    if (const auto it = d.FindMember("tok"); it != d.MemberEnd() && it->value.IsArray() && it->value.Size() == 8) {
        std::int64_t* dst[] = {&r.tokens.prompt, &r.tokens.candidates, &r.tokens.cached, &r.tokens.thoughts,
                               &r.tokens.tool_use_prompt, &r.tokens.total, &r.tokens.prompt_audio,
                               &r.tokens.cached_audio};
        for (rapidjson::SizeType i = 0; i < 8; ++i)
            if (it->value[i].IsInt64()) *dst[i] = it->value[i].GetInt64();
    }
    r.priced = get_bool(d, "priced");
    r.cost_pico_usd = get_int(d, "cost");
    r.price_version = get_str(d, "priceVersion");
    r.duration_ms = get_int(d, "durationMs");
    if (const auto it = d.FindMember("tagList"); it != d.MemberEnd() && it->value.IsArray()) {
        const auto& a = it->value;
        for (rapidjson::SizeType i = 0; i + 1 < a.Size(); i += 2)
            if (a[i].IsString() && a[i + 1].IsString())
                r.tags.emplace_back(std::string(a[i].GetString(), a[i].GetStringLength()),
                                    std::string(a[i + 1].GetString(), a[i + 1].GetStringLength()));
    }
    if (const auto it = d.FindMember("meta"); it != d.MemberEnd() && it->value.IsObject()) {
        const auto& m = it->value;
        if (const auto p = m.FindMember("problems"); p != m.MemberEnd() && p->value.IsArray())
            for (const auto& v : p->value.GetArray())
                if (v.IsString()) r.problems.emplace_back(v.GetString(), v.GetStringLength());
        r.response_id = get_str(m, "responseId");
        r.model_version = get_str(m, "modelVersion");
        r.ending = parse_ending(get_str(m, "ending")).value_or(call_ending::completed);
        r.source = parse_source(get_str(m, "source")).value_or(usage_source::none);
        r.ttfb_ms = get_int(m, "ttfbMs", -1);
        r.request_bytes = get_int(m, "requestBytes");
        r.response_bytes = get_int(m, "responseBytes");
        r.http_method = get_str(m, "httpMethod");
        r.path = get_str(m, "path");
    }
    return r;
}

namespace {
// Writes into a buffer sized for the worst case beforehand (every byte of every string
// escaped as \u00XX), so nothing checks capacity per byte: appending to the string piece
// by piece was most of the metadata's ~4,000 instructions per row in the writer.
struct raw_json_writer {
    char* p;
    void lit(std::string_view s) {
        std::memcpy(p, s.data(), s.size());
        p += s.size();
    }
    void key(std::string_view k) {  // our own constants: no escaping needed
        *p++ = ',';
        *p++ = '"';
        lit(k);
        *p++ = '"';
        *p++ = ':';
    }
    void num(std::int64_t v) { p = fmt::format_to(p, "{}", v); }
    // JSON string as rapidjson's Writer renders it: quote, backslash and control characters
    // escaped, every other byte (UTF-8 included) as is.
    void str(std::string_view s) {
        static constexpr char hex[] = "0123456789ABCDEF";  // upper case, as rapidjson
        *p++ = '"';
        std::size_t run = 0;
        for (std::size_t i = 0; i < s.size(); ++i) {
            const auto c = static_cast<unsigned char>(s[i]);
            if (c >= 0x20 && c != '"' && c != '\\') continue;
            lit(s.substr(run, i - run));
            run = i + 1;
            *p++ = '\\';
            switch (c) {
            case '"': *p++ = '"'; break;
            case '\\': *p++ = '\\'; break;
            case '\b': *p++ = 'b'; break;
            case '\f': *p++ = 'f'; break;
            case '\n': *p++ = 'n'; break;
            case '\r': *p++ = 'r'; break;
            case '\t': *p++ = 't'; break;
            default: lit({"u00", 3}); *p++ = hex[c >> 4]; *p++ = hex[c & 15];
            }
        }
        lit(s.substr(run));
        *p++ = '"';
    }
};

constexpr std::size_t worst_json_string(std::string_view s) { return 6 * s.size() + 3; }
}  // namespace

void encode_metadata(const metering::usage_record& r, std::string& o) {
    // Same members, order and spelling as write_metadata_members (record_codec_test checks).
    // Fixed parts: keys and punctuation (~200 bytes), two names, five integers.
    std::size_t bound = 512 + worst_json_string(r.response_id) + worst_json_string(r.model_version) +
                        worst_json_string(r.http_method) + worst_json_string(r.path);
    for (const auto& [k, v] : r.tags) bound += worst_json_string(k) + worst_json_string(v) + 2;
    for (const auto& pr : r.problems) bound += worst_json_string(pr) + 1;
    const std::size_t start = o.size();
    o.resize(start + bound);
    raw_json_writer w{o.data() + start};
    w.lit("{\"tags\":{");
    bool first = true;
    for (const auto& [k, v] : r.tags) {
        if (!first) *w.p++ = ',';
        first = false;
        w.str(k);
        *w.p++ = ':';
        w.str(v);
    }
    *w.p++ = '}';
    if (!r.problems.empty()) {
        w.lit(",\"problems\":[");
        for (std::size_t i = 0; i < r.problems.size(); ++i) {
            if (i) *w.p++ = ',';
            w.str(r.problems[i]);
        }
        *w.p++ = ']';
    }
    if (!r.response_id.empty()) {
        w.key("responseId");
        w.str(r.response_id);
    }
    if (!r.model_version.empty()) {
        w.key("modelVersion");
        w.str(r.model_version);
    }
    w.key("ending");
    w.str(ending_name(r.ending));
    w.key("source");
    w.str(source_name(r.source));
    w.key("ttfbMs");
    w.num(r.ttfb_ms);
    w.key("requestBytes");
    w.num(r.request_bytes);
    w.key("responseBytes");
    w.num(r.response_bytes);
    if (!r.http_method.empty()) {
        w.key("httpMethod");
        w.str(r.http_method);
    }
    if (!r.path.empty()) {
        w.key("path");
        w.str(r.path);
    }
    if (r.tokens.prompt_audio) {
        w.key("promptAudioTokens");
        w.num(r.tokens.prompt_audio);
    }
    if (r.tokens.cached_audio) {
        w.key("cachedAudioTokens");
        w.num(r.tokens.cached_audio);
    }
    *w.p++ = '}';
    o.resize(static_cast<std::size_t>(w.p - o.data()));
}

std::string encode_metadata(const metering::usage_record& r) {
    std::string out;
    encode_metadata(r, out);
    return out;
}

void decode_metadata_dom(std::string_view json, metering::usage_record& r) {
    if (json.empty()) return;
    rapidjson::Document m;
    m.Parse(json.data(), json.size());
    if (m.HasParseError() || !m.IsObject()) return;
    if (const auto t = m.FindMember("tags"); t != m.MemberEnd() && t->value.IsObject())
        for (const auto& kv : t->value.GetObject())
            if (kv.value.IsString())
                r.tags.emplace_back(std::string(kv.name.GetString(), kv.name.GetStringLength()),
                                    std::string(kv.value.GetString(), kv.value.GetStringLength()));
    if (const auto p = m.FindMember("problems"); p != m.MemberEnd() && p->value.IsArray())
        for (const auto& v : p->value.GetArray())
            if (v.IsString()) r.problems.emplace_back(v.GetString(), v.GetStringLength());
    if (m.HasMember("responseId")) r.response_id = get_str(m, "responseId");
    if (m.HasMember("modelVersion")) r.model_version = get_str(m, "modelVersion");
    if (auto e = parse_ending(get_str(m, "ending"))) r.ending = *e;
    if (auto s = parse_source(get_str(m, "source"))) r.source = *s;
    r.ttfb_ms = get_int(m, "ttfbMs", r.ttfb_ms);
    r.request_bytes = get_int(m, "requestBytes", r.request_bytes);
    r.response_bytes = get_int(m, "responseBytes", r.response_bytes);
    if (m.HasMember("httpMethod")) r.http_method = get_str(m, "httpMethod");
    if (m.HasMember("path")) r.path = get_str(m, "path");
    r.tokens.prompt_audio = get_int(m, "promptAudioTokens", r.tokens.prompt_audio);
    r.tokens.cached_audio = get_int(m, "cachedAudioTokens", r.tokens.cached_audio);
}

namespace {
// A reader for exactly the text encode_metadata writes: its members in its order, no
// whitespace, strings without escapes, integers of up to 18 digits. Anything else makes it
// give up and decode_metadata falls back to the DOM, which reads any JSON object. The DOM
// parse was 13,400 of an export's 29,500 instructions per row (callgrind, 1,157 rows).
class metadata_cursor {
public:
    explicit metadata_cursor(const char* p, const char* end) : p_(p), end_(end) {}
    const char* pos() const noexcept { return p_; }
    // Nothing left, and no value was found malformed on the way (an optional member whose
    // key matched but whose value did not must not pass for an absent one).
    bool done() const noexcept { return p_ == end_ && !bad_; }
    // Consumes the literal s when the text goes on with it. Its length is a constant, so the
    // compiler compares in words instead of calling memcmp (~300 instructions per row).
    template <std::size_t N>
    bool skip(const char (&s)[N]) noexcept {
        constexpr std::size_t n = N - 1;
        if (static_cast<std::size_t>(end_ - p_) < n || std::memcmp(p_, s, n) != 0) return false;
        p_ += n;
        return true;
    }
    bool skip(char c) noexcept {
        if (p_ == end_ || *p_ != c) return false;
        ++p_;
        return true;
    }
    // A string whose bytes are its value: an escape gives up (rare: tags typed by people)
    // rather than decoding it here; a raw control character is malformed JSON anyway.
    bool str(std::string_view& out) noexcept {
        if (!skip('"')) return fail();
        const char* const b = p_;
        // Eight bytes at a time: the lowest byte flagged is the first quote, backslash or
        // control character (the flags above it may be false, which is never looked at).
        if constexpr (std::endian::native == std::endian::little) {
            constexpr std::uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
            while (end_ - p_ >= 8) {
                std::uint64_t x;
                std::memcpy(&x, p_, 8);
                const std::uint64_t q = x ^ (ones * '"'), bs = x ^ (ones * '\\');
                const std::uint64_t hit = ((q - ones) & ~q) | ((bs - ones) & ~bs) | ((x - ones * 0x20) & ~x);
                if (hit & highs) {
                    p_ += std::countr_zero(hit & highs) / 8;
                    break;
                }
                p_ += 8;
            }
        }
        for (; p_ != end_; ++p_) {
            const auto c = static_cast<unsigned char>(*p_);
            if (c == '"') {
                out = {b, static_cast<std::size_t>(p_++ - b)};
                return true;
            }
            if (c == '\\' || c < 0x20) break;
        }
        return fail();
    }
    // -?(0|[1-9][0-9]*) that fits an int64 for sure; a fraction or exponent fails at the
    // separator the caller skips next (rapidjson reads those as doubles, not Int64).
    bool integer(std::int64_t& out) noexcept {
        const bool neg = skip('-');
        const char* d = p_;
        std::int64_t v = 0;
        while (p_ != end_ && *p_ >= '0' && *p_ <= '9') {
            if (p_ - d == 18) return fail();
            v = v * 10 + (*p_++ - '0');
        }
        if (p_ == d || (*d == '0' && p_ - d > 1)) return fail();
        out = neg ? -v : v;
        return true;
    }
    template <std::size_t N>
    bool member_str(const char (&key)[N], std::string_view& out) noexcept {
        return skip(key) && str(out);
    }
    template <std::size_t N>
    bool member_int(const char (&key)[N], std::int64_t& out) noexcept {
        return skip(key) && integer(out);
    }

    // "k":"v",...} after the object's opening brace: each pair given to f.
    template <class F>
    bool tag_pairs(F&& f) {
        if (skip('}')) return true;
        do {
            std::string_view k, v;
            if (!str(k) || !skip(':') || !str(v)) return false;
            f(k, v);
        } while (skip(','));
        return skip('}');
    }
    // "v",...] after the array's opening bracket: each string given to f.
    template <class F>
    bool strings(F&& f) {
        if (skip(']')) return true;
        do {
            std::string_view v;
            if (!str(v)) return false;
            f(v);
        } while (skip(','));
        return skip(']');
    }

private:
    bool fail() noexcept {
        bad_ = true;
        return false;
    }
    const char* p_;
    const char* end_;
    bool bad_ = false;
};

// What the fast reader found: views into the text, copied into the record only once the
// whole text has proven to be of the expected shape, so that text malformed half-way
// changes nothing (as with the DOM, which parses everything before it fills anything).
struct metadata_found {
    const char* tags = nullptr;      // just after "tags":{
    const char* problems = nullptr;  // just after "problems":[
    std::optional<std::string_view> response_id, model_version, http_method, path;
    std::string_view ending, source;
    std::int64_t ttfb_ms = 0, request_bytes = 0, response_bytes = 0;
    std::optional<std::int64_t> prompt_audio, cached_audio;
};

bool scan_metadata(metadata_cursor& c, metadata_found& f) noexcept {
    constexpr auto ignore_pair = [](std::string_view, std::string_view) noexcept {};
    constexpr auto ignore = [](std::string_view) noexcept {};  // the lists are read again to fill
    if (!c.skip(R"({"tags":{)")) return false;
    f.tags = c.pos();
    if (!c.tag_pairs(ignore_pair)) return false;
    if (c.skip(R"(,"problems":[)")) {
        f.problems = c.pos();
        if (!c.strings(ignore)) return false;
    }
    std::string_view v;
    if (c.member_str(R"(,"responseId":)", v)) f.response_id = v;
    if (c.member_str(R"(,"modelVersion":)", v)) f.model_version = v;
    if (!c.member_str(R"(,"ending":)", f.ending) || !c.member_str(R"(,"source":)", f.source) ||
        !c.member_int(R"(,"ttfbMs":)", f.ttfb_ms) || !c.member_int(R"(,"requestBytes":)", f.request_bytes) ||
        !c.member_int(R"(,"responseBytes":)", f.response_bytes))
        return false;
    if (c.member_str(R"(,"httpMethod":)", v)) f.http_method = v;
    if (c.member_str(R"(,"path":)", v)) f.path = v;
    std::int64_t n = 0;
    if (c.member_int(R"(,"promptAudioTokens":)", n)) f.prompt_audio = n;
    if (c.member_int(R"(,"cachedAudioTokens":)", n)) f.cached_audio = n;
    return c.skip('}') && c.done();
}
}  // namespace

void decode_metadata(std::string_view json, metering::usage_record& r) {
    if (json.empty()) return;
    const char* const end = json.data() + json.size();
    metadata_cursor c(json.data(), end);
    metadata_found f;
    if (!scan_metadata(c, f)) return decode_metadata_dom(json, r);
    metadata_cursor tags(f.tags, end);
    tags.tag_pairs([&](std::string_view k, std::string_view v) { r.tags.emplace_back(k, v); });
    if (f.problems) {
        metadata_cursor problems(f.problems, end);
        problems.strings([&](std::string_view v) { r.problems.emplace_back(v); });
    }
    if (f.response_id) r.response_id = *f.response_id;
    if (f.model_version) r.model_version = *f.model_version;
    if (auto e = parse_ending(f.ending)) r.ending = *e;
    if (auto s = parse_source(f.source)) r.source = *s;
    r.ttfb_ms = f.ttfb_ms;
    r.request_bytes = f.request_bytes;
    r.response_bytes = f.response_bytes;
    if (f.http_method) r.http_method = *f.http_method;
    if (f.path) r.path = *f.path;
    if (f.prompt_audio) r.tokens.prompt_audio = *f.prompt_audio;
    if (f.cached_audio) r.tokens.cached_audio = *f.cached_audio;
}

std::string encode_row_json(const metering::usage_record& r) {
    rapidjson::StringBuffer buf;
    json_writer w(buf);
    auto opt = [&](const char* key, const std::string& v) {
        w.Key(key);
        if (v.empty())
            w.Null();
        else
            w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
    };
    w.StartObject();
    put(w, "id", r.id);
    opt("userId", r.user_id);
    put(w, "isGuest", r.is_guest);
    put(w, "endpoint", r.endpoint);
    put(w, "model", r.model);
    opt("botId", r.bot_id);
    put(w, "inputTokens", r.input_tokens());
    put(w, "outputTokens", r.output_tokens());
    put(w, "totalTokens", r.tokens.total);
    w.Key("estimatedCostUSD");
    w.Double(pico_to_usd(r.cost_pico_usd));
    put(w, "durationMs", r.duration_ms);
    put(w, "success", r.success);
    opt("errorMessage", r.error_message);
    w.Key("metadata");
    w.StartObject();
    write_metadata_members(w, r);
    w.EndObject();
    put(w, "createdAt", format_iso_ms(r.created_at_ms));
    put(w, "cachedTokens", r.tokens.cached);
    put(w, "thoughtsTokens", r.tokens.thoughts);
    put(w, "toolUsePromptTokens", r.tokens.tool_use_prompt);
    put(w, "costPicoUsd", r.cost_pico_usd);
    put(w, "priced", r.priced);
    opt("priceVersion", r.price_version);
    put(w, "httpStatus", static_cast<std::int64_t>(r.http_status));
    opt("geminiMethod", r.gemini_method);
    put(w, "streamed", r.streamed);
    put(w, "partial", r.partial);
    put(w, "createdAtMs", r.created_at_ms);
    opt("userEmail", r.user_email);
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
}

double pico_to_usd(std::int64_t pico) noexcept {
    // Split before converting so that the integer part is exact in the double.
    return static_cast<double>(pico / 1'000'000'000'000) + static_cast<double>(pico % 1'000'000'000'000) / 1e12;
}

}  // namespace gm::storage

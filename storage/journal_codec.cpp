#include "storage/journal_codec.hpp"

#include <zlib.h>

#include <cstring>

#include "storage/record_codec.hpp"

namespace gm::storage {
namespace {

constexpr unsigned char payload_version = 1;

enum flag : unsigned char {
    f_guest = 1,
    f_streamed = 2,
    f_success = 4,
    f_partial = 8,
    f_priced = 16,
};

void put_varint(std::string& out, std::int64_t v) {
    // Zigzag so that -1 (ttfb "none") stays one byte.
    auto u = (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
    char buf[10];
    int n = 0;
    while (u >= 0x80) {
        buf[n++] = static_cast<char>(u | 0x80);
        u >>= 7;
    }
    buf[n++] = static_cast<char>(u);
    out.append(buf, static_cast<std::size_t>(n));
}

void put_str(std::string& out, std::string_view s) {
    put_varint(out, static_cast<std::int64_t>(s.size()));
    out.append(s.data(), s.size());
}

void put_u32(char* p, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

std::uint32_t get_u32(const char* p) {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
    return v;
}

// Bounds-checked reader over a payload; any overrun sets bad_.
class reader {
public:
    explicit reader(std::string_view s) : p_(s.data()), end_(s.data() + s.size()) {}
    bool bad() const noexcept { return bad_; }
    bool done() const noexcept { return p_ == end_; }

    unsigned char byte() {
        if (p_ >= end_) {
            bad_ = true;
            return 0;
        }
        return static_cast<unsigned char>(*p_++);
    }
    std::int64_t varint() {
        std::uint64_t u = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            const unsigned char b = byte();
            if (bad_) return 0;
            u |= static_cast<std::uint64_t>(b & 0x7f) << shift;
            if (!(b & 0x80)) return static_cast<std::int64_t>((u >> 1) ^ (~(u & 1) + 1));
        }
        bad_ = true;
        return 0;
    }
    std::string str() {
        const std::int64_t n = varint();
        if (bad_ || n < 0 || n > end_ - p_) {
            bad_ = true;
            return {};
        }
        std::string s(p_, static_cast<std::size_t>(n));
        p_ += n;
        return s;
    }
    std::size_t count() {
        const std::int64_t n = varint();
        // Each element takes at least one byte: a larger count is corruption, not a reason
        // to reserve gigabytes.
        if (bad_ || n < 0 || n > end_ - p_) {
            bad_ = true;
            return 0;
        }
        return static_cast<std::size_t>(n);
    }

private:
    const char* p_;
    const char* end_;
    bool bad_ = false;
};

std::optional<metering::usage_record> decode_payload(std::string_view payload) {
    reader in(payload);
    if (in.byte() != payload_version) return std::nullopt;
    metering::usage_record r;
    const unsigned char flags = in.byte();
    r.is_guest = flags & f_guest;
    r.streamed = flags & f_streamed;
    r.success = flags & f_success;
    r.partial = flags & f_partial;
    r.priced = flags & f_priced;
    const unsigned char ending = in.byte();
    const unsigned char source = in.byte();
    if (ending > static_cast<unsigned char>(metering::call_ending::rejected) ||
        source > static_cast<unsigned char>(metering::usage_source::estimated))
        return std::nullopt;
    r.ending = static_cast<metering::call_ending>(ending);
    r.source = static_cast<metering::usage_source>(source);
    r.created_at_ms = in.varint();
    r.http_status = static_cast<int>(in.varint());
    r.cost_pico_usd = in.varint();
    r.duration_ms = in.varint();
    r.ttfb_ms = in.varint();
    r.request_bytes = in.varint();
    r.response_bytes = in.varint();
    for (std::int64_t* t : {&r.tokens.prompt, &r.tokens.candidates, &r.tokens.cached, &r.tokens.thoughts,
                            &r.tokens.tool_use_prompt, &r.tokens.total, &r.tokens.prompt_audio,
                            &r.tokens.cached_audio})
        *t = in.varint();
    for (std::string* s : {&r.id, &r.user_id, &r.user_email, &r.endpoint, &r.bot_id, &r.http_method, &r.path,
                           &r.gemini_method, &r.model, &r.model_version, &r.response_id, &r.error_message,
                           &r.price_version})
        *s = in.str();
    const std::size_t ntags = in.count();
    r.tags.reserve(ntags);
    for (std::size_t i = 0; i < ntags && !in.bad(); ++i) {
        auto k = in.str();
        auto v = in.str();
        r.tags.emplace_back(std::move(k), std::move(v));
    }
    const std::size_t nproblems = in.count();
    r.problems.reserve(nproblems);
    for (std::size_t i = 0; i < nproblems && !in.bad(); ++i) r.problems.push_back(in.str());
    if (in.bad() || !in.done() || r.id.empty()) return std::nullopt;
    return r;
}

}  // namespace

void encode_journal_record(const metering::usage_record& r, std::string& out) {
    const std::size_t start = out.size();
    out.append(journal_record_header, '\0');
    out.push_back(static_cast<char>(payload_version));
    out.push_back(static_cast<char>((r.is_guest ? f_guest : 0) | (r.streamed ? f_streamed : 0) |
                                    (r.success ? f_success : 0) | (r.partial ? f_partial : 0) |
                                    (r.priced ? f_priced : 0)));
    out.push_back(static_cast<char>(r.ending));
    out.push_back(static_cast<char>(r.source));
    put_varint(out, r.created_at_ms);
    put_varint(out, r.http_status);
    put_varint(out, r.cost_pico_usd);
    put_varint(out, r.duration_ms);
    put_varint(out, r.ttfb_ms);
    put_varint(out, r.request_bytes);
    put_varint(out, r.response_bytes);
    for (std::int64_t t : {r.tokens.prompt, r.tokens.candidates, r.tokens.cached, r.tokens.thoughts,
                           r.tokens.tool_use_prompt, r.tokens.total, r.tokens.prompt_audio, r.tokens.cached_audio})
        put_varint(out, t);
    for (const std::string* s : {&r.id, &r.user_id, &r.user_email, &r.endpoint, &r.bot_id, &r.http_method, &r.path,
                                 &r.gemini_method, &r.model, &r.model_version, &r.response_id, &r.error_message,
                                 &r.price_version})
        put_str(out, *s);
    put_varint(out, static_cast<std::int64_t>(r.tags.size()));
    for (const auto& [k, v] : r.tags) {
        put_str(out, k);
        put_str(out, v);
    }
    put_varint(out, static_cast<std::int64_t>(r.problems.size()));
    for (const auto& p : r.problems) put_str(out, p);

    const std::size_t len = out.size() - start - journal_record_header;
    char* h = out.data() + start;
    h[0] = static_cast<char>(journal_record_magic);
    put_u32(h + 1, static_cast<std::uint32_t>(len));
    put_u32(h + 5, static_cast<std::uint32_t>(
                       crc32(0L, reinterpret_cast<const Bytef*>(h + journal_record_header), static_cast<uInt>(len))));
}

std::optional<metering::usage_record> decode_journal_record(std::string_view data, std::size_t* consumed) {
    if (data.size() < journal_record_header || static_cast<unsigned char>(data[0]) != journal_record_magic)
        return std::nullopt;
    const std::uint32_t len = get_u32(data.data() + 1);
    if (len > data.size() - journal_record_header) return std::nullopt;
    const std::string_view payload = data.substr(journal_record_header, len);
    if (crc32(0L, reinterpret_cast<const Bytef*>(payload.data()), static_cast<uInt>(payload.size())) !=
        get_u32(data.data() + 5))
        return std::nullopt;
    auto r = decode_payload(payload);
    if (r && consumed) *consumed = journal_record_header + len;
    return r;
}

std::vector<metering::usage_record> decode_journal_segment(std::string_view bytes, std::uint64_t* skipped) {
    std::vector<metering::usage_record> out;
    decode_journal_segment(bytes, out, skipped);
    return out;
}

void decode_journal_segment(std::string_view bytes, std::vector<metering::usage_record>& out, std::uint64_t* skipped) {
    std::uint64_t bad = 0;
    bool in_garbage = false;
    bool boundary = true;  // pos starts a line or follows a frame
    std::size_t pos = 0;
    const auto is_hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); };
    while (pos < bytes.size()) {
        const char c = bytes[pos];
        // '\0': the zeros a mapped segment reserves after its last record.
        if (c == '\n' || c == '\0') {
            ++pos;
            boundary = true;
            continue;
        }
        if (static_cast<unsigned char>(c) == journal_record_magic) {
            std::size_t n = 0;
            if (auto r = decode_journal_record(bytes.substr(pos), &n)) {
                out.push_back(std::move(*r));
                pos += n;
                in_garbage = false;
                boundary = true;
                continue;
            }
        } else if (is_hex(c) && boundary) {
            // A text line from an older version.
            std::size_t end = bytes.find('\n', pos);
            if (end == std::string_view::npos) end = bytes.size();
            if (auto r = decode_journal_line(bytes.substr(pos, end - pos))) {
                out.push_back(std::move(*r));
                pos = end;
                in_garbage = false;
                continue;
            }
        }
        // Torn or corrupt bytes: look for the next frame or line one byte further on, so that
        // a record written after a failed partial write is still found.
        if (!in_garbage) ++bad;
        in_garbage = true;
        boundary = false;
        ++pos;
    }
    if (skipped) *skipped = bad;
}

}  // namespace gm::storage

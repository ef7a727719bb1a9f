#include "proxy/header_parser.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <array>
#include <limits>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace gm::proxy {

namespace http = boost::beast::http;
using error_code = boost::beast::error_code;

namespace {

// RFC 9110 5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
// "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
constexpr std::array<bool, 256> make_tchar_table() {
    std::array<bool, 256> t{};
    for (char c : std::string_view("!#$%&'*+-.^_`|~"))
        t[static_cast<unsigned char>(c)] = true;
    for (int c = '0'; c <= '9'; ++c)
        t[c] = true;
    for (int c = 'a'; c <= 'z'; ++c)
        t[c] = t[c - 'a' + 'A'] = true;
    return t;
}
constexpr auto tchar = make_tchar_table();

bool is_tchar(char c) noexcept { return tchar[static_cast<unsigned char>(c)]; }

// The first byte of [p, end) that may not appear inside a field value or reason phrase
// (a control other than HT, or DEL), or inside a request target (also SP and HT); end
// when there is none. Header text is mostly values and targets, so this loop is where a
// header's bytes are looked at: 16 at a time where SSE2 is there (every x86-64).
template <bool SpaceEnds>
const char* find_special(const char* p, const char* end) noexcept {
#if defined(__SSE2__)
    const __m128i last_ctl = _mm_set1_epi8(SpaceEnds ? 0x20 : 0x1f);
    const __m128i del = _mm_set1_epi8(0x7f);
    [[maybe_unused]] const __m128i tab = _mm_set1_epi8(0x09);
    while (end - p >= 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        // v <= last_ctl, unsigned: max(v, last_ctl) == last_ctl
        __m128i bad = _mm_or_si128(_mm_cmpeq_epi8(_mm_max_epu8(v, last_ctl), last_ctl), _mm_cmpeq_epi8(v, del));
        if constexpr (!SpaceEnds)
            bad = _mm_andnot_si128(_mm_cmpeq_epi8(v, tab), bad);
        if (const int mask = _mm_movemask_epi8(bad))
            return p + __builtin_ctz(static_cast<unsigned>(mask));
        p += 16;
    }
#endif
    for (; p < end; ++p) {
        const auto c = static_cast<unsigned char>(*p);
        if (c == 0x7f || (SpaceEnds ? c <= 0x20 : (c < 0x20 && c != '\t')))
            return p;
    }
    return end;
}

std::string_view trim_ows(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

bool all_tchar(std::string_view s) noexcept {
    for (char c : s)
        if (!is_tchar(c))
            return false;
    return true;
}

// Calls each(element) for the non-empty elements of a comma list (RFC 9110 5.6.1), OWS
// trimmed; false when an element is not a token.
template <class Each>
bool for_each_token(std::string_view list, Each each) {
    while (true) {
        const auto comma = list.find(',');
        const auto element = trim_ows(list.substr(0, comma));
        if (!element.empty()) {
            if (!all_tchar(element))
                return false;
            each(element);
        }
        if (comma == std::string_view::npos)
            return true;
        list.remove_prefix(comma + 1);
    }
}

// True when [at, end) holds `want` bytes; otherwise sets need_more. Each part of a start
// line is judged as soon as its bytes are there, as Beast does, so that a bad one is refused
// at once, not when more bytes arrive.
bool have(std::size_t at, std::size_t end, std::size_t want, error_code& ec) noexcept {
    if (end - at >= want)
        return true;
    ec = http::error::need_more;
    return false;
}

// "HTTP/1.0" or "HTTP/1.1" at data + at, as 10 or 11; 0 with ec set otherwise.
int take_version(const char* data, std::size_t at, std::size_t end, error_code& ec) noexcept {
    if (!have(at, end, 8, ec))
        return 0;
    const char* p = data + at;
    const int version = 10 * (p[5] - '0') + (p[7] - '0');
    if (std::string_view(p, 5) != "HTTP/" || p[5] < '0' || p[5] > '9' || p[6] != '.' || p[7] < '0' || p[7] > '9' ||
        version < 10 || version > 11) {
        ec = http::error::bad_version;
        return 0;
    }
    return version;
}

class strict_category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "gemini-meter.http"; }
    std::string message(int ev) const override {
        switch (static_cast<strict_header_error>(ev)) {
            case strict_header_error::obs_fold:
                return "obsolete line folding in a header field";
            case strict_header_error::content_length_list:
                return "more than one Content-Length";
            case strict_header_error::transfer_encoding_list:
                return "Transfer-Encoding is not a list of codings";
        }
        return "bad header";
    }
};

}  // namespace

const boost::system::error_category& strict_header_category() noexcept {
    static const strict_category category;
    return category;
}

template <bool isRequest>
header_parser<isRequest>::header_parser(message_head& head) : head_(head) {
    head_.fields.clear();
}

template <bool isRequest>
std::size_t header_parser<isRequest>::put(boost::asio::const_buffer buffer, error_code& ec) {
    ec = {};
    const auto* data = static_cast<const char*>(buffer.data());
    const std::size_t n = buffer.size();
    if (n == 0) {
        ec = http::error::need_more;
        return 0;
    }
    got_some_ = true;
    // Nothing past the limit is looked at: a header that does not end within it is too large.
    const std::size_t end = std::min<std::size_t>(n, header_limit_);
    std::size_t at = parsed_;
    if (!start_line_done_) {
        at = parse_start_line(data, at, end, ec);
        if (ec)
            goto failed;
        start_line_done_ = true;
        parsed_ = at;
    }
    for (;;) {
        if (at + 2 > end) {
            ec = http::error::need_more;
            goto failed;
        }
        if (data[at] == '\r') {
            if (data[at + 1] != '\n') {
                ec = http::error::bad_line_ending;
                head_.fields.clear();
                return 0;
            }
            done_ = true;
            head_.fields.set_parsed_text(std::string_view(data, at + 2));
            return at + 2;
        }
        at = parse_field_line(data, at, end, ec);
        if (ec)
            goto failed;
        parsed_ = at;
    }
failed:
    if (ec == http::error::need_more && n >= header_limit_)
        ec = http::error::header_limit;
    if (ec != http::error::need_more)
        head_.fields.clear();  // their offsets point into a header that will never be whole
    return 0;
}

template <bool isRequest>
void header_parser<isRequest>::put_eof(error_code& ec) {
    ec = done_ ? error_code{} : error_code(http::error::partial_message);
}

template <bool isRequest>
bool header_parser<isRequest>::keep_alive() const noexcept {
    if (http11_ ? connection_close_ : !connection_keep_alive_)
        return false;
    if constexpr (!isRequest) {
        // A response framed by neither length nor chunks ends when the connection does.
        const unsigned status = head_.status;
        const bool bodiless = status / 100 == 1 || status == 204 || status == 304;
        if (!bodiless && !content_length_ && !chunked_)
            return false;
    }
    return true;
}

template <bool isRequest>
std::size_t header_parser<isRequest>::parse_start_line(const char* data, std::size_t at, std::size_t end,
                                                       error_code& ec) {
    std::size_t i = at;
    if constexpr (isRequest) {
        // method SP request-target SP HTTP-version CRLF
        while (i < end && is_tchar(data[i]))
            ++i;
        if (i >= end) {
            ec = http::error::need_more;
            return 0;
        }
        if (data[i] != ' ' || i == at) {
            ec = http::error::bad_method;
            return 0;
        }
        const std::string_view method(data + at, i - at);
        const char* target_begin = data + i + 1;
        const char* target_end = find_special<true>(target_begin, data + end);
        if (target_end == data + end) {
            ec = http::error::need_more;
            return 0;
        }
        if (*target_end != ' ' || target_end == target_begin) {
            ec = http::error::bad_target;
            return 0;
        }
        i = static_cast<std::size_t>(target_end - data) + 1;
        const int version = take_version(data, i, end, ec);
        if (!version || !have(i, end, 10, ec))
            return 0;
        if (data[i + 8] != '\r' || data[i + 9] != '\n') {
            ec = http::error::bad_version;
            return 0;
        }
        head_.method = http::string_to_verb(method);
        head_.method_string.assign(method);
        head_.target.assign(target_begin, target_end);
        head_.version = static_cast<unsigned>(version);
        http11_ = version == 11;
        return i + 10;
    } else {
        // HTTP-version SP status-code SP reason-phrase CRLF
        const int version = take_version(data, i, end, ec);
        if (!version || !have(i, end, 9, ec))
            return 0;
        if (data[i + 8] != ' ') {
            ec = http::error::bad_version;
            return 0;
        }
        if (!have(i, end, 13, ec))
            return 0;
        const char* s = data + i + 9;
        if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' || s[2] < '0' || s[2] > '9' || s[3] != ' ') {
            ec = http::error::bad_status;
            return 0;
        }
        const char* reason_begin = s + 4;
        const char* reason_end = find_special<false>(reason_begin, data + end);
        if (reason_end == data + end) {
            ec = http::error::need_more;
            return 0;
        }
        if (reason_end[0] != '\r') {
            ec = http::error::bad_reason;
            return 0;
        }
        if (reason_end + 1 == data + end) {
            ec = http::error::need_more;
            return 0;
        }
        if (reason_end[1] != '\n') {
            ec = http::error::bad_line_ending;
            return 0;
        }
        head_.status = static_cast<unsigned>((s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0'));
        head_.reason.assign(reason_begin, reason_end);
        head_.version = static_cast<unsigned>(version);
        http11_ = version == 11;
        return static_cast<std::size_t>(reason_end - data) + 2;
    }
}

template <bool isRequest>
std::size_t header_parser<isRequest>::parse_field_line(const char* data, std::size_t at, std::size_t end,
                                                       error_code& ec) {
    // field-name ":" OWS field-value OWS CRLF
    std::size_t i = at;
    while (i < end && is_tchar(data[i]))
        ++i;
    if (i >= end) {
        ec = http::error::need_more;
        return 0;
    }
    if (data[i] != ':' || i == at) {
        ec = http::error::bad_field;
        return 0;
    }
    const std::string_view name(data + at, i - at);
    ++i;
    while (i < end && (data[i] == ' ' || data[i] == '\t'))
        ++i;
    const char* value_begin = data + i;
    const char* value_end = find_special<false>(value_begin, data + end);
    // The CRLF, and the byte after it, which must not start a folded continuation line.
    const char* const last = data + end;
    if (value_end == last) {
        ec = http::error::need_more;
        return 0;
    }
    if (value_end[0] != '\r') {
        ec = http::error::bad_value;
        return 0;
    }
    if (value_end + 1 == last) {
        ec = http::error::need_more;
        return 0;
    }
    if (value_end[1] != '\n') {
        ec = http::error::bad_line_ending;
        return 0;
    }
    if (value_end + 2 == last) {
        ec = http::error::need_more;
        return 0;
    }
    if (value_end[2] == ' ' || value_end[2] == '\t') {
        ec = strict_header_error::obs_fold;
        return 0;
    }
    const std::size_t next = static_cast<std::size_t>(value_end - data) + 2;
    while (value_end > value_begin && (value_end[-1] == ' ' || value_end[-1] == '\t'))
        --value_end;
    const std::string_view value(value_begin, static_cast<std::size_t>(value_end - value_begin));
    const auto id = header_fields::relay_field_id(name);
    take_framing_field(id, value, ec);
    if (ec)
        return 0;
    // By offset into the header, whose text is copied once when it is complete.
    head_.fields.add_parsed(id, static_cast<std::uint32_t>(at), static_cast<std::uint32_t>(name.size()),
                            static_cast<std::uint32_t>(value_begin - data), static_cast<std::uint32_t>(value.size()));
    return next;
}

template <bool isRequest>
void header_parser<isRequest>::take_framing_field(http::field id, std::string_view value, error_code& ec) {
    switch (id) {
        case http::field::connection:
        case http::field::proxy_connection:
            if (!for_each_token(value, [this](std::string_view token) {
                    if (boost::beast::iequals(token, "close"))
                        connection_close_ = true;
                    else if (boost::beast::iequals(token, "keep-alive"))
                        connection_keep_alive_ = true;
                }))
                ec = http::error::bad_value;
            return;
        case http::field::content_length: {
            if (chunked_) {
                ec = http::error::bad_content_length;
                return;
            }
            if (content_length_ || value.find(',') != std::string_view::npos) {
                ec = strict_header_error::content_length_list;
                return;
            }
            if (value.empty()) {
                ec = http::error::bad_content_length;
                return;
            }
            std::uint64_t length = 0;
            for (char c : value) {
                if (c < '0' || c > '9' || length > (std::numeric_limits<std::uint64_t>::max() - 9) / 10) {
                    ec = http::error::bad_content_length;
                    return;
                }
                length = length * 10 + static_cast<std::uint64_t>(c - '0');
            }
            content_length_ = length;
            return;
        }
        case http::field::transfer_encoding: {
            if (chunked_ || content_length_) {
                ec = http::error::bad_transfer_encoding;
                return;
            }
            // Chunked only when it is the last coding of the field (RFC 9112 6.1).
            std::string_view last;
            if (!for_each_token(value, [&last](std::string_view coding) { last = coding; })) {
                ec = strict_header_error::transfer_encoding_list;
                return;
            }
            chunked_ = boost::beast::iequals(last, "chunked");
            return;
        }
        default:
            return;
    }
}

template class header_parser<true>;
template class header_parser<false>;

}  // namespace gm::proxy

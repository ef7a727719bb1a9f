#include "metering/json_scanner.hpp"

#include <algorithm>
#include <cstring>

namespace gm::metering {

json_scanner::json_scanner(std::span<const json_watch> watches, json_scan_handler& handler)
    : watches_(watches), handler_(handler) {
    for (const auto& w : watches_) cap_reserve_ = std::max(cap_reserve_, w.max_bytes);
}

void json_scanner::feed(std::string_view bytes) noexcept {
    const char* p = bytes.data();
    const char* const end = p + bytes.size();
    if (cap_kind_ != cap_none) cap_from_ = p;

    while (p < end) {
        if (in_string_) {
            // Most response bytes are inside strings (the generated text): jump from quote
            // to quote and look back only at the backslashes right before each quote.
            const char* seg = p;
            for (;;) {
                const void* hit = std::memchr(p, '"', static_cast<std::size_t>(end - p));
                if (hit == nullptr) {
                    const char* b = end;
                    while (b > p && b[-1] == '\\') --b;
                    const auto run = static_cast<std::size_t>(end - b);
                    backslash_run_ = (b == p) ? backslash_run_ + run : run;
                    if (cap_kind_ == cap_none && !key_partial_overflow_) {
                        const auto n = static_cast<std::size_t>(end - seg);
                        if (key_len_ + n > max_key_len) {
                            key_partial_overflow_ = true;
                        } else {
                            std::memcpy(key_buf_ + key_len_, seg, n);
                            key_len_ += n;
                        }
                    }
                    p = end;
                    break;
                }
                const char* q = static_cast<const char*>(hit);
                const char* b = q;
                while (b > p && b[-1] == '\\') --b;
                std::size_t run = static_cast<std::size_t>(q - b);
                if (b == p) run += backslash_run_;
                backslash_run_ = 0;
                if ((run & 1u) != 0) {  // an escaped quote: still inside the string
                    p = q + 1;
                    continue;
                }
                in_string_ = false;
                on_string_end(seg, q);
                p = q + 1;
                break;
            }
            continue;
        }

        const char c = *p;
        if (cap_kind_ == cap_scalar) {
            const bool ends = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' ||
                              c == '}' || c == ']' || c == ':' || c == '"' || c == '{' || c == '[';
            if (!ends) {
                ++p;
                continue;
            }
            finish_capture(p);
        }
        switch (c) {
            case ' ':
            case '\t':
            case '\n':
            case '\r':
                break;
            case '"':
                key_valid_ = false;
                if (expect_value_ >= 0) begin_capture(cap_string, p);
                in_string_ = true;
                backslash_run_ = 0;
                key_len_ = 0;
                key_partial_overflow_ = false;
                break;
            case ':':
                if (key_valid_ && cap_kind_ == cap_none) {
                    const std::int64_t want = key_depth_ - top_depth();
                    for (std::size_t i = 0; i < watches_.size(); ++i) {
                        const auto& w = watches_[i];
                        if (w.depth_below_top == want && w.key.size() == key_len_ &&
                            std::memcmp(w.key.data(), key_buf_, key_len_) == 0) {
                            expect_value_ = static_cast<int>(i);
                            break;
                        }
                    }
                }
                key_valid_ = false;
                break;
            case '{':
            case '[':
                key_valid_ = false;
                if (depth_ == 0) root_ = c;
                if (expect_value_ >= 0) begin_capture(cap_container, p);
                ++depth_;
                if (depth_ > max_depth) flags_ |= scan_too_deep;
                break;
            case '}':
            case ']':
                key_valid_ = false;
                expect_value_ = -1;
                if (depth_ == 0) {
                    flags_ |= scan_unbalanced;
                    break;
                }
                --depth_;
                if (cap_kind_ == cap_container && depth_ == cap_depth_) finish_capture(p + 1);
                if (depth_ == 0) {
                    ++roots_closed_;
                    root_ = 0;
                }
                break;
            case ',':
                key_valid_ = false;
                expect_value_ = -1;
                break;
            default:
                key_valid_ = false;
                if (depth_ == 0) flags_ |= scan_not_json;
                if (expect_value_ >= 0) begin_capture(cap_scalar, p);
                break;
        }
        ++p;
    }
    if (cap_kind_ != cap_none) append_capture(cap_from_, end);
}

void json_scanner::on_string_end(const char* seg, const char* q) noexcept {
    if (cap_kind_ == cap_string) {
        finish_capture(q + 1);
        return;
    }
    if (cap_kind_ != cap_none) return;
    const auto n = static_cast<std::size_t>(q - seg);
    if (key_partial_overflow_ || key_len_ + n > max_key_len) {
        key_valid_ = false;
        return;
    }
    std::memcpy(key_buf_ + key_len_, seg, n);
    key_len_ += n;
    key_valid_ = true;
    key_depth_ = depth_;
}

void json_scanner::begin_capture(cap_state kind, const char* at) noexcept {
    cap_kind_ = kind;
    cap_watch_ = expect_value_;
    expect_value_ = -1;
    cap_depth_ = depth_;
    cap_from_ = at;
    cap_overflow_ = false;
    cap_buf_.clear();
}

void json_scanner::append_capture(const char* from, const char* to) noexcept {
    if (cap_overflow_ || to <= from) return;
    const auto n = static_cast<std::size_t>(to - from);
    if (cap_buf_.size() + n > watches_[static_cast<std::size_t>(cap_watch_)].max_bytes) {
        cap_overflow_ = true;
        cap_buf_.clear();
        return;
    }
    if (cap_buf_.capacity() < cap_buf_.size() + n) {
        // Reserved once, at the first capture, so that feed() allocates at most once; a
        // tap whose events all went to the skimmer never captures here and never pays.
        // Out of memory, the value is reported as too large: nothing is invented.
        try {
            cap_buf_.reserve(cap_reserve_);
        } catch (...) {
            cap_overflow_ = true;
            cap_buf_.clear();
            return;
        }
    }
    cap_buf_.append(from, n);  // within the reserved capacity: no allocation
}

void json_scanner::finish_capture(const char* end_exclusive) noexcept {
    append_capture(cap_from_, end_exclusive);
    json_value_kind kind = json_value_kind::scalar;
    if (cap_overflow_) {
        kind = json_value_kind::too_large;
    } else if (cap_kind_ == cap_string) {
        kind = json_value_kind::string;
    } else if (cap_kind_ == cap_container) {
        kind = (!cap_buf_.empty() && cap_buf_.front() == '[') ? json_value_kind::array
                                                              : json_value_kind::object;
    }
    const auto idx = static_cast<std::size_t>(cap_watch_);
    cap_kind_ = cap_none;
    cap_watch_ = -1;
    handler_.on_value(idx, kind, kind == json_value_kind::too_large ? std::string_view{} : std::string_view{cap_buf_});
    cap_buf_.clear();
}

void json_scanner::end_document() noexcept {
    if (depth_ != 0 || in_string_ || cap_kind_ == cap_string || cap_kind_ == cap_container)
        flags_ |= scan_truncated;
    depth_ = 0;
    root_ = 0;
    in_string_ = false;
    backslash_run_ = 0;
    key_valid_ = false;
    key_len_ = 0;
    expect_value_ = -1;
    cap_kind_ = cap_none;
    cap_watch_ = -1;
    cap_buf_.clear();
}

}  // namespace gm::metering

#include "metering/sse_framer.hpp"

#include "metering/json_skim.hpp"

#include <algorithm>
#include <cstring>

namespace gm::metering {

namespace {
constexpr std::size_t field_too_long = 99;  // longer than any field name we compare
constexpr char newline[] = "\n";             // joins the data lines of one event
}

void sse_framer::feed(std::string_view bytes) noexcept {
    const char* p = bytes.data();
    const char* const end = p + bytes.size();
    // One vectorised pass finds either break, so each byte of a line is read once.
    auto find_eol = [&](const char* from) { return find_line_break(from, end); };

    while (p < end) {
        const char c = *p;
        if (cr_pending_) {
            cr_pending_ = false;
            if (c == '\n') {
                ++p;
                continue;
            }
        }
        if (c == '\n' || c == '\r') {
            cr_pending_ = (c == '\r');
            end_of_line();
            ++p;
            continue;
        }
        switch (state_) {
            case line_state::start:
                if (c == ':') {  // a comment line
                    state_ = line_state::ignore;
                    ++p;
                    continue;
                }
                state_ = line_state::field;
                field_len_ = 0;
                [[fallthrough]];
            case line_state::field:
                if (c == ':') {
                    const bool is_data = field_len_ == 4 && std::memcmp(field_, "data", 4) == 0;
                    state_ = is_data ? line_state::skip_space : line_state::ignore;
                    if (is_data) {
                        if (event_has_data_) data_piece(newline, newline + 1);
                        event_has_data_ = true;
                    }
                } else if (field_len_ < sizeof field_) {
                    field_[field_len_++] = c;
                } else {
                    field_len_ = field_too_long;
                }
                ++p;
                continue;
            case line_state::skip_space:
                state_ = line_state::data;
                if (c == ' ') {
                    ++p;
                    continue;
                }
                [[fallthrough]];
            case line_state::data: {
                const char* eol = find_eol(p);
                data_piece(p, eol);
                p = eol;
                continue;
            }
            case line_state::ignore:
                p = find_eol(p);
                continue;
        }
    }
}

void sse_framer::end_of_line() noexcept {
    if (state_ == line_state::start) {
        dispatch();
        return;
    }
    if (state_ == line_state::field && field_len_ == 4 && std::memcmp(field_, "data", 4) == 0) {
        // "data" without a colon: an empty data line.
        if (event_has_data_) data_piece(newline, newline + 1);
        event_has_data_ = true;
    }
    state_ = line_state::start;
}

void sse_framer::dispatch() noexcept {
    if (!event_has_data_) return;
    const bool done = data_len_ == 6 && std::memcmp(head_, "[DONE]", 6) == 0;
    ++events_;
    event_has_data_ = false;
    data_len_ = 0;
    handler_.on_event_end(done);
}

void sse_framer::data_piece(const char* from, const char* to) noexcept {
    if (to <= from) return;
    const auto n = static_cast<std::size_t>(to - from);
    if (data_len_ < sizeof head_) {
        const std::size_t k = std::min(n, sizeof head_ - data_len_);
        std::memcpy(head_ + data_len_, from, k);
    }
    data_len_ = std::min<std::size_t>(data_len_ + n, 1u << 20);
    handler_.on_event_data(std::string_view(from, n));
}

void sse_framer::finish() noexcept {
    cr_pending_ = false;
    if (state_ != line_state::start) end_of_line();
    dispatch();
}

}  // namespace gm::metering

#include "metering/json_array_framer.hpp"

namespace gm::metering {

void json_array_framer::give_up(std::string_view rest) noexcept {
    state_ = state::passthrough;
    if (!held_.empty()) handler_.on_outside(held_);
    held_.clear();
    held_.shrink_to_fit();
    if (!rest.empty()) handler_.on_outside(rest);
}

void json_array_framer::feed(std::string_view bytes) noexcept {
    std::size_t p = 0;
    const std::size_t n = bytes.size();
    while (p < n) {
        switch (state_) {
            case state::passthrough:
                handler_.on_outside(bytes.substr(p));
                return;
            case state::start:
                if (bytes[p] != '[') {
                    give_up(bytes.substr(p));
                    return;
                }
                handler_.on_outside(bytes.substr(p, 1));
                ++p;
                state_ = state::between;
                continue;
            case state::between: {
                // The array's own bytes go to the scanner, which keeps its place in the
                // array (depth 1) while the elements pass it by.
                std::size_t q = p;
                while (q < n && (bytes[q] == ' ' || bytes[q] == '\n' || bytes[q] == '\r' || bytes[q] == '\t' ||
                                 bytes[q] == ','))
                    ++q;
                if (q > p) handler_.on_outside(bytes.substr(p, q - p));
                if (q == n) return;
                if (bytes[q] != '{') {  // the end of the array, or something we do not split
                    give_up(bytes.substr(q));
                    return;
                }
                state_ = state::element;
                bracket_ = {};
                p = q;
                [[fallthrough]];
            }
            case state::element: {
                const std::string_view rest = bytes.substr(p);
                const std::size_t end = json_find_close(rest, bracket_);
                const std::size_t take = end == std::string_view::npos ? rest.size() : end;
                if (held_.size() + take > max_element) {
                    give_up(rest);
                    return;
                }
                std::string_view element = rest.substr(0, take);
                if (!held_.empty() || end == std::string_view::npos) {
                    // The element spans chunks: keep its bytes, as this chunk goes away.
                    try {
                        held_.append(element);
                    } catch (...) {
                        give_up(rest);
                        return;
                    }
                    element = held_;
                }
                if (end == std::string_view::npos) return;
                ++elements_;
                if (!handler_.on_element(element)) {
                    if (held_.empty()) {
                        give_up(rest);
                    } else {
                        give_up(rest.substr(take));
                    }
                    return;
                }
                held_.clear();
                state_ = state::between;
                p += take;
                continue;
            }
        }
    }
}

void json_array_framer::finish() noexcept {
    if (state_ == state::element) give_up({});
}

}  // namespace gm::metering

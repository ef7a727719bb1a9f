#pragma once
// Splits a JSON-array stream (streamGenerateContent without alt=sse: "[{...},{...}]"
// arriving in pieces) into its object elements, so that each can be read whole by
// json_skimmer like an SSE event. Everything else — the array's brackets, commas and
// whitespace, an element too large to hold, and every byte from the first thing that is not
// an object element on — is handed on unchanged for json_scanner, which then sees the same
// document minus the elements the handler took. Memory: one element, at most max_element.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "metering/json_skim.hpp"

namespace gm::metering {

class json_array_handler {
public:
    // Bytes for json_scanner, in order.
    virtual void on_outside(std::string_view bytes) = 0;
    // One whole object element ('{' to its closing bracket). false: not taken; the framer
    // then hands it, and everything after it, to on_outside.
    virtual bool on_element(std::string_view element) = 0;

protected:
    ~json_array_handler() = default;
};

class json_array_framer {
public:
    static constexpr std::size_t max_element = 64 * 1024;

    explicit json_array_framer(json_array_handler& handler) noexcept : handler_(handler) {}

    // The body's bytes from its first non-blank byte on, any split.
    void feed(std::string_view bytes) noexcept;
    // The body ended: an element cut short goes to on_outside (json_scanner then says the
    // body was truncated).
    void finish() noexcept;

    std::uint64_t elements() const noexcept { return elements_; }
    bool splitting() const noexcept { return state_ != state::passthrough; }

private:
    enum class state : std::uint8_t { start, between, element, passthrough };

    void give_up(std::string_view rest) noexcept;

    json_array_handler& handler_;
    state state_ = state::start;
    json_bracket_state bracket_;
    std::string held_;  // the element so far, once it spans chunks
    std::uint64_t elements_ = 0;
};

}  // namespace gm::metering

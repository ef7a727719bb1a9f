#pragma once
// Splits a text/event-stream into the payload of its `data:` lines, incrementally.
// Lines end in \n, \r\n or \r; a blank line ends an event. Only `data` fields matter
// to metering; other fields and comments are skipped without copying anything.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace gm::metering {

class sse_event_handler {
public:
    // A piece of the current event's data (several data lines are joined by "\n").
    virtual void on_event_data(std::string_view piece) = 0;
    // The event ended; is_done: its data was exactly "[DONE]" (the OpenAI end marker).
    virtual void on_event_end(bool is_done) = 0;

protected:
    ~sse_event_handler() = default;
};

class sse_framer {
public:
    explicit sse_framer(sse_event_handler& handler) noexcept : handler_(handler) {}

    void feed(std::string_view bytes) noexcept;
    // The body ended: an event without its blank line is dispatched anyway, because
    // its usage is still the best we know.
    void finish() noexcept;

    std::uint64_t events() const noexcept { return events_; }

private:
    enum class line_state : std::uint8_t { start, field, skip_space, data, ignore };

    void end_of_line() noexcept;
    void dispatch() noexcept;
    void data_piece(const char* from, const char* to) noexcept;

    sse_event_handler& handler_;
    line_state state_ = line_state::start;
    bool cr_pending_ = false;      // the previous byte was \r: a following \n is the same break
    char field_[8];
    std::size_t field_len_ = 0;
    bool event_has_data_ = false;
    char head_[8];                 // first bytes of the event's data, to recognise [DONE]
    std::size_t data_len_ = 0;     // saturates; only compared with 6
    std::uint64_t events_ = 0;
};

}  // namespace gm::metering

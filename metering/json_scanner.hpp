#pragma once
// Incremental, allocation-bounded scanner that finds a few watched keys in a stream of
// JSON text and hands over only their (small) values. It is string- and depth-aware but
// not a validator: everything that is not a watched value is skipped at memchr speed
// inside strings and one byte at a time outside them. Memory does not depend on the
// size of the input: the only buffer is the capture of one watched value, capped per key.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace gm::metering {

enum class json_value_kind : std::uint8_t {
    object,     // raw is the whole object text, braces included
    array,
    string,     // raw is the string token, quotes included, escapes untouched
    scalar,     // number, true, false, null (raw token)
    too_large,  // the value exceeded the watch's max_bytes; raw is empty
};

// A key to find. depth_below_top 0 means a member of a top-level object: the root
// object of a document, or an element of a root array ([{...},{...}] streams).
struct json_watch {
    std::string_view key;
    int depth_below_top = 0;
    std::size_t max_bytes = 4096;
};

class json_scan_handler {
public:
    virtual void on_value(std::size_t watch_index, json_value_kind kind, std::string_view raw) = 0;

protected:
    ~json_scan_handler() = default;
};

// Structural oddities seen so far (bit flags); the owner turns them into problem text.
enum json_scan_flag : std::uint32_t {
    scan_unbalanced = 1u << 0,      // a closing bracket with nothing open
    scan_not_json = 1u << 1,        // bytes outside any value that are not JSON
    scan_too_deep = 1u << 2,        // nesting deeper than max_depth
    scan_truncated = 1u << 3,       // a document ended (or the body ended) inside a value
};

class json_scanner {
public:
    static constexpr int max_depth = 64;
    static constexpr std::size_t max_key_len = 32;

    // watches must outlive the scanner (normally a static array).
    json_scanner(std::span<const json_watch> watches, json_scan_handler& handler);

    void feed(std::string_view bytes) noexcept;
    // A document boundary known from outside (the end of an SSE event): anything still
    // open is truncated; the next byte starts a new document.
    void end_document() noexcept;

    std::uint32_t flags() const noexcept { return flags_; }
    // True when at least one root value was opened and every opened value was closed.
    bool complete() const noexcept { return roots_closed_ > 0 && idle(); }
    bool idle() const noexcept { return depth_ == 0 && !in_string_ && cap_kind_ == cap_none; }
    std::uint64_t roots_closed() const noexcept { return roots_closed_; }

private:
    enum cap_state : std::uint8_t { cap_none, cap_container, cap_string, cap_scalar };

    void on_string_end(const char* str_begin, const char* str_end) noexcept;
    void begin_capture(cap_state kind, const char* at) noexcept;
    void append_capture(const char* from, const char* to) noexcept;
    void finish_capture(const char* end_exclusive) noexcept;
    int top_depth() const noexcept { return root_ == '[' ? 2 : 1; }

    std::span<const json_watch> watches_;
    json_scan_handler& handler_;

    std::int64_t depth_ = 0;
    char root_ = 0;                 // '{' or '[' of the current document, 0 between documents
    std::uint64_t roots_closed_ = 0;
    std::uint32_t flags_ = 0;

    bool in_string_ = false;
    std::size_t backslash_run_ = 0; // backslashes right before the current position (in a string)

    // The last complete string, if short: a key candidate until ':' confirms it.
    char key_buf_[max_key_len];
    std::size_t key_len_ = 0;
    bool key_valid_ = false;        // key_buf_ holds the last string and nothing came after it
    bool key_partial_overflow_ = false;
    std::int64_t key_depth_ = 0;

    int expect_value_ = -1;         // watch index whose value starts at the next token

    cap_state cap_kind_ = cap_none;
    int cap_watch_ = -1;
    std::int64_t cap_depth_ = 0;    // depth outside the captured container
    const char* cap_from_ = nullptr;  // where the not yet appended part starts in this chunk
    bool cap_overflow_ = false;
    std::size_t cap_reserve_ = 0;   // the largest max_bytes of the watches
    std::string cap_buf_;
};

}  // namespace gm::metering

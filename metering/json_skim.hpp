#pragma once
// The fast path for one whole JSON document held in memory (an SSE event, an element of
// a JSON-array stream). It reports exactly what json_scanner would report for the same
// document, but from a vectorised structural pass (64 bytes at a time: quotes, escapes,
// brackets outside strings) followed by work only at the few strings that spell a watched
// key, instead of a byte-at-a-time walk. It answers only for the documents real traffic is
// made of — one object, nothing but whitespace around it, no backslash outside a string,
// nesting within the limit — and declines everything else, which the caller then gives to
// json_scanner; so both paths give the same result, and which one runs depends only on the
// document's bytes, never on how they arrived.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "metering/json_scanner.hpp"

namespace gm::metering {

struct json_skim_hit {
    std::size_t watch;
    json_value_kind kind;
    std::string_view raw;  // a view into the skimmed document (empty when too_large)
};

// One 64-byte block's structure; internal to the skimmer, declared here for its scratch.
struct json_skim_block {
    std::uint64_t real_quotes;  // quotes that open or close a string
    std::uint64_t opens;        // { and [ outside strings
    std::uint64_t closes;       // } and ] outside strings
    std::uint64_t string_starts;
};

// The watched keys arranged for the kernel. Built once per watch list (a tap is built per
// call, its watch list is static).
struct json_skim_keys {
    static constexpr std::size_t max_per_length = 8;
    // keys must be 1..json_scanner::max_key_len bytes without quotes or backslashes, at
    // most max_per_length of one length (std::invalid_argument otherwise). watches must
    // outlive the table.
    explicit json_skim_keys(std::span<const json_watch> watches);

    std::span<const json_watch> watches;
    std::uint8_t by_length[json_scanner::max_key_len + 1][max_per_length];  // watch indices
    std::uint8_t count_by_length[json_scanner::max_key_len + 1] = {};
};

class json_skimmer {
public:
    static constexpr std::size_t max_hits = 32;
    static constexpr std::size_t max_candidates = 64;

    // keys must outlive the skimmer.
    explicit json_skimmer(const json_skim_keys& keys) noexcept : keys_(keys) {}

    // extra_depth: levels the document sits below its root in the scanner's view (1 for
    // an element of a root array), so that the too-deep limit is the scanner's.
    // true: hits() is what json_scanner reports for doc, and it would raise no flag and
    // end idle; false: not a document this path answers for (use json_scanner).
    bool skim(std::string_view doc, int extra_depth = 0) noexcept;
    std::span<const json_skim_hit> hits() const noexcept { return {hits_, hit_count_}; }

    // Whether the vectorised kernel runs with AVX2 on this machine (for the benchmark).
    static bool uses_avx2() noexcept;

private:
    const json_skim_keys& keys_;
    std::vector<json_skim_block> blocks_;
    json_skim_hit hits_[max_hits];
    std::size_t hit_count_ = 0;
};

// The first line break (\n or \r) in [from, end), or end; for the SSE framer.
const char* find_line_break(const char* from, const char* end) noexcept;

// Where an element of a JSON-array stream ends: string- and escape-aware bracket
// counting, vectorised like the skimmer, resumable across chunks. Start with a fresh state
// at the element's opening bracket.
struct json_bracket_state {
    std::int64_t depth = 0;
    std::uint64_t in_string = 0;     // all ones inside a string
    std::uint64_t escape_carry = 0;  // the previous chunk ended in an escaping backslash
};
// Offset just past the bracket that brings the depth back to 0, or npos (state kept).
std::size_t json_find_close(std::string_view bytes, json_bracket_state& state) noexcept;

}  // namespace gm::metering

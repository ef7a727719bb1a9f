// The body of json_skimmer::skim, compiled once per instruction set: json_skim.cpp
// includes it for the baseline (SSE2 on x86-64, plain C++ elsewhere) and
// json_skim_avx2.cpp with AVX2. Everything is in an unnamed namespace so that the two
// copies, built with different instruction sets, never stand in for each other at link
// time. Not a public header.
#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#include "metering/json_skim.hpp"

#if defined(GM_SKIM_AVX2)
#include <immintrin.h>
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace gm::metering {
namespace {

struct byte_masks {
    std::uint64_t quotes, backslashes, opens, closes;
};

#if defined(GM_SKIM_AVX2)
inline std::uint64_t eq_mask(__m256i v, char c) {
    return static_cast<std::uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_set1_epi8(c))));
}
inline byte_masks classify(const char* p) {
    const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32));
    // '{' and '[' differ only in bit 0x20, as do '}' and ']'; no other byte maps onto them.
    const __m256i lower = _mm256_set1_epi8(0x20);
    const __m256i al = _mm256_or_si256(a, lower), bl = _mm256_or_si256(b, lower);
    return {eq_mask(a, '"') | eq_mask(b, '"') << 32, eq_mask(a, '\\') | eq_mask(b, '\\') << 32,
            eq_mask(al, '{') | eq_mask(bl, '{') << 32, eq_mask(al, '}') | eq_mask(bl, '}') << 32};
}
inline std::uint64_t prefix_xor(std::uint64_t x) {
    // Carry-less multiplication by all ones: bit i becomes the xor of bits 0..i.
    const __m128i r = _mm_clmulepi64_si128(_mm_set_epi64x(0, static_cast<long long>(x)), _mm_set1_epi8(-1), 0);
    return static_cast<std::uint64_t>(_mm_cvtsi128_si64(r));
}
#else
#if defined(__SSE2__)
inline std::uint64_t eq_mask(__m128i v, char c) {
    return static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(c))));
}
inline byte_masks classify(const char* p) {
    byte_masks m{0, 0, 0, 0};
    const __m128i lower = _mm_set1_epi8(0x20);
    for (int k = 0; k < 4; ++k) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * k));
        const __m128i l = _mm_or_si128(v, lower);
        m.quotes |= eq_mask(v, '"') << (16 * k);
        m.backslashes |= eq_mask(v, '\\') << (16 * k);
        m.opens |= eq_mask(l, '{') << (16 * k);
        m.closes |= eq_mask(l, '}') << (16 * k);
    }
    return m;
}
#else
inline byte_masks classify(const char* p) {
    byte_masks m{0, 0, 0, 0};
    for (int i = 0; i < 64; ++i) {
        const std::uint64_t bit = std::uint64_t{1} << i;
        switch (p[i]) {
            case '"': m.quotes |= bit; break;
            case '\\': m.backslashes |= bit; break;
            case '{': case '[': m.opens |= bit; break;
            case '}': case ']': m.closes |= bit; break;
            default: break;
        }
    }
    return m;
}
#endif
inline std::uint64_t prefix_xor(std::uint64_t x) {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    return x;
}
#endif

inline bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

inline bool ends_scalar(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == '}' || c == ']' || c == ':' ||
           c == '"' || c == '{' || c == '[';
}

// Bits of the characters escaped by a backslash, reading left to right as a JSON string
// does. carry: the previous block ended in an escaping backslash (its bit 0 is escaped).
// The reference version, one backslash at a time (tests check escaped_bits against it).
inline std::uint64_t escaped_bits_loop(std::uint64_t backslashes, std::uint64_t& carry) {
    std::uint64_t escaped = carry;
    backslashes &= ~carry;
    carry = 0;
    while (backslashes != 0) {
        const int i = std::countr_zero(backslashes);
        if (i == 63) {
            carry = 1;
            break;
        }
        escaped |= std::uint64_t{2} << i;
        backslashes &= ~(std::uint64_t{3} << i);
    }
    return escaped;
}

// The same without a branch per backslash (simdjson's method): in a run of backslashes
// the escaping ones are those at even distance from the run's start; subtracting the
// backslashes from "shifted backslashes or odd bits" marks even- and odd-aligned runs
// apart in one carry chain.
inline std::uint64_t escaped_bits(std::uint64_t backslashes, std::uint64_t& carry) {
    constexpr std::uint64_t odd_bits = 0xAAAAAAAAAAAAAAAAull;
    const std::uint64_t potential = backslashes & ~carry;
    const std::uint64_t code = (((potential << 1) | odd_bits) - potential) ^ odd_bits;
    const std::uint64_t escaped = code ^ (backslashes | carry);
    const std::uint64_t escaping = code & backslashes;
    carry = escaping >> 63;
    return escaped;
}

// Equal bytes for a short key; inline, as the library call costs more than the compare.
inline bool same_bytes(const char* a, const char* b, std::size_t n) {
    while (n >= 8) {
        std::uint64_t x, y;
        std::memcpy(&x, a, 8);
        std::memcpy(&y, b, 8);
        if (x != y) return false;
        a += 8;
        b += 8;
        n -= 8;
    }
    while (n > 0) {
        if (*a++ != *b++) return false;
        --n;
    }
    return true;
}

inline std::uint64_t below(unsigned i) { return (std::uint64_t{1} << i) - 1; }
inline std::uint64_t above(unsigned i) { return i == 63 ? 0 : ~((std::uint64_t{2} << i) - 1); }

struct candidate {
    std::size_t value;  // where the value's first byte is
    std::size_t key;    // the key's opening quote
    std::size_t watch;
    std::int64_t depth;  // the object depth of the key (1: a member of the root object)
};

// Position of the first string-delimiting quote after `from`.
inline std::size_t next_quote(const json_skim_block* blocks, std::size_t from) {
    std::size_t b = from / 64;
    std::uint64_t bits = blocks[b].real_quotes & above(static_cast<unsigned>(from % 64));
    while (bits == 0) bits = blocks[++b].real_quotes;
    return b * 64 + static_cast<std::size_t>(std::countr_zero(bits));
}

// Position of the bracket that closes the one at `open`, which sits at depth `outer`.
inline std::size_t matching_close(const json_skim_block* blocks, std::size_t open, std::int64_t outer) {
    std::size_t b = open / 64;
    const std::uint64_t mask = above(static_cast<unsigned>(open % 64));
    std::uint64_t o = blocks[b].opens & mask, c = blocks[b].closes & mask;
    std::int64_t d = outer + 1;
    for (;;) {
        if (d - std::popcount(c) > outer) {
            d += std::popcount(o) - std::popcount(c);
        } else {
            for (std::uint64_t bits = o | c; bits != 0; bits &= bits - 1) {
                const int i = std::countr_zero(bits);
                if ((o >> i) & 1u) {
                    ++d;
                } else if (--d == outer) {
                    return b * 64 + static_cast<std::size_t>(i);
                }
            }
        }
        ++b;
        o = blocks[b].opens;
        c = blocks[b].closes;
    }
}

// Returns the number of hits, or -1 when the document is not one this path answers for.
// blocks has room for (doc.size() + 63) / 64 entries.
inline int skim_kernel(std::string_view doc, const json_skim_keys& keys, std::int64_t max_depth,
                       json_skim_block* blocks, json_skim_hit* hits, std::size_t max_hits) {
    const std::span<const json_watch> watches = keys.watches;
    const std::size_t n = doc.size();
    const char* const s = doc.data();
    std::size_t first = 0;
    while (first < n && is_ws(s[first])) ++first;
    if (first == n || s[first] != '{') return -1;
    std::size_t last = n - 1;
    while (is_ws(s[last])) --last;
    if (s[last] != '}' && s[last] != ']') return -1;

    // Pass 1: which quotes delimit strings, and which brackets are outside them.
    const std::size_t nb = (n + 63) / 64;
    std::uint64_t in_string = 0;  // all ones while the previous block ended inside a string
    std::uint64_t escape_carry = 0;
    for (std::size_t b = 0; b < nb; ++b) {
        byte_masks m;
        if (b * 64 + 64 <= n) {
            m = classify(s + b * 64);
        } else {
            char tail[64];
            std::memset(tail, ' ', sizeof tail);
            std::memcpy(tail, s + b * 64, n - b * 64);
            m = classify(tail);
        }
        std::uint64_t escaped = escape_carry;
        if (m.backslashes != 0) {
            escaped = escaped_bits(m.backslashes, escape_carry);
        } else {
            escape_carry = 0;
        }
        const std::uint64_t quotes = m.quotes & ~escaped;
        const std::uint64_t inside = prefix_xor(quotes) ^ in_string;
        in_string = static_cast<std::uint64_t>(static_cast<std::int64_t>(inside) >> 63);
        // A backslash outside a string escapes nothing for json_scanner but would here.
        if ((m.backslashes & ~inside) != 0) return -1;
        blocks[b] = {quotes, m.opens & ~inside, m.closes & ~inside, quotes & inside};
    }
    if (in_string != 0) return -1;

    // Pass 2: the depth never leaves 1..max_depth between the root's brackets; collect the
    // strings that spell a watched key and are followed by a colon.
    candidate cands[json_skimmer::max_candidates];
    std::size_t cand_count = 0;
    std::int64_t depth = 0;
    for (std::size_t b = 0; b < nb; ++b) {
        const json_skim_block& k = blocks[b];
        const int po = std::popcount(k.opens), pc = std::popcount(k.closes);
        if (depth - pc < 1 || depth + po > max_depth) {
            std::int64_t d = depth;
            for (std::uint64_t bits = k.opens | k.closes; bits != 0; bits &= bits - 1) {
                const std::size_t pos = b * 64 + static_cast<std::size_t>(std::countr_zero(bits));
                if ((k.opens >> (pos % 64)) & 1u) {
                    if ((d == 0 && pos != first) || ++d > max_depth) return -1;
                } else if (d == 0 || (--d == 0 && pos != last)) {
                    return -1;
                }
            }
        }
        const std::uint64_t ends = k.real_quotes & ~k.string_starts;
        const std::uint64_t next_ends = b + 1 < nb ? blocks[b + 1].real_quotes & ~blocks[b + 1].string_starts : 0;
        // Every string is looked at, but most leave at the length test (cheaper than
        // first narrowing the strings down to the watched lengths with shifted masks).
        for (std::uint64_t cand = k.string_starts; cand != 0; cand &= cand - 1) {
            const unsigned i = static_cast<unsigned>(std::countr_zero(cand));
            const std::size_t pos = b * 64 + i;
            // The string's own closing quote is the first one after it.
            const std::uint64_t later = ends & above(i);
            const std::size_t close =
                later != 0 ? b * 64 + static_cast<std::size_t>(std::countr_zero(later))
                           : (b + 1) * 64 + static_cast<std::size_t>(std::countr_zero(next_ends | (std::uint64_t{1} << 63)));
            const std::size_t len = close - pos - 1;
            if (len > json_scanner::max_key_len || keys.count_by_length[len] == 0) continue;
            const std::int64_t kd =
                depth + std::popcount(k.opens & below(i)) - std::popcount(k.closes & below(i));
            for (std::size_t x = 0; x < keys.count_by_length[len]; ++x) {
                const std::size_t w = keys.by_length[len][x];
                if (watches[w].depth_below_top != kd - 1 || !same_bytes(s + pos + 1, watches[w].key.data(), len))
                    continue;
                std::size_t j = close + 1;
                while (is_ws(s[j])) ++j;
                if (s[j] != ':') break;  // a string value that spells a key
                ++j;
                while (is_ws(s[j])) ++j;
                if (cand_count == json_skimmer::max_candidates) return -1;
                cands[cand_count++] = {j, pos, w, kd};
                break;
            }
        }
        depth += po - pc;
    }
    if (depth != 0) return -1;

    // Pass 3: the values, in document order; keys inside a value already taken are not
    // keys to json_scanner (it does not look inside what it captures).
    std::size_t hit_count = 0;
    std::size_t taken_until = 0;
    for (std::size_t c = 0; c < cand_count; ++c) {
        const candidate& k = cands[c];
        if (k.key < taken_until) continue;
        const std::size_t v = k.value;
        const char ch = s[v];
        if (ch == ',' || ch == '}' || ch == ']') continue;  // no value: the scanner forgets the key
        if (ch == ':') return -1;  // the scanner would take the token after it: rare, let it
        std::size_t end;
        json_value_kind kind;
        if (ch == '"') {
            end = next_quote(blocks, v) + 1;
            kind = json_value_kind::string;
        } else if (ch == '{' || ch == '[') {
            end = matching_close(blocks, v, k.depth) + 1;
            kind = ch == '[' ? json_value_kind::array : json_value_kind::object;
        } else {
            end = v + 1;
            while (!ends_scalar(s[end])) ++end;
            kind = json_value_kind::scalar;
        }
        if (hit_count == max_hits) return -1;
        std::string_view raw(s + v, end - v);
        if (raw.size() > watches[k.watch].max_bytes) {
            kind = json_value_kind::too_large;
            raw = {};
        }
        hits[hit_count++] = {k.watch, kind, raw};
        taken_until = end;
    }
    return static_cast<int>(hit_count);
}

// The first \n or \r in [p, end), or end: one pass for both.
inline const char* find_eol_kernel(const char* p, const char* end) {
#if defined(GM_SKIM_AVX2)
    const __m256i lf = _mm256_set1_epi8('\n'), cr = _mm256_set1_epi8('\r');
    for (; end - p >= 32; p += 32) {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
        const auto m = static_cast<std::uint32_t>(
            _mm256_movemask_epi8(_mm256_or_si256(_mm256_cmpeq_epi8(v, lf), _mm256_cmpeq_epi8(v, cr))));
        if (m != 0) return p + std::countr_zero(m);
    }
#elif defined(__SSE2__)
    const __m128i lf = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r');
    for (; end - p >= 16; p += 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        const auto m = static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, lf), _mm_cmpeq_epi8(v, cr))));
        if (m != 0) return p + std::countr_zero(m);
    }
#endif
    for (; p < end; ++p)
        if (*p == '\n' || *p == '\r') return p;
    return end;
}

// Continues the search for the bracket that closes an element begun (at depth 0) in an
// earlier call; see json_find_close.
inline std::size_t find_close_kernel(std::string_view bytes, json_bracket_state& st) {
    const std::size_t n = bytes.size();
    for (std::size_t off = 0; off < n; off += 64) {
        const std::size_t len = std::min<std::size_t>(64, n - off);
        byte_masks m;
        if (len == 64) {
            m = classify(bytes.data() + off);
        } else {
            char tail[64];
            std::memset(tail, ' ', sizeof tail);
            std::memcpy(tail, bytes.data() + off, len);
            m = classify(tail);
        }
        std::uint64_t escaped = st.escape_carry;
        if (m.backslashes != 0) {
            escaped = escaped_bits(m.backslashes, st.escape_carry);
        } else {
            st.escape_carry = 0;
        }
        // A short block: the carry is whether its last byte escapes the next chunk's first.
        if (len < 64) st.escape_carry = (escaped >> len) & 1u;
        const std::uint64_t quotes = m.quotes & ~escaped;
        const std::uint64_t inside = prefix_xor(quotes) ^ st.in_string;
        st.in_string = ((inside >> (len - 1)) & 1u) != 0 ? ~std::uint64_t{0} : 0;
        const std::uint64_t o = m.opens & ~inside, c = m.closes & ~inside;
        if (st.depth - std::popcount(c) > 0) {
            st.depth += std::popcount(o) - std::popcount(c);
            continue;
        }
        for (std::uint64_t bits = o | c; bits != 0; bits &= bits - 1) {
            const int i = std::countr_zero(bits);
            if ((o >> i) & 1u) {
                ++st.depth;
            } else if (--st.depth <= 0) {
                return off + static_cast<std::size_t>(i) + 1;
            }
        }
    }
    return std::string_view::npos;
}

}  // namespace
}  // namespace gm::metering

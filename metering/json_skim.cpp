#include "metering/json_skim.hpp"

#include <stdexcept>

#include "metering/json_skim_kernel.hpp"

namespace gm::metering {

#if defined(GM_SKIM_HAVE_AVX2)
namespace detail {
int skim_kernel_avx2(std::string_view doc, const json_skim_keys& keys, std::int64_t max_depth,
                     json_skim_block* blocks, json_skim_hit* hits, std::size_t max_hits);
std::size_t find_close_avx2(std::string_view bytes, json_bracket_state& state);
const char* find_eol_avx2(const char* p, const char* end);
}
#endif

namespace {

bool cpu_has_avx2() noexcept {
#if defined(GM_SKIM_HAVE_AVX2)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("pclmul") &&
           __builtin_cpu_supports("popcnt") && __builtin_cpu_supports("bmi") &&
           __builtin_cpu_supports("bmi2");
#else
    return false;
#endif
}

const bool avx2 = cpu_has_avx2();

}  // namespace

bool json_skimmer::uses_avx2() noexcept { return avx2; }

const char* find_line_break(const char* from, const char* end) noexcept {
#if defined(GM_SKIM_HAVE_AVX2)
    if (avx2) return detail::find_eol_avx2(from, end);
#endif
    return find_eol_kernel(from, end);
}

std::size_t json_find_close(std::string_view bytes, json_bracket_state& state) noexcept {
#if defined(GM_SKIM_HAVE_AVX2)
    if (avx2) return detail::find_close_avx2(bytes, state);
#endif
    return find_close_kernel(bytes, state);
}

json_skim_keys::json_skim_keys(std::span<const json_watch> w) : watches(w) {
    if (watches.size() > 255) throw std::invalid_argument("json_skim_keys: too many watches");
    for (std::size_t i = 0; i < watches.size(); ++i) {
        const auto& key = watches[i].key;
        const std::size_t n = key.size();
        if (n == 0 || n > json_scanner::max_key_len || key.find_first_of("\"\\") != std::string_view::npos ||
            count_by_length[n] == max_per_length)
            throw std::invalid_argument("json_skim_keys: unusable key");
        by_length[n][count_by_length[n]++] = static_cast<std::uint8_t>(i);
    }
}

bool json_skimmer::skim(std::string_view doc, int extra_depth) noexcept {
    hit_count_ = 0;
    const std::size_t blocks = (doc.size() + 63) / 64;
    try {
        if (blocks_.size() < blocks) blocks_.resize(blocks);
    } catch (...) {
        return false;  // the scanner needs no memory for it
    }
    const std::int64_t max_depth = json_scanner::max_depth - extra_depth;
#if defined(GM_SKIM_HAVE_AVX2)
    const int r = avx2 ? detail::skim_kernel_avx2(doc, keys_, max_depth, blocks_.data(), hits_, max_hits)
                       : skim_kernel(doc, keys_, max_depth, blocks_.data(), hits_, max_hits);
#else
    const int r = skim_kernel(doc, keys_, max_depth, blocks_.data(), hits_, max_hits);
#endif
    if (r < 0) return false;
    hit_count_ = static_cast<std::size_t>(r);
    return true;
}

}  // namespace gm::metering

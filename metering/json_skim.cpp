#include "metering/json_skim.hpp"

#include <stdexcept>

#include "metering/json_skim_kernel.hpp"

namespace gm::metering {

#if defined(GM_SKIM_HAVE_AVX2)
namespace detail {
int skim_kernel_avx2(std::string_view doc, std::span<const json_watch> watches, std::uint64_t key_lengths,
                     std::int64_t max_depth, json_skim_block* blocks, json_skim_hit* hits, std::size_t max_hits);
}
#endif

namespace {

bool cpu_has_avx2() noexcept {
#if defined(GM_SKIM_HAVE_AVX2)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("pclmul") &&
           __builtin_cpu_supports("popcnt") && __builtin_cpu_supports("bmi");
#else
    return false;
#endif
}

const bool avx2 = cpu_has_avx2();

}  // namespace

bool json_skimmer::uses_avx2() noexcept { return avx2; }

json_skimmer::json_skimmer(std::span<const json_watch> watches) : watches_(watches) {
    for (const auto& w : watches_) {
        if (w.key.empty() || w.key.size() > json_scanner::max_key_len ||
            w.key.find_first_of("\"\\") != std::string_view::npos)
            throw std::invalid_argument("json_skimmer: unusable key");
        key_lengths_ |= std::uint64_t{1} << w.key.size();
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
    const int r = avx2 ? detail::skim_kernel_avx2(doc, watches_, key_lengths_, max_depth, blocks_.data(), hits_, max_hits)
                       : skim_kernel(doc, watches_, key_lengths_, max_depth, blocks_.data(), hits_, max_hits);
#else
    const int r = skim_kernel(doc, watches_, key_lengths_, max_depth, blocks_.data(), hits_, max_hits);
#endif
    if (r < 0) return false;
    hit_count_ = static_cast<std::size_t>(r);
    return true;
}

}  // namespace gm::metering

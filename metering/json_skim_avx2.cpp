// The skim kernel built for AVX2 (+ PCLMUL, POPCNT, BMI1, BMI2); only called after the CPU
// said it has them (json_skim.cpp).
#define GM_SKIM_AVX2 1
#include "metering/json_skim_kernel.hpp"

namespace gm::metering::detail {

int skim_kernel_avx2(std::string_view doc, const json_skim_keys& keys, std::int64_t max_depth,
                     json_skim_block* blocks, json_skim_hit* hits, std::size_t max_hits) {
    return skim_kernel(doc, keys, max_depth, blocks, hits, max_hits);
}

std::size_t find_close_avx2(std::string_view bytes, json_bracket_state& state) {
    return find_close_kernel(bytes, state);
}

const char* find_eol_avx2(const char* p, const char* end) { return find_eol_kernel(p, end); }

}  // namespace gm::metering::detail

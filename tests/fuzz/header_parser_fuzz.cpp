// libFuzzer target: the proxy's header parser against Beast's on arbitrary bytes. The first
// byte picks request or response and the step the text is fed in; the target aborts when
// the two disagree in a way header_parser_test would report (parser_agreement.hpp).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tests/proxy/parser_agreement.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0)
        return 0;
    const bool request = (data[0] & 1) != 0;
    const std::size_t step = (data[0] >> 1) == 0 ? size : (data[0] >> 1);
    const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
    const std::string why = request ? gm::proxy::testing::disagreement<true>(text, step)
                                    : gm::proxy::testing::disagreement<false>(text, step);
    if (!why.empty()) {
        std::fprintf(stderr, "%s\n", why.c_str());
        std::abort();
    }
    return 0;
}

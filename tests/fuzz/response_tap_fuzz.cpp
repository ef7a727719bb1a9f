// Fuzzes the whole response path: decoders, framing, scanner, usage parsers.
// Input: [options byte][split seed byte][body...]. Besides crashes, it checks the
// property the proxy relies on: the result does not depend on how the bytes are split.
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "metering/response_tap.hpp"

using namespace gm::metering;

namespace {

std::string zlib_compress(std::string_view d, int window_bits) {
    z_stream z{};
    if (deflateInit2(&z, 1, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK) return {};
    std::string out(deflateBound(&z, static_cast<uLong>(d.size())) + 64, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(d.data()));
    z.avail_in = static_cast<uInt>(d.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

tap_result run(const response_tap_options& o, std::string_view body, std::uint8_t seed, bool complete) {
    response_tap tap(o);
    std::size_t pos = 0;
    std::uint32_t x = seed * 2654435761u + 1;
    while (pos < body.size()) {
        x = x * 1103515245u + 12345u;
        const std::size_t n = seed == 0 ? body.size() : 1 + (x >> 16) % (seed % 64 + 1);
        tap.feed(body.substr(pos, n));
        pos += n < body.size() - pos ? n : body.size() - pos;
    }
    return tap.finish(complete);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const std::uint8_t opt = data[0];
    const std::uint8_t seed = data[1];
    std::string_view body(reinterpret_cast<const char*>(data + 2), size - 2);
    std::string compressed;

    static const char* const encodings[] = {"", "gzip", "deflate", "br", "zstd", "gzip, br", "gzip", "deflate"};
    static const char* const methods[] = {"generateContent", "streamGenerateContent", "chat/completions",
                                          "embedContent"};
    response_tap_options o;
    o.content_encoding = encodings[opt & 7];
    if ((opt & 7) == 6) body = compressed = zlib_compress(body, 15 + 16);  // valid gzip around fuzzed text
    if ((opt & 7) == 7) body = compressed = zlib_compress(body, -15);      // valid raw deflate
    o.content_type = (opt & 8) ? "text/event-stream" : "application/json";
    o.openai_compat = (opt & 16) != 0;
    o.http_status = (opt & 32) ? 429 : 200;
    o.gemini_method = methods[(opt >> 6) & 3];

    const bool complete = (seed & 128) == 0;
    const tap_result whole = run(o, body, 0, complete);
    const tap_result split = run(o, body, seed | 1, complete);
    if (whole.has_usage != split.has_usage || !(whole.tokens == split.tokens) ||
        whole.model_version != split.model_version || whole.response_id != split.response_id ||
        whole.finished != split.finished || whole.error_message != split.error_message ||
        whole.problems != split.problems)
        std::abort();  // the result depends on how the bytes were split
    if (whole.has_usage && (whole.tokens.prompt < 0 || whole.tokens.cached > whole.tokens.prompt)) std::abort();
    return 0;
}

#include "tap_test_util.hpp"

#include <brotli/encode.h>
#include <zlib.h>
#include <zstd.h>

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace gm::metering::test {

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open " + path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string read_sample(const std::string& name) { return read_file(std::string(GM_METERING_SAMPLES) + "/" + name); }

std::string zlib_encode(std::string_view data, int window_bits, int level, gz_header* header) {
    z_stream z{};
    if (deflateInit2(&z, level, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::runtime_error("deflateInit2");
    if (header != nullptr) deflateSetHeader(&z, header);
    std::string out(deflateBound(&z, static_cast<uLong>(data.size())) + 256, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z.avail_in = static_cast<uInt>(data.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) throw std::runtime_error("deflate");
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

std::string gzip(std::string_view d) { return zlib_encode(d, 15 + 16); }
std::string zlib_deflate(std::string_view d) { return zlib_encode(d, 15); }
std::string raw_deflate(std::string_view d) { return zlib_encode(d, -15); }

std::string brotli(std::string_view d) {
    std::size_t n = BrotliEncoderMaxCompressedSize(d.size()) + 64;
    std::string out(n, '\0');
    if (!BrotliEncoderCompress(5, 22, BROTLI_MODE_TEXT, d.size(), reinterpret_cast<const uint8_t*>(d.data()), &n,
                               reinterpret_cast<uint8_t*>(out.data())))
        throw std::runtime_error("brotli");
    out.resize(n);
    return out;
}

std::string zstd(std::string_view d, int window_log) {
    ZSTD_CCtx* c = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 3);
    if (window_log > 0) ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, window_log);
    std::string out(ZSTD_compressBound(d.size()) + 64, '\0');
    // Streamed in pieces without a pledged size, so the frame header declares the full
    // window instead of one shrunk to the content.
    ZSTD_outBuffer ob{out.data(), out.size(), 0};
    const std::size_t piece = 64 * 1024;
    for (std::size_t pos = 0; pos + piece < d.size(); pos += piece) {
        ZSTD_inBuffer in{d.data() + pos, piece, 0};
        while (in.pos < in.size)
            if (ZSTD_isError(ZSTD_compressStream2(c, &ob, &in, ZSTD_e_continue))) throw std::runtime_error("zstd");
    }
    const std::size_t last = d.size() - (d.size() > piece ? (d.size() - 1) / piece * piece : 0);
    ZSTD_inBuffer in{d.data() + (d.size() - last), last, 0};
    std::size_t r = 0;
    do {
        r = ZSTD_compressStream2(c, &ob, &in, ZSTD_e_end);
        if (ZSTD_isError(r)) throw std::runtime_error("zstd");
    } while (r != 0);
    out.resize(ob.pos);
    ZSTD_freeCCtx(c);
    return out;
}

tap_result run_tap(const response_tap_options& o, std::string_view body, const std::vector<std::size_t>& cuts,
                   bool body_complete) {
    response_tap tap(o);
    std::size_t pos = 0;
    for (std::size_t c : cuts) {
        tap.feed(body.substr(pos, c - pos));
        pos = c;
    }
    tap.feed(body.substr(pos));
    return tap.finish(body_complete);
}

void for_every_split(const response_tap_options& o, std::string_view body,
                     const std::function<void(const tap_result&)>& check) {
    {
        INFO("body in one piece");
        check(run_tap(o, body, {}));
    }
    for (std::size_t k = 1; k < body.size(); ++k) {
        INFO("body cut at byte " << k);
        check(run_tap(o, body, {k}));
    }
    std::vector<std::size_t> every;
    for (std::size_t k = 1; k < body.size(); ++k) every.push_back(k);
    INFO("body fed one byte at a time");
    check(run_tap(o, body, every));
}

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
    std::size_t pos = 0;
    while ((pos = s.find(from, pos)) != std::string::npos) {
        s.replace(pos, from.size(), to);
        pos += to.size();
    }
    return s;
}

}  // namespace gm::metering::test

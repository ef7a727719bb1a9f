#include "fake_gzip.hpp"

#include <stdexcept>

namespace gm::test {

std::string gzip_compress(std::string_view data) {
    gzip_stream s;
    return s.write(data, true);
}

gzip_stream::gzip_stream() {
    // windowBits 15 + 16: a gzip wrapper rather than a raw zlib one.
    if (deflateInit2(&z_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::runtime_error("deflateInit2 failed");
}

gzip_stream::~gzip_stream() { deflateEnd(&z_); }

std::string gzip_stream::write(std::string_view data, bool finish) {
    std::string out;
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z_.avail_in = static_cast<uInt>(data.size());
    const int flush = finish ? Z_FINISH : Z_SYNC_FLUSH;
    char buf[16384];
    for (;;) {
        z_.next_out = reinterpret_cast<Bytef*>(buf);
        z_.avail_out = sizeof buf;
        const int rc = deflate(&z_, flush);
        out.append(buf, sizeof buf - z_.avail_out);
        if (rc == Z_STREAM_END) break;
        if (rc != Z_OK && rc != Z_BUF_ERROR) throw std::runtime_error("deflate failed");
        if (z_.avail_out != 0 && z_.avail_in == 0 && !finish) break;
    }
    return out;
}

}  // namespace gm::test

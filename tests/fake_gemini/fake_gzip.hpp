#pragma once
// gzip as Google sends it: whole bodies for unary answers, and (on request) a stream
// flushed after every event so that each event can be decoded when it arrives.
#include <string>
#include <string_view>
#include <zlib.h>

namespace gm::test {

std::string gzip_compress(std::string_view data);

class gzip_stream {
public:
    gzip_stream();
    ~gzip_stream();
    gzip_stream(const gzip_stream&) = delete;
    gzip_stream& operator=(const gzip_stream&) = delete;
    // Compressed bytes for data, sync-flushed; finish=true also ends the gzip member.
    std::string write(std::string_view data, bool finish);

private:
    z_stream z_{};
};

}  // namespace gm::test

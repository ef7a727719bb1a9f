#pragma once
// Helpers for the metering tests: sample files, real encoders, and feeding a body to a
// tap split in a given way.
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>
#include <zlib.h>

#include "metering/response_tap.hpp"

namespace gm::metering::test {

std::string read_sample(const std::string& name);
std::string read_file(const std::string& path);

// zlib's deflate with the given window bits (15 + 16 gzip, 15 zlib, -15 raw), level and,
// for gzip, header fields.
std::string zlib_encode(std::string_view data, int window_bits, int level = 6, gz_header* header = nullptr);
std::string gzip(std::string_view data);
std::string zlib_deflate(std::string_view data);  // HTTP "deflate" as specified (zlib wrapper)
std::string raw_deflate(std::string_view data);   // what some servers send instead
std::string brotli(std::string_view data);
std::string zstd(std::string_view data, int window_log = 0);

// Feeds body to a fresh tap cut at the given offsets (ascending), then finishes it.
tap_result run_tap(const response_tap_options& o, std::string_view body, const std::vector<std::size_t>& cuts,
                   bool body_complete = true);
// Calls check(result) for the body in one piece, cut at every offset, and byte by byte.
void for_every_split(const response_tap_options& o, std::string_view body,
                     const std::function<void(const tap_result&)>& check);

std::string replace_all(std::string s, std::string_view from, std::string_view to);

}  // namespace gm::metering::test

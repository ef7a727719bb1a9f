// Usage extraction throughput against a plain memory scan of the same bytes.
//   extract_bench [MiB per body, default 64]
// For each body shape it prints MB/s of: memchr over the bytes, memcpy of the bytes, and
// response_tap fed in 16 KiB pieces (as the proxy hands them over), plus the ratios.
#include <zlib.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "metering/response_tap.hpp"

using namespace gm::metering;
using clock_type = std::chrono::steady_clock;

namespace {

std::string text_block(std::size_t n, unsigned seed) {
    // Mostly plain words; now and then an escaped quote or newline, as in real answers.
    static const char* const words[] = {"the ", "model ", "answers ", "with ", "tokens, ", "and ", "\\\"quotes\\\" ",
                                        "\\n", "metering ", "costs ", "nothing. ", "a ", "little ", "text ", "here, ",
                                        "about ", "prices ", "per ", "million ", "tokens ", "of ", "output. "};
    std::string s;
    while (s.size() < n) {
        seed = seed * 1103515245u + 12345u;
        s += words[(seed >> 16) % 22];
    }
    return s;
}

// alt=sse: one event per ~300 bytes of generated text, each with cumulative usage.
std::string sse_body(std::size_t target) {
    std::string out;
    int i = 0;
    while (out.size() < target) {
        ++i;
        const bool last = out.size() + 1024 >= target;
        out += R"(data: {"candidates": [{"content": {"parts": [{"text": ")" + text_block(300, static_cast<unsigned>(i)) +
               R"("}],"role": "model"},)" + (last ? R"("finishReason": "STOP",)" : "") + R"("index": 0}],"usageMetadata": {"promptTokenCount": 1844,"candidatesTokenCount": )" +
               std::to_string(i * 60) + R"(,"totalTokenCount": )" + std::to_string(1844 + i * 60) +
               R"(,"promptTokensDetails": [{"modality": "TEXT","tokenCount": 1844}]},"modelVersion": "gemini-2.5-flash","responseId": "f8vWaLKnEc-pz7IP2cWX8Qk"})"
               "\r\n\r\n";
    }
    return out;
}

// A pretty-printed generateContent body with long text parts.
std::string json_body(std::size_t target) {
    std::string out = "{\n  \"candidates\": [\n    {\n      \"content\": {\n        \"parts\": [\n";
    int i = 0;
    while (out.size() < target) {
        const std::string sep = i > 0 ? ",\n" : "";
        ++i;
        out += sep + "          {\n            \"text\": \"" + text_block(4000, static_cast<unsigned>(i)) +
               "\"\n          }";
    }
    out += "\n        ],\n        \"role\": \"model\"\n      },\n      \"finishReason\": \"STOP\"\n    }\n  ],\n"
           "  \"usageMetadata\": {\n    \"promptTokenCount\": 1844,\n    \"candidatesTokenCount\": 51,\n"
           "    \"totalTokenCount\": 1895\n  },\n  \"modelVersion\": \"gemini-2.5-flash\"\n}\n";
    return out;
}

std::string gzip(const std::string& d) {
    z_stream z{};
    deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
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

template <class F>
double mb_per_s(std::size_t bytes, F&& f) {
    // Repeat until at least half a second has passed; report the best run.
    double best = 0;
    const auto start = clock_type::now();
    do {
        const auto t0 = clock_type::now();
        f();
        const double s = std::chrono::duration<double>(clock_type::now() - t0).count();
        best = std::max(best, static_cast<double>(bytes) / 1e6 / s);
    } while (clock_type::now() - start < std::chrono::milliseconds(500));
    return best;
}

volatile std::size_t sink;

void run(const char* name, const std::string& wire, std::size_t decoded_size, response_tap_options o) {
    std::vector<char> dst(wire.size());
    // memchr for a byte that never occurs: the speed of reading the bytes once
    // (meaningless on compressed bytes, which hold every byte value).
    const double scan = decoded_size != wire.size() ? 0 : mb_per_s(wire.size(), [&] {
        sink = std::memchr(wire.data(), '\x01', wire.size()) == nullptr ? 1 : 0;
    });
    const double copy = mb_per_s(wire.size(), [&] {
        std::memcpy(dst.data(), wire.data(), wire.size());
        sink = static_cast<std::size_t>(dst[wire.size() / 2]);
    });
    tap_result last;
    const double copy_decoded = decoded_size == wire.size() ? 0 : mb_per_s(wire.size(), [&] {
        // Reference for compressed bodies: zlib inflating the copy and nothing else.
        z_stream z{};
        inflateInit2(&z, 15 + 32);
        static char out[16384];
        z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(wire.data()));
        z.avail_in = static_cast<uInt>(wire.size());
        int rc = Z_OK;
        while (rc == Z_OK) {
            z.next_out = reinterpret_cast<Bytef*>(out);
            z.avail_out = sizeof out;
            rc = inflate(&z, Z_NO_FLUSH);
        }
        sink = z.total_out;
        inflateEnd(&z);
    });
    const double tap = mb_per_s(wire.size(), [&] {
        response_tap t(o);
        for (std::size_t pos = 0; pos < wire.size(); pos += 16384)
            t.feed(std::string_view(wire).substr(pos, 16384));
        last = t.finish(true);
    });
    char scan_text[64] = "     n/a";
    char ratio_text[64] = " n/a";
    if (scan > 0) {
        std::snprintf(scan_text, sizeof scan_text, "%8.0f", scan);
        std::snprintf(ratio_text, sizeof ratio_text, "%.3f", tap / scan);
    }
    std::printf("%-18s %6.1f MB wire %6.1f MB decoded | memchr %s MB/s | memcpy %6.0f MB/s | tap %6.0f MB/s"
                " | tap/memchr %s  tap/memcpy %.3f | usage ok: %s\n",
                name, static_cast<double>(wire.size()) / 1e6, static_cast<double>(decoded_size) / 1e6, scan_text, copy,
                tap, ratio_text, tap / copy, last.has_usage && last.problems.empty() ? "yes" : "NO");
    if (copy_decoded > 0)
        std::printf("%-18s zlib inflate alone %6.0f MB/s (wire) | tap/inflate %.3f\n", "", copy_decoded, tap / copy_decoded);
}

}  // namespace

int main(int argc, char** argv) {
    const std::size_t mib = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 64;
    const std::size_t size = mib << 20;
    const std::string sse = sse_body(size);
    const std::string json = json_body(size);
    response_tap_options so;
    so.content_type = "text/event-stream";
    so.http_status = 200;
    so.gemini_method = "streamGenerateContent";
    response_tap_options jo;
    jo.content_type = "application/json; charset=UTF-8";
    jo.http_status = 200;
    jo.gemini_method = "generateContent";
    std::printf("response_tap throughput, 16 KiB feeds; ratios > 1 mean faster than the reference\n");
    run("SSE (alt=sse)", sse, sse.size(), so);
    run("JSON body", json, json.size(), jo);
    response_tap_options gz = jo;
    gz.content_encoding = "gzip";
    const std::string json_gz = gzip(json);
    run("JSON body, gzip", json_gz, json.size(), gz);
    return 0;
}

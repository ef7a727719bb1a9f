// Usage extraction throughput against a plain memory scan of the same bytes.
//   extract_bench [MiB per body, default 64] [shape filter, e.g. "SSE"]
// For each body shape it prints MB/s of: memchr over the bytes, memcpy of the bytes, and
// response_tap fed in 16 KiB pieces (as the proxy hands them over), plus the ratios; then
// the cost of one whole typical stream (tap built, ~20 events fed one per chunk as they
// come off the socket, finished), with json_skimmer (the default) and with json_scanner
// alone (fast_path = false, the tap before the skimmer), in ns per stream and per event.
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "metering/json_skim.hpp"
#include "metering/response_tap.hpp"

using namespace gm::metering;

// Times are this thread's CPU time, not wall-clock: the benchmark machine is shared, and
// time spent descheduled is not time the tap costs.
struct clock_type {
    using duration = std::chrono::nanoseconds;
    using time_point = std::chrono::time_point<clock_type, duration>;
    static time_point now() noexcept {
        timespec ts{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return time_point(duration(std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec));
    }
};

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

// streamGenerateContent without alt: the same chunks as one JSON array, pretty-printed
// the way Google sends it ("[{\n  ...\n}\n,\r\n{...}]").
std::string array_body(std::size_t target) {
    std::string out = "[";
    int i = 0;
    while (out.size() < target) {
        ++i;
        const bool last = out.size() + 1024 >= target;
        if (i > 1) out += "\n,\r\n";
        out += "{\n  \"candidates\": [\n    {\n      \"content\": {\n        \"parts\": [\n          {\n"
               "            \"text\": \"" + text_block(300, static_cast<unsigned>(i)) +
               "\"\n          }\n        ],\n        \"role\": \"model\"\n      },\n" +
               (last ? "      \"finishReason\": \"STOP\",\n" : "") +
               "      \"index\": 0\n    }\n  ],\n  \"usageMetadata\": {\n    \"promptTokenCount\": 1844,\n"
               "    \"candidatesTokenCount\": " + std::to_string(i * 60) + ",\n    \"totalTokenCount\": " +
               std::to_string(1844 + i * 60) + "\n  },\n  \"modelVersion\": \"gemini-2.5-flash\",\n"
               "  \"responseId\": \"f8vWaLKnEc-pz7IP2cWX8Qk\"\n}";
    }
    return out + "]";
}

// Splits a body into the pieces a reader of the upstream socket would get: one per SSE
// event (or per array element), as Google flushes them.
std::vector<std::string_view> per_event(std::string_view body, std::string_view sep) {
    std::vector<std::string_view> out;
    std::size_t pos = 0;
    while (pos < body.size()) {
        const auto at = body.find(sep, pos);
        const std::size_t end = at == std::string_view::npos ? body.size() : at + sep.size();
        out.push_back(body.substr(pos, end - pos));
        pos = end;
    }
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

// The stream gzip'd as a server sends it while it streams: a sync flush after each event,
// so that each event leaves as its own piece (ending 00 00 ff ff).
std::vector<std::string> gzip_per_event(const std::vector<std::string_view>& events) {
    z_stream z{};
    deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    std::vector<std::string> out;
    for (std::size_t i = 0; i < events.size(); ++i) {
        std::string piece(deflateBound(&z, static_cast<uLong>(events[i].size())) + 64, '\0');
        z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(events[i].data()));
        z.avail_in = static_cast<uInt>(events[i].size());
        z.next_out = reinterpret_cast<Bytef*>(piece.data());
        z.avail_out = static_cast<uInt>(piece.size());
        deflate(&z, i + 1 == events.size() ? Z_FINISH : Z_SYNC_FLUSH);
        piece.resize(piece.size() - z.avail_out);
        out.push_back(std::move(piece));
    }
    deflateEnd(&z);
    return out;
}

template <class F>
double best_seconds(F&& f) {
    double best = 1e9;
    const auto start = clock_type::now();
    do {
        const auto t0 = clock_type::now();
        f();
        best = std::min(best, std::chrono::duration<double>(clock_type::now() - t0).count());
    } while (clock_type::now() - start < std::chrono::milliseconds(500));
    return best;
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

// One typical stream, many times over: what the tap adds to each proxied call.
void run_stream(const char* name, const std::vector<std::string_view>& pieces, response_tap_options o,
                std::size_t event_count = 0) {
    std::size_t bytes = 0;
    for (auto p : pieces) bytes += p.size();
    constexpr int rounds = 200;
    double ns[2];
    tap_result last[2];
    for (int fast = 1; fast >= 0; --fast) {
        o.fast_path = fast == 1;
        ns[fast] = best_seconds([&] {
                       for (int r = 0; r < rounds; ++r) {
                           response_tap t(o);
                           for (auto p : pieces) t.feed(p);
                           last[fast] = t.finish(true);
                       }
                   }) * 1e9 / rounds;
    }
    if (event_count == 0) event_count = pieces.size();
    const double events = static_cast<double>(event_count);
    std::printf("%-18s %zu events, %zu bytes/stream | skimmer %7.0f ns/stream %5.0f ns/event %6.0f MB/s |"
                " scanner only %7.0f ns/stream %5.0f ns/event %5.0f MB/s | x%.1f | usage ok: %s\n",
                name, event_count, bytes, ns[1], ns[1] / events, static_cast<double>(bytes) / ns[1] * 1e3, ns[0],
                ns[0] / events, static_cast<double>(bytes) / ns[0] * 1e3, ns[0] / ns[1],
                last[1].has_usage && last[1].problems.empty() && last[0].tokens == last[1].tokens ? "yes" : "NO");
}

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
    const std::string filter = argc > 2 ? argv[2] : "";
    auto wanted = [&](const char* name) { return std::string(name).find(filter) != std::string::npos; };
    const std::size_t size = mib << 20;
    const std::string sse = sse_body(size);
    const std::string json = json_body(size);
    const std::string array = array_body(size);
    response_tap_options so;
    so.content_type = "text/event-stream";
    so.http_status = 200;
    so.gemini_method = "streamGenerateContent";
    response_tap_options jo;
    jo.content_type = "application/json; charset=UTF-8";
    jo.http_status = 200;
    jo.gemini_method = "generateContent";
    response_tap_options ao = jo;
    ao.gemini_method = "streamGenerateContent";
    std::printf("response_tap throughput, 16 KiB feeds; ratios > 1 mean faster than the reference (skim kernel: %s)\n",
                json_skimmer::uses_avx2() ? "AVX2" : "baseline");
    if (wanted("SSE (alt=sse)")) run("SSE (alt=sse)", sse, sse.size(), so);
    if (wanted("JSON array stream")) run("JSON array stream", array, array.size(), ao);
    if (wanted("JSON body")) run("JSON body", json, json.size(), jo);
    response_tap_options gz = jo;
    gz.content_encoding = "gzip";
    if (wanted("JSON body, gzip")) run("JSON body, gzip", gzip(json), json.size(), gz);

    // A typical answer: about 20 events of about 700 bytes.
    const std::string one_sse = sse_body(20 * 700);
    const std::string one_array = array_body(20 * 700);
    std::printf("\none stream, fed one event per chunk (tap built, fed, finished)\n");
    if (wanted("SSE stream")) run_stream("SSE stream", per_event(one_sse, "\r\n\r\n"), so);
    if (wanted("array stream")) run_stream("JSON array stream", per_event(one_array, "\n,\r\n"), ao);
    if (wanted("SSE stream")) {
        response_tap_options so_gz = so;
        so_gz.content_encoding = "gzip";
        const std::string z = gzip(one_sse);
        run_stream("SSE stream, gzip", {std::string_view(z)}, so_gz, per_event(one_sse, "\r\n\r\n").size());
        const auto flushed = gzip_per_event(per_event(one_sse, "\r\n\r\n"));
        run_stream("SSE stream, gzip per event", {flushed.begin(), flushed.end()}, so_gz);
    }
    if (wanted("JSON answer")) {
        // A unary answer like the proxy benchmark's (~4.4 KB of JSON, ~1.5 KB gzip'd),
        // arriving in one piece.
        response_tap_options jo_gz = jo;
        jo_gz.content_encoding = "gzip";
        const std::string z = gzip(json_body(4400));
        run_stream("JSON answer, gzip", {std::string_view(z)}, jo_gz, 1);
    }
    return 0;
}

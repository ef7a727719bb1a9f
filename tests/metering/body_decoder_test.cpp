#include "metering/body_decoder.hpp"

#include <catch2/catch.hpp>
#include <zlib.h>

#include <algorithm>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>

#include "tap_test_util.hpp"

using namespace gm::metering;
using namespace gm::metering::test;

namespace {

std::string sample_text() {
    std::string s;
    std::mt19937 rng(7);
    for (int i = 0; i < 4000; ++i) s += "word" + std::to_string(rng() % 1000) + (i % 13 == 0 ? "\n" : " ");
    return s;
}

struct decoded {
    std::string out;
    bool failed;
    bool corrupt;
    std::string problem;
};

decoded decode(std::string_view encoding, std::string_view body, std::size_t piece) {
    body_decoder d(encoding);
    decoded r;
    body_decoder::sink sink = [&](std::string_view b) { r.out.append(b); };
    for (std::size_t pos = 0; pos < body.size(); pos += piece) d.feed(body.substr(pos, piece), sink);
    d.finish(sink);
    r.failed = d.failed();
    r.corrupt = d.corrupt();
    r.problem = d.problem();
    return r;
}

decoded decode_cut(std::string_view encoding, std::string_view body, std::size_t cut) {
    body_decoder d(encoding);
    decoded r;
    body_decoder::sink sink = [&](std::string_view b) { r.out.append(b); };
    d.feed(body.substr(0, cut), sink);
    d.feed(body.substr(cut), sink);
    d.finish(sink);
    r.failed = d.failed();
    r.corrupt = d.corrupt();
    r.problem = d.problem();
    return r;
}

// A gzip header carrying every optional field (zlib_encode, the shared reference encoder).
std::string gzip_with_all_header_fields(std::string_view data) {
    static unsigned char extra[] = {'A', 'B', 4, 0, 'x', 'y', 'z', 'w'};
    static unsigned char name[] = "answer.json";
    static unsigned char comment[] = "a comment";
    gz_header h{};
    h.text = 1;
    h.os = 3;
    h.extra = extra;
    h.extra_len = sizeof extra;
    h.name = name;
    h.comment = comment;
    h.hcrc = 1;
    return zlib_encode(data, 15 + 16, 6, &h);
}

// Less compressible than sample_text and with matches reaching back across the whole
// 32 KiB window, so the decoder's history is exercised over many calls.
std::string large_text(std::size_t n) {
    std::string s;
    std::mt19937 rng(11);
    while (s.size() < n) {
        if (s.size() > 40000 && rng() % 3 == 0) {
            const std::size_t back = 30000 + rng() % 2700;
            s += s.substr(s.size() - back, 20 + rng() % 200);
        } else {
            for (int i = 0; i < 64; ++i) s += static_cast<char>('!' + rng() % 90);
        }
    }
    s.resize(n);
    return s;
}

}  // namespace

TEST_CASE("body_decoder undoes each supported content-coding in any piece size") {
    const std::string text = sample_text();
    struct enc {
        const char* name;
        std::string body;
    };
    const enc cases[] = {
        {"gzip", gzip(text)},
        {"x-gzip", gzip(text)},
        {"deflate", zlib_deflate(text)},
        {"deflate", raw_deflate(text)},
        {"br", brotli(text)},
        {"zstd", zstd(text)},
        {"gzip, br", brotli(gzip(text))},
        {"zstd,deflate , gzip", gzip(zlib_deflate(zstd(text)))},
        {"identity", text},
        {"", text},
    };
    for (const auto& c : cases) {
        for (std::size_t piece : {std::size_t{1}, std::size_t{7}, std::size_t{4096}, c.body.size() + 1}) {
            INFO(c.name << " in pieces of " << piece);
            auto r = decode(c.name, c.body, piece);
            CHECK_FALSE(r.failed);
            CHECK(r.problem.empty());
            CHECK(r.out == text);
        }
    }
}

TEST_CASE("body_decoder accepts concatenated gzip members") {
    auto r = decode("gzip", gzip("hello ") + gzip("world"), 3);
    CHECK_FALSE(r.failed);
    CHECK(r.out == "hello world");
}

TEST_CASE("body_decoder reports truncated, corrupt and trailing data") {
    const std::string text = sample_text();
    for (const char* name : {"gzip", "deflate", "br", "zstd"}) {
        const std::string body = std::string(name) == "gzip"      ? gzip(text)
                                 : std::string(name) == "deflate" ? zlib_deflate(text)
                                 : std::string(name) == "br"      ? brotli(text)
                                                                  : zstd(text);
        INFO(name);
        auto cut = decode(name, std::string_view(body).substr(0, body.size() / 2), 100);
        CHECK(cut.failed);
        CHECK_FALSE(cut.corrupt);  // truncation: what was decoded is all there was
        CHECK(cut.problem.find("truncated") != std::string::npos);
        CHECK(cut.out.size() < text.size());
        CHECK(text.starts_with(cut.out));

        std::string corrupt = body;
        for (std::size_t i = 10; i < corrupt.size(); i += 5) corrupt[i] = static_cast<char>(corrupt[i] ^ 0x5a);
        auto bad = decode(name, corrupt, 64);
        CHECK(bad.failed);
        CHECK(bad.corrupt);
        CHECK_FALSE(bad.problem.empty());
    }
    auto trailing = decode("br", brotli("abc") + "garbage", 2);
    CHECK(trailing.failed);
    CHECK(trailing.problem.find("trailing") != std::string::npos);
    CHECK(trailing.out == "abc");
    CHECK_FALSE(trailing.corrupt);
    auto not_gzip = decode("gzip", "this is plain text", 4);
    CHECK(not_gzip.failed);
    CHECK(not_gzip.problem.find("invalid gzip data") != std::string::npos);
    CHECK(not_gzip.corrupt);
}

TEST_CASE("body_decoder refuses unknown codings and zstd windows beyond 8 MiB") {
    auto unknown = decode("compress", "x", 1);
    CHECK(unknown.failed);
    CHECK(unknown.problem == "unsupported content-encoding 'compress'");
    CHECK(unknown.out.empty());

    std::string big(1 << 20, 'a');
    std::mt19937 rng(1);
    for (auto& c : big) c = static_cast<char>('a' + rng() % 26);
    auto wide = decode("zstd", zstd(big, 27), 1 << 16);
    INFO(wide.problem);
    CHECK(wide.failed);
    CHECK(wide.problem.find("invalid zstd data") != std::string::npos);
    auto ok = decode("zstd", zstd(big, 20), 1 << 16);
    INFO(ok.problem);
    CHECK_FALSE(ok.failed);
    CHECK(ok.out == big);
}

TEST_CASE("body_decoder decodes gzip and deflate cut in two at every byte") {
    const std::string text = sample_text().substr(0, 3000);
    struct enc {
        const char* name;
        std::string body;
    };
    const enc cases[] = {
        {"gzip", gzip(text)},
        {"gzip", gzip_with_all_header_fields(text)},
        {"gzip", gzip(text.substr(0, 1000)) + gzip_with_all_header_fields(text.substr(1000)) + gzip("")},
        {"gzip", zlib_encode(text, 15 + 16, 0)},  // stored blocks
        {"deflate", zlib_deflate(text)},
        {"deflate", raw_deflate(text)},
        {"deflate", zlib_encode(text, -15, 0)},
    };
    for (const auto& c : cases) {
        for (std::size_t cut = 0; cut <= c.body.size(); ++cut) {
            INFO(c.name << " of " << c.body.size() << " bytes cut at " << cut);
            auto r = decode_cut(c.name, c.body, cut);
            REQUIRE(r.problem.empty());
            REQUIRE(r.out == text);
        }
    }
}

TEST_CASE("body_decoder finds a bad gzip trailer wherever the body is cut") {
    const std::string text = sample_text().substr(0, 3000);
    const std::string good = gzip(text);
    for (std::size_t from_end : {std::size_t{8}, std::size_t{1}}) {
        std::string bad = good;
        bad[bad.size() - from_end] = static_cast<char>(bad[bad.size() - from_end] ^ 0x10);
        for (std::size_t cut = 0; cut <= bad.size(); ++cut) {
            INFO("byte " << from_end << " from the end flipped, cut at " << cut);
            auto r = decode_cut("gzip", bad, cut);
            REQUIRE(r.corrupt);
            REQUIRE(r.problem == (from_end == 8 ? "invalid gzip data: incorrect data check"
                                                : "invalid gzip data: incorrect length check"));
        }
    }
    for (const char* tiny : {"xyz", "\x1f", "\x1f\x8b", "\x1f\x8b\x08"}) {
        INFO("body " << tiny);
        auto r = decode("gzip", tiny, 1);
        CHECK(r.failed);
        CHECK(r.corrupt == (tiny[0] == 'x'));  // zlib looks at the magic once it has 2 bytes
    }
}

TEST_CASE("body_decoder keeps a long window across many small feeds") {
    const std::string text = large_text(300'000);
    const std::string bodies[] = {gzip(text), zlib_deflate(text), raw_deflate(text)};
    const char* names[] = {"gzip", "deflate", "deflate"};
    for (int i = 0; i < 3; ++i) {
        for (std::size_t piece : {std::size_t{1}, std::size_t{1000}, std::size_t{65537}, bodies[i].size()}) {
            INFO(names[i] << " #" << i << " in pieces of " << piece);
            auto r = decode(names[i], bodies[i], piece);
            CHECK(r.problem.empty());
            CHECK(r.out == text);
        }
    }
}

TEST_CASE("body_decoder checks the gzip and zlib check values, whole or in pieces") {
    const std::string text = sample_text();
    const std::string gz = gzip(text);
    for (std::size_t piece : {std::size_t{100}, gz.size()}) {
        for (std::size_t at : {gz.size() - 8, gz.size() - 5, gz.size() - 4, gz.size() - 1}) {
            std::string bad = gz;  // CRC-32 in the last 8 bytes, then the size
            bad[at] = static_cast<char>(bad[at] ^ 0x01);
            INFO("byte " << at << " in pieces of " << piece);
            auto r = decode("gzip", bad, piece);
            CHECK(r.failed);
            CHECK(r.corrupt);
            CHECK((r.problem == "invalid gzip data: incorrect data check" ||
                   r.problem == "invalid gzip data: incorrect length check"));
        }
        std::string bad_hcrc = gzip_with_all_header_fields(text);
        const std::size_t hcrc_at = 10 + 2 + 8 + sizeof "answer.json" + sizeof "a comment";
        bad_hcrc[hcrc_at] = static_cast<char>(bad_hcrc[hcrc_at] ^ 0x01);
        auto h = decode("gzip", bad_hcrc, piece);
        CHECK(h.corrupt);
        CHECK(h.problem == "invalid gzip data: header crc mismatch");
        CHECK(h.out.empty());

        std::string z = zlib_deflate(text);
        z.back() = static_cast<char>(z.back() ^ 0x01);  // Adler-32
        auto a = decode("deflate", z, piece);
        CHECK(a.corrupt);
        CHECK(a.problem == "invalid deflate data: incorrect data check");
    }
}

TEST_CASE("body_decoder refuses a zlib stream that needs a preset dictionary") {
    // CMF 0x78, FLG with FDICT set and a valid FCHECK: 0x78BB % 31 == 0.
    const std::string body = std::string("\x78\xbb\x01\x02\x03\x04", 6) + "rest";
    auto r = decode("deflate", body, 1);
    CHECK(r.failed);
    CHECK(r.corrupt);
    CHECK(r.problem == "invalid deflate data: preset dictionary required");
}

TEST_CASE("body_decoder reports bytes after a deflate stream as trailing, after gzip as a bad member") {
    for (const std::string& body : {zlib_deflate("abc"), raw_deflate("abc")}) {
        for (std::size_t piece : {std::size_t{1}, std::size_t{64}}) {
            auto r = decode("deflate", body + "garbage", piece);
            CHECK(r.failed);
            CHECK_FALSE(r.corrupt);
            CHECK(r.problem == "trailing bytes after the deflate stream");
            CHECK(r.out == "abc");
        }
    }
    const std::string junk_after_gzip = gzip("abc") + "garbage";
    for (std::size_t piece : {std::size_t{4}, junk_after_gzip.size()}) {
        auto g = decode("gzip", junk_after_gzip, piece);
        CHECK(g.failed);
        CHECK(g.corrupt);
        CHECK(g.problem == "invalid gzip data: incorrect header check");
        CHECK(g.out == "abc");
    }
}

TEST_CASE("body_decoder after a corrupt body decodes the next body on the same thread") {
    const std::string text = sample_text();
    std::string bad = gzip(text);
    for (std::size_t i = 20; i < bad.size(); i += 7) bad[i] = static_cast<char>(bad[i] ^ 0x33);
    for (int round = 0; round < 3; ++round) {
        auto b = decode("gzip", bad, 512);
        CHECK(b.corrupt);
        auto cut = decode("gzip", std::string_view(gzip(text)).substr(0, 700), 64);
        CHECK(cut.problem == "truncated gzip stream");
        auto g = decode("gzip", gzip(text), 512);
        CHECK(g.problem.empty());
        CHECK(g.out == text);
    }
}

TEST_CASE("body_decoder decodes a gzip body that arrives whole, on either side of the one-call limit") {
    const std::string big = large_text(256 * 1024 + 1);
    for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{256 * 1024}, big.size()}) {
        const std::string text = big.substr(0, size);
        const std::pair<std::string, std::string> cases[] = {
            {gzip(text), text}, {gzip(text) + gzip(text), text + text}, {gzip_with_all_header_fields(text), text}};
        for (const auto& [body, expected] : cases) {
            INFO(size << " decoded bytes from " << body.size() << " in one piece");
            body_decoder d("gzip");
            std::string out;
            std::size_t largest = 0;
            body_decoder::sink sink = [&](std::string_view b) {
                largest = std::max(largest, b.size());
                out.append(b);
            };
            d.feed(body, sink);
            d.finish(sink);
            CHECK(d.problem().empty());
            CHECK(largest <= 16 * 1024);
            CHECK(out == expected);
        }
    }
}

TEST_CASE("body_decoder reports the same problem for invalid stacked codings however the body is cut") {
    // Found by response_tap_fuzz: not brotli data under "gzip, br". Brotli emits a few bytes
    // before noticing, and only when the body arrives in pieces; gzip then choked on them
    // first. The earlier stage's error is the one to report, whatever the split.
    const std::string body(
        "\x05\x7b\x0a\x20\x20\x2f\x05\x5b\x7b\x0a\x20\x20\x22\x63\x61\x6e\x64\x69\x64\x61\x74\x65\x73\x38"
        "\x22\x20\x5b\x0a\x20\x20\x20\x20\x20\x22\x63\x6f\x6e\x74\x65\x6e\x74\x22\xc6\x00\x3a\x20\x7b\x0a"
        "\x20\x20\x20\x20\x20\x20\x20\x20\x22\x70\x7a\x72\x74\x73\x22\x09\x09\x09\x09\x09\x09\x09\x09\x09"
        "\x09\x20\x20\x20\x20\x20\x20\x20\x20\x20\x7d\x0a\x20\x20\x5d\x2c\x0a\x20\x20\x22\x75\x73\x61\x67"
        "\x65\x4d\x65\x74\x61\x64\x61\x74\x61\x22\x3a\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20"
        "\x20\x20\x20\x20\x20\x20\x09\x09\x09\x09\x09\x09\x09\x09\x09\x09\x09\x09\x09\x09\x09\x09\x09\x09"
        "\x09\x09\x09\x09\x09\x09\x09\x22\x3a\x20\x3a\x20\x22\x67\x22\x35\x09\x09\x09\x09\x09\x09\x09\x09"
        "\x09\x09\x09\x09\x09\x09\x09\x09\x09\x09\x09\x09\x0d\x0d\x0d\x0d\x0d\x22\x0d\x0d\x0d\x70\x0d\x0d"
        "\x0d\x0d\x0d\x2d\x0d\x90\x0d\x0d\x0d\xc9\x0d\x7d\x0a\x5d\x0a",
        207);
    const auto whole = decode("gzip, br", body, body.size());
    CHECK(whole.failed);
    CHECK(whole.problem.rfind("invalid br data", 0) == 0);
    for (std::size_t cut = 0; cut <= body.size(); ++cut) {
        INFO("cut at " << cut);
        const auto split = decode_cut("gzip, br", body, cut);
        CHECK(split.problem == whole.problem);
        CHECK(split.corrupt == whole.corrupt);
    }
    for (std::size_t piece : {1, 2, 7})
        CHECK(decode("gzip, br", body, piece).problem == whole.problem);
}

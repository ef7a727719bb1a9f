#include "metering/body_decoder.hpp"

#include <catch2/catch.hpp>

#include <random>
#include <string>

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

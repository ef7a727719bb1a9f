#pragma once
// Undoes Content-Encoding on a copy of the response bytes, incrementally, with memory
// bounded independently of the body size: zlib keeps a 32 KiB window, zstd is limited to
// an 8 MiB window (larger frames are reported, not decoded), brotli's window is at most
// 16 MiB by its format. A gzip body whose first piece is a whole member of at most
// 256 KiB decoded (a typical unary answer) is inflated by libdeflate in one call into a
// buffer of that size, freed before feed returns. Output goes to a sink in blocks of at
// most 16 KiB.
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace gm::metering {

class decode_stage;

class body_decoder {
public:
    using sink = std::function<void(std::string_view)>;

    // content_encoding as in the header: "gzip", "br", "gzip, br" (applied in that
    // order, so decoded in reverse). identity / empty: bytes pass through uncopied.
    // An unsupported coding makes the decoder inert and reports it in problem().
    explicit body_decoder(std::string_view content_encoding);
    ~body_decoder();
    body_decoder(const body_decoder&) = delete;
    body_decoder& operator=(const body_decoder&) = delete;

    void feed(std::string_view bytes, const sink& out) noexcept;
    // End of body: flushes and reports a truncated compressed stream.
    void finish(const sink& out) noexcept;

    bool failed() const noexcept { return failed_; }
    // Stopped at invalid compressed data. How much a decoder emits before it notices
    // depends on how the input was split, so what was decoded cannot be trusted.
    bool corrupt() const noexcept { return corrupt_; }
    bool passthrough() const noexcept { return stages_.empty() && !failed_; }
    // Empty while all is well; otherwise why decoding stopped or what was odd.
    const std::string& problem() const noexcept { return problem_; }

private:
    friend struct stage_output;
    void run(std::size_t stage, std::string_view bytes, const sink& out);
    void fail(std::string why) noexcept;

    std::vector<std::unique_ptr<decode_stage>> stages_;  // in decoding order
    void stage_failed(std::size_t stage) noexcept;

    bool failed_ = false;
    bool corrupt_ = false;
    std::string problem_;
    // The first stage, in decoding order, that has failed: stages before it still take
    // their input, so that when one of them fails too, its error is the one reported,
    // however the bytes arrived (a stage after it may fail first on partial output).
    std::size_t failed_stage_ = static_cast<std::size_t>(-1);
};

}  // namespace gm::metering

#include "metering/body_decoder.hpp"

#include <brotli/decode.h>
#include <libdeflate.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <memory>

namespace gm::metering {

// Hands one stage's output to the next stage (or to the final sink) without building a
// std::function per block.
struct stage_output {
    body_decoder* dec;
    std::size_t next;
    const body_decoder::sink* out;
    void operator()(std::string_view bytes) const { dec->run(next, bytes, *out); }
};

class decode_stage {
public:
    virtual ~decode_stage() = default;
    virtual void decode(std::string_view in, const stage_output& out) = 0;
    virtual void finish(const stage_output& out) = 0;
    std::string error;  // set once; the decoder then stops feeding this chain
    bool corrupt = false;  // error is invalid data (not truncation, not trailing bytes)

protected:
    static constexpr std::size_t block = 16 * 1024;
};

namespace {

class zlib_stage final : public decode_stage {
public:
    explicit zlib_stage(bool gzip) : gzip_(gzip) {}
    ~zlib_stage() override {
        if (inited_) inflateEnd(&z_);
    }

    void decode(std::string_view in, const stage_output& out) override {
        if (in.empty()) return;
        const bool first_piece = !seen_input_;
        seen_input_ = true;
        if (first_piece && gzip_ && inflate_whole_member(in, out)) return;
        auto* d = reinterpret_cast<const unsigned char*>(in.data());
        std::size_t n = in.size();
        if (!inited_) {
            // gzip: the flags byte says whether there is a header CRC (see own_check_).
            // HTTP "deflate" is meant to be zlib-wrapped, but raw deflate is common too:
            // the first two bytes tell them apart.
            const std::size_t need = gzip_ ? 4 : 2;
            while (hdr_len_ < need && n > 0) {
                hdr_[hdr_len_++] = *d++;
                --n;
            }
            if (hdr_len_ < need) return;
            if (gzip_) {
                init(15 + 16);
                constexpr unsigned char fhcrc = 0x02;
                own_check_ = error.empty() && (hdr_[3] & fhcrc) == 0;
                if (own_check_) inflateValidate(&z_, 0);
            } else {
                const bool zlib_header =
                    (hdr_[0] & 0x0f) == 8 && ((hdr_[0] << 8) | hdr_[1]) % 31 == 0;
                init(zlib_header ? 15 : -15);
            }
            if (!error.empty()) return;
            inflate_some(hdr_, need, out);
            if (!error.empty()) return;
        }
        inflate_some(d, n, out);
    }

    void finish(const stage_output& out) override {
        if (!error.empty() || !seen_input_) return;
        if (gzip_ && !inited_ && hdr_len_ > 0) {
            // Fewer than 4 bytes: zlib still says whether they could start a gzip stream.
            init(15 + 16);
            if (error.empty()) inflate_some(hdr_, hdr_len_, out);
            if (!error.empty()) return;
        }
        if (!ended_) error = gzip_ ? "truncated gzip stream" : "truncated deflate stream";
    }

private:
    // Largest decoded size inflated in one call: the buffer is allocated for it.
    static constexpr std::uint32_t one_shot_max = 256 * 1024;

    // A unary answer mostly arrives as one piece holding one whole gzip member. libdeflate
    // inflates that in one call for about half of zlib's instructions (it reads the whole
    // input and writes straight into a buffer of the final size, with a PCLMUL CRC-32).
    // The trailer's size field says how big that buffer must be; in a piece cut short it
    // is noise, nearly always beyond one_shot_max (an SSE flush point ends in 00 00 ff ff).
    // Anything libdeflate does not take whole, including a header CRC it would not check,
    // goes to zlib from the start: nothing has been emitted by then.
    bool inflate_whole_member(std::string_view in, const stage_output& out) {
        const auto* d = reinterpret_cast<const unsigned char*>(in.data());
        const std::size_t n = in.size();
        constexpr unsigned char fhcrc = 0x02;
        if (n < 18 || d[0] != 0x1f || d[1] != 0x8b || (d[3] & fhcrc) != 0) return false;
        const std::uint32_t isize = d[n - 4] | (d[n - 3] << 8) | (d[n - 2] << 16) | (std::uint32_t{d[n - 1]} << 24);
        if (isize > one_shot_max) return false;
        // One per thread: allocating it (~30 KiB of tables) costs more than a small body.
        thread_local const std::unique_ptr<libdeflate_decompressor, void (*)(libdeflate_decompressor*)> ld(
            libdeflate_alloc_decompressor(), libdeflate_free_decompressor);
        if (ld == nullptr) return false;
        auto decoded = std::make_unique_for_overwrite<char[]>(std::max<std::uint32_t>(isize, 1));
        std::size_t in_used = 0;
        std::size_t out_used = 0;
        if (libdeflate_gzip_decompress_ex(ld.get(), d, n, decoded.get(), isize, &in_used, &out_used) !=
                LIBDEFLATE_SUCCESS ||
            in_used != n)
            return false;
        ended_ = true;
        for (std::size_t pos = 0; pos < out_used; pos += block)
            out(std::string_view(decoded.get() + pos, std::min(block, out_used - pos)));
        return true;
    }

    void init(int window_bits) {
        if (inflateInit2(&z_, window_bits) != Z_OK) {
            error = "zlib initialisation failed";
            return;
        }
        inited_ = true;
    }

    void inflate_some(const unsigned char* d, std::size_t n, const stage_output& out) {
        if (n == 0) return;
        inflate_chunk(d, n, out);
        if (own_check_) keep_tail(d, n);
    }

    void inflate_chunk(const unsigned char* d, std::size_t n, const stage_output& out) {
        if (ended_) {
            if (!gzip_) {
                error = "trailing bytes after the deflate stream";
                return;
            }
            inflateReset(&z_);  // another gzip member follows
            ended_ = false;
        }
        z_.next_in = const_cast<unsigned char*>(d);
        z_.avail_in = static_cast<uInt>(n);
        for (;;) {
            z_.next_out = buf_;
            z_.avail_out = sizeof buf_;
            const int rc = inflate(&z_, Z_NO_FLUSH);
            const std::size_t produced = sizeof buf_ - z_.avail_out;
            if (produced > 0) {
                if (own_check_) {
                    crc_ = static_cast<std::uint32_t>(libdeflate_crc32(crc_, buf_, produced));
                    size_ += static_cast<std::uint32_t>(produced);
                }
                out(std::string_view(reinterpret_cast<const char*>(buf_), produced));
            }
            if (rc == Z_STREAM_END) {
                if (own_check_ && !check_trailer(d, static_cast<std::size_t>(z_.next_in - d))) return;
                if (z_.avail_in == 0) {
                    ended_ = true;
                    return;
                }
                if (!gzip_) {
                    ended_ = true;
                    error = "trailing bytes after the deflate stream";
                    return;
                }
                inflateReset(&z_);
                continue;
            }
            if (rc == Z_BUF_ERROR) return;  // no progress possible: needs more input
            if (rc != Z_OK) {
                error = std::string(gzip_ ? "invalid gzip data: " : "invalid deflate data: ") +
                        (z_.msg != nullptr        ? z_.msg
                         : rc == Z_NEED_DICT      ? "preset dictionary required"
                                                  : "error");
                corrupt = true;
                return;
            }
            if (z_.avail_in == 0 && z_.avail_out != 0) return;
        }
    }

    // The gzip trailer (CRC-32, then the size mod 2^32) is the 8 bytes before next_in
    // when zlib reports the member's end; they may begin in an earlier piece (tail_).
    bool check_trailer(const unsigned char* d, std::size_t consumed) {
        unsigned char t[8];
        const std::size_t from_tail = consumed >= 8 ? 0 : 8 - consumed;
        for (std::size_t i = 0; i < from_tail; ++i) t[i] = tail_[8 - from_tail + i];
        for (std::size_t i = from_tail; i < 8; ++i) t[i] = d[consumed - 8 + i];
        auto le32 = [](const unsigned char* p) {
            return p[0] | (p[1] << 8) | (p[2] << 16) | (std::uint32_t{p[3]} << 24);
        };
        const char* why = le32(t) != crc_ ? "incorrect data check" : le32(t + 4) != size_ ? "incorrect length check" : nullptr;
        // Later members (rare) are left to zlib's own checks, header CRC included.
        own_check_ = false;
        inflateValidate(&z_, 1);
        if (why == nullptr) return true;
        error = std::string("invalid gzip data: ") + why;
        corrupt = true;
        return false;
    }

    void keep_tail(const unsigned char* d, std::size_t n) {
        if (n >= 8) {
            std::memcpy(tail_, d + n - 8, 8);
            return;
        }
        std::memmove(tail_, tail_ + n, 8 - n);
        std::memcpy(tail_ + 8 - n, d, n);
    }

    bool gzip_;
    // gzip whose header has no CRC of its own: zlib's check is turned off and the CRC-32
    // computed by libdeflate (PCLMUL, ~9x cheaper than zlib 1.2's; a quarter of the cost
    // of inflating a streamed answer). With a header CRC, zlib checks both or neither.
    bool own_check_ = false;
    std::uint32_t crc_ = 0;   // own_check_: CRC-32 of this member's output so far
    std::uint32_t size_ = 0;  // own_check_: its size mod 2^32
    unsigned char tail_[8] = {};  // own_check_: the last 8 bytes fed to zlib
    bool inited_ = false;
    bool ended_ = false;
    bool seen_input_ = false;
    unsigned char hdr_[4] = {};
    std::size_t hdr_len_ = 0;
    z_stream z_{};
    unsigned char buf_[block];
};

class brotli_stage final : public decode_stage {
public:
    brotli_stage() : s_(BrotliDecoderCreateInstance(nullptr, nullptr, nullptr)) {
        if (s_ == nullptr) error = "brotli initialisation failed";
    }
    ~brotli_stage() override {
        if (s_ != nullptr) BrotliDecoderDestroyInstance(s_);
    }

    void decode(std::string_view in, const stage_output& out) override {
        if (in.empty()) return;
        seen_input_ = true;
        if (done_) {
            error = "trailing bytes after the br stream";
            return;
        }
        std::size_t avail_in = in.size();
        auto* next_in = reinterpret_cast<const std::uint8_t*>(in.data());
        for (;;) {
            std::size_t avail_out = sizeof buf_;
            std::uint8_t* next_out = buf_;
            const auto r = BrotliDecoderDecompressStream(s_, &avail_in, &next_in, &avail_out, &next_out, nullptr);
            const std::size_t produced = sizeof buf_ - avail_out;
            if (produced > 0) out(std::string_view(reinterpret_cast<const char*>(buf_), produced));
            if (r == BROTLI_DECODER_RESULT_SUCCESS) {
                done_ = true;
                if (avail_in > 0) error = "trailing bytes after the br stream";
                return;
            }
            if (r == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT) continue;
            if (r == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT) return;
            error = std::string("invalid br data: ") +
                    BrotliDecoderErrorString(BrotliDecoderGetErrorCode(s_));
            corrupt = true;
            return;
        }
    }

    void finish(const stage_output& out) override {
        if (error.empty() && seen_input_ && !done_) error = "truncated br stream";
    }

private:
    BrotliDecoderState* s_;
    bool done_ = false;
    bool seen_input_ = false;
    std::uint8_t buf_[block];
};

class zstd_stage final : public decode_stage {
public:
    // 2^23 = 8 MiB: the largest window we agree to allocate for one response copy.
    static constexpr int window_log_max = 23;

    zstd_stage() : ds_(ZSTD_createDStream()) {
        if (ds_ == nullptr) {
            error = "zstd initialisation failed";
            return;
        }
        ZSTD_DCtx_setParameter(ds_, ZSTD_d_windowLogMax, window_log_max);
    }
    ~zstd_stage() override {
        if (ds_ != nullptr) ZSTD_freeDStream(ds_);
    }

    void decode(std::string_view in, const stage_output& out) override {
        if (in.empty()) return;
        seen_input_ = true;
        ZSTD_inBuffer ib{in.data(), in.size(), 0};
        for (;;) {
            ZSTD_outBuffer ob{buf_, sizeof buf_, 0};
            const std::size_t in_before = ib.pos;
            const std::size_t r = ZSTD_decompressStream(ds_, &ob, &ib);
            if (ZSTD_isError(r)) {
                error = std::string("invalid zstd data: ") + ZSTD_getErrorName(r);
                corrupt = true;
                return;
            }
            if (ob.pos > 0) out(std::string_view(reinterpret_cast<const char*>(buf_), ob.pos));
            // After a frame ends, a call that moves nothing returns the next frame's header
            // size: only a call that did work says whether the frame is complete.
            if (ib.pos != in_before || ob.pos > 0) frame_done_ = (r == 0);
            if (ib.pos == ib.size && ob.pos < ob.size) return;
        }
    }

    void finish(const stage_output& out) override {
        if (error.empty() && seen_input_ && !frame_done_) error = "truncated zstd stream";
    }

private:
    ZSTD_DStream* ds_;
    bool frame_done_ = false;
    bool seen_input_ = false;
    unsigned char buf_[block];
};

std::string lower_trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    std::string r(s);
    for (auto& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return r;
}

}  // namespace

body_decoder::body_decoder(std::string_view content_encoding) {
    std::vector<std::unique_ptr<decode_stage>> applied;  // in the order the server applied them
    std::size_t pos = 0;
    while (pos <= content_encoding.size()) {
        std::size_t comma = content_encoding.find(',', pos);
        if (comma == std::string_view::npos) comma = content_encoding.size();
        const std::string coding = lower_trim(content_encoding.substr(pos, comma - pos));
        pos = comma + 1;
        if (coding.empty() || coding == "identity") continue;
        if (applied.size() >= 4) {
            fail("more than 4 content-codings");
            return;
        }
        if (coding == "gzip" || coding == "x-gzip") {
            applied.push_back(std::make_unique<zlib_stage>(true));
        } else if (coding == "deflate") {
            applied.push_back(std::make_unique<zlib_stage>(false));
        } else if (coding == "br") {
            applied.push_back(std::make_unique<brotli_stage>());
        } else if (coding == "zstd") {
            applied.push_back(std::make_unique<zstd_stage>());
        } else {
            fail("unsupported content-encoding '" + coding.substr(0, 32) + "'");
            return;
        }
    }
    std::reverse(applied.begin(), applied.end());
    stages_ = std::move(applied);
    for (const auto& s : stages_) {
        if (!s->error.empty()) {
            fail(s->error);
            return;
        }
    }
}

body_decoder::~body_decoder() = default;

void body_decoder::run(std::size_t stage, std::string_view bytes, const sink& out) {
    if (stage >= failed_stage_) return;  // a failed stage and what follows it take nothing more
    if (stage == stages_.size()) {
        if (!failed_) out(bytes);
        return;
    }
    auto& st = *stages_[stage];
    st.decode(bytes, stage_output{this, stage + 1, &out});
    if (!st.error.empty()) stage_failed(stage);
}

void body_decoder::stage_failed(std::size_t stage) noexcept {
    if (stage >= failed_stage_) return;
    // An earlier stage's error replaces a later one's: the later one may only have choked
    // on what the earlier one emitted before noticing bad data, which depends on the split.
    failed_stage_ = stage;
    corrupt_ = stages_[stage]->corrupt;
    problem_.clear();
    fail(stages_[stage]->error);
}

void body_decoder::feed(std::string_view bytes, const sink& out) noexcept {
    if (failed_stage_ == 0) return;
    try {
        run(0, bytes, out);
    } catch (...) {
        fail("decoder failed (out of memory)");
    }
}

void body_decoder::finish(const sink& out) noexcept {
    if (failed_stage_ == 0) return;
    try {
        // Each stage's end may flush into the next one, so finish them in order.
        for (std::size_t i = 0; i < stages_.size() && i < failed_stage_; ++i) {
            stages_[i]->finish(stage_output{this, i + 1, &out});
            if (!stages_[i]->error.empty()) stage_failed(i);
        }
    } catch (...) {
        fail("decoder failed (out of memory)");
    }
}

void body_decoder::fail(std::string why) noexcept {
    failed_ = true;
    if (failed_stage_ == static_cast<std::size_t>(-1))
        failed_stage_ = 0;  // not one stage's error (set-up, out of memory): nothing runs on
    if (problem_.empty()) {
        try {
            problem_ = std::move(why);
        } catch (...) {
        }
    }
}

}  // namespace gm::metering

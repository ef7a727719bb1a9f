#pragma once
// Finds the end of a response body in the raw bytes as they pass, without changing them:
// the proxy relays the upstream's framing (Content-Length or chunked) byte for byte, one
// write per read, and hands only the payload inside it to the metering tap.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace gm::proxy {

class body_framer {
public:
    enum class mode { length, chunked, until_eof };
    enum class status { more, done, bad };

    static body_framer with_length(std::uint64_t length) { return body_framer(mode::length, length); }
    static body_framer chunked() { return body_framer(mode::chunked, 0); }
    static body_framer until_eof() { return body_framer(mode::until_eof, 0); }

    // Consumes raw bytes from the front of `raw`; calls payload(std::string_view) for each
    // span of body payload inside them. Returns how many bytes belong to this message
    // (the rest, if any, follows it) and sets state(). Never reads past `raw`.
    template <class Payload>
    std::size_t consume(std::string_view raw, Payload&& payload);

    status state() const noexcept { return status_; }
    bool done() const noexcept { return status_ == status::done; }
    mode framing() const noexcept { return mode_; }

private:
    body_framer(mode m, std::uint64_t length) : mode_(m), remaining_(length) {
        if (m == mode::length && length == 0)
            status_ = status::done;
    }

    enum class chunk_state : std::uint8_t { size, size_ext, size_lf, data, data_cr, data_lf, trailer, trailer_lf,
                                            trailer_line, trailer_line_lf };

    mode mode_;
    status status_ = status::more;
    std::uint64_t remaining_ = 0;  // length mode: body bytes left; chunked: bytes left in this chunk
    chunk_state chunk_ = chunk_state::size;
    std::uint64_t chunk_size_ = 0;
    int size_digits_ = 0;
};

template <class Payload>
std::size_t body_framer::consume(std::string_view raw, Payload&& payload) {
    if (status_ != status::more)
        return 0;
    if (mode_ == mode::until_eof) {
        if (!raw.empty())
            payload(raw);
        return raw.size();
    }
    if (mode_ == mode::length) {
        const std::size_t take = raw.size() < remaining_ ? raw.size() : static_cast<std::size_t>(remaining_);
        if (take)
            payload(raw.substr(0, take));
        remaining_ -= take;
        if (remaining_ == 0)
            status_ = status::done;
        return take;
    }
    // Chunked (RFC 9112 section 7.1): size [; ext] CRLF data CRLF ... 0 CRLF trailers CRLF.
    std::size_t i = 0;
    const std::size_t n = raw.size();
    while (i < n && status_ == status::more) {
        const char c = raw[i];
        switch (chunk_) {
        case chunk_state::size: {
            int digit = -1;
            if (c >= '0' && c <= '9')
                digit = c - '0';
            else if (c >= 'a' && c <= 'f')
                digit = c - 'a' + 10;
            else if (c >= 'A' && c <= 'F')
                digit = c - 'A' + 10;
            if (digit >= 0) {
                if (++size_digits_ > 15) {  // over 2^60: nobody sends that, an attack might
                    status_ = status::bad;
                    break;
                }
                chunk_size_ = chunk_size_ * 16 + static_cast<std::uint64_t>(digit);
                ++i;
            } else if (size_digits_ > 0 && (c == ';' || c == ' ' || c == '\t')) {
                chunk_ = chunk_state::size_ext;
                ++i;
            } else if (size_digits_ > 0 && c == '\r') {
                chunk_ = chunk_state::size_lf;
                ++i;
            } else {
                status_ = status::bad;
            }
            break;
        }
        case chunk_state::size_ext:
            if (c == '\r')
                chunk_ = chunk_state::size_lf;
            else if (c == '\n')
                status_ = status::bad;
            ++i;
            break;
        case chunk_state::size_lf:
            if (c != '\n') {
                status_ = status::bad;
                break;
            }
            ++i;
            remaining_ = chunk_size_;
            chunk_ = chunk_size_ == 0 ? chunk_state::trailer : chunk_state::data;
            chunk_size_ = 0;
            size_digits_ = 0;
            break;
        case chunk_state::data: {
            const std::size_t take = n - i < remaining_ ? n - i : static_cast<std::size_t>(remaining_);
            payload(raw.substr(i, take));
            i += take;
            remaining_ -= take;
            if (remaining_ == 0)
                chunk_ = chunk_state::data_cr;
            break;
        }
        case chunk_state::data_cr:
            if (c != '\r') {
                status_ = status::bad;
                break;
            }
            ++i;
            chunk_ = chunk_state::data_lf;
            break;
        case chunk_state::data_lf:
            if (c != '\n') {
                status_ = status::bad;
                break;
            }
            ++i;
            chunk_ = chunk_state::size;
            break;
        case chunk_state::trailer:  // start of a trailer line, or the final CRLF
            if (c == '\r') {
                chunk_ = chunk_state::trailer_lf;
            } else {
                chunk_ = chunk_state::trailer_line;
            }
            ++i;
            break;
        case chunk_state::trailer_lf:
            if (c != '\n') {
                status_ = status::bad;
                break;
            }
            ++i;
            status_ = status::done;
            break;
        case chunk_state::trailer_line:
            if (c == '\r')
                chunk_ = chunk_state::trailer_line_lf;
            ++i;
            break;
        case chunk_state::trailer_line_lf:
            if (c != '\n') {
                status_ = status::bad;
                break;
            }
            ++i;
            chunk_ = chunk_state::trailer;
            break;
        }
    }
    return i;
}

}  // namespace gm::proxy

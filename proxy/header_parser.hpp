#pragma once
// The HTTP/1 message header parser of the relay: the start line and fields into a
// message_head the session owns and reuses, and the framing facts the relay needs
// (Content-Length, chunked, keep-alive). Bodies are relayed raw (body_framer), never parsed.
//
// It replaced Beast's basic_parser, which spent ~16,000 instructions per relayed call — 40%
// of the relay's user-space work — on byte-at-a-time tokenizing of two headers. It keeps
// Beast's interface (put / put_eof / got_some / is_header_done) and error codes, and accepts
// and rejects what Beast does (tests/proxy/header_parser_test.cpp compares the two), except
// three things it rejects where Beast tolerates them, each a way to make a proxy and the
// server behind it disagree on where a message ends: obs-fold line folding, a Content-Length
// that is a list or repeated, and a Transfer-Encoding that is not a plain list of codings.
#include <boost/asio/buffer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/verb.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "proxy/header_fields.hpp"

namespace gm::proxy {

// What the parser keeps of a message's header; owned by the session, so that its buffers
// are reused from one message to the next.
struct message_head {
    header_fields fields;
    unsigned version = 11;
    boost::beast::http::verb method = boost::beast::http::verb::unknown;  // requests
    std::string method_string;
    std::string target;
    unsigned status = 0;  // responses
    std::string reason;
};

// The rules stricter than Beast's, as their own error codes.
enum class strict_header_error {
    obs_fold = 1,            // a field value continued on the next line
    content_length_list,     // "Content-Length: 5, 5" or two Content-Length fields
    transfer_encoding_list,  // a Transfer-Encoding that is not a comma list of tokens
};
const boost::system::error_category& strict_header_category() noexcept;
inline boost::beast::error_code make_error_code(strict_header_error e) noexcept {
    return {static_cast<int>(e), strict_header_category()};
}

template <bool isRequest>
class header_parser {
public:
    using error_code = boost::beast::error_code;

    // Clears `head` and fills it as the header is parsed; `head` must outlive the parser.
    explicit header_parser(message_head& head);

    message_head& head() noexcept { return head_; }

    // The header, start line to the empty line, may be at most this many bytes.
    void header_limit(std::uint32_t n) noexcept { header_limit_ = n; }

    // Parses what `buffer` holds. The header is consumed whole or not at all: until it is
    // complete, put returns 0 with http::error::need_more and must be called again with
    // the same bytes and more after them (what was already checked is not read again).
    // Once complete it returns the header's length and clears ec.
    std::size_t put(boost::asio::const_buffer buffer, error_code& ec);
    // The peer closed before the header was complete.
    void put_eof(error_code& ec);

    bool got_some() const noexcept { return got_some_; }
    bool is_header_done() const noexcept { return done_; }

    // The following describe a complete header.
    bool keep_alive() const noexcept;
    std::optional<std::uint64_t> content_length() const noexcept { return content_length_; }
    bool chunked() const noexcept { return chunked_; }

private:
    // Each parses one line starting at `at`; `end` is the last byte it may look at.
    // Returns the offset after the line, or 0 with ec set (need_more included).
    std::size_t parse_start_line(const char* data, std::size_t at, std::size_t end, error_code& ec);
    std::size_t parse_field_line(const char* data, std::size_t at, std::size_t end, error_code& ec);
    void take_framing_field(boost::beast::http::field id, std::string_view value, error_code& ec);

    message_head& head_;
    std::uint32_t header_limit_ = 8192;
    std::size_t parsed_ = 0;  // bytes of the header checked and taken by earlier puts
    bool start_line_done_ = false;
    bool got_some_ = false;
    bool done_ = false;
    bool http11_ = false;
    bool connection_close_ = false;
    bool connection_keep_alive_ = false;
    bool chunked_ = false;
    bool transfer_encoding_seen_ = false;
    std::optional<std::uint64_t> content_length_;
};

extern template class header_parser<true>;
extern template class header_parser<false>;

}  // namespace gm::proxy

namespace boost::system {
template <>
struct is_error_code_enum<gm::proxy::strict_header_error> : std::true_type {};
}  // namespace boost::system

#pragma once
// A synchronous HTTP/1.1 test client on a real socket (plain or TLS), built for checking a
// proxy byte for byte: requests are written exactly as given (so tests can send malformed
// or smuggling-shaped input), and responses come back with their headers in order with the
// original case and their body exactly as it came off the wire (de-chunked, never
// decompressed). Every call is bounded by the client's timeout; failures are exceptions,
// which Catch2 reports as test failures.
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gm::test {

using header_list = std::vector<std::pair<std::string, std::string>>;

struct raw_response {
    unsigned status = 0;
    std::string reason;
    unsigned version = 11;  // 10 or 11
    header_list headers;    // in order, names in their original case
    std::string body;       // payload as received; chunked framing removed
    bool complete = false;  // false: the connection ended (or was closed) before the message did
    bool keep_alive = false;
    bool chunked = false;

    // First value of a header, compared case-insensitively; "" when absent.
    std::string header(std::string_view name) const;
    bool has_header(std::string_view name) const;
    std::size_t count_header(std::string_view name) const;
};

// One piece of a response body with the moment it was parsed: tests use the times to show
// that a server-sent event arrived before the stream ended.
struct body_piece {
    std::string data;
    std::chrono::steady_clock::time_point at;
};

struct streamed_response {
    raw_response response;  // body holds all the pieces joined
    std::chrono::steady_clock::time_point header_at;
    std::vector<body_piece> pieces;
};

struct raw_client_options {
    bool tls = false;
    std::string ca_file;                 // trust anchor for TLS (empty: verification off)
    std::string server_name = "localhost";  // SNI and host name check
    std::chrono::milliseconds timeout{10000};  // per operation: connect, one read, one write
};

class raw_http_client {
public:
    raw_http_client();
    explicit raw_http_client(raw_client_options options);
    ~raw_http_client();
    raw_http_client(const raw_http_client&) = delete;
    raw_http_client& operator=(const raw_http_client&) = delete;
    raw_http_client(raw_http_client&&) noexcept;
    raw_http_client& operator=(raw_http_client&&) noexcept;

    // Connects (and does the TLS handshake); throws on failure.
    void connect(const std::string& host, unsigned short port);
    // Writes the bytes exactly; throws when the write fails.
    void send(std::string_view bytes);

    // Reads one whole response. head_request: the response to a HEAD has no body even
    // when it carries Content-Length. A connection that ends early gives complete=false;
    // a timeout or an error before the status line throws.
    raw_response read_response(bool head_request = false);

    // Like read_response, recording each body piece as it arrives. on_piece may return
    // false to close the socket at once, mid-response (the "client gone" case).
    streamed_response read_response_streaming(
        std::function<bool(const body_piece&)> on_piece = {}, bool head_request = false);

    // Everything the socket yields until the peer closes, max_bytes have come, or the
    // timeout passes (whatever came so far is returned, no throw): for checking exact
    // bytes such as an error answer followed by a close.
    std::string read_raw(std::size_t max_bytes = 64 * 1024 * 1024);

    // True when the peer has closed the connection (reads EOF or an error within wait).
    bool peer_closed(std::chrono::milliseconds wait = std::chrono::milliseconds(1000));

    void close();  // closes the socket now (no TLS close_notify)
    bool is_open() const;

    // Request text helper: adds Host (unless headers has one) and Content-Length for a
    // non-empty body (unless headers has Content-Length or Transfer-Encoding).
    static std::string make_request(std::string_view method, std::string_view target,
                                    const header_list& headers = {}, std::string_view body = {},
                                    std::string_view host = "127.0.0.1");

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace gm::test

#pragma once
// What the fake Gemini upstream records about each exchange, for tests to compare with
// what the app received through the proxy.
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace gm::test {

using fake_header_list = std::vector<std::pair<std::string, std::string>>;

struct received_request {
    std::uint64_t connection_id = 0;  // 1, 2, ... in accept order: equal ids = reused connection
    std::string method;
    std::string target;           // path and query exactly as received
    unsigned version = 11;
    fake_header_list headers;     // in order, names in their original case
    std::uint64_t body_size = 0;
    std::string body_sha256;      // lower-case hex of the whole body
    std::string body_prefix;      // the first 64 KiB of the body
    std::chrono::steady_clock::time_point at;  // when the header section was parsed
};

struct sent_response {
    std::uint64_t connection_id = 0;
    unsigned status = 0;
    fake_header_list headers;     // as written, framing headers included
    std::string body;             // payload as sent (compressed if so, de-chunked), capped at 8 MiB
    std::uint64_t body_size = 0;  // payload bytes sent, uncapped
    bool truncated = false;       // cut on purpose by x-fake-truncate-after
    bool aborted = false;         // the peer went away before the end
    std::chrono::steady_clock::time_point first_byte_at;
    std::chrono::steady_clock::time_point last_byte_at;
};

struct fake_counters {
    std::uint64_t connections_accepted = 0;
    std::uint64_t connections_open = 0;
    std::uint64_t requests = 0;
    std::uint64_t responses_aborted = 0;  // peer gone mid-response
    std::uint64_t peer_closes = 0;        // connections the peer closed (any phase)
    std::uint64_t tls_handshake_failures = 0;
    // When the peer last closed a connection; the epoch of steady_clock if never.
    std::chrono::steady_clock::time_point last_peer_close{};
};

}  // namespace gm::test

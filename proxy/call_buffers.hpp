#pragma once
// What a client connection needs only while it carries a call: the bytes read from the
// client, both headers as received and as written, an HTTP/1.0 client's dechunked payload,
// and the call's record and metering taps. A connection takes a set when its next request's
// first bytes arrive and gives it back when it goes idle, so that an idle keep-alive
// connection holds none of them (1,000 idle connections held ~10 KB each). The thread keeps
// a few sets for reuse, so that a busy connection takes one without allocating.
#include <boost/beast/core/flat_buffer.hpp>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "metering/call_identity.hpp"
#include "metering/request_model_tap.hpp"
#include "metering/response_tap.hpp"
#include "metering/usage_record.hpp"
#include "proxy/header_parser.hpp"

namespace gm::proxy {

struct call_buffers {
    boost::beast::flat_buffer client;  // read from the client and not yet relayed
    message_head request_in;           // the request header as received
    message_head response_in;          // the response header as received
    std::string request_head;          // the request header as written upstream
    std::string response_head;         // the response header as written to the client
    std::string dechunked;             // payload of the current piece, for an HTTP/1.0 client only
    metering::usage_record record;     // reset when handed over
    metering::call_identity identity;
    std::optional<metering::response_tap> tap;
    std::optional<metering::request_model_tap> model_tap;
};

// One per I/O thread; used on that thread only, so it needs no lock.
class call_buffers_cache {
public:
    // keep: how many idle sets to hold at most; more are freed when given back.
    explicit call_buffers_cache(std::size_t keep) : keep_(keep) { free_.reserve(keep); }

    std::unique_ptr<call_buffers> take() {
        if (free_.empty())
            return std::make_unique<call_buffers>();
        auto b = std::move(free_.back());
        free_.pop_back();
        return b;
    }

    // b must hold no unrelayed client bytes. False when the cache was full and b was freed.
    bool give_back(std::unique_ptr<call_buffers> b) {
        if (!b)
            return true;
        if (free_.size() >= keep_)
            return false;
        // A large request body grew the read buffer: the next call starts small again.
        if (b->client.capacity() > max_kept_read_buffer)
            b->client = boost::beast::flat_buffer();
        else
            b->client.clear();  // never another connection's bytes, whatever the caller did
        free_.push_back(std::move(b));
        return true;
    }

    std::size_t idle_sets() const noexcept { return free_.size(); }

    static constexpr std::size_t max_kept_read_buffer = 8192;

private:
    std::vector<std::unique_ptr<call_buffers>> free_;
    std::size_t keep_;
};

}  // namespace gm::proxy

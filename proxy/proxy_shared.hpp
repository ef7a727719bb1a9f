#pragma once
// What every I/O thread's sessions share, read-only after start-up, plus the per-thread
// state (pool, live sessions) that only that thread touches.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <atomic>
#include <memory>
#include <vector>

#include "proxy/call_buffers.hpp"
#include "proxy/client_watch.hpp"
#include "proxy/heap_trim.hpp"
#include "proxy/proxy_options.hpp"
#include "proxy/upstream_pool.hpp"
#include "proxy/upstream_target.hpp"

namespace gm::proxy {

class call_observer;
class proxy_session;

struct proxy_shared {
    proxy_options options;
    upstream_target target;
    call_observer* observer = nullptr;     // may be null: nothing is reported
    std::atomic<std::int64_t> in_flight{0};  // calls between request header and last byte
    std::atomic<std::int64_t> open_sessions{0};
    std::atomic<std::uint64_t> rejected_requests{0};  // bad input answered 4xx, never forwarded
};

struct thread_state {
    explicit thread_state(boost::asio::io_context& ioc) : ioc(ioc), watcher(ioc, client_watch_period), trimmer(ioc) {}
    // Short enough that a client gone while the upstream thinks is noticed well within a second.
    static constexpr std::chrono::milliseconds client_watch_period{200};
    boost::asio::io_context& ioc;
    std::unique_ptr<upstream_pool> pool;
    client_watch watcher;  // starts client hang-up watches for calls that wait
    call_buffers_cache buffers{64};  // the sets idle connections gave back, for the next calls
    heap_trimmer trimmer;            // returns a burst's freed memory to the system afterwards
    // Gives a connection's call buffers back to the thread.
    void give_back(std::unique_ptr<call_buffers> b) {
        if (!buffers.give_back(std::move(b)))
            trimmer.note_release();
    }
    std::vector<std::weak_ptr<proxy_session>> sessions;  // for closing idle ones at shutdown
    bool stopping = false;
};

}  // namespace gm::proxy

#pragma once
// A simulated Gemini upstream for `gemini-meter demo`: plain HTTP/1.1 with keep-alive on a
// loopback port, on threads of its own, answering as Google does (demo_responder.hpp says
// what) and taking about as long as a model would. The demo points the proxy's upstream at
// it, so the dashboard fills without an API key.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace gm::demo {

// One request as the upstream read it, for an observer (tests look at the headers).
struct upstream_request {
    std::string method;
    std::string target;
    std::vector<std::pair<std::string, std::string>> headers;  // in order, names as sent
    std::size_t body_bytes = 0;
};

struct upstream_options {
    std::string address = "127.0.0.1";
    unsigned short port = 0;       // 0: any free port (port() tells which)
    int threads = 1;
    std::uint64_t seed = 1;        // the same seed and request give the same answer
    double latency_scale = 1.0;    // multiplies the model-like delays; 0: answer at once
    // Called on an I/O thread for every request read, before it is answered.
    std::function<void(const upstream_request&)> on_request;
};

// Answers written whole (counters only go up).
struct upstream_stats {
    std::uint64_t generate = 0;      // :generateContent answered 200
    std::uint64_t stream = 0;        // :streamGenerateContent answered 200
    std::uint64_t count_tokens = 0;  // :countTokens answered 200
    std::uint64_t errors = 0;        // errors asked for with X-Demo-Fail
    std::uint64_t not_found = 0;     // 404 for an unknown path or method
    std::uint64_t connections = 0;   // connections accepted
};

class demo_upstream {
public:
    // Binds the listening socket; throws std::invalid_argument for threads < 1 or a
    // negative latency_scale, std::runtime_error when the address cannot be bound.
    explicit demo_upstream(upstream_options options = {});
    ~demo_upstream();  // stop()
    demo_upstream(const demo_upstream&) = delete;
    demo_upstream& operator=(const demo_upstream&) = delete;

    void start();  // starts accepting on the I/O threads; once
    // Stops at once: open connections and answers in progress are dropped (a demo has
    // nothing to drain). Safe to call twice.
    void stop();

    unsigned short port() const noexcept { return port_; }
    upstream_stats stats() const noexcept;

    struct state;  // shared with the sessions (demo_upstream.cpp)

private:
    struct io;
    std::shared_ptr<state> state_;
    std::unique_ptr<io> io_;
    std::vector<std::thread> threads_;
    unsigned short port_ = 0;
    int thread_count_ = 1;
    std::atomic<bool> started_{false}, stopped_{false};
};

}  // namespace gm::demo

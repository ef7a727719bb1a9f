#pragma once
// The demo's made-up app: a thread that sends Gemini calls to 127.0.0.1:port (the proxy,
// or the demo upstream directly in tests) at a steady average rate, as a real app would:
// attribution headers (users, guests, features, bots, a team tag) from the demo catalog,
// models of the built-in price table, unary and SSE calls and a few token counts, about 3%
// asking the demo upstream for an error (X-Demo-Fail), and a fake API key. Arrivals and
// choices come from a seeded generator: the same seed sends the same calls in the same order.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

namespace gm::demo {

struct traffic_options {
    std::string address = "127.0.0.1";
    unsigned short port = 0;        // required: where the calls go
    double rate = 2.0;              // calls per second on average (arrivals are random)
    std::uint64_t seed = 7;
    int users = 60;                 // registered users to draw from (as demo_history names them)
    double error_share = 0.03;      // calls that ask for an error
    double stream_share = 0.35;     // calls sent as streamGenerateContent?alt=sse
    double count_share = 0.02;      // calls sent as countTokens
    int max_in_flight = 64;         // calls pending at once; an arrival past it is skipped
};

struct traffic_stats {
    std::uint64_t sent = 0;           // requests written
    std::uint64_t ok = 0;             // 2xx answers read whole
    std::uint64_t error_answers = 0;  // other answers read whole (the asked-for errors among them)
    std::uint64_t failed = 0;         // no whole answer: refused, reset, timed out
    std::uint64_t unary = 0;          // of the calls started: generateContent
    std::uint64_t streamed = 0;       // of the calls started: streamGenerateContent?alt=sse
    std::uint64_t count_tokens = 0;   // of the calls started: countTokens
    std::uint64_t errors_asked = 0;   // of the calls started: with X-Demo-Fail
    std::uint64_t skipped = 0;        // arrivals not sent: max_in_flight calls were pending
};

class demo_traffic {
public:
    // Throws std::invalid_argument naming the option: rate <= 0, port 0, users <= 0, a share
    // outside [0, 1], max_in_flight < 1, an address that is not an IP address.
    explicit demo_traffic(traffic_options options);
    ~demo_traffic();  // stop()
    demo_traffic(const demo_traffic&) = delete;
    demo_traffic& operator=(const demo_traffic&) = delete;

    void start();  // once
    // Returns at once: calls in flight are abandoned (their connections closed), none waited for.
    void stop();
    // Sends no new call, waits up to `limit` for the calls in flight to be answered, then
    // stop(): a demo that ends this way leaves no call cut short (a "client_gone" row) behind.
    // Returns true when every call was answered in time.
    bool drain(std::chrono::milliseconds limit);
    traffic_stats stats() const noexcept;

    struct engine;  // the calls and their connections, on the traffic thread (demo_traffic.cpp)

private:
    std::unique_ptr<engine> engine_;
    std::thread thread_;
    std::atomic<bool> started_{false}, stopped_{false};
};

}  // namespace gm::demo

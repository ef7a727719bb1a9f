#pragma once
// Internal to the fake: what the server and its sessions share.
#include "fake_gemini.hpp"
#include "fake_responder.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

namespace gm::test {

struct fake_gemini::state {
    explicit state(fake_options o) : options(std::move(o)), responder(options.tls ? "https" : "http") {}

    void record(received_request&& r);
    void record(sent_response&& r);
    void peer_closed();
    bool recording() const { return options.record_limit > 0; }

    fake_options options;
    fake_responder responder;
    std::optional<boost::asio::ssl::context> ssl;

    std::atomic<std::uint64_t> connections_accepted{0};
    std::atomic<std::uint64_t> connections_open{0};
    std::atomic<std::uint64_t> requests{0};
    std::atomic<std::uint64_t> responses_aborted{0};
    std::atomic<std::uint64_t> peer_closes{0};
    std::atomic<std::uint64_t> tls_handshake_failures{0};
    std::atomic<std::uint64_t> next_connection_id{1};

    // Guards received, sent and last_peer_close.
    mutable std::mutex mutex;
    std::deque<received_request> received;
    std::deque<sent_response> sent;
    std::chrono::steady_clock::time_point last_peer_close{};

    // Declared last so that they go first: destroying the io_context destroys the pending
    // handlers and with them the sessions, which still touch the members above.
    std::unique_ptr<boost::asio::io_context> ioc;
    std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor;
    std::vector<std::thread> threads;
    unsigned short port = 0;
};

// Takes over an accepted socket (bound to its own strand) and serves it until it closes.
void start_fake_session(boost::asio::ip::tcp::socket&& socket, fake_gemini::state& st);

}  // namespace gm::test

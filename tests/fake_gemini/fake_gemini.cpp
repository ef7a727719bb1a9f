#include "fake_gemini.hpp"

#include "fake_state.hpp"

#include <boost/asio/strand.hpp>

#include <fmt/format.h>

namespace gm::test {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

void fake_gemini::state::record(received_request&& r) {
    std::lock_guard lock(mutex);
    received.push_back(std::move(r));
    while (received.size() > options.record_limit) received.pop_front();
}

void fake_gemini::state::record(sent_response&& r) {
    std::lock_guard lock(mutex);
    sent.push_back(std::move(r));
    while (sent.size() > options.record_limit) sent.pop_front();
}

void fake_gemini::state::peer_closed() {
    ++peer_closes;
    std::lock_guard lock(mutex);
    last_peer_close = std::chrono::steady_clock::now();
}

namespace {

void do_accept(fake_gemini::state& st) {
    // Each connection gets its own strand, so a session's handlers never run concurrently
    // even with several I/O threads.
    st.acceptor->async_accept(net::make_strand(*st.ioc), [&st](error_code ec, tcp::socket socket) {
        if (ec == net::error::operation_aborted || !st.acceptor->is_open()) return;
        if (!ec) {
            ++st.connections_accepted;
            ++st.connections_open;
            error_code ignored;
            socket.set_option(tcp::no_delay(true), ignored);
            start_fake_session(std::move(socket), st);
        }
        do_accept(st);
    });
}

}  // namespace

fake_gemini::fake_gemini(fake_options options) : state_(std::make_shared<state>(std::move(options))) {
    state& st = *state_;
    if (st.options.threads == 0) st.options.threads = 1;
    if (st.options.tls) {
        st.ssl.emplace(net::ssl::context::tls_server);
        st.ssl->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                            net::ssl::context::no_sslv3 | net::ssl::context::single_dh_use);
        st.ssl->use_certificate_chain_file(st.options.cert_file);
        st.ssl->use_private_key_file(st.options.key_file, net::ssl::context::pem);
    }
    st.ioc = std::make_unique<net::io_context>(static_cast<int>(st.options.threads));
    st.acceptor = std::make_unique<tcp::acceptor>(*st.ioc);
    const tcp::endpoint ep(net::ip::make_address(st.options.listen_address), st.options.port);
    st.acceptor->open(ep.protocol());
    st.acceptor->set_option(net::socket_base::reuse_address(true));
    st.acceptor->bind(ep);
    st.acceptor->listen(net::socket_base::max_listen_connections);
    st.port = st.acceptor->local_endpoint().port();
    do_accept(st);
    for (unsigned i = 0; i < st.options.threads; ++i) st.threads.emplace_back([&st] { st.ioc->run(); });
}

fake_gemini::~fake_gemini() {
    state& st = *state_;
    st.ioc->stop();
    for (auto& t : st.threads) t.join();
    error_code ignored;
    st.acceptor->close(ignored);
    st.acceptor.reset();
    // Destroys every pending handler and so every session: their sockets close here, so a
    // proxy under test sees the upstream go away when the fake does.
    st.ioc.reset();
}

unsigned short fake_gemini::port() const { return state_->port; }

std::string fake_gemini::base_url() const {
    return fmt::format("{}://127.0.0.1:{}", state_->options.tls ? "https" : "http", state_->port);
}

fake_counters fake_gemini::counters() const {
    const state& st = *state_;
    fake_counters c;
    c.connections_accepted = st.connections_accepted;
    c.connections_open = st.connections_open;
    c.requests = st.requests;
    c.responses_aborted = st.responses_aborted;
    c.peer_closes = st.peer_closes;
    c.tls_handshake_failures = st.tls_handshake_failures;
    std::lock_guard lock(st.mutex);
    c.last_peer_close = st.last_peer_close;
    return c;
}

std::vector<received_request> fake_gemini::received() const {
    std::lock_guard lock(state_->mutex);
    return {state_->received.begin(), state_->received.end()};
}

std::vector<sent_response> fake_gemini::sent() const {
    std::lock_guard lock(state_->mutex);
    return {state_->sent.begin(), state_->sent.end()};
}

void fake_gemini::clear() {
    state& st = *state_;
    st.connections_accepted = 0;
    st.requests = 0;
    st.responses_aborted = 0;
    st.peer_closes = 0;
    st.tls_handshake_failures = 0;
    std::lock_guard lock(st.mutex);
    st.received.clear();
    st.sent.clear();
    st.last_peer_close = {};
}

}  // namespace gm::test

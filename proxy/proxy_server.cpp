#include "proxy/proxy_server.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <cstring>
#include <future>
#include <pthread.h>
#include <stdexcept>

#include "proxy/proxy_session.hpp"
#include "proxy/resolver_threads.hpp"

namespace gm::proxy {

namespace net = boost::asio;
using tcp = net::ip::tcp;

proxy_server::proxy_server(proxy_options options, call_observer* observer) {
    shared_.options = std::move(options);
    shared_.target = parse_upstream_url(shared_.options.upstream_url);
    shared_.observer = observer;
    if (shared_.target.tls) {
        tls_ = std::make_unique<net::ssl::context>(net::ssl::context::tls_client);
        configure_upstream_tls(*tls_, shared_.options.upstream_ca_file);
    } else if (!shared_.options.upstream_ca_file.empty()) {
        throw std::invalid_argument("--upstream-ca-file given but the upstream is not https");
    }
    unsigned n = shared_.options.io_threads ? shared_.options.io_threads : std::thread::hardware_concurrency();
    if (n == 0)
        n = 1;
    for (unsigned i = 0; i < n; ++i) {
        contexts_.push_back(std::make_unique<net::io_context>(1));
        auto state = std::make_unique<thread_state>(*contexts_.back());
        state->pool = std::make_unique<upstream_pool>(*contexts_.back(), shared_.target, tls_.get(), shared_.options);
        states_.push_back(std::move(state));
    }
    io_cpus_ = io_thread_cpus(shared_.options.io_cpus, n);
}

proxy_server::~proxy_server() {
    stop();
}

void proxy_server::start() {
    const auto address = net::ip::make_address(shared_.options.listen_host);
    const tcp::endpoint endpoint(address, shared_.options.listen_port);
    acceptor_ = std::make_unique<tcp::acceptor>(*contexts_[0]);
    boost::system::error_code ec;
    acceptor_->open(endpoint.protocol(), ec);
    if (!ec)
        acceptor_->set_option(net::socket_base::reuse_address(true), ec);
    if (!ec)
        acceptor_->bind(endpoint, ec);
    if (!ec)
        acceptor_->listen(net::socket_base::max_listen_connections, ec);
    if (ec)
        throw std::runtime_error("cannot listen on " + shared_.options.listen_host + ":" +
                                 std::to_string(shared_.options.listen_port) + ": " + ec.message());
    port_ = acceptor_->local_endpoint().port();
    do_accept();
    start_resolver_threads(contexts_);
    struct thread_setup {
        io_slice_result slice;
        int pin_error = 0;  // errno of sched_setaffinity
    };
    std::vector<std::future<thread_setup>> setups;
    for (std::size_t i = 0; i < contexts_.size(); ++i) {
        std::promise<thread_setup> setup;
        setups.push_back(setup.get_future());
        const int cpu = io_cpus_.empty() ? -1 : io_cpus_[i];
        threads_.emplace_back([c = contexts_[i].get(), s = std::move(setup), want = shared_.options.io_slice,
                               cpu]() mutable {
            // Benchmarks split the process's CPU by thread name (/proc/PID/task/*/comm).
            pthread_setname_np(pthread_self(), "gm-io");
            // Set by the thread itself, before its first event, so that they hold from the
            // first call on (the resolver's thread, which would inherit them, exists already).
            thread_setup r;
            r.slice = set_current_thread_slice(want);
            if (cpu >= 0)
                r.pin_error = pin_current_thread(cpu);
            s.set_value(r);
            auto guard = net::make_work_guard(*c);
            c->run();
        });
    }
    for (std::size_t i = 0; i < setups.size(); ++i) {
        const auto r = setups[i].get();
        if (i == 0)
            io_slice_ = r.slice;
        if (r.pin_error != 0)
            throw std::runtime_error("--io-cpus: cannot bind an I/O thread to CPU " + std::to_string(io_cpus_[i]) +
                                     ": " + std::strerror(r.pin_error));
    }
}

void proxy_server::do_accept() {
    // Round robin over the threads: each connection lives on one thread for its whole life.
    auto& state = *states_[next_];
    next_ = (next_ + 1) % states_.size();
    acceptor_->async_accept(state.ioc, [this, &state](boost::system::error_code ec, tcp_socket socket) {
        if (ec == net::error::operation_aborted || !acceptor_->is_open())
            return;
        if (!ec) {
            net::post(state.ioc, [this, &state, s = std::move(socket)]() mutable {
                if (state.stopping)
                    return;
                auto session = std::make_shared<proxy_session>(std::move(s), shared_, state);
                if (state.sessions.size() >= 64 && state.sessions.size() % 64 == 0)
                    std::erase_if(state.sessions, [](const auto& w) { return w.expired(); });
                state.sessions.push_back(session);
                session->start();
            });
        }
        // Accept errors (EMFILE...) must not stop the listener.
        do_accept();
    });
}

bool proxy_server::drain(std::chrono::milliseconds timeout) {
    if (contexts_.empty() || threads_.empty())
        return true;
    std::promise<void> closed;
    net::post(*contexts_[0], [this, &closed] {
        boost::system::error_code ec;
        if (acceptor_)
            acceptor_->close(ec);
        closed.set_value();
    });
    closed.get_future().wait();
    for (auto& state : states_) {
        std::promise<void> done;
        net::post(state->ioc, [&state, &done] {
            state->stopping = true;
            for (auto& w : state->sessions)
                if (auto s = w.lock())
                    s->close_if_idle();
            state->pool->close_idle();
            done.set_value();
        });
        done.get_future().wait();
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (shared_.in_flight.load() > 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return shared_.in_flight.load() == 0;
}

void proxy_server::stop() {
    if (stopped_)
        return;
    stopped_ = true;
    for (auto& ctx : contexts_)
        ctx->stop();
    for (auto& t : threads_)
        if (t.joinable())
            t.join();
    threads_.clear();
}

proxy_counters proxy_server::counters() const {
    proxy_counters c;
    c.in_flight = shared_.in_flight.load();
    c.open_connections = shared_.open_sessions.load();
    c.rejected_requests = shared_.rejected_requests.load();
    for (const auto& s : states_) {
        const auto& p = s->pool->counters();
        c.upstream.connections_opened += p.connections_opened;
        c.upstream.connections_reused += p.connections_reused;
        c.upstream.connect_failures += p.connect_failures;
        c.upstream.stale_dropped += p.stale_dropped;
    }
    return c;
}

}  // namespace gm::proxy

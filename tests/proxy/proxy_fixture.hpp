#pragma once
// An in-process proxy in front of the fake Gemini upstream over real TLS, with an observer
// that keeps every finished call, for tests that compare what each side saw.
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "fake_gemini/fake_gemini.hpp"
#include "proxy/call_observer.hpp"
#include "proxy/proxy_server.hpp"
#include "support/raw_http_client.hpp"
#include "support/test_tls.hpp"

namespace gm::test {

struct finished_call {
    metering::usage_record record;
    metering::tap_result usage;
};

class recording_observer final : public proxy::call_observer {
public:
    void on_call_finished(metering::usage_record&& record, metering::tap_result&& usage) noexcept override {
        std::lock_guard lock(mutex_);
        calls_.push_back({std::move(record), std::move(usage)});
        changed_.notify_all();
    }
    // Waits until at least n calls have finished; returns a copy of them.
    std::vector<finished_call> wait_for(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        std::unique_lock lock(mutex_);
        changed_.wait_for(lock, timeout, [&] { return calls_.size() >= n; });
        return calls_;
    }

private:
    std::mutex mutex_;  // guards calls_
    std::condition_variable changed_;
    std::vector<finished_call> calls_;
};

struct proxy_fixture {
    explicit proxy_fixture(std::function<void(proxy::proxy_options&)> tweak = {}, bool upstream_tls = true)
        : fake(make_fake(upstream_tls)) {
        proxy::proxy_options o;
        o.listen_host = "127.0.0.1";
        o.listen_port = 0;
        o.upstream_url = fake->base_url();
        o.upstream_ca_file = upstream_tls ? make_test_pki().ca_file : "";
        o.io_threads = 2;
        if (tweak)
            tweak(o);
        if (o.upstream_url.rfind("http://", 0) == 0)
            o.upstream_ca_file.clear();
        proxy = std::make_unique<proxy::proxy_server>(o, &observer);
        proxy->start();
    }
    ~proxy_fixture() {
        proxy->drain(std::chrono::milliseconds(0));
        proxy->stop();
    }

    // The fake records an exchange once it has written it, which may be just after the
    // client read it: wait for the n-th record.
    std::vector<sent_response> sent(std::size_t n) {
        for (int i = 0; i < 500 && fake->sent().size() < n; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        return fake->sent();
    }

    raw_http_client client() {
        raw_http_client c;
        c.connect("127.0.0.1", proxy->port());
        return c;
    }
    std::unique_ptr<raw_http_client> connect() {
        auto c = std::make_unique<raw_http_client>();
        c->connect("127.0.0.1", proxy->port());
        return c;
    }

    static std::unique_ptr<fake_gemini> make_fake(bool tls) {
        fake_options f;
        f.tls = tls;
        if (tls) {
            f.cert_file = make_test_pki().cert_file;
            f.key_file = make_test_pki().key_file;
        }
        f.threads = 1;
        return std::make_unique<fake_gemini>(f);
    }

    std::unique_ptr<fake_gemini> fake;
    recording_observer observer;
    std::unique_ptr<proxy::proxy_server> proxy;
};

// Headers as a list of lower-cased names and values, without the ones a proxy may change.
inline header_list end_to_end_headers(const header_list& in) {
    static const char* hop[] = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
                                "proxy-connection", "host"};
    header_list out;
    for (const auto& [n, v] : in) {
        std::string lower = n;
        for (auto& c : lower)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        bool skip = false;
        for (const char* h : hop)
            skip = skip || lower == h;
        if (!skip)
            out.emplace_back(lower, v);
    }
    return out;
}

}  // namespace gm::test

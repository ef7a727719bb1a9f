#pragma once
// The fake Gemini upstream: an HTTP/1.1 server (TLS or plain, keep-alive) that answers
// like generativelanguage.googleapis.com (see fake_responder.hpp for the routes and the
// x-fake-* knobs) and records what it received and sent, so that tests can compare those
// bytes with what the app saw through the proxy.
//
// Runs its own io_context on `threads` threads; every method is thread-safe.
#include "fake_types.hpp"

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace gm::test {

struct fake_options {
    bool tls = true;
    std::string cert_file, key_file;  // PEM, required when tls (see make_test_pki())
    unsigned threads = 1;
    std::string listen_address = "127.0.0.1";
    unsigned short port = 0;           // 0: any free port (tests); see port()
    // How many exchanges received()/sent() keep (the oldest go first); 0 records nothing,
    // which a benchmark wants so that memory stays flat.
    std::size_t record_limit = 10000;
};

class fake_gemini {
public:
    // Binds and starts serving; throws on a bad certificate or a port in use.
    explicit fake_gemini(fake_options options);
    ~fake_gemini();  // stops, closes every connection, joins the threads
    fake_gemini(const fake_gemini&) = delete;
    fake_gemini& operator=(const fake_gemini&) = delete;

    unsigned short port() const;
    std::string base_url() const;  // "https://127.0.0.1:PORT" or "http://127.0.0.1:PORT"

    fake_counters counters() const;
    std::vector<received_request> received() const;
    std::vector<sent_response> sent() const;
    void clear();  // forgets the records and zeroes the counters (open connections stay)

    struct state;  // shared with the sessions, which may outlive a call but not the server

private:
    std::shared_ptr<state> state_;
};

}  // namespace gm::test

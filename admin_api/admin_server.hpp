#pragma once
// The admin listener: /api/api-usage/* (bearer token), /healthz, /readyz, /metrics and the
// dashboard. It accepts on the app's io_context (the I/O threads) and runs every storage
// query on its own small thread pool (query_pool: "gm-reader" threads at a lower CPU
// priority, options.query_priority), so a heavy report never blocks an I/O thread.
#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "admin_api/query_priority.hpp"
#include "metering/call_metrics.hpp"
#include "storage/usage_queries.hpp"

namespace gm::admin_api {

// Filled by the app from storage and the proxy. health() is called on an I/O thread for
// /readyz and /metrics, so it must only read counters, never touch the database.
struct health_snapshot {
    bool db_writable = true;
    std::int64_t journal_backlog = 0;
    // Of the backlog, records held only in the journal (the writer's memory queue was full
    // during an outage, or a crash left them): read back once the database is writable.
    std::int64_t journal_only = 0;
    std::int64_t journal_errors = 0;  // journal writes that failed (those records were only in memory)
    std::int64_t queued = 0;
    std::int64_t written = 0;
    std::int64_t batches = 0;
    std::int64_t failures = 0;
    std::string last_error;
    bool upstream_reachable = true;
};

struct admin_options {
    std::string host = "127.0.0.1";
    unsigned short port = 9090;
    std::vector<std::string> tokens;  // see load_admin_tokens()
    std::string cors_origin;          // "" (no CORS), an origin such as https://console.example.com, or "*"
    int max_range_days = 400;
    int query_threads = 2;
    // The query threads' CPU priority against the proxy's (query_priority.hpp).
    admin_api::query_priority query_priority = admin_api::query_priority::idle;
    int auth_max_failures = 10;       // per client address ...
    std::int64_t auth_window_ms = 60'000;  // ... within this window, then 429
};

struct admin_deps {
    // Opens one read connection; called lazily once per query thread (and again after a
    // query failed). May throw: the request then gets 503.
    std::function<std::unique_ptr<storage::usage_queries>()> open_reader;
    std::function<health_snapshot()> health;      // may be empty: /readyz then reports ready
    metering::call_metrics* metrics = nullptr;    // may be null: /metrics omits call metrics
    std::function<std::string()> pricing_json;    // the effective price table as JSON
    std::function<std::int64_t()> now_ms;         // injectable clock; empty: system clock
    std::function<void(const std::string&)> log;  // one line per event; empty: stderr
};

struct admin_context;
class admin_listener;

class admin_server {
public:
    admin_server(boost::asio::io_context& ioc, admin_options options, admin_deps deps);
    ~admin_server();
    admin_server(const admin_server&) = delete;
    admin_server& operator=(const admin_server&) = delete;

    // Binds and starts accepting. Throws std::runtime_error with a clear message when the
    // address cannot be bound, or when no token is configured and the address is not
    // loopback (the API would be open to the network).
    void start();
    unsigned short port() const;
    // Stops accepting; connections in progress finish. Queries still queued are dropped
    // when the server is destroyed.
    void stop();
    // The bearer tokens from now on (any thread); throws std::invalid_argument, keeping
    // the old ones, when the list holds none.
    void replace_tokens(const std::vector<std::string>& tokens);

private:
    boost::asio::io_context& ioc_;
    std::shared_ptr<admin_context> ctx_;
    std::shared_ptr<admin_listener> listener_;
};

}  // namespace gm::admin_api

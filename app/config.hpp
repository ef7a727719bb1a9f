#pragma once
// gemini-meter's configuration: one plain struct with defaults, built by parse_config from
// flags, GEMINI_METER_<NAME> environment variables and an optional file (flags win, then
// environment, then file), and checked by validate(), which reports every problem at once.
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "proxy/proxy_options.hpp"

namespace gm::app {

struct host_port {
    std::string host;
    unsigned short port = 0;
};

struct app_config {
    std::string command = "serve";  // serve | migrate | pricing | reprice | report | demo
    proxy::proxy_options proxy;
    host_port admin{"127.0.0.1", 9090};
    std::optional<std::string> admin_token_file;
    std::string database = "sqlite:./var/usage.db";
    std::optional<std::string> pricing_file;
    std::string log_format = "json";
    std::string cors_origin;
    int max_range_days = 400;
    std::string admin_priority = "idle";  // admin query threads' CPU priority: idle | low | normal
    int admin_threads = 2;             // admin query threads (each with its own read connection)
    int retention_days = 0;            // 0: keep raw rows forever
    long long writer_max_queued = 100000;  // records the writer holds in memory; past it journal-only
    std::string writer_priority = "idle";  // the writer's SQLite work and checkpoints: idle | normal
    std::string archive_dir;           // where retention writes .jsonl.gz before deleting
    bool migrate_status = false;       // `migrate --status`
    std::string reprice_since, reprice_until;
    // report: the admin API's startDate / endDate / limit and filters (NAME=VALUE), checked
    // by its rules when the report runs; empty means the API's default.
    std::string report_start, report_end, report_limit;
    std::vector<std::string> report_filters;
    std::string report_format = "text";  // text | json
    // demo: made-up calls per second through the proxy, and whole days of made-up history
    // written into an empty database first (0: none).
    double demo_rate = 2.0;
    int demo_days = 30;

    // Problems, one per line; empty when the configuration is usable.
    std::vector<std::string> validate() const;
    std::string sqlite_path() const;   // the PATH of sqlite:PATH
};

struct parse_outcome {
    app_config config;
    bool exit_now = false;   // --help / --version printed
    std::string message;     // what to print when exit_now
};

struct config_error;
// Throws config_error (a std::runtime_error) naming the flag and the reason.
parse_outcome parse_config(int argc, const char* const* argv);

struct config_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// "127.0.0.1:9090", "[::1]:8080", ":8080" (all addresses), "localhost:9090" (127.0.0.1).
// The host must be an IP address. Throws config_error.
host_port parse_host_port(const std::string& flag, const std::string& value);
inline constexpr std::chrono::milliseconds max_duration = std::chrono::hours(24 * 7);
// "250ms", "10s", "5m", "1h", or a bare number of seconds, at most max_duration. Throws
// config_error.
std::chrono::milliseconds parse_duration(const std::string& flag, const std::string& value);

}  // namespace gm::app

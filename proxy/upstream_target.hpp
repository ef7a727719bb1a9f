#pragma once
// The upstream as parsed once from --upstream: where to connect and what to call it.
#include <string>
#include <string_view>

namespace gm::proxy {

struct upstream_target {
    bool tls = true;
    std::string host;         // for DNS, SNI and certificate checks
    std::string port;         // service string for the resolver
    std::string host_header;  // Host sent upstream: host, plus :port when not the default
    std::string base_path;    // path prefix from the URL ("" or "/prefix"), prepended to every target
};

// Throws std::invalid_argument naming what is wrong.
upstream_target parse_upstream_url(std::string_view url);

}  // namespace gm::proxy

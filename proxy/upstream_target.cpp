#include "proxy/upstream_target.hpp"

#include <boost/url/parse.hpp>
#include <stdexcept>

namespace gm::proxy {

upstream_target parse_upstream_url(std::string_view url) {
    auto parsed = boost::urls::parse_absolute_uri(url);
    if (!parsed)
        throw std::invalid_argument("upstream URL is not an absolute URL: " + std::string(url));
    upstream_target t;
    const auto scheme = parsed->scheme();
    if (scheme == "https")
        t.tls = true;
    else if (scheme == "http")
        t.tls = false;
    else
        throw std::invalid_argument("upstream URL scheme must be http or https, not '" + std::string(scheme) + "'");
    if (parsed->has_userinfo())
        throw std::invalid_argument("upstream URL must not carry credentials");
    if (parsed->has_query() || parsed->has_fragment())
        throw std::invalid_argument("upstream URL must not have a query or fragment");
    t.host = parsed->host_address();
    if (t.host.empty())
        throw std::invalid_argument("upstream URL has no host");
    const std::string default_port = t.tls ? "443" : "80";
    t.port = parsed->has_port() ? std::string(parsed->port()) : default_port;
    if (t.port.empty())
        t.port = default_port;
    const std::string host_literal = std::string(parsed->encoded_host_and_port().substr(0, parsed->encoded_host().size()));
    t.host_header = t.port == default_port ? host_literal : host_literal + ":" + t.port;
    std::string path(parsed->encoded_path());
    while (!path.empty() && path.back() == '/')
        path.pop_back();
    t.base_path = path;
    return t;
}

}  // namespace gm::proxy

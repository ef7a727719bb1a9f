#include "proxy/hop_by_hop.hpp"

#include <boost/beast/http/rfc7230.hpp>
#include <string>
#include <vector>

namespace gm::proxy {

namespace http = boost::beast::http;

void strip_hop_by_hop(http::fields& fields) {
    // Fields listed in Connection are hop-by-hop too (RFC 9110 7.6.1).
    std::vector<std::string> named;
    for (auto it = fields.find(http::field::connection); it != fields.end() && it->name() == http::field::connection;
         ++it) {
        for (auto token : http::token_list{it->value()})
            named.emplace_back(token);
    }
    for (const auto& name : named)
        fields.erase(name);
    static constexpr http::field fixed[] = {
        http::field::connection, http::field::keep_alive, http::field::proxy_connection, http::field::te,
        http::field::trailer,    http::field::transfer_encoding, http::field::upgrade,
        http::field::proxy_authorization, http::field::proxy_authenticate,
    };
    for (auto f : fixed)
        fields.erase(f);
}

}  // namespace gm::proxy

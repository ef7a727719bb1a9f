#include "proxy/hop_by_hop.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <boost/container/small_vector.hpp>
#include <string_view>

namespace gm::proxy {

namespace http = boost::beast::http;

void strip_hop_by_hop(header_fields& fields) {
    // Fields listed in Connection are hop-by-hop too (RFC 9110 7.6.1).
    // The names point into `fields`' own text, which erase_if does not move.
    boost::container::small_vector<std::string_view, 4> named;
    for (const auto f : fields)
        if (f.id == http::field::connection)
            for (auto token : http::token_list{f.value})
                named.emplace_back(token);
    fields.erase_if([&named](const header_fields::field_view& f) {
        switch (f.id) {
            case http::field::connection:
            case http::field::keep_alive:
            case http::field::proxy_connection:
            case http::field::te:
            case http::field::trailer:
            case http::field::transfer_encoding:
            case http::field::upgrade:
            case http::field::proxy_authorization:
            case http::field::proxy_authenticate:
                return true;
            default:
                break;
        }
        for (const auto& name : named)
            if (boost::beast::iequals(f.name_string, name))
                return true;
        return false;
    });
}

}  // namespace gm::proxy

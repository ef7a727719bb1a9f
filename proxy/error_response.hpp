#pragma once
// Errors the proxy itself answers, in Google's shape so that SDKs surface them normally:
// {"error":{"code":502,"message":"...","status":"UNAVAILABLE"}}.
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <string_view>

namespace gm::proxy {

boost::beast::http::response<boost::beast::http::string_body> make_error_response(
    unsigned code, std::string_view status, std::string_view message, unsigned http_version, bool keep_alive);

}  // namespace gm::proxy

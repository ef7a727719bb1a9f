#pragma once
// A complete (non-streamed) admin response, built off the I/O threads and written by the
// session. Keeping it a plain value lets the handlers be tested without a socket.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gm::admin_api {

struct admin_response {
    unsigned status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // extra fields (Allow, Retry-After...)
};

// {"error":{"code":400,"message":"...","parameter":"limit","allowed":"1..1000"}};
// parameter and allowed are left out when empty.
admin_response json_error(unsigned status, std::string_view message, std::string_view parameter = {},
                          std::string_view allowed = {});

}  // namespace gm::admin_api

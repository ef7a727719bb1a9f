#pragma once
// A small blocking HTTP/1.1 client for the admin listener tests: real sockets, one
// request per connection unless a connection is reused explicitly.
#include <map>
#include <string>
#include <vector>

namespace gm::test {

struct http_reply {
    unsigned status = 0;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
    bool chunked = false;
    std::string header(const std::string& name) const {
        auto it = headers.find(name);
        return it == headers.end() ? std::string() : it->second;
    }
};

// headers: extra request fields; method: GET unless given.
http_reply http_request(unsigned short port, const std::string& target,
                        const std::vector<std::pair<std::string, std::string>>& headers = {},
                        const std::string& method = "GET");

// Sends the requests one after another on one keep-alive connection.
std::vector<http_reply> http_sequence(unsigned short port, const std::vector<std::string>& targets,
                                      const std::vector<std::pair<std::string, std::string>>& headers = {});

inline http_reply http_get_auth(unsigned short port, const std::string& target, const std::string& token) {
    return http_request(port, target, {{"Authorization", "Bearer " + token}});
}

}  // namespace gm::test

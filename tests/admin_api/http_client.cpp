#include "http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <cctype>

namespace gm::test {

namespace net = boost::asio;
namespace http = boost::beast::http;

namespace {
http_reply to_reply(http::response_parser<http::string_body>& parser) {
    auto& res = parser.get();
    http_reply out;
    out.status = res.result_int();
    out.chunked = res.chunked();
    for (const auto& f : res) {
        std::string name(f.name_string());
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
        out.headers[name] = std::string(f.value());
    }
    out.body = std::move(res.body());
    return out;
}
}  // namespace

std::vector<http_reply> http_sequence(unsigned short port, const std::vector<std::string>& targets,
                                      const std::vector<std::pair<std::string, std::string>>& headers) {
    net::io_context ioc;
    net::ip::tcp::socket socket(ioc);
    socket.connect({net::ip::make_address("127.0.0.1"), port});
    boost::beast::flat_buffer buf;
    std::vector<http_reply> out;
    for (const auto& target : targets) {
        http::request<http::string_body> req{http::verb::get, target, 11};
        req.set(http::field::host, "127.0.0.1");
        req.keep_alive(true);
        for (const auto& [k, v] : headers) req.set(k, v);
        http::write(socket, req);
        http::response_parser<http::string_body> parser;
        parser.body_limit(1ull << 32);
        http::read(socket, buf, parser);
        out.push_back(to_reply(parser));
    }
    return out;
}

http_reply http_request(unsigned short port, const std::string& target,
                        const std::vector<std::pair<std::string, std::string>>& headers, const std::string& method) {
    net::io_context ioc;
    net::ip::tcp::socket socket(ioc);
    socket.connect({net::ip::make_address("127.0.0.1"), port});
    http::request<http::string_body> req;
    req.method_string(method);
    req.target(target);
    req.version(11);
    req.set(http::field::host, "127.0.0.1");
    req.keep_alive(false);
    for (const auto& [k, v] : headers) req.set(k, v);
    req.prepare_payload();
    http::write(socket, req);
    boost::beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    parser.body_limit(1ull << 32);
    http::read(socket, buf, parser);
    return to_reply(parser);
}

}  // namespace gm::test

#include "proxy/error_response.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace gm::proxy {

namespace http = boost::beast::http;

http::response<http::string_body> make_error_response(unsigned code, std::string_view status,
                                                      std::string_view message, unsigned http_version,
                                                      bool keep_alive) {
    rapidjson::StringBuffer out;
    rapidjson::Writer<rapidjson::StringBuffer> w(out);
    w.StartObject();
    w.Key("error");
    w.StartObject();
    w.Key("code");
    w.Uint(code);
    w.Key("message");
    w.String(message.data(), static_cast<rapidjson::SizeType>(message.size()));
    w.Key("status");
    w.String(status.data(), static_cast<rapidjson::SizeType>(status.size()));
    w.EndObject();
    w.EndObject();

    http::response<http::string_body> res{static_cast<http::status>(code), http_version};
    res.set(http::field::content_type, "application/json; charset=UTF-8");
    res.set(http::field::server, "gemini-meter");
    res.body().assign(out.GetString(), out.GetSize());
    res.keep_alive(keep_alive);
    res.prepare_payload();
    return res;
}

}  // namespace gm::proxy

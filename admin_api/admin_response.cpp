#include "admin_api/admin_response.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace gm::admin_api {

admin_response json_error(unsigned status, std::string_view message, std::string_view parameter,
                          std::string_view allowed) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    w.Key("error");
    w.StartObject();
    w.Key("code");
    w.Uint(status);
    w.Key("message");
    w.String(message.data(), static_cast<rapidjson::SizeType>(message.size()));
    if (!parameter.empty()) {
        w.Key("parameter");
        w.String(parameter.data(), static_cast<rapidjson::SizeType>(parameter.size()));
    }
    if (!allowed.empty()) {
        w.Key("allowed");
        w.String(allowed.data(), static_cast<rapidjson::SizeType>(allowed.size()));
    }
    w.EndObject();
    w.EndObject();
    admin_response r;
    r.status = status;
    r.body.assign(buf.GetString(), buf.GetSize());
    return r;
}

}  // namespace gm::admin_api

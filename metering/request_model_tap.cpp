#include "metering/request_model_tap.hpp"

#include <rapidjson/document.h>

#include <array>

namespace gm::metering {

namespace {
constexpr std::array<json_watch, 2> request_watches{{
    {"model", 0, 512},
    {"stream", 0, 16},
}};
}  // namespace

request_model_tap::request_model_tap() : scanner_(request_watches, *this) {}

void request_model_tap::feed(std::string_view chunk) noexcept {
    if (seen_ >= max_bytes) return;
    if (chunk.size() > max_bytes - seen_) chunk = chunk.substr(0, max_bytes - seen_);
    seen_ += chunk.size();
    scanner_.feed(chunk);
}

std::optional<std::string> request_model_tap::model() const { return model_; }

void request_model_tap::on_value(std::size_t watch_index, json_value_kind kind, std::string_view raw) {
    try {
        if (watch_index == 0) {
            if (kind != json_value_kind::string) return;
            rapidjson::Document d;
            d.Parse<rapidjson::kParseIterativeFlag>(raw.data(), raw.size());
            if (d.HasParseError() || !d.IsString()) return;
            std::string_view m(d.GetString(), d.GetStringLength());
            if (m.starts_with("models/")) m.remove_prefix(7);
            model_ = std::string(m);
        } else if (watch_index == 1) {
            stream_ = kind == json_value_kind::scalar && raw == "true";
        }
    } catch (...) {
        // Out of memory while copying a model name: the call is recorded without it.
    }
}

}  // namespace gm::metering

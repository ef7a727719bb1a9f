#include "proxy/attribution.hpp"

#include <boost/beast/core/string.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace gm::proxy {

namespace beast = boost::beast;

namespace {

constexpr std::string_view prefix = "x-meter-";
constexpr std::string_view tag_prefix = "tag-";
constexpr std::size_t max_value = 512;  // attribution is a label, not a payload

bool starts_with_icase(std::string_view s, std::string_view p) {
    return s.size() >= p.size() && beast::iequals(s.substr(0, p.size()), p);
}

std::string bounded(std::string_view v) {
    return std::string(v.substr(0, max_value));
}

}  // namespace

void take_attribution(header_fields& fields, metering::usage_record& record) {
    std::optional<bool> guest;
    fields.erase_if([&](const header_fields::field_view& f) {
        const std::string_view name = f.name_string;
        if (!starts_with_icase(name, prefix))
            return false;
        const std::string_view key = name.substr(prefix.size());
        const std::string_view value = f.value;
        if (beast::iequals(key, "user-id"))
            record.user_id = bounded(value);
        else if (beast::iequals(key, "user-email"))
            record.user_email = bounded(value);
        else if (beast::iequals(key, "guest"))
            guest = beast::iequals(value, "true") || value == "1";
        else if (beast::iequals(key, "endpoint"))
            record.endpoint = bounded(value);
        else if (beast::iequals(key, "bot-id"))
            record.bot_id = bounded(value);
        else if (starts_with_icase(key, tag_prefix) && key.size() > tag_prefix.size() && record.tags.size() < 32) {
            std::string tag_name(key.substr(tag_prefix.size()));
            for (auto& c : tag_name)
                c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            record.tags.emplace_back(std::move(tag_name), bounded(value));
        }
        return true;
    });
    record.is_guest = guest.value_or(record.user_id.empty());
}

}  // namespace gm::proxy

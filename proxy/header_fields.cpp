#include "proxy/header_fields.hpp"

#include <cstring>


namespace gm::proxy {

namespace http = boost::beast::http;

void header_fields::clear() noexcept {
    text_.clear();
    entries_.clear();
}

void header_fields::insert(http::field id, std::string_view name, std::string_view value) {
    entry e{id, static_cast<std::uint32_t>(text_.size()), static_cast<std::uint32_t>(name.size()), 0,
            static_cast<std::uint32_t>(value.size())};
    text_.append(name);
    e.value_at = static_cast<std::uint32_t>(text_.size());
    text_.append(value);
    entries_.push_back(e);
}

void header_fields::insert(std::string_view name, std::string_view value) {
    insert(http::string_to_field(name), name, value);
}

std::size_t header_fields::count(http::field id) const noexcept {
    std::size_t n = 0;
    for (const auto& e : entries_)
        n += e.id == id;
    return n;
}

std::string_view header_fields::value(http::field id) const noexcept {
    for (std::size_t i = 0; i < entries_.size(); ++i)
        if (entries_[i].id == id)
            return view(i).value;
    return {};
}

void header_fields::erase(http::field id) {
    erase_if([id](const field_view& f) { return f.id == id; });
}

void header_fields::append_to(std::string& out) const {
    // One resize, then plain copies: this runs twice per relayed call.
    std::size_t size = 0;
    for (const auto& e : entries_)
        size += e.name_len + e.value_len + 4;
    std::size_t at = out.size();
    out.resize(at + size);
    char* p = out.data();
    for (const auto& e : entries_) {
        std::memcpy(p + at, text_.data() + e.name_at, e.name_len);
        at += e.name_len;
        std::memcpy(p + at, ": ", 2);
        at += 2;
        std::memcpy(p + at, text_.data() + e.value_at, e.value_len);
        at += e.value_len;
        std::memcpy(p + at, "\r\n", 2);
        at += 2;
    }
}

}  // namespace gm::proxy

#include "proxy/header_fields.hpp"

#include <boost/beast/core/string.hpp>
#include <cstring>
#include <stdexcept>
#include <string>


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

namespace {

// ids are what count, value and erase take: one the relay never gives would find nothing.
void require_relay_id(http::field id) {
    switch (id) {
        case http::field::te:
        case http::field::host:
        case http::field::expect:
        case http::field::upgrade:
        case http::field::trailer:
        case http::field::connection:
        case http::field::keep_alive:
        case http::field::content_type:
        case http::field::content_length:
        case http::field::content_encoding:
        case http::field::proxy_connection:
        case http::field::transfer_encoding:
        case http::field::proxy_authenticate:
        case http::field::proxy_authorization:
            return;
        default:
            throw std::invalid_argument("header_fields: no id is kept for field " + std::string(http::to_string(id)));
    }
}

}  // namespace

http::field header_fields::relay_field_id(std::string_view name) noexcept {
    // By length first: a name is compared with at most two candidates, where Beast's
    // string_to_field hashes every name against its whole table of 350.
    using f = http::field;
    // `known` is lower case letters and '-', and `name` a token: OR-ing 0x20 lowers a
    // letter and leaves '-' alone, and no other token character becomes either.
    const auto is = [name](std::string_view known) {
        for (std::size_t i = 0; i < known.size(); ++i)
            if ((name[i] | 0x20) != known[i])
                return false;
        return true;
    };
    switch (name.size()) {
        case 2:
            return is("te") ? f::te : f::unknown;
        case 4:
            return is("host") ? f::host : f::unknown;
        case 6:
            return is("expect") ? f::expect : f::unknown;
        case 7:
            return is("upgrade") ? f::upgrade : is("trailer") ? f::trailer : f::unknown;
        case 10:
            return is("connection") ? f::connection : is("keep-alive") ? f::keep_alive : f::unknown;
        case 12:
            return is("content-type") ? f::content_type : f::unknown;
        case 14:
            return is("content-length") ? f::content_length : f::unknown;
        case 16:
            return is("content-encoding")   ? f::content_encoding
                   : is("proxy-connection") ? f::proxy_connection
                                            : f::unknown;
        case 17:
            return is("transfer-encoding") ? f::transfer_encoding : f::unknown;
        case 18:
            return is("proxy-authenticate") ? f::proxy_authenticate : f::unknown;
        case 19:
            return is("proxy-authorization") ? f::proxy_authorization : f::unknown;
        default:
            return f::unknown;
    }
}

void header_fields::insert(std::string_view name, std::string_view value) {
    insert(relay_field_id(name), name, value);
}

std::size_t header_fields::count(http::field id) const {
    require_relay_id(id);
    std::size_t n = 0;
    for (const auto& e : entries_)
        n += e.id == id;
    return n;
}

std::string_view header_fields::value(http::field id) const {
    require_relay_id(id);
    for (std::size_t i = 0; i < entries_.size(); ++i)
        if (entries_[i].id == id)
            return view(i).value;
    return {};
}

void header_fields::erase(http::field id) {
    require_relay_id(id);
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

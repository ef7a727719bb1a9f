#pragma once
// A message's header fields in arrival order, their text in one buffer reused from message
// to message. Beast's http::fields allocates each field and keeps a sorted index of them,
// which a relay that forwards fields in order and looks up a handful never needs.
//
// Only the fields the relay acts on have an id (relay_field_id: framing, hop-by-hop, Host,
// Expect, and the two the metering tap reads); every other field is http::field::unknown
// and is found by name. Asking for another id is a programming error and throws
// std::invalid_argument instead of answering "absent".
#include <boost/beast/http/field.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gm::proxy {

class header_fields {
public:
    struct field_view {
        boost::beast::http::field id;  // http::field::unknown for names Beast does not know
        std::string_view name_string;
        std::string_view value;
    };

    class iterator {
    public:
        iterator(const header_fields* owner, std::size_t i) : owner_(owner), i_(i) {}
        field_view operator*() const { return owner_->view(i_); }
        iterator& operator++() {
            ++i_;
            return *this;
        }
        bool operator==(const iterator&) const = default;

    private:
        const header_fields* owner_;
        std::size_t i_;
    };

    // The id of a field the relay acts on, or http::field::unknown. `name` must be a token
    // (RFC 9110 5.6.2), as the parser makes sure.
    static boost::beast::http::field relay_field_id(std::string_view name) noexcept;

    void clear() noexcept;
    void insert(boost::beast::http::field id, std::string_view name, std::string_view value);
    // Finds the id from the name, as the parser does.
    void insert(std::string_view name, std::string_view value);

    // For a parser, which copies a header's text once: fields added with add_parsed point
    // by offset into the block that set_parsed_text then gives them. Call clear() first.
    void add_parsed(boost::beast::http::field id, std::uint32_t name_at, std::uint32_t name_len,
                    std::uint32_t value_at, std::uint32_t value_len) {
        entries_.push_back({id, name_at, name_len, value_at, value_len});
    }
    void set_parsed_text(std::string_view block) { text_.assign(block); }

    std::size_t count(boost::beast::http::field id) const;
    // The first value of the field; empty when absent.
    std::string_view value(boost::beast::http::field id) const;

    // Every field with this id; id must not be http::field::unknown.
    void erase(boost::beast::http::field id);
    // Removes the fields for which remove(view) is true, keeping the others' order.
    template <class Predicate>
    void erase_if(Predicate remove) {
        std::size_t out = 0;
        for (std::size_t i = 0; i < entries_.size(); ++i)
            if (!remove(view(i)))
                entries_[out++] = entries_[i];
        entries_.resize(out);
    }

    // "Name: value\r\n" for each field, in order.
    void append_to(std::string& out) const;

    std::size_t size() const noexcept { return entries_.size(); }
    iterator begin() const noexcept { return {this, 0}; }
    iterator end() const noexcept { return {this, entries_.size()}; }

private:
    struct entry {
        boost::beast::http::field id;
        std::uint32_t name_at, name_len, value_at, value_len;
    };
    field_view view(std::size_t i) const noexcept {
        const auto& e = entries_[i];
        return {e.id, std::string_view(text_).substr(e.name_at, e.name_len),
                std::string_view(text_).substr(e.value_at, e.value_len)};
    }

    std::string text_;
    std::vector<entry> entries_;
};

}  // namespace gm::proxy

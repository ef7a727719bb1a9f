#pragma once
// Beast's HTTP/1 parser filling a message_head: the relay's parser before header_parser
// replaced it, kept as the reference header_parser_test compares against.
#include <boost/beast/http/basic_parser.hpp>

#include "proxy/header_parser.hpp"

namespace gm::proxy::testing {

template <bool isRequest>
class beast_reference_parser : public boost::beast::http::basic_parser<isRequest> {
public:
    using error_code = boost::beast::error_code;
    using string_view = boost::beast::string_view;

    explicit beast_reference_parser(message_head& head) : head_(head) {
        head_.fields.clear();
        this->body_limit(boost::none);
    }

private:
    void on_request_impl(boost::beast::http::verb method, string_view method_str, string_view target, int version,
                         error_code&) override {
        head_.method = method;
        head_.method_string.assign(method_str);
        head_.target.assign(target);
        head_.version = static_cast<unsigned>(version);
    }
    void on_response_impl(int code, string_view reason, int version, error_code&) override {
        head_.status = static_cast<unsigned>(code);
        head_.reason.assign(reason);
        head_.version = static_cast<unsigned>(version);
    }
    void on_field_impl(boost::beast::http::field id, string_view name, string_view value, error_code&) override {
        head_.fields.insert(id, name, value);
    }
    void on_header_impl(error_code&) override {}
    void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
    std::size_t on_body_impl(string_view body, error_code&) override { return body.size(); }
    void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
    std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code&) override { return body.size(); }
    void on_finish_impl(error_code&) override {}

    message_head& head_;
};

}  // namespace gm::proxy::testing

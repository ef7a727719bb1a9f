#pragma once
// Beast's HTTP/1 parser run for the header only, its fields kept in a header_fields the
// session owns and reuses. Bodies are relayed raw (body_framer), never given to the parser.
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/verb.hpp>
#include <string>

#include "proxy/header_fields.hpp"

namespace gm::proxy {

// What the parser keeps of a message's header; owned by the session, so that its buffers
// are reused from one message to the next.
struct message_head {
    header_fields fields;
    unsigned version = 11;
    boost::beast::http::verb method = boost::beast::http::verb::unknown;  // requests
    std::string method_string;
    std::string target;
    unsigned status = 0;  // responses
    std::string reason;
};

template <bool isRequest>
class header_parser : public boost::beast::http::basic_parser<isRequest> {
public:
    using error_code = boost::beast::error_code;
    using string_view = boost::beast::string_view;

    // Clears `head` and fills it as the header arrives; `head` must outlive the parser.
    explicit header_parser(message_head& head) : head_(head) {
        head_.fields.clear();
        // The body is relayed raw, never held: no limit (Beast checks Content-Length against it).
        this->body_limit(boost::none);
    }

    message_head& head() noexcept { return head_; }

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

}  // namespace gm::proxy

#pragma once
// Whether header_parser and Beast's parser agree on a text: shared by header_parser_test
// and the header_parser_fuzz target, so that both hold the parser to one rule.
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "beast_reference_parser.hpp"
#include "proxy/header_parser.hpp"

namespace gm::proxy::testing {

namespace http = boost::beast::http;

struct fed {
    boost::beast::error_code ec;  // need_more when the text ended first
    std::size_t used = 0;         // bytes the parser took
};

// Feeds `text` to the parser in pieces of `step` bytes, as a socket might deliver it,
// dropping what the parser took after each put (Beast takes a header piece by piece,
// header_parser all at once).
template <class Parser>
fed feed(Parser& p, const std::string& text, std::size_t step) {
    std::string pending;
    fed result;
    for (std::size_t at = 0; at < text.size(); at += step) {
        pending += text.substr(at, step);
        const auto used = p.put(boost::asio::buffer(pending), result.ec);
        pending.erase(0, used);
        result.used += used;
        if (result.ec != http::error::need_more)
            return result;
    }
    if (!result.ec)
        result.ec = http::error::need_more;
    return result;
}

template <bool isRequest>
struct outcome {
    fed how;
    message_head head;
    bool keep_alive = false;
    std::optional<std::uint64_t> content_length;
    bool chunked = false;
};

template <bool isRequest, template <bool> class Parser>
outcome<isRequest> parse_with(const std::string& text, std::size_t step, std::uint32_t limit = 1u << 20) {
    outcome<isRequest> out;
    Parser<isRequest> p(out.head);
    p.header_limit(limit);
    out.how = feed(p, text, step);
    if (!out.how.ec) {
        out.keep_alive = p.keep_alive();
        if (auto n = p.content_length())
            out.content_length = *n;
        out.chunked = p.chunked();
    }
    return out;
}

std::vector<std::pair<std::string, std::string>> fields_of(const message_head& head) {
    std::vector<std::pair<std::string, std::string>> out;
    for (auto f : head.fields)
        out.emplace_back(std::string(f.name_string), std::string(f.value));
    return out;
}

std::string lower(std::string s) {
    for (auto& c : s)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string escaped(const std::string& text) {
    std::string out;
    for (char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u < 0x7f && c != '\\')
            out += c;
        else {
            char hex[8];
            std::snprintf(hex, sizeof hex, "\\x%02x", u);
            out += hex;
        }
    }
    return out;
}

// The header part of `text`: up to the first empty line, or all of it.
std::string header_part(const std::string& text) {
    const auto end = text.find("\r\n\r\n");
    return end == std::string::npos ? text : text.substr(0, end + 2);
}

// Whether `text` shows the construct a strict rule names, so that a rejection Beast does
// not make is one of the three documented ones and not a parser bug.
bool shows(strict_header_error rule, const std::string& text) {
    const std::string head = lower(header_part(text));
    switch (rule) {
        case strict_header_error::obs_fold:
            return head.find("\r\n ") != std::string::npos || head.find("\r\n\t") != std::string::npos;
        case strict_header_error::content_length_list: {
            std::size_t count = 0;
            for (auto at = head.find("\ncontent-length:"); at != std::string::npos;
                 at = head.find("\ncontent-length:", at + 1)) {
                ++count;
                if (head.substr(at, head.find('\r', at) - at).find(',') != std::string::npos)
                    return true;
            }
            return count > 1;
        }
        case strict_header_error::transfer_encoding_list:
            for (auto at = head.find("\ntransfer-encoding:"); at != std::string::npos;
                 at = head.find("\ntransfer-encoding:", at + 1)) {
                std::string line = head.substr(at + 19, head.find('\r', at) - at - 19);
                // An element with anything but token characters inside its OWS.
                std::replace(line.begin(), line.end(), '\t', ' ');
                std::size_t from = 0;
                while (from <= line.size()) {
                    auto to = line.find(',', from);
                    if (to == std::string::npos)
                        to = line.size();
                    auto element = line.substr(from, to - from);
                    element.erase(0, element.find_first_not_of(' '));
                    element.erase(element.find_last_not_of(' ') + 1);
                    for (char c : element)
                        if (!std::isalnum(static_cast<unsigned char>(c)) &&
                            std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos)
                            return true;
                    from = to + 1;
                }
            }
            return false;
    }
    return false;
}

// Empty when header_parser agrees with Beast on `text`: the same error or success, the
// same bytes taken, and the same start line, fields and framing; or when it rejects, with
// one of its strict rules, a text that shows what the rule names. Otherwise what differs.
// Beast is given the text whole (fed in pieces, it defers some errors until the header's
// end has arrived); header_parser must come to the same result however the text is cut.
template <bool isRequest>
std::string disagreement(const std::string& text, std::size_t step) {
    const auto ours = parse_with<isRequest, header_parser>(text, step);
    const auto whole = parse_with<isRequest, header_parser>(text, text.size() + 1);
    const auto beast = parse_with<isRequest, beast_reference_parser>(text, text.size() + 1);
    std::ostringstream why;
    why << (isRequest ? "request" : "response") << " text: " << escaped(text) << "\nstep: " << step
        << "\nours: " << ours.how.ec.message() << "\nbeast: " << beast.how.ec.message() << "\n";
    const auto differs = [&why](const char* what) { return why.str() + "differs: " + what; };
    if (ours.how.ec != whole.how.ec)
        return differs("header_parser's result depends on how the text is cut");
    if (ours.how.ec.category() == strict_header_category() &&
        (!beast.how.ec || beast.how.ec == http::error::need_more))
        return shows(static_cast<strict_header_error>(ours.how.ec.value()), text)
                   ? std::string()
                   : differs("a strict rule refused a text that does not show its construct");
    const auto incomplete = [](const fed& f) { return f.ec == http::error::need_more; };
    if (incomplete(ours.how) != incomplete(beast.how) ||
        static_cast<bool>(ours.how.ec) != static_cast<bool>(beast.how.ec) ||
        (ours.how.ec == http::error::header_limit) != (beast.how.ec == http::error::header_limit))
        return differs("outcome");
    if (ours.how.ec)
        return {};
    if (ours.how.used != beast.how.used)
        return differs("bytes taken");
    if (ours.head.version != beast.head.version)
        return differs("version");
    if constexpr (isRequest) {
        if (ours.head.method != beast.head.method || ours.head.method_string != beast.head.method_string ||
            ours.head.target != beast.head.target)
            return differs("request line");
    } else {
        if (ours.head.status != beast.head.status || ours.head.reason != beast.head.reason)
            return differs("status line");
    }
    if (fields_of(ours.head) != fields_of(beast.head))
        return differs("fields");
    if (ours.keep_alive != beast.keep_alive || ours.content_length != beast.content_length ||
        ours.chunked != beast.chunked)
        return differs("framing");
    return {};
}

}  // namespace gm::proxy::testing

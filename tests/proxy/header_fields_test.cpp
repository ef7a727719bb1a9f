#include "proxy/header_fields.hpp"

#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace http = boost::beast::http;
using gm::proxy::header_fields;

namespace {
std::vector<std::string> names(const header_fields& f) {
    std::vector<std::string> out;
    for (const auto field : f)
        out.emplace_back(field.name_string);
    return out;
}
}  // namespace

TEST_CASE("header_fields keeps fields in arrival order with their spelling") {
    header_fields f;
    f.insert("content-type", "application/json");
    f.insert("X-Custom", "a");
    f.insert("Transfer-Encoding", "1");
    f.insert("transfer-encoding", "2");
    CHECK(names(f) == std::vector<std::string>{"content-type", "X-Custom", "Transfer-Encoding", "transfer-encoding"});
    CHECK(f.count(http::field::transfer_encoding) == 2);
    CHECK(f.count(http::field::content_type) == 1);
    CHECK(f.count(http::field::host) == 0);
    CHECK(f.value(http::field::content_type) == "application/json");
    CHECK(f.value(http::field::transfer_encoding) == "1");  // the first one
    CHECK(f.value(http::field::host).empty());
    std::string wire;
    f.append_to(wire);
    CHECK(wire == "content-type: application/json\r\nX-Custom: a\r\nTransfer-Encoding: 1\r\ntransfer-encoding: 2\r\n");
}

TEST_CASE("header_fields erases by id or predicate and keeps the rest in order") {
    header_fields f;
    f.insert("A-One", "1");
    f.insert("Host", "old");
    f.insert("B-Two", "2");
    f.insert("host", "older");
    f.erase(http::field::host);
    CHECK(names(f) == std::vector<std::string>{"A-One", "B-Two"});
    f.insert(http::field::host, "Host", "new.example");
    CHECK(f.value(http::field::host) == "new.example");
    f.erase_if([](const header_fields::field_view& v) { return v.value == "1"; });
    CHECK(names(f) == std::vector<std::string>{"B-Two", "Host"});
    CHECK(f.size() == 2);
}

TEST_CASE("header_fields reused after clear holds only the new message's fields") {
    header_fields f;
    f.insert("X-Long", std::string(3000, 'x'));
    f.clear();
    CHECK(f.size() == 0);
    CHECK(f.begin() == f.end());
    f.insert("Accept", "*/*");
    std::string wire;
    f.append_to(wire);
    CHECK(wire == "Accept: */*\r\n");
}

TEST_CASE("only the fields the relay acts on get an id, the same one Beast gives them") {
    for (const char* name : {"TE", "host", "Expect", "UPGRADE", "Trailer", "Connection", "keep-alive", "Content-Type",
                             "content-length", "Content-Encoding", "Proxy-Connection", "Transfer-Encoding",
                             "Proxy-Authenticate", "proxy-authorization"}) {
        INFO(name);
        CHECK(header_fields::relay_field_id(name) == http::string_to_field(name));
        CHECK(header_fields::relay_field_id(name) != http::field::unknown);
    }
    for (const char* name : {"Set-Cookie", "Date", "X-Meter-User-Id", "x-goog-api-key", "Hosts", "TE-", "Content-Typo",
                             "Vary", "Server", ""})
        CHECK(header_fields::relay_field_id(name) == http::field::unknown);
    // Asking for another id would silently find nothing: it is refused instead.
    header_fields f;
    f.insert("Set-Cookie", "a=1");
    CHECK_THROWS_AS(f.count(http::field::set_cookie), std::invalid_argument);
    CHECK_THROWS_AS(f.value(http::field::date), std::invalid_argument);
    CHECK_THROWS_AS(f.erase(http::field::unknown), std::invalid_argument);
}

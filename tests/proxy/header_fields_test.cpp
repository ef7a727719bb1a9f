#include "proxy/header_fields.hpp"

#include <catch2/catch.hpp>
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
    f.insert("Set-Cookie", "1");
    f.insert("set-cookie", "2");
    CHECK(names(f) == std::vector<std::string>{"content-type", "X-Custom", "Set-Cookie", "set-cookie"});
    CHECK(f.count(http::field::set_cookie) == 2);
    CHECK(f.count(http::field::content_type) == 1);
    CHECK(f.count(http::field::host) == 0);
    CHECK(f.value(http::field::content_type) == "application/json");
    CHECK(f.value(http::field::set_cookie) == "1");  // the first one
    CHECK(f.value(http::field::host).empty());
    std::string wire;
    f.append_to(wire);
    CHECK(wire == "content-type: application/json\r\nX-Custom: a\r\nSet-Cookie: 1\r\nset-cookie: 2\r\n");
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

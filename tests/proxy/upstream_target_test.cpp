#include "proxy/upstream_target.hpp"

#include <catch2/catch.hpp>
#include <stdexcept>

using gm::proxy::parse_upstream_url;

TEST_CASE("the default upstream is Google over TLS on 443") {
    auto t = parse_upstream_url("https://generativelanguage.googleapis.com");
    CHECK(t.tls);
    CHECK(t.host == "generativelanguage.googleapis.com");
    CHECK(t.port == "443");
    CHECK(t.host_header == "generativelanguage.googleapis.com");
    CHECK(t.base_path.empty());
}

TEST_CASE("a plain upstream with a port and a path prefix") {
    auto t = parse_upstream_url("http://127.0.0.1:8081/prefix/");
    CHECK_FALSE(t.tls);
    CHECK(t.host == "127.0.0.1");
    CHECK(t.port == "8081");
    CHECK(t.host_header == "127.0.0.1:8081");
    CHECK(t.base_path == "/prefix");
}

TEST_CASE("bad upstream URLs are refused with a reason") {
    CHECK_THROWS_AS(parse_upstream_url("ftp://x"), std::invalid_argument);
    CHECK_THROWS_AS(parse_upstream_url("not a url"), std::invalid_argument);
    CHECK_THROWS_AS(parse_upstream_url("https://user:pw@host"), std::invalid_argument);
    CHECK_THROWS_AS(parse_upstream_url("https://host/?key=abc"), std::invalid_argument);
}

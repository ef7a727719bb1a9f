#pragma once
// Parses a JSON response body in a test; a body that is not JSON fails the test there.
#include <catch2/catch.hpp>
#include <rapidjson/document.h>
#include <string_view>

namespace gm::test {

inline rapidjson::Document parse_json(std::string_view s) {
    rapidjson::Document d;
    d.Parse(s.data(), s.size());
    REQUIRE_FALSE(d.HasParseError());
    return d;
}

}  // namespace gm::test

#include "metering/usage_record.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace gm::metering;

TEST_CASE("call endings and usage sources have stable names") {
    CHECK(std::string(to_string(call_ending::completed)) == "completed");
    CHECK(std::string(to_string(call_ending::upstream_unreachable)) == "upstream_unreachable");
    CHECK(std::string(to_string(call_ending::upstream_timeout)) == "upstream_timeout");
    CHECK(std::string(to_string(call_ending::client_gone)) == "client_gone");
    CHECK(std::string(to_string(call_ending::upstream_broken)) == "upstream_broken");
    CHECK(std::string(to_string(call_ending::rejected)) == "rejected");
    CHECK(std::string(to_string(usage_source::response)) == "response");
    CHECK(std::string(to_string(usage_source::none)) == "none");
    CHECK(std::string(to_string(usage_source::estimated)) == "estimated");
}

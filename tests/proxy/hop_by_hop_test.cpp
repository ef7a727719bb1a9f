#include "proxy/hop_by_hop.hpp"

#include <catch2/catch.hpp>

TEST_CASE("hop-by-hop fields and the fields Connection names are removed, the rest kept in order") {
    gm::proxy::header_fields f;
    f.insert("Connection", "keep-alive, X-Private");
    f.insert("Keep-Alive", "timeout=5");
    f.insert("X-Private", "1");
    f.insert("Transfer-Encoding", "chunked");
    f.insert("TE", "trailers");
    f.insert("Upgrade", "h2c");
    f.insert("Proxy-Connection", "keep-alive");
    f.insert("Content-Type", "application/json");
    f.insert("x-goog-api-key", "k");
    f.insert("Accept-Encoding", "gzip");
    gm::proxy::strip_hop_by_hop(f);
    std::vector<std::string> names;
    for (const auto& field : f)
        names.emplace_back(field.name_string);
    CHECK(names == std::vector<std::string>{"Content-Type", "x-goog-api-key", "Accept-Encoding"});
}

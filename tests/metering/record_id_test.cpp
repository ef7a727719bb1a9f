#include "metering/record_id.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <thread>
#include <vector>

using namespace gm::metering;

TEST_CASE("record ids have a fixed shape and carry their timestamp") {
    const auto id = make_record_id(1'764'349'442'123);
    CHECK(id.size() == record_id_length);
    CHECK(std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z' && c != 'i' && c != 'l' && c != 'o' && c != 'u');
    }));
    CHECK(record_id_time_ms(id) == 1'764'349'442'123);
    CHECK(record_id_time_ms("short") == -1);
    CHECK(record_id_time_ms(make_record_id(-5)) == 0);
}

TEST_CASE("record ids sort in time order, including within one millisecond on a thread") {
    std::vector<std::string> ids;
    for (std::int64_t ms : {0LL, 1LL, 31LL, 32LL, 1'000LL, 1'764'349'442'123LL, (1LL << 50) - 1})
        for (int k = 0; k < 50; ++k) ids.push_back(make_record_id(ms));
    CHECK(std::is_sorted(ids.begin(), ids.end()));
    CHECK(std::adjacent_find(ids.begin(), ids.end()) == ids.end());
}

TEST_CASE("record ids do not collide across threads") {
    constexpr int per_thread = 20'000;
    std::vector<std::vector<std::string>> got(4);
    std::vector<std::thread> ts;
    for (int t = 0; t < 4; ++t)
        ts.emplace_back([&, t] {
            for (int i = 0; i < per_thread; ++i) got[static_cast<std::size_t>(t)].push_back(make_record_id(42 + i / 1000));
        });
    for (auto& t : ts) t.join();
    std::set<std::string> all;
    for (const auto& v : got) all.insert(v.begin(), v.end());
    CHECK(all.size() == 4u * per_thread);
}

#include "proxy/call_buffers.hpp"

#include <catch2/catch.hpp>
#include <cstring>

using gm::proxy::call_buffers;
using gm::proxy::call_buffers_cache;

TEST_CASE("a given-back set is taken again, with its capacity, and the cache keeps at most its bound") {
    call_buffers_cache cache(2);
    auto a = cache.take();
    a->client.prepare(4096);
    a->request_head.reserve(1024);
    const auto* address = a.get();
    cache.give_back(std::move(a));
    CHECK(cache.idle_sets() == 1);
    auto again = cache.take();
    CHECK(again.get() == address);
    CHECK(again->client.capacity() >= 4096);
    CHECK(again->request_head.capacity() >= 1024);
    CHECK(cache.idle_sets() == 0);

    CHECK(cache.give_back(std::move(again)));
    CHECK(cache.give_back(cache.take()));
    CHECK(cache.give_back(std::make_unique<call_buffers>()));
    CHECK_FALSE(cache.give_back(std::make_unique<call_buffers>()));  // full: freed
    CHECK(cache.idle_sets() == 2);
    CHECK(cache.give_back(nullptr));
    CHECK(cache.idle_sets() == 2);
}

TEST_CASE("a read buffer grown by a large body is not kept") {
    call_buffers_cache cache(4);
    auto b = cache.take();
    b->client.prepare(64 * 1024);
    cache.give_back(std::move(b));
    auto again = cache.take();
    CHECK(again->client.capacity() <= call_buffers_cache::max_kept_read_buffer);
}

TEST_CASE("a set given back with bytes in its read buffer comes back empty") {
    call_buffers_cache cache(4);
    auto b = cache.take();
    auto room = b->client.prepare(16);
    std::memcpy(room.data(), "GET / HTTP/1.1\r\n", 16);
    b->client.commit(16);
    cache.give_back(std::move(b));
    CHECK(cache.take()->client.size() == 0);
}

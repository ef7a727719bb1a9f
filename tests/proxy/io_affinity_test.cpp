#include "proxy/io_affinity.hpp"

#include <catch2/catch.hpp>
#include <sched.h>

#include <algorithm>
#include <string>
#include <thread>

#include "proxy/proxy_server.hpp"
#include "support/thread_sched.hpp"

using namespace gm::proxy;

namespace {

io_cpu_affinity parsed(const std::string& text) {
    std::string error;
    const auto a = parse_io_cpus(text, error);
    INFO(text << ": " << error);
    REQUIRE(a.has_value());
    CHECK(error.empty());
    return *a;
}

std::string refused(const std::string& text) {
    std::string error;
    const auto a = parse_io_cpus(text, error);
    INFO(text);
    CHECK_FALSE(a.has_value());
    return error;
}

proxy_options options(unsigned threads, io_cpu_affinity cpus) {
    proxy_options o;
    o.listen_host = "127.0.0.1";
    o.listen_port = 0;
    o.upstream_url = "http://127.0.0.1:9";
    o.io_threads = threads;
    o.io_cpus = std::move(cpus);
    return o;
}

// The lowest CPU number this process may not run on.
int forbidden_cpu() {
    const auto allowed = allowed_cpus();
    int c = 0;
    while (std::binary_search(allowed.begin(), allowed.end(), c)) ++c;
    return c;
}

}  // namespace

TEST_CASE("io cpus: off, auto and CPU lists as taskset -c writes them") {
    CHECK_FALSE(parsed("off").enabled());
    CHECK(parsed("auto").automatic);
    CHECK(parsed("auto").enabled());
    CHECK(parsed("0").cpus == std::vector<int>{0});
    CHECK(parsed("3,1").cpus == std::vector<int>{3, 1});
    CHECK(parsed("0-3,6").cpus == std::vector<int>{0, 1, 2, 3, 6});
    CHECK(parsed("5-5").cpus == std::vector<int>{5});
    CHECK(parsed(std::to_string(CPU_SETSIZE - 1)).cpus == std::vector<int>{CPU_SETSIZE - 1});
}

TEST_CASE("io cpus: anything else is refused with the reason") {
    CHECK(refused("") == "'' is empty: off, auto or a CPU list such as 0,2-3");
    const std::string syntax = "must be off, auto or a CPU list such as 0,2-3 (CPUs 0.." +
                               std::to_string(CPU_SETSIZE - 1) + ")";
    for (const auto* bad : {"on", "all", "-1", "1-", "-", "0,,1", ",0", "0x1", " 0", "0 ", "1.5", "0-2-4",
                            "99999999999999999999"})
        CHECK(refused(bad) == "'" + std::string(bad) + "' " + syntax);
    CHECK(refused(std::to_string(CPU_SETSIZE)) == "'" + std::to_string(CPU_SETSIZE) + "' " + syntax);
    CHECK(refused("3-1") == "'3-1' has a range that goes down (3-1)");
    CHECK(refused("0,1,0") == "'0,1,0' names CPU 0 twice");
    CHECK(refused("0-2,1") == "'0-2,1' names CPU 1 twice");
    CHECK(refused("0,") == "'0,' ends with a comma");
}

TEST_CASE("io cpus: a list is written back as ranges") {
    CHECK(format_cpu_list({}).empty());
    CHECK(format_cpu_list({0}) == "0");
    CHECK(format_cpu_list({0, 1, 2, 3, 6}) == "0-3,6");
    CHECK(format_cpu_list({1, 3, 4}) == "1,3-4");
}

TEST_CASE("io cpus: each I/O thread takes the next CPU of the list, round robin") {
    const auto allowed = allowed_cpus();
    REQUIRE_FALSE(allowed.empty());
    CHECK(io_thread_cpus(parsed("off"), 4).empty());
    std::vector<int> want;
    for (unsigned i = 0; i < 5; ++i) want.push_back(allowed[i % allowed.size()]);
    CHECK(io_thread_cpus(parsed("auto"), 5) == want);
    CHECK(io_thread_cpus(parsed(std::to_string(allowed.back())), 3) ==
          std::vector<int>(3, allowed.back()));
}

TEST_CASE("io cpus: a CPU the process may not run on is refused before any thread starts") {
    const int c = forbidden_cpu();
    REQUIRE(c < CPU_SETSIZE);
    const auto text = "0," + std::to_string(c);
    CHECK_THROWS_WITH(io_thread_cpus(parsed(text), 2),
                      "--io-cpus: CPU " + std::to_string(c) + " is not one this process may run on (" +
                          format_cpu_list(allowed_cpus()) + ")");
    CHECK_THROWS_WITH(proxy_server(options(2, parsed(text)), nullptr),
                      Catch::Contains("CPU " + std::to_string(c) + " is not one this process may run on"));
    CHECK(gm::test::threads_named("gm-io").empty());
}

TEST_CASE("io cpus: every gm-io thread of a started proxy_server runs on its CPU only") {
    const auto allowed = allowed_cpus();
    for (const auto* text : {"auto", "last"}) {
        const auto affinity = std::string(text) == "auto" ? parsed("auto") : parsed(std::to_string(allowed.back()));
        proxy_server server(options(3, affinity), nullptr);
        server.start();
        const auto expected = io_thread_cpus(affinity, 3);
        CHECK(server.io_cpus() == expected);
        auto threads = gm::test::threads_named("gm-io");
        REQUIRE(threads.size() == 3);
        // Threads are numbered in the order they started: the order of the list.
        std::sort(threads.begin(), threads.end(), [](const auto& a, const auto& b) { return a.tid < b.tid; });
        for (std::size_t i = 0; i < threads.size(); ++i)
            CHECK(thread_cpus(threads[i].tid) == std::vector<int>{expected[i]});
        server.stop();
    }
    // Off: the threads keep the process's CPUs.
    proxy_server server(options(2, parsed("off")), nullptr);
    server.start();
    CHECK(server.io_cpus().empty());
    for (const auto& t : gm::test::threads_named("gm-io")) CHECK(thread_cpus(t.tid) == allowed);
    server.stop();
}

TEST_CASE("the io_cpus log line says when I/O threads share a CPU") {
    CHECK(describe_io_cpus({0, 1}) == "I/O threads bound to CPUs 0 1 (in thread order)");
    CHECK(describe_io_cpus({3}) == "I/O threads bound to CPUs 3 (in thread order)");
    CHECK(describe_io_cpus({0, 1, 0}) ==
          "I/O threads bound to CPUs 0 1 0 (in thread order); 3 threads on 2 CPUs: more I/O threads than CPUs listed, "
          "so some take turns on one CPU");
    CHECK(describe_io_cpus({2, 2}) ==
          "I/O threads bound to CPUs 2 2 (in thread order); 2 threads on 1 CPU: more I/O threads than CPUs listed, "
          "so some take turns on one CPU");
}

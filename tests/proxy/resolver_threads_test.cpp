// The resolver's threads: started with the proxy from a thread of their own name, so that a
// look-up neither adds a thread that passes for an I/O thread nor runs on an I/O thread's CPU.
#include <catch2/catch.hpp>

#include "proxy/io_affinity.hpp"
#include "proxy_fixture.hpp"
#include "support/thread_sched.hpp"

using namespace gm::test;

TEST_CASE("resolver threads: one per I/O context, named gm-resolver, on the process's CPUs, none added by a call") {
    const auto allowed = gm::proxy::allowed_cpus();
    // Both I/O threads bound to one CPU: a thread they started would be bound there too.
    proxy_fixture f([&](auto& o) { o.io_cpus.cpus = {allowed.back()}; });
    const auto resolvers = threads_named("gm-resolver");
    CHECK(resolvers.size() == 2);
    for (const auto& t : resolvers) CHECK(gm::proxy::thread_cpus(t.tid) == allowed);
    REQUIRE(threads_named("gm-io").size() == 2);

    auto c = f.client();  // the first call resolves the upstream's host
    c.send(raw_http_client::make_request("GET", "/v1beta/models"));
    CHECK(c.read_response().status == 200);
    CHECK(threads_named("gm-io").size() == 2);
    CHECK(threads_named("gm-resolver").size() == 2);
}

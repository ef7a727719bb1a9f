#pragma once
// Asio runs getaddrinfo on a thread of each io_context's resolver service, started by the
// first async_resolve from whichever thread calls it. Started from a gm-io thread, it would
// inherit that thread's name, CPU binding (--io-cpus) and slice (--io-slice-us): a blocking
// DNS look-up pinned to an I/O thread's CPU, and a thread that benchmarks and tests counting
// "gm-io" threads take for one. start_resolver_threads starts them before the I/O threads
// run, from a short-lived thread named "gm-resolver" with the process's own CPUs and slice.
#include <memory>
#include <vector>

#include <boost/asio/io_context.hpp>

namespace gm::proxy {

// Blocks until every context's resolver thread exists. A numeric look-up of 127.0.0.1 starts
// each one: no DNS query leaves the machine; its completion (ignored) runs on the context
// once it runs.
void start_resolver_threads(const std::vector<std::unique_ptr<boost::asio::io_context>>& contexts);

}  // namespace gm::proxy

#pragma once
// Everything the proxy needs to know about its environment, as a plain struct; the app fills it.
#include <chrono>
#include <cstddef>
#include <string>

#include "proxy/io_affinity.hpp"

namespace gm::proxy {

struct proxy_options {
    std::string listen_host = "0.0.0.0";
    unsigned short listen_port = 8080;
    std::string upstream_url = "https://generativelanguage.googleapis.com";
    std::string upstream_ca_file;  // extra CAs, beside the system store
    unsigned io_threads = 0;       // 0: one per core
    // The I/O threads' EEVDF slice (proxy/io_slice.hpp); 0: the kernel's default (0.7 ms
    // times 1 + log2(CPUs, at most 8): 1.4 ms on 2 cores). 0.5 ms is shorter than it on any
    // machine, so a woken gm-io thread preempts a neighbour of the same weight at once;
    // 0.1 ms measured the same (README, "The I/O threads' slice").
    std::chrono::microseconds io_slice{500};
    // The CPU each I/O thread is bound to (proxy/io_affinity.hpp); none by default.
    io_cpu_affinity io_cpus;

    std::chrono::milliseconds connect_timeout{10'000};
    std::chrono::milliseconds header_timeout{30'000};          // client request header
    std::chrono::milliseconds upstream_first_byte_timeout{600'000};  // thinking models answer slowly
    std::chrono::milliseconds idle_timeout{300'000};            // no byte either way mid-call
    std::chrono::milliseconds keep_alive_timeout{75'000};       // idle client between requests
    std::chrono::milliseconds drain_timeout{30'000};

    std::size_t header_limit = 64 * 1024;        // over it: 431
    std::size_t max_idle_upstream_per_thread = 64;
    bool metering = true;                         // off: relay only (benchmarks)
};

}  // namespace gm::proxy

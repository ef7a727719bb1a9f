// gm-set-slice: asks the kernel for a custom EEVDF slice (sched_attr.sched_runtime, Linux
// 6.12+) on given thread ids, keeping each thread's policy and nice value, and prints what the
// kernel reports back. Used by bench/run.sh (METER_B_SLICE_US) to measure the slice on another
// process's gm-io thread without changing gemini-meter. The system calls are gemini-meter's
// own (proxy/io_slice.hpp).
//
// Usage: gm-set-slice SLICE_US TID...   (SLICE_US 0: back to the kernel's default slice)
//        gm-set-slice --get TID...
#include <sched.h>
#include <sys/resource.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "proxy/io_slice.hpp"

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s SLICE_US TID... | --get TID...\n", argv[0]);
        return 2;
    }
    const bool get_only = std::string(argv[1]) == "--get";
    const std::chrono::microseconds slice(get_only ? 0 : std::strtoll(argv[1], nullptr, 10));
    int failures = 0;
    for (int i = 2; i < argc; ++i) {
        const auto tid = static_cast<pid_t>(std::atoi(argv[i]));
        if (!get_only) {
            if (const int error = gm::proxy::set_thread_slice(tid, slice); error != 0) {
                std::fprintf(stderr, "tid %d: %s\n", tid, std::strerror(error));
                ++failures;
                continue;
            }
        }
        const auto slice_ns = gm::proxy::thread_slice_ns(tid);
        const int policy = ::sched_getscheduler(tid);
        errno = 0;
        const int nice = ::getpriority(PRIO_PROCESS, static_cast<id_t>(tid));
        if (slice_ns < 0 || policy < 0 || errno != 0) {
            std::fprintf(stderr, "tid %d: %s\n", tid, std::strerror(errno));
            ++failures;
            continue;
        }
        std::printf("tid %d policy %d nice %d slice_us %.1f\n", tid, policy, nice,
                    static_cast<double>(slice_ns) / 1000.0);
    }
    return failures ? 1 : 0;
}

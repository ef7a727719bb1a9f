// gm-set-slice: asks the kernel for a custom EEVDF slice (sched_attr.sched_runtime, Linux
// 6.12+) on given thread ids, keeping each thread's policy and nice value, and prints what the
// kernel reports back. Used by bench/run.sh (METER_B_SLICE_US) to measure the slice on another
// process's gm-io thread without changing gemini-meter.
//
// Usage: gm-set-slice SLICE_US TID...   (SLICE_US 0: back to the kernel's default slice)
//        gm-set-slice --get TID...
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

// The kernel's struct sched_attr, first version (48 bytes); glibc declares neither it nor
// the system calls.
struct sched_attr_v0 {
    std::uint32_t size;
    std::uint32_t sched_policy;
    std::uint64_t sched_flags;
    std::int32_t sched_nice;
    std::uint32_t sched_priority;
    std::uint64_t sched_runtime;
    std::uint64_t sched_deadline;
    std::uint64_t sched_period;
};

bool get_attr(pid_t tid, sched_attr_v0& a) {
    std::memset(&a, 0, sizeof a);
    return syscall(SYS_sched_getattr, tid, &a, sizeof a, 0) == 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s SLICE_US TID... | --get TID...\n", argv[0]);
        return 2;
    }
    const bool get_only = std::string(argv[1]) == "--get";
    const std::uint64_t slice_ns = get_only ? 0 : std::strtoull(argv[1], nullptr, 10) * 1000;
    int failures = 0;
    for (int i = 2; i < argc; ++i) {
        const auto tid = static_cast<pid_t>(std::atoi(argv[i]));
        sched_attr_v0 a;
        if (!get_attr(tid, a)) {
            std::fprintf(stderr, "tid %d: sched_getattr: %s\n", tid, std::strerror(errno));
            ++failures;
            continue;
        }
        if (!get_only) {
            // Policy and nice as they are; only the slice changes (0 = the default slice).
            a.size = sizeof a;
            a.sched_flags = 0;
            a.sched_runtime = slice_ns;
            a.sched_deadline = a.sched_period = 0;
            if (syscall(SYS_sched_setattr, tid, &a, 0) != 0) {
                std::fprintf(stderr, "tid %d: sched_setattr: %s\n", tid, std::strerror(errno));
                ++failures;
                continue;
            }
            get_attr(tid, a);
        }
        std::printf("tid %d policy %u nice %d slice_us %.1f\n", tid, a.sched_policy, a.sched_nice,
                    static_cast<double>(a.sched_runtime) / 1000.0);
    }
    return failures ? 1 : 0;
}

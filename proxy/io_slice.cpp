#include "proxy/io_slice.hpp"

#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace gm::proxy {

namespace {

// The kernel's struct sched_attr, first version (48 bytes, which every kernel since 3.14
// accepts); glibc declares neither it nor sched_setattr/sched_getattr.
struct sched_attr_v0 {
    std::uint32_t size;
    std::uint32_t sched_policy;
    std::uint64_t sched_flags;
    std::int32_t sched_nice;
    std::uint32_t sched_priority;
    std::uint64_t sched_runtime;  // SCHED_OTHER/BATCH/IDLE since 6.12: the custom slice, ns
    std::uint64_t sched_deadline;
    std::uint64_t sched_period;
};

bool get_attr(pid_t tid, sched_attr_v0& a) noexcept {
    std::memset(&a, 0, sizeof a);
    return ::syscall(SYS_sched_getattr, tid, &a, sizeof a, 0) == 0;
}

bool fair_policy(std::uint32_t policy) noexcept {
    return policy == SCHED_OTHER || policy == SCHED_BATCH || policy == SCHED_IDLE;
}

}  // namespace

io_slice_result set_current_thread_slice(std::chrono::microseconds slice) noexcept {
    io_slice_result r;
    if (slice.count() <= 0)
        return r;
    sched_attr_v0 a;
    if (!get_attr(0, a)) {
        r.result = io_slice_result::outcome::refused;
        r.error = errno;
        return r;
    }
    if (!fair_policy(a.sched_policy)) {
        r.result = io_slice_result::outcome::other_policy;
        return r;
    }
    if (const int error = set_thread_slice(0, slice); error != 0) {
        r.result = io_slice_result::outcome::refused;
        r.error = error;
        return r;
    }
    // Kernels before 6.12 accept the call and drop sched_runtime for these policies: only
    // reading it back tells.
    const auto reported = thread_slice_ns(0);
    r.reported_ns = reported > 0 ? static_cast<std::uint64_t>(reported) : 0;
    r.result = r.reported_ns == static_cast<std::uint64_t>(slice.count()) * 1000 ? io_slice_result::outcome::applied
                                                                              : io_slice_result::outcome::ignored;
    return r;
}

int set_thread_slice(pid_t tid, std::chrono::microseconds slice) noexcept {
    sched_attr_v0 a;
    if (!get_attr(tid, a))
        return errno;
    // The policy and nice value as they are (a supervisor's Nice= stays); only the slice
    // changes. Flags 0: no SCHED_FLAG_KEEP_* needed since every field is the current one.
    a.size = sizeof a;
    a.sched_flags = 0;
    a.sched_runtime = static_cast<std::uint64_t>(slice.count()) * 1000;
    a.sched_deadline = 0;
    a.sched_period = 0;
    return ::syscall(SYS_sched_setattr, tid, &a, 0) == 0 ? 0 : errno;
}

std::int64_t thread_slice_ns(pid_t tid) noexcept {
    sched_attr_v0 a;
    if (!get_attr(tid, a))
        return -1;
    return fair_policy(a.sched_policy) ? static_cast<std::int64_t>(a.sched_runtime) : 0;
}

std::string describe(const io_slice_result& r, std::chrono::microseconds asked) {
    using o = io_slice_result::outcome;
    const auto slice = "io slice " + std::to_string(asked.count()) + " us";
    const std::string stays = "; the kernel's default slice stays";
    switch (r.result) {
    case o::kernel_default:
        return "io slice: the kernel's default";
    case o::applied:
        return slice + " applied";
    case o::refused:
        return slice + " refused by the kernel (" + std::strerror(r.error) + ")" + stays;
    case o::ignored:
        return slice + " not supported by this kernel (it reports " + std::to_string(r.reported_ns / 1000) +
               " us; needs Linux 6.12+)" + stays;
    case o::other_policy:
        return slice + " not applied: the I/O threads run under a real-time policy";
    }
    return {};
}

}  // namespace gm::proxy

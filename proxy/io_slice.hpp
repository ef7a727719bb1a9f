#pragma once
// A shorter EEVDF slice for the I/O threads (Linux 6.12+: sched_attr.sched_runtime of a
// SCHED_OTHER task). A woken task whose slice is shorter than the running one's gets an
// earlier deadline and preempts it (PREEMPT_SHORT), so gm-io, woken twice per call for a few
// microseconds of work, stops queueing behind whatever holds its core. The kernel accepts it
// from an unprivileged process: it changes neither the policy nor the nice value, and the
// thread's share of CPU stays what its weight gives it.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace gm::proxy {

// The range the kernel keeps a custom slice in (it clamps anything else silently).
inline constexpr std::chrono::microseconds min_io_slice{100};
inline constexpr std::chrono::microseconds max_io_slice{100'000};

struct io_slice_result {
    enum class outcome {
        kernel_default,  // asked for 0: nothing was changed
        applied,         // the kernel reports the slice asked for
        refused,         // sched_setattr failed (errno in error: seccomp, EPERM, ENOSYS...)
        ignored,         // accepted, but the kernel reports another slice (before 6.12: none)
        other_policy,    // the thread runs under a real-time policy: slices do not apply
    };
    outcome result = outcome::kernel_default;
    int error = 0;                    // errno when refused
    std::uint64_t reported_ns = 0;    // the thread's slice as sched_getattr reports it afterwards
};

// Gives the calling thread a custom slice of `slice` (0: leave the kernel's default),
// keeping its policy and nice value. Never throws: the caller logs what happened.
io_slice_result set_current_thread_slice(std::chrono::microseconds slice) noexcept;

// Sets the custom slice of a thread of this or another process (tid 0: the calling thread;
// slice 0: back to the kernel's default), keeping its policy and nice value. 0, or the errno
// of sched_getattr/sched_setattr. The kernel may still ignore it: read it back.
int set_thread_slice(pid_t tid, std::chrono::microseconds slice) noexcept;

// The slice the kernel reports for a thread of this or another process (0 when the kernel
// reports none: before 6.12, or a policy other than SCHED_OTHER/BATCH/IDLE), or -1 when
// sched_getattr fails.
std::int64_t thread_slice_ns(pid_t tid) noexcept;

// One line for the start-up log: "io slice 100 us applied", "... refused: Operation not
// permitted; the kernel's default slice stays".
std::string describe(const io_slice_result& r, std::chrono::microseconds asked);

}  // namespace gm::proxy

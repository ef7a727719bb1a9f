#pragma once
// Pins each I/O thread to one CPU (--io-cpus). At a steady rate each call wakes a gm-io
// thread twice, and the scheduler places the woken thread on whichever CPU looks idle: on 2
// cores it changed CPUs on 5-95% of calls in benchmarks. Whether binding pays depends on
// what shares the CPUs (README, "Pinning the I/O threads"): beside admin queries kept on the
// other CPU gm-io's CPU per call fell 17%; beside a load generator that could not leave
// gm-io's CPU it rose up to 30%. Off by default, as in nginx and haproxy, and the operator's
// choice: instances that all pin to CPU 0 would also stack up there.
#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gm::proxy {

struct io_cpu_affinity {
    bool automatic = false;  // "auto": the CPUs the process may run on, in order
    std::vector<int> cpus;   // a list: I/O thread i runs on cpus[i % size]
    bool enabled() const noexcept { return automatic || !cpus.empty(); }
};

// "off", "auto", or a CPU list as in taskset -c and /sys/devices/system/cpu/online: "0",
// "0,2", "0-3,6". nullopt, with the reason in `error`, for anything else (empty items,
// descending ranges, repeated CPUs, CPUs at or above CPU_SETSIZE).
std::optional<io_cpu_affinity> parse_io_cpus(std::string_view text, std::string& error);

// The CPUs this process may run on (sched_getaffinity), ascending.
std::vector<int> allowed_cpus();

// The CPU of each of `threads` I/O threads, or an exception naming the first CPU of the
// list that the process may not use (a container's cpuset, taskset).
std::vector<int> io_thread_cpus(const io_cpu_affinity& affinity, unsigned threads);

// Binds the calling thread to one CPU: 0, or the errno of sched_setaffinity.
int pin_current_thread(int cpu) noexcept;

// The CPUs a thread of this process may run on (sched_getaffinity of that thread), ascending.
std::vector<int> thread_cpus(pid_t tid);

// "0-1,4": a list as parse_io_cpus reads it.
std::string format_cpu_list(const std::vector<int>& cpus);

// The start-up log line's text for the CPU of each I/O thread (io_thread_cpus), saying how
// many threads share a CPU when there are more threads than CPUs: they then take turns on it,
// which an operator who asked for one thread per CPU would want to know.
std::string describe_io_cpus(const std::vector<int>& thread_cpus);

}  // namespace gm::proxy

#pragma once
// How much CPU the admin query threads may take from the proxy. The proxy and the admin
// queries share the machine's cores; a report that runs for tens of milliseconds on a core
// that an I/O thread wants delays proxied calls (bench/admin_run.sh, phase B). Lowering the
// query threads' scheduling class makes the kernel run an I/O thread first whenever both
// are runnable, while the queries still get every cycle the proxy leaves idle.
//   idle    SCHED_IDLE: runs only when nothing else wants the core (the default)
//   low     SCHED_BATCH at nice 19: a small share, and never preempts on wake-up
//   normal  what the process has (the threads inherit it)
#include <optional>
#include <string>
#include <string_view>

namespace gm::admin_api {

enum class query_priority { idle, low, normal };

std::optional<query_priority> parse_query_priority(std::string_view text);
std::string_view to_string(query_priority p);

// Applies `p` to the calling thread only (Linux schedules threads, not processes). Returns
// "" on success, else what failed (e.g. "SCHED_IDLE: Operation not permitted"); the
// caller decides whether to log it. Lowering a thread's priority needs no privilege, but a
// seccomp profile may refuse the call.
std::string apply_query_priority_to_this_thread(query_priority p);

}  // namespace gm::admin_api

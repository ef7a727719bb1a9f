#pragma once
// Whether a thread of this process may go to SCHED_IDLE and come back: coming back needs
// CAP_SYS_NICE or an RLIMIT_NICE of 20 or more (a container without CAP_SYS_NICE has
// neither). Tried on a thread of its own, so that a refusal strands nothing that matters.
#include <sched.h>

#include <thread>

namespace gm::storage {

inline bool can_return_from_idle() {
    bool ok = false;
    std::thread([&ok] {
        const sched_param none{};
        ok = ::sched_setscheduler(0, SCHED_IDLE, &none) == 0 && ::sched_setscheduler(0, SCHED_OTHER, &none) == 0;
    }).join();
    return ok;
}

}  // namespace gm::storage

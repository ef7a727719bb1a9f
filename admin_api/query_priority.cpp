#include "admin_api/query_priority.hpp"

#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace gm::admin_api {

namespace {

std::string failed(std::string_view what, int err) {
    std::string s(what);
    s += ": ";
    s += std::strerror(err);
    return s;
}

// sched_setscheduler(0, …) and setpriority(PRIO_PROCESS, gettid(), …) act on the calling
// thread on Linux, unlike POSIX's per-process meaning.
std::string set_policy(int policy, std::string_view name) {
    sched_param param{};
    param.sched_priority = 0;
    if (::sched_setscheduler(0, policy, &param) != 0) return failed(name, errno);
    return {};
}

std::string set_nice(int nice) {
    if (::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), nice) != 0) return failed("nice " + std::to_string(nice), errno);
    return {};
}

}  // namespace

std::optional<query_priority> parse_query_priority(std::string_view text) {
    if (text == "idle") return query_priority::idle;
    if (text == "low") return query_priority::low;
    if (text == "normal") return query_priority::normal;
    return std::nullopt;
}

std::string_view to_string(query_priority p) {
    switch (p) {
    case query_priority::idle: return "idle";
    case query_priority::low: return "low";
    case query_priority::normal: return "normal";
    }
    return "normal";
}

std::string apply_query_priority_to_this_thread(query_priority p) {
    switch (p) {
    case query_priority::normal:
        return {};
    case query_priority::idle: {
        // nice 19 first: if SCHED_IDLE is refused, the thread is at least "low"-ish; under
        // SCHED_IDLE the nice value is ignored.
        auto nice_error = set_nice(19);
        auto error = set_policy(SCHED_IDLE, "SCHED_IDLE");
        if (error.empty()) return {};
        if (!nice_error.empty()) error += "; " + nice_error;
        return error;
    }
    case query_priority::low: {
        auto error = set_policy(SCHED_BATCH, "SCHED_BATCH");
        auto nice_error = set_nice(19);
        if (error.empty()) return nice_error;
        if (!nice_error.empty()) error += "; " + nice_error;
        return error;
    }
    }
    return {};
}

}  // namespace gm::admin_api

#pragma once
// A thread's name, scheduling policy and nice value as the kernel reports them in
// /proc/<pid>/task/<tid>/ (what top -H and ps show), for the query threads' tests: of this
// process by default, or of a child such as the gemini-meter binary.
#include <sched.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace gm::test {

struct thread_sched {
    pid_t tid = 0;
    std::string name;
    int policy = -1;  // SCHED_OTHER 0, SCHED_BATCH 3, SCHED_IDLE 5
    int nice = 0;
};

inline std::string proc_dir(pid_t pid) { return pid == 0 ? "/proc/self" : "/proc/" + std::to_string(pid); }

inline thread_sched read_thread_sched(pid_t tid, pid_t pid = 0) {
    thread_sched t;
    t.tid = tid;
    const auto dir = proc_dir(pid) + "/task/" + std::to_string(tid);
    std::getline(std::ifstream(dir + "/comm"), t.name);
    std::string stat;
    std::getline(std::ifstream(dir + "/stat"), stat);
    // Fields after "(comm) ": the 3rd field (state) first; nice is the 19th, policy the 41st.
    std::istringstream rest(stat.substr(stat.rfind(") ") + 2));
    std::vector<std::string> fields;
    for (std::string f; rest >> f;) fields.push_back(f);
    if (fields.size() > 38) {
        t.nice = std::stoi(fields[19 - 3]);
        t.policy = std::stoi(fields[41 - 3]);
    }
    return t;
}

inline std::vector<thread_sched> threads_named(const std::string& name, pid_t pid = 0) {
    std::vector<thread_sched> out;
    for (const auto& e : std::filesystem::directory_iterator(proc_dir(pid) + "/task")) {
        auto t = read_thread_sched(static_cast<pid_t>(std::stoi(e.path().filename().string())), pid);
        if (t.name == name) out.push_back(t);
    }
    return out;
}

}  // namespace gm::test

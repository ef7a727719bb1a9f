// A control load for bench/admin_run.sh's phase (B): bursts of CPU at a fixed rate, at the
// admin query threads' priority, without any of gemini-meter's code. Comparing the proxy's
// CPU per request beside this load and beside real admin queries separates what any busy
// neighbour costs the I/O thread (a busy second vCPU, a SCHED_IDLE task to preempt on its
// core, caches refilled after it) from what the admin queries themselves do to it.
//
//   idle_load --rate R --burst-us U [--mb N] [--threads T] [--policy idle|normal]
//             [--duration S]
//       Every 1/R s, one of T threads (round-robin, default 1) runs for U us of its own
//       CPU time (CLOCK_THREAD_CPUTIME_ID, so time spent preempted does not count), then
//       sleeps until its next turn. With --mb N each burst reads and writes a buffer of N MiB
//       one cache line at a time, going on where the last burst stopped, so the whole buffer
//       goes through the caches (a query reading SQLite pages); without it the burst is
//       arithmetic in registers (no memory traffic at all). Runs S seconds (default: until
//       SIGTERM/SIGINT), then prints bursts, CPU used and how late bursts started.
//   With --file PATH instead, each burst reads one cache line from random pages of PATH mapped
//       read-only (MAP_SHARED, as SQLite's mmap reads the database): a query's wide, random
//       reach over a big mapping, in another process.
//   --policy idle (default) is SCHED_IDLE, as --admin-priority idle; normal keeps nice 0.
//   --cpu C pins every thread to CPU C.
//
// It also reports the time its bursts lost while it was on the CPU as far as the guest
// kernel knows: a pause of over 50 us between two steps of a burst during which the
// thread's own CPU clock ran on (so the guest did not switch it out) is time the host took
// the vCPU away, or an interrupt. This VM reports no steal time, so this is how to see
// whether the host takes more from one vCPU while the other one is busy.
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

struct args {
    double rate = 20;
    long burst_us = 4000;
    long mb = 0;
    int threads = 1;
    bool idle = true;
    double duration = 0;
    int cpu = -1;
    std::string file;
};

std::atomic<bool> stopping{false};

void on_signal(int) { stopping = true; }

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr, "idle_load: %s\nusage: idle_load --rate R --burst-us U [--mb N] [--threads T] [--policy idle|normal] [--duration S] [--cpu C] [--file PATH]\n", why);
    std::exit(2);
}

args parse(int argc, char** argv) {
    args a;
    for (int i = 1; i < argc; ++i) {
        std::string k = argv[i];
        if (i + 1 >= argc) usage(("missing value for " + k).c_str());
        const char* v = argv[++i];
        if (k == "--rate") a.rate = std::atof(v);
        else if (k == "--burst-us") a.burst_us = std::atol(v);
        else if (k == "--mb") a.mb = std::atol(v);
        else if (k == "--threads") a.threads = std::atoi(v);
        else if (k == "--policy") {
            if (std::string(v) == "idle") a.idle = true;
            else if (std::string(v) == "normal") a.idle = false;
            else usage("--policy is idle or normal");
        } else if (k == "--duration") a.duration = std::atof(v);
        else if (k == "--cpu") a.cpu = std::atoi(v);
        else if (k == "--file") a.file = v;
        else usage(("unknown option " + k).c_str());
    }
    if (a.rate <= 0 || a.burst_us <= 0 || a.threads <= 0 || a.mb < 0) usage("rate, burst-us and threads must be > 0");
    return a;
}

const char* mapped_kind(const args& a) { return !a.file.empty() ? "mapped file" : a.mb ? "memory" : "compute"; }

std::int64_t now_ns(clockid_t c) {
    timespec ts{};
    clock_gettime(c, &ts);
    return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

struct thread_result {
    long bursts = 0;
    std::int64_t cpu_ns = 0;
    std::int64_t late_ns_sum = 0;
    std::int64_t late_ns_max = 0;
    long gaps = 0;               // pauses > gap_ns while the thread's CPU clock ran on
    std::int64_t gap_ns = 0;     // their length
    long preempted = 0;          // pauses during which the guest ran something else
    std::uint64_t sink = 0;  // keeps the work from being optimised away
};

void run(const args& a, int index, std::int64_t start, std::int64_t end, thread_result& out) {
    pthread_setname_np(pthread_self(), "idle-load");
    if (a.cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(a.cpu, &set);
        if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0) std::fprintf(stderr, "idle_load: cannot pin to CPU %d\n", a.cpu);
    }
    // The buffer is filled (its pages faulted in) before the thread lowers its priority, so
    // the bursts are cache traffic, not page faults.
    const std::size_t bytes = static_cast<std::size_t>(a.mb) * 1024 * 1024;
    std::vector<std::uint64_t> buffer(bytes / sizeof(std::uint64_t), 1);
    const unsigned char* mapped = nullptr;
    std::size_t mapped_pages = 0;
    if (!a.file.empty()) {
        const int fd = ::open(a.file.c_str(), O_RDONLY);
        struct stat st{};
        if (fd < 0 || ::fstat(fd, &st) != 0 || st.st_size < 4096) {
            std::fprintf(stderr, "idle_load: cannot open %s\n", a.file.c_str());
            std::exit(1);
        }
        void* p = ::mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) {
            std::fprintf(stderr, "idle_load: mmap %s: %s\n", a.file.c_str(), std::strerror(errno));
            std::exit(1);
        }
        ::close(fd);
        mapped = static_cast<const unsigned char*>(p);
        mapped_pages = static_cast<std::size_t>(st.st_size) / 4096;
    }
    if (a.idle) {
        sched_param p{};
        if (sched_setscheduler(0, SCHED_IDLE, &p) != 0) std::fprintf(stderr, "idle_load: SCHED_IDLE: %s\n", std::strerror(errno));
    }
    constexpr std::size_t line = 64 / sizeof(std::uint64_t);
    std::size_t pos = 0;
    const std::int64_t period = static_cast<std::int64_t>(1e9 / a.rate) * a.threads;
    std::int64_t next = start + static_cast<std::int64_t>(1e9 / a.rate) * index;
    const std::int64_t burst_ns = a.burst_us * 1000;
    std::uint64_t x = 0x9e3779b97f4a7c15ULL + static_cast<std::uint64_t>(index);
    const std::int64_t cpu0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
    while (!stopping && (end == 0 || next < end)) {
        timespec ts{static_cast<time_t>(next / 1'000'000'000), static_cast<long>(next % 1'000'000'000)};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR && !stopping) {}
        if (stopping) break;
        const std::int64_t late = now_ns(CLOCK_MONOTONIC) - next;
        out.late_ns_sum += late;
        if (late > out.late_ns_max) out.late_ns_max = late;
        std::int64_t cpu_prev = now_ns(CLOCK_THREAD_CPUTIME_ID);
        std::int64_t wall_prev = now_ns(CLOCK_MONOTONIC);
        const std::int64_t until = cpu_prev + burst_ns;
        do {
            // Check the clock every 256 steps: often enough to end within a few us.
            for (int i = 0; i < 256; ++i) {
                if (mapped) {
                    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
                    const std::size_t page = (x >> 17) % mapped_pages;
                    out.sink += mapped[page * 4096 + ((x >> 7) & 63) * 64];
                } else if (!buffer.empty()) {
                    buffer[pos] += x;
                    x = buffer[pos] * 6364136223846793005ULL + 1442695040888963407ULL;
                    pos += line;
                    if (pos >= buffer.size()) pos = 0;
                } else {
                    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
                    x ^= x >> 29;
                }
            }
            const std::int64_t cpu = now_ns(CLOCK_THREAD_CPUTIME_ID);
            const std::int64_t wall = now_ns(CLOCK_MONOTONIC);
            constexpr std::int64_t gap_threshold = 50'000;
            if (wall - wall_prev > gap_threshold) {
                // The CPU clock ran on through most of the pause: the guest kept this thread
                // on the CPU, so the time went to the host or to an interrupt.
                if ((cpu - cpu_prev) * 10 >= (wall - wall_prev) * 9) {
                    ++out.gaps;
                    out.gap_ns += wall - wall_prev;
                } else {
                    ++out.preempted;
                }
            }
            cpu_prev = cpu;
            wall_prev = wall;
            if (cpu >= until) break;
        } while (true);
        ++out.bursts;
        next += period;
    }
    out.cpu_ns = now_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
    out.sink ^= x;
}

}  // namespace

int main(int argc, char** argv) {
    const args a = parse(argc, argv);
    std::signal(SIGTERM, on_signal);
    std::signal(SIGINT, on_signal);
    const std::int64_t start = now_ns(CLOCK_MONOTONIC) + 10'000'000;
    const std::int64_t end = a.duration > 0 ? start + static_cast<std::int64_t>(a.duration * 1e9) : 0;
    std::vector<thread_result> results(static_cast<std::size_t>(a.threads));
    std::vector<std::thread> threads;
    for (int i = 0; i < a.threads; ++i) threads.emplace_back(run, std::cref(a), i, start, end, std::ref(results[static_cast<std::size_t>(i)]));
    for (auto& t : threads) t.join();
    thread_result sum;
    for (const auto& r : results) {
        sum.bursts += r.bursts;
        sum.cpu_ns += r.cpu_ns;
        sum.late_ns_sum += r.late_ns_sum;
        if (r.late_ns_max > sum.late_ns_max) sum.late_ns_max = r.late_ns_max;
        sum.sink ^= r.sink;
        sum.gaps += r.gaps;
        sum.gap_ns += r.gap_ns;
        sum.preempted += r.preempted;
    }
    const double secs = (now_ns(CLOCK_MONOTONIC) - start) / 1e9;
    std::printf("idle_load: %ld bursts in %.1f s (%.1f/s asked %.1f), cpu %.1f ms/s, %s %ld MiB, late mean %.0f us max %.0f us, "
                "lost on the CPU %.3f%% of its CPU time (%ld pauses > 50 us, %.1f us mean), %ld preemptions (%llx)\n",
                sum.bursts, secs, sum.bursts / secs, a.rate, sum.cpu_ns / 1e6 / secs, mapped_kind(a), a.mb,
                sum.bursts ? sum.late_ns_sum / 1e3 / static_cast<double>(sum.bursts) : 0.0, sum.late_ns_max / 1e3,
                sum.cpu_ns ? 100.0 * static_cast<double>(sum.gap_ns) / static_cast<double>(sum.cpu_ns) : 0.0, sum.gaps,
                sum.gaps ? sum.gap_ns / 1e3 / static_cast<double>(sum.gaps) : 0.0, sum.preempted,
                static_cast<unsigned long long>(sum.sink & 0xf));
    return 0;
}

#include "proxy/io_slice.hpp"

#include <catch2/catch.hpp>
#include <grp.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <future>
#include <thread>

#include "proxy/proxy_server.hpp"
#include "support/thread_sched.hpp"

using namespace gm::proxy;
using std::chrono::microseconds;
using outcome = io_slice_result::outcome;

namespace {

// Custom slices came with Linux 6.12; an older kernel accepts the call and drops the slice.
bool kernel_has_custom_slices() {
    utsname u{};
    int major = 0, minor = 0;
    if (::uname(&u) != 0 || std::sscanf(u.release, "%d.%d", &major, &minor) != 2)
        return false;
    return major > 6 || (major == 6 && minor >= 12);
}

// Runs f on a fresh thread (so that the test's own thread keeps its slice) and returns its result.
template <class F>
auto on_new_thread(F f) {
    decltype(f()) r{};
    std::thread([&] { r = f(); }).join();
    return r;
}

}  // namespace

TEST_CASE("io slice: 0 leaves the thread's slice as the kernel set it") {
    const auto [r, before, after] = on_new_thread([] {
        const auto before = thread_slice_ns(0);
        const auto r = set_current_thread_slice(microseconds(0));
        return std::tuple(r, before, thread_slice_ns(0));
    });
    CHECK(r.result == outcome::kernel_default);
    CHECK(after == before);
    CHECK(describe(r, microseconds(0)) == "io slice: the kernel's default");
}

TEST_CASE("io slice: the kernel reports the slice asked for, and the thread keeps its nice value") {
    if (!kernel_has_custom_slices()) {
        WARN("kernel older than 6.12: custom slices are not supported here");
        const auto r = on_new_thread([] { return set_current_thread_slice(microseconds(500)); });
        CHECK(r.result == outcome::ignored);
        return;
    }
    for (const auto slice : {microseconds(100), microseconds(500), microseconds(100'000)}) {
        const auto [r, reported, nice] = on_new_thread([slice] {
            // A niced thread stays niced: only the slice changes.
            ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 5);
            const auto r = set_current_thread_slice(slice);
            return std::tuple(r, thread_slice_ns(0), ::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid())));
        });
        CHECK(r.result == outcome::applied);
        CHECK(r.reported_ns == static_cast<std::uint64_t>(slice.count()) * 1000);
        CHECK(reported == slice.count() * 1000);
        CHECK(nice == 5);
        CHECK(describe(r, slice) == "io slice " + std::to_string(slice.count()) + " us applied");
    }
}

TEST_CASE("io slice: set on another thread by its id, and 0 gives it the kernel's default back") {
    if (!kernel_has_custom_slices()) {
        WARN("kernel older than 6.12: nothing to check");
        return;
    }
    std::promise<pid_t> tid;
    std::promise<void> done;
    std::thread other([&] {
        ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 3);
        tid.set_value(::gettid());
        done.get_future().wait();
    });
    const pid_t t = tid.get_future().get();
    const auto default_slice = thread_slice_ns(t);
    CHECK(set_thread_slice(t, microseconds(300)) == 0);
    CHECK(thread_slice_ns(t) == 300'000);
    CHECK(::getpriority(PRIO_PROCESS, static_cast<id_t>(t)) == 3);
    CHECK(set_thread_slice(t, microseconds(0)) == 0);
    CHECK(thread_slice_ns(t) == default_slice);
    done.set_value();
    other.join();
    // A thread that no longer exists: the errno, nothing else.
    CHECK(set_thread_slice(t, microseconds(300)) == ESRCH);
}

TEST_CASE("io slice: needs no privilege (another user, no capabilities, RLIMIT_NICE 0)") {
    if (!kernel_has_custom_slices()) {
        WARN("kernel older than 6.12: nothing to check");
        return;
    }
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        // Only async-signal-safe calls until _exit: the parent has other threads.
        const rlimit no_nice{0, 0};
        if (::setrlimit(RLIMIT_NICE, &no_nice) != 0)
            ::_exit(20);
        if (::geteuid() == 0) {
            // root -> nobody: a change of uid from 0 clears every capability.
            if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0)
                ::_exit(21);
        }
        const auto r = set_current_thread_slice(microseconds(100));
        ::_exit(r.result == outcome::applied && thread_slice_ns(0) == 100'000 ? 0 : 30 + static_cast<int>(r.result));
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("io slice: what the start-up log says when the kernel does not take it") {
    io_slice_result refused{outcome::refused, EPERM, 0};
    CHECK(describe(refused, microseconds(100)) ==
          "io slice 100 us refused by the kernel (Operation not permitted); the kernel's default slice stays");
    io_slice_result ignored{outcome::ignored, 0, 0};
    CHECK(describe(ignored, microseconds(100)) ==
          "io slice 100 us not supported by this kernel (it reports 0 us; needs Linux 6.12+); the kernel's "
          "default slice stays");
}

TEST_CASE("io slice: every gm-io thread of a started proxy_server runs with options.io_slice") {
    if (!kernel_has_custom_slices()) {
        WARN("kernel older than 6.12: nothing to check");
        return;
    }
    const auto default_slice = on_new_thread([] { return thread_slice_ns(0); });
    for (const auto slice : {microseconds(0), microseconds(300)}) {
        proxy_options o;
        o.listen_host = "127.0.0.1";
        o.listen_port = 0;
        o.upstream_url = "http://127.0.0.1:9";
        o.io_threads = 2;
        o.io_slice = slice;
        proxy_server server(o, nullptr);
        server.start();
        CHECK(server.io_slice().result == (slice.count() ? outcome::applied : outcome::kernel_default));
        const auto threads = gm::test::threads_named("gm-io");
        REQUIRE(threads.size() == 2);
        for (const auto& t : threads)
            CHECK(thread_slice_ns(t.tid) == (slice.count() ? slice.count() * 1000 : default_slice));
        server.stop();
    }
}

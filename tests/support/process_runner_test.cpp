#include "support/process_runner.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include <csignal>

using gm::test::process_runner;

TEST_CASE("process_runner captures stdout and stderr lines and the exit code") {
    process_runner p("/bin/sh", {"-c", "echo one; echo two; echo oops >&2; printf last; exit 3"});
    REQUIRE(p.wait_exit() == 3);
    REQUIRE(p.wait_for_line("last").has_value());
    CHECK(p.stdout_lines() == std::vector<std::string>{"one", "two", "last"});
    // stderr has its own reader thread, which may still be on its way.
    for (int i = 0; i < 500 && p.stderr_lines().empty(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(p.stderr_lines() == std::vector<std::string>{"oops"});
}

TEST_CASE("process_runner: once wait_exit has the exit code, the child's last lines are there too") {
    // The lines are read by threads of their own; without waiting for them, a child that
    // writes and exits at once often had its exit code seen before its stderr was read.
    for (int i = 0; i < 200; ++i) {
        process_runner p("/bin/sh", {"-c", "echo out; echo 'bad value' >&2; exit 2"});
        REQUIRE(p.wait_exit() == 2);
        REQUIRE(p.stderr_lines() == std::vector<std::string>{"bad value"});
        REQUIRE(p.stdout_lines() == std::vector<std::string>{"out"});
    }
}

TEST_CASE("process_runner passes extra environment and delivers signals") {
    process_runner p("/bin/sh", {"-c", "echo \"v=$GM_RUNNER_TEST\"; exec sleep 30"}, {{"GM_RUNNER_TEST", "42"}});
    REQUIRE(p.wait_for_line("v=").value_or("") == "v=42");
    CHECK(p.running());
    CHECK(p.rss_kib() > 0);
    p.send_signal(SIGTERM);
    REQUIRE(p.wait_exit() == 128 + SIGTERM);
    CHECK_FALSE(p.running());
}

TEST_CASE("process_runner throws when the program does not exist") {
    REQUIRE_THROWS(process_runner("/nonexistent/program", {}));
}

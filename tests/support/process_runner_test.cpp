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

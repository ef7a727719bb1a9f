#include "app/log_sink.hpp"

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

// Runs body() with stdout sent to a temporary file and returns what was written there.
template <class Body>
std::string capture_stdout(Body body) {
    char path[] = "/tmp/gm-log-sink-XXXXXX";
    const int file = ::mkstemp(path);
    REQUIRE(file >= 0);
    std::fflush(stdout);
    const int saved = ::dup(STDOUT_FILENO);
    ::dup2(file, STDOUT_FILENO);
    body();
    ::dup2(saved, STDOUT_FILENO);
    ::close(saved);
    ::close(file);
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    ::unlink(path);
    return text.str();
}

}  // namespace

TEST_CASE("log_sink writes every line whole, once, in each writer's order, across many flushes") {
    constexpr int per_thread = 3000;
    const std::string out = capture_stdout([] {
        // A small flush size and interval: hundreds of flushes, each swapping the buffers.
        gm::app::log_sink sink(std::chrono::milliseconds(1), 512);
        std::vector<std::thread> writers;
        for (int t = 0; t < 2; ++t)
            writers.emplace_back([&sink, t] {
                for (int i = 0; i < per_thread; ++i)
                    sink.append("{\"writer\":" + std::to_string(t) + ",\"n\":" + std::to_string(i) + "}\n");
            });
        for (auto& w : writers)
            w.join();
        sink.append(std::string(5000, 'x') + "\n");  // one line larger than four flush sizes
    });
    std::istringstream lines(out);
    std::string line;
    int next[2] = {0, 0};
    int long_lines = 0;
    while (std::getline(lines, line)) {
        if (line == std::string(5000, 'x')) {
            ++long_lines;
            continue;
        }
        int t = -1, n = -1;
        REQUIRE(std::sscanf(line.c_str(), "{\"writer\":%d,\"n\":%d}", &t, &n) == 2);
        REQUIRE((t == 0 || t == 1));
        CHECK(n == next[t]);  // nothing lost, repeated or reordered
        next[t] = n + 1;
    }
    CHECK(next[0] == per_thread);
    CHECK(next[1] == per_thread);
    CHECK(long_lines == 1);
}

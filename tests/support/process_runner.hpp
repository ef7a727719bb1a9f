#pragma once
// Runs a program (the gemini-meter binary, fake-gemini) as a child process for an
// integration test: start it with arguments, wait until its port accepts, read its stdout
// and stderr lines, send it signals, read its memory from /proc, and make sure it is gone
// when the test ends (SIGKILL in the destructor if it still runs).
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <sys/types.h>

namespace gm::test {

class process_runner {
public:
    // extra_env is added to (and overrides) the test's own environment. Throws when the
    // program cannot be started.
    process_runner(std::string program, std::vector<std::string> args,
                   std::vector<std::pair<std::string, std::string>> extra_env = {});
    ~process_runner();
    process_runner(const process_runner&) = delete;
    process_runner& operator=(const process_runner&) = delete;

    pid_t pid() const noexcept { return pid_; }

    // True once host:port accepts a TCP connection; false if the child exits or the
    // timeout passes first.
    bool wait_for_port(const std::string& host, unsigned short port,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10));

    // The first stdout line (from the start) containing `needle`, waiting up to timeout.
    std::optional<std::string> wait_for_line(const std::string& needle,
                                             std::chrono::milliseconds timeout = std::chrono::seconds(10));

    std::vector<std::string> stdout_lines() const;
    std::vector<std::string> stderr_lines() const;

    void send_signal(int sig);
    // The exit status once the child has ended: the exit code, or 128 + signal number when
    // a signal killed it; nullopt when it is still running after timeout. Once it has
    // ended, also waits (within the timeout) until its output is read to the end.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout = std::chrono::seconds(10));
    bool running();

    // Resident memory in KiB from /proc/PID/status: now (VmRSS) and the peak (VmHWM).
    std::size_t rss_kib() const;
    std::size_t peak_rss_kib() const;

private:
    void read_lines(int fd, std::vector<std::string>& into);

    pid_t pid_ = -1;
    std::optional<int> exit_status_;
    // Guards out_lines_ and err_lines_, filled by the reader threads.
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<std::string> out_lines_, err_lines_;
    int readers_done_ = 0;  // reader threads that reached the end of their pipe
    std::thread out_reader_, err_reader_;
};

}  // namespace gm::test

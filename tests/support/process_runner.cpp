#include "process_runner.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <system_error>

extern char** environ;

namespace gm::test {

namespace {

std::size_t status_field_kib(pid_t pid, const char* field) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    const std::size_t len = std::strlen(field);
    while (std::getline(in, line))
        if (line.compare(0, len, field) == 0) return std::stoul(line.substr(len + 1));
    return 0;
}

}  // namespace

process_runner::process_runner(std::string program, std::vector<std::string> args,
                               std::vector<std::pair<std::string, std::string>> extra_env) {
    // Everything exec needs is built before fork: between fork and exec only
    // async-signal-safe calls are allowed (the test has other threads).
    std::vector<std::string> argv_s;
    argv_s.push_back(program);
    for (auto& a : args) argv_s.push_back(std::move(a));
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_s;
    for (char** e = environ; *e; ++e) {
        std::string entry(*e);
        bool overridden = false;
        for (const auto& [k, v] : extra_env) overridden = overridden || entry.compare(0, k.size() + 1, k + "=") == 0;
        if (!overridden) env_s.push_back(std::move(entry));
    }
    for (const auto& [k, v] : extra_env) env_s.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);

    int out_pipe[2], err_pipe[2], exec_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0 || ::pipe2(exec_pipe, O_CLOEXEC) != 0)
        throw std::system_error(errno, std::generic_category(), "pipe");
    pid_ = ::fork();
    if (pid_ < 0) throw std::system_error(errno, std::generic_category(), "fork");
    if (pid_ == 0) {
        ::dup2(out_pipe[1], 1);
        ::dup2(err_pipe[1], 2);
        ::execvpe(argv[0], argv.data(), envp.data());
        // exec failed: tell the parent through the close-on-exec pipe.
        const int err = errno;
        [[maybe_unused]] auto n = ::write(exec_pipe[1], &err, sizeof err);
        ::_exit(127);
    }
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    ::close(exec_pipe[1]);
    int exec_errno = 0;
    const auto got = ::read(exec_pipe[0], &exec_errno, sizeof exec_errno);
    ::close(exec_pipe[0]);
    if (got == static_cast<ssize_t>(sizeof exec_errno)) {
        ::close(out_pipe[0]);
        ::close(err_pipe[0]);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
        throw std::system_error(exec_errno, std::generic_category(), "exec " + program);
    }
    out_reader_ = std::thread([this, fd = out_pipe[0]] { read_lines(fd, out_lines_); });
    err_reader_ = std::thread([this, fd = err_pipe[0]] { read_lines(fd, err_lines_); });
}

process_runner::~process_runner() {
    if (pid_ > 0 && !exit_status_) {
        ::kill(pid_, SIGKILL);
        wait_exit(std::chrono::seconds(10));
    }
    if (out_reader_.joinable()) out_reader_.join();
    if (err_reader_.joinable()) err_reader_.join();
}

void process_runner::read_lines(int fd, std::vector<std::string>& into) {
    std::string partial;
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        partial.append(buf, static_cast<std::size_t>(n));
        std::size_t start = 0, nl;
        std::lock_guard lock(mutex_);
        while ((nl = partial.find('\n', start)) != std::string::npos) {
            into.push_back(partial.substr(start, nl - start));
            start = nl + 1;
        }
        partial.erase(0, start);
        changed_.notify_all();
    }
    std::lock_guard lock(mutex_);
    if (!partial.empty()) into.push_back(partial);
    ::close(fd);
    ++readers_done_;
    changed_.notify_all();
}

bool process_runner::wait_for_port(const std::string& host, unsigned short port, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (!running()) return false;
        addrinfo hints{};
        hints.ai_socktype = SOCK_STREAM;
        addrinfo* res = nullptr;
        if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) == 0) {
            bool ok = false;
            for (addrinfo* a = res; a && !ok; a = a->ai_next) {
                const int fd = ::socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (fd < 0) continue;
                ok = ::connect(fd, a->ai_addr, a->ai_addrlen) == 0;
                ::close(fd);
            }
            ::freeaddrinfo(res);
            if (ok) return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

std::optional<std::string> process_runner::wait_for_line(const std::string& needle, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    std::optional<std::string> found;
    changed_.wait_for(lock, timeout, [&] {
        for (const auto& l : out_lines_)
            if (l.find(needle) != std::string::npos) {
                found = l;
                return true;
            }
        return false;
    });
    return found;
}

std::vector<std::string> process_runner::stdout_lines() const {
    std::lock_guard lock(mutex_);
    return out_lines_;
}

std::vector<std::string> process_runner::stderr_lines() const {
    std::lock_guard lock(mutex_);
    return err_lines_;
}

void process_runner::send_signal(int sig) {
    if (pid_ > 0 && !exit_status_) ::kill(pid_, sig);
}

std::optional<int> process_runner::wait_exit(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!exit_status_) {
        int status = 0;
        const pid_t r = ::waitpid(pid_, &status, WNOHANG);
        if (r == pid_) {
            exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            break;
        }
        if (r < 0 && errno != EINTR) break;
        if (std::chrono::steady_clock::now() >= deadline) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (exit_status_) {
        // The child has gone, but its last lines may still be in the pipes: a caller that
        // reads stderr_lines() next must see them.
        std::unique_lock lock(mutex_);
        changed_.wait_until(lock, deadline, [&] { return readers_done_ == 2; });
    }
    return exit_status_;
}

bool process_runner::running() { return pid_ > 0 && !wait_exit(std::chrono::milliseconds(0)); }

std::size_t process_runner::rss_kib() const { return status_field_kib(pid_, "VmRSS:"); }

std::size_t process_runner::peak_rss_kib() const { return status_field_kib(pid_, "VmHWM:"); }

}  // namespace gm::test

#include "admin_api/response_channel.hpp"

#include <fmt/format.h>

#include <linux/sockios.h>
#include <netinet/in.h>
#include <linux/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>

namespace gm::admin_api {

namespace {

// How often a producer waiting for a slow client looks at the server's stop flag, which
// has no handle to wake it.
constexpr std::chrono::milliseconds stop_check{200};

constexpr char crlf[] = "\r\n";
constexpr char last_chunk[] = "0\r\n\r\n";

iovec piece(const void* data, std::size_t size) { return {const_cast<void*>(data), size}; }

}  // namespace

response_channel::response_channel(int fd, std::string&& head, limits l, const std::atomic<bool>* stopping)
    : fd_(fd), head_(std::move(head)), limits_(l), stopping_(stopping) {
    // One row past the limit at most, so the buffer is allocated once.
    if (limits_.chunk_bytes > 0) chunk_.reserve(limits_.chunk_bytes + 16 * 1024);
}

bool response_channel::flush() {
    if (chunk_.empty()) return state_ == state::open;
    return send_chunk(false);
}

bool response_channel::finish(const std::function<void(std::uint64_t)>& before_last) {
    return send_chunk(true, before_last ? &before_last : nullptr);
}

bool response_channel::send_whole() {
    if (state_ != state::open) return false;
    iovec iov = piece(head_.data(), head_.size());
    const bool ok = send_all(&iov, 1);
    head_.clear();
    head_.shrink_to_fit();
    return ok;
}

bool response_channel::send_chunk(bool last, const std::function<void(std::uint64_t)>* before_last) {
    if (state_ != state::open) return false;
    char size_line[20];
    const auto n = fmt::format_to_n(size_line, sizeof size_line, "{:x}\r\n", chunk_.size()).size;
    iovec iov[5];
    int count = 0;
    if (!started_) iov[count++] = piece(head_.data(), head_.size());
    if (!chunk_.empty()) {
        if (limits_.chunked) iov[count++] = piece(size_line, n);
        iov[count++] = piece(chunk_.data(), chunk_.size());
        if (limits_.chunked) iov[count++] = piece(crlf, 2);
    }
    // The last data chunk and the terminating one leave together: a small export is one send.
    if (last && limits_.chunked) iov[count++] = piece(last_chunk, sizeof last_chunk - 1);
    if (before_last) {
        std::uint64_t total = bytes_sent();
        for (int i = 0; i < count; ++i) total += iov[i].iov_len;
        (*before_last)(total);
    }
    const bool ok = send_all(iov, count);
    chunk_.clear();
    if (!head_.empty()) {
        head_.clear();
        head_.shrink_to_fit();
    }
    return ok;
}

bool response_channel::send_all(iovec* iov, int count) {
    started_ = true;
    while (count > 0) {
        msghdr msg{};
        msg.msg_iov = iov;
        msg.msg_iovlen = static_cast<std::size_t>(count);
        // MSG_NOSIGNAL: a client that has gone is an error code here, not a SIGPIPE.
        const ssize_t sent = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (!wait_writable()) return false;
                continue;
            }
            state_ = state::client_gone;  // EPIPE, ECONNRESET, ...: nobody reads any more
            return false;
        }
        sends_.fetch_add(1, std::memory_order_relaxed);
        bytes_sent_.fetch_add(static_cast<std::uint64_t>(sent), std::memory_order_relaxed);
        auto left = static_cast<std::size_t>(sent);
        while (count > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            ++iov;
            --count;
        }
        if (count > 0) {
            iov->iov_base = static_cast<char*>(iov->iov_base) + left;
            iov->iov_len -= left;
        }
    }
    return true;
}

bool response_channel::wait_writable() {
    waits_.fetch_add(1, std::memory_order_relaxed);
    const auto deadline = std::chrono::steady_clock::now() + limits_.stall_timeout;
    for (;;) {
        if (stopping_ && stopping_->load(std::memory_order_relaxed)) {
            state_ = state::stopping;
            return false;
        }
        const auto now = std::chrono::steady_clock::now();
        if (now >= deadline) {
            state_ = state::stalled;
            return false;
        }
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now);
        pollfd p{fd_, POLLOUT, 0};
        const int r = ::poll(&p, 1, static_cast<int>(std::min(left, stop_check).count()));
        // Writable, or an error/hang-up: the next send tells which.
        if (r > 0) return true;
        if (r < 0 && errno != EINTR) {
            state_ = state::client_gone;
            return false;
        }
    }
}

std::uint64_t tcp_bytes_written(int fd, bool upper) noexcept {
    // Acknowledged bytes only grow and queued ones only shrink as acknowledgements arrive:
    // the queue first then the acknowledged count can count a byte twice (never too few),
    // the other order can miss one (never too many). When the kernel does not answer, the
    // result is a bound all the same: 0 (lower) or "never reached" (upper).
    constexpr std::uint64_t unknown = std::uint64_t(1) << 62;
    auto acked = [fd](std::uint64_t& out) {
        tcp_info info{};
        socklen_t len = sizeof info;
        if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0 ||
            len < offsetof(tcp_info, tcpi_bytes_acked) + sizeof info.tcpi_bytes_acked)
            return false;
        out = info.tcpi_bytes_acked;
        return true;
    };
    auto queued = [fd](std::uint64_t& out) {
        int n = 0;
        if (::ioctl(fd, SIOCOUTQ, &n) != 0 || n < 0) return false;
        out = static_cast<std::uint64_t>(n);
        return true;
    };
    std::uint64_t a = 0, q = 0;
    if (upper) return queued(q) && acked(a) ? q + a : unknown;
    return acked(a) && queued(q) ? a + q : 0;
}

const char* to_string(response_channel::state s) noexcept {
    switch (s) {
    case response_channel::state::open: return "open";
    case response_channel::state::client_gone: return "client gone";
    case response_channel::state::stalled: return "stalled";
    case response_channel::state::stopping: return "stopping";
    }
    return "?";
}

}  // namespace gm::admin_api

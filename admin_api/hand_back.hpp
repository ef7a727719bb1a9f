#pragma once
// How the query threads hand work back to the I/O thread, when they must: a query thread
// writes its response to the socket itself (response_channel), so this is used only when the
// I/O thread is already waiting for it — the next request or the client's hang-up came
// before the kernel held the whole response (admin_session).
//
// Why not net::post to the session's strand: a post from a thread outside the io_context
// interrupts the reactor while it still holds the io_context's lock, and a query thread at
// SCHED_IDLE is preempted right there by the I/O thread it has just woken, which then
// sleeps on that lock until the query thread gets a core again. Measured: three context
// switches of the I/O thread per admin query instead of two. Here there is no lock at all:
// items go on a lock-free stack (one compare-and-swap), so the I/O thread never waits for
// a query thread that was preempted half-way through a push, however long a SCHED_IDLE
// thread stays off the CPU on a busy machine. The push that finds the stack empty writes the
// eventfd; one wake delivers everything queued meanwhile.
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <atomic>
#include <functional>
#include <memory>

namespace gm::admin_api {

class hand_back : public std::enable_shared_from_this<hand_back> {
public:
    using item = std::function<void()>;

    // Throws std::system_error when no eventfd can be made.
    explicit hand_back(boost::asio::io_context& ioc);
    hand_back(const hand_back&) = delete;
    hand_back& operator=(const hand_back&) = delete;
    ~hand_back();

    void start();           // begins waiting on the eventfd (call once, after construction)
    // Any thread. f runs on an I/O thread of the io_context; it dispatches to its own
    // strand if it needs one. Dropped after stop().
    void push(item&& f);
    // Stops waiting and drops what is queued (their captures, e.g. sessions, are released).
    void stop();

    std::uint64_t wakes() const { return wakes_.load(std::memory_order_relaxed); }

private:
    struct node {
        item f;
        node* next = nullptr;
    };
    void wait();
    void on_ready(const boost::system::error_code& ec);
    static void drop(node* n);  // destroys a list without running it

    boost::asio::posix::stream_descriptor fd_;
    // The items pushed since the I/O thread last took them, newest first. A push that finds
    // it empty writes the eventfd: every earlier item has been taken by a wake already.
    std::atomic<node*> head_{nullptr};
    std::atomic<bool> stopped_{false};
    std::atomic<std::uint64_t> wakes_{0};
};

}  // namespace gm::admin_api

#pragma once
// How the query threads hand finished work back to the I/O thread.
//
// Why not net::post to the session's strand: a post from a thread outside the io_context
// interrupts the reactor while it still holds the io_context's lock, and a query thread at
// SCHED_IDLE is preempted right there by the I/O thread it has just woken, which then
// sleeps on that lock until the query thread gets a core again. Measured: three context
// switches of the I/O thread per admin query instead of two. Here the lock guards only a
// vector, and the wake (an eventfd write) comes after the lock is released; one wake
// delivers everything queued meanwhile.
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace gm::admin_api {

class hand_back : public std::enable_shared_from_this<hand_back> {
public:
    using item = std::function<void()>;

    // Throws std::system_error when no eventfd can be made.
    explicit hand_back(boost::asio::io_context& ioc);
    hand_back(const hand_back&) = delete;
    hand_back& operator=(const hand_back&) = delete;

    void start();           // begins waiting on the eventfd (call once, after construction)
    // Any thread. f runs on an I/O thread of the io_context; it dispatches to its own
    // strand if it needs one. Dropped after stop().
    void push(item&& f);
    // Stops waiting and drops what is queued (their captures, e.g. sessions, are released).
    void stop();

    std::uint64_t wakes() const { return wakes_.load(std::memory_order_relaxed); }

private:
    void wait();
    void on_ready(const boost::system::error_code& ec);

    boost::asio::posix::stream_descriptor fd_;
    std::mutex mutex_;          // guards items_, signalled_ and stopped_
    std::vector<item> items_;
    bool signalled_ = false;    // an eventfd write is outstanding: later pushes need none
    bool stopped_ = false;
    std::vector<item> running_;  // I/O thread only: the batch being run
    std::atomic<std::uint64_t> wakes_{0};
};

}  // namespace gm::admin_api

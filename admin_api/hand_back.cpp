#include "admin_api/hand_back.hpp"

#include <boost/asio/post.hpp>

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace gm::admin_api {

namespace net = boost::asio;

namespace {
int make_eventfd() {
    const int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "admin listener: eventfd");
    return fd;
}
}  // namespace

hand_back::hand_back(net::io_context& ioc) : fd_(ioc, make_eventfd()) {}

void hand_back::start() { wait(); }

void hand_back::push(item&& f) {
    bool wake = false;
    {
        std::lock_guard lock(mutex_);
        if (stopped_) return;
        items_.push_back(std::move(f));
        wake = !signalled_;
        signalled_ = true;
    }
    if (wake) {
        // Outside the lock: the I/O thread this wakes never waits for us.
        const std::uint64_t one = 1;
        [[maybe_unused]] auto n = ::write(fd_.native_handle(), &one, sizeof one);
    }
}

void hand_back::stop() {
    std::vector<item> dropped;
    {
        std::lock_guard lock(mutex_);
        stopped_ = true;
        dropped.swap(items_);
    }
    net::post(fd_.get_executor(), [self = shared_from_this()] {
        boost::system::error_code ec;
        self->fd_.close(ec);
    });
}

void hand_back::wait() {
    fd_.async_wait(net::posix::stream_descriptor::wait_read,
                   [self = shared_from_this()](const boost::system::error_code& ec) { self->on_ready(ec); });
}

void hand_back::on_ready(const boost::system::error_code& ec) {
    if (ec) return;  // closed by stop()
    wakes_.fetch_add(1, std::memory_order_relaxed);
    std::uint64_t count = 0;
    [[maybe_unused]] auto n = ::read(fd_.native_handle(), &count, sizeof count);  // resets the counter
    {
        std::lock_guard lock(mutex_);
        running_.swap(items_);
        signalled_ = false;  // a push from now on writes the eventfd again
    }
    for (auto& f : running_) f();
    running_.clear();
    wait();
}

}  // namespace gm::admin_api

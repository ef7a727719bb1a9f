#include "admin_api/hand_back.hpp"

#include <boost/asio/post.hpp>

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <system_error>
#include <utility>

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

hand_back::~hand_back() { drop(head_.exchange(nullptr)); }

void hand_back::start() { wait(); }

void hand_back::drop(node* n) {
    while (n) delete std::exchange(n, n->next);
}

void hand_back::push(item&& f) {
    if (stopped_.load()) return;
    auto* n = new node{std::move(f)};
    n->next = head_.load(std::memory_order_relaxed);
    while (!head_.compare_exchange_weak(n->next, n, std::memory_order_release, std::memory_order_relaxed)) {
    }
    // stop() may have emptied the stack just before this push: drop what it missed.
    if (stopped_.load()) {
        drop(head_.exchange(nullptr, std::memory_order_acquire));
        return;
    }
    if (n->next == nullptr) {
        // The first item since the I/O thread last took them. No lock is held here: the
        // I/O thread this wakes never waits for us.
        const std::uint64_t one = 1;
        [[maybe_unused]] auto w = ::write(fd_.native_handle(), &one, sizeof one);
    }
}

void hand_back::stop() {
    stopped_.store(true);
    drop(head_.exchange(nullptr, std::memory_order_acquire));
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
    // Reset the counter before taking the items: a push after the exchange below finds the
    // stack empty and writes again, so no item waits without a wake.
    std::uint64_t count = 0;
    [[maybe_unused]] auto r = ::read(fd_.native_handle(), &count, sizeof count);
    node* n = head_.exchange(nullptr, std::memory_order_acquire);
    // Newest first on the stack: reverse, so items run in the order they were pushed.
    node* ordered = nullptr;
    while (n) {
        node* next = n->next;
        n->next = ordered;
        ordered = n;
        n = next;
    }
    while (ordered) {
        std::unique_ptr<node> current(std::exchange(ordered, ordered->next));
        current->f();
    }
    wait();
}

}  // namespace gm::admin_api

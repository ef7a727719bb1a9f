#pragma once
// Gives the memory a burst of calls left behind back to the system once the burst is over.
//
// A burst of concurrent calls (1,000 clients sending at once) takes a set of call buffers
// and an upstream connection per call; when it ends, the thread keeps a few for reuse and
// frees the rest, but glibc keeps freed memory between live blocks mapped: 1,000 idle
// connections after such a burst held ~17 KB of RSS each where their live blocks took ~4.5
// KB. malloc_trim returns the free pages of every arena (madvise). It costs a walk of the
// free lists and a system call per free run of pages, so it runs only when the thread has
// dropped buffers it could not keep, once no more have been dropped for a quiet period,
// and at most once per min_interval.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>

namespace gm::proxy {

class heap_trimmer {
public:
    static constexpr std::chrono::milliseconds quiet_period{200};
    static constexpr std::chrono::seconds min_interval{5};

    explicit heap_trimmer(boost::asio::io_context& ioc) : timer_(ioc) {}

    // Call buffers or connections were freed because the thread keeps no more of them.
    void note_release();

    std::uint64_t trims() const noexcept { return trims_; }

private:
    void arm(std::chrono::steady_clock::duration after);
    void on_timer(boost::system::error_code ec);

    boost::asio::steady_timer timer_;
    bool armed_ = false;
    std::uint64_t releases_ = 0;
    std::uint64_t releases_when_armed_ = 0;
    std::chrono::steady_clock::time_point last_trim_{};
    std::uint64_t trims_ = 0;
};

}  // namespace gm::proxy

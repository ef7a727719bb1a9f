#include "proxy/heap_trim.hpp"

#include <malloc.h>

namespace gm::proxy {

void heap_trimmer::note_release() {
    ++releases_;
    if (!armed_)
        arm(quiet_period);
}

void heap_trimmer::arm(std::chrono::steady_clock::duration after) {
    armed_ = true;
    releases_when_armed_ = releases_;
    timer_.expires_after(after);
    timer_.async_wait([this](boost::system::error_code ec) { on_timer(ec); });
}

void heap_trimmer::on_timer(boost::system::error_code ec) {
    armed_ = false;
    if (ec)
        return;
    if (releases_ != releases_when_armed_) {
        arm(quiet_period);  // still bursting: what is freed now may be taken again
        return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (trims_ > 0 && now - last_trim_ < min_interval) {
        arm(min_interval - (now - last_trim_));
        return;
    }
    last_trim_ = now;
    ++trims_;
    ::malloc_trim(0);
}

}  // namespace gm::proxy

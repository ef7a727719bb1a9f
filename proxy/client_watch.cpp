#include "proxy/client_watch.hpp"

#include "proxy/proxy_session.hpp"

namespace gm::proxy {

client_watch::client_watch(boost::asio::io_context& ioc, std::chrono::milliseconds period)
    : timer_(ioc), period_(period) {}

void client_watch::enlist(std::weak_ptr<proxy_session> session) {
    enlisted_.push_back(std::move(session));
    if (ticking_)
        return;
    // The timer runs only while someone waits: an idle proxy makes no wake-ups.
    ticking_ = true;
    timer_.expires_after(period_);
    timer_.async_wait([this](boost::system::error_code ec) { on_tick(ec); });
}

void client_watch::on_tick(boost::system::error_code ec) {
    ticking_ = false;
    if (ec)
        return;
    due_.swap(enlisted_);
    for (auto& w : due_)
        if (auto s = w.lock())
            s->on_watch_due();
    due_.clear();
    if (!enlisted_.empty() && !ticking_) {
        ticking_ = true;
        timer_.expires_after(period_);
        timer_.async_wait([this](boost::system::error_code e) { on_tick(e); });
    }
}

}  // namespace gm::proxy

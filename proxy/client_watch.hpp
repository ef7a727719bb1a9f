#pragma once
// Watching a client for a hang-up costs an epoll_ctl per call, and most calls are answered
// long before a hang-up could matter. Sessions waiting for the upstream enlist here; once
// per period the thread starts the watch for those still waiting. A client that leaves is
// so noticed within one period plus the time to see its FIN.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <vector>

namespace gm::proxy {

class proxy_session;

class client_watch {
public:
    client_watch(boost::asio::io_context& ioc, std::chrono::milliseconds period);
    // The session's on_watch_due() runs at the next tick, if it still exists then.
    void enlist(std::weak_ptr<proxy_session> session);

private:
    void on_tick(boost::system::error_code ec);

    boost::asio::steady_timer timer_;
    std::chrono::milliseconds period_;
    std::vector<std::weak_ptr<proxy_session>> enlisted_;
    std::vector<std::weak_ptr<proxy_session>> due_;
    bool ticking_ = false;
};

}  // namespace gm::proxy

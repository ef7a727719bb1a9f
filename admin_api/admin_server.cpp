#include "admin_api/admin_server.hpp"

#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>

#include <stdexcept>

#include "admin_api/admin_context.hpp"
#include "admin_api/admin_listener.hpp"

namespace gm::admin_api {

namespace net = boost::asio;

admin_server::admin_server(net::io_context& ioc, admin_options options, admin_deps deps) : ioc_(ioc) {
    std::string problems;
    if (options.query_threads < 1) problems += " query_threads must be at least 1;";
    if (options.max_range_days < 1) problems += " max_range_days must be at least 1;";
    if (options.auth_max_failures < 1) problems += " auth_max_failures must be at least 1;";
    if (options.auth_window_ms < 1) problems += " auth_window_ms must be positive;";
    if (!problems.empty()) throw std::runtime_error("admin options:" + problems);
    ctx_ = std::make_shared<admin_context>(std::move(options), std::move(deps));
}

admin_server::~admin_server() {
    stop();
    // Queries still running finish (an export notices `stopping`); queued ones are dropped.
    ctx_->pool->stop();
    ctx_->pool->join();
    // No query thread pushes any more: drop what waits (it holds sessions, which hold ctx_).
    if (ctx_->hand_back) ctx_->hand_back->stop();
    ctx_->readers.clear();
}

void admin_server::start() {
    boost::system::error_code ec;
    std::string host = ctx_->options.host;
    if (host == "localhost") host = "127.0.0.1";
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    auto address = net::ip::make_address(host, ec);
    if (ec) throw std::runtime_error(fmt::format("admin listener: '{}' is not an IP address", ctx_->options.host));
    if (!ctx_->auth.configured()) {
        if (!address.is_loopback())
            throw std::runtime_error(fmt::format(
                "admin listener: no admin token is configured, so the admin API may only listen on a loopback "
                "address, not {}; set --admin-token-file or GEMINI_METER_ADMIN_TOKEN, or use --admin-listen 127.0.0.1:PORT",
                ctx_->options.host));
        ctx_->log("admin: no admin token is configured; /api/* answers 401 until one is set "
                  "(--admin-token-file or GEMINI_METER_ADMIN_TOKEN)");
    }
    listener_ = std::make_shared<admin_listener>(ioc_, net::ip::tcp::endpoint(address, ctx_->options.port), ctx_);
    ctx_->hand_back = std::make_shared<hand_back>(ioc_);
    ctx_->hand_back->start();
    listener_->run();
}

unsigned short admin_server::port() const { return listener_ ? listener_->port() : 0; }

void admin_server::replace_tokens(const std::vector<std::string>& tokens) { ctx_->auth.replace(tokens); }

void admin_server::stop() {
    ctx_->stopping = true;
    if (listener_) listener_->stop();
}

}  // namespace gm::admin_api

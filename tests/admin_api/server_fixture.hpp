#pragma once
// Runs an admin_server on port 0 with its own io_context and I/O thread.
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <memory>
#include <thread>

#include "admin_api/admin_server.hpp"

namespace gm::test {

struct admin_fixture {
    boost::asio::io_context ioc;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{ioc.get_executor()};
    std::unique_ptr<admin_api::admin_server> server;
    std::thread io_thread;

    admin_fixture(admin_api::admin_options o, admin_api::admin_deps d) {
        o.port = 0;
        if (!d.log) d.log = [](const std::string&) {};
        server = std::make_unique<admin_api::admin_server>(ioc, std::move(o), std::move(d));
        server->start();
        io_thread = std::thread([this] { ioc.run(); });
    }
    ~admin_fixture() {
        server->stop();
        work.reset();
        ioc.stop();
        io_thread.join();
        server.reset();
    }
    unsigned short port() const { return server->port(); }
};

}  // namespace gm::test

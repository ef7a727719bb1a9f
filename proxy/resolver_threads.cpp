#include "proxy/resolver_threads.hpp"

#include <pthread.h>

#include <boost/asio/ip/tcp.hpp>
#include <thread>

namespace gm::proxy {

void start_resolver_threads(const std::vector<std::unique_ptr<boost::asio::io_context>>& contexts) {
    using tcp = boost::asio::ip::tcp;
    std::thread([&contexts] {
        pthread_setname_np(pthread_self(), "gm-resolver");
        for (const auto& c : contexts) {
            tcp::resolver resolver(*c);
            resolver.async_resolve("127.0.0.1", "0", tcp::resolver::numeric_host | tcp::resolver::numeric_service,
                                   [](const boost::system::error_code&, const tcp::resolver::results_type&) {});
        }
    }).join();
}

}  // namespace gm::proxy

// fake-gemini: the fake Gemini upstream as a program, for the benchmark and for trying a
// proxy by hand. Runs until SIGINT or SIGTERM.
#include "fake_gemini.hpp"

#include <boost/program_options.hpp>

#include <csignal>
#include <iostream>

namespace po = boost::program_options;

int main(int argc, char** argv) {
    std::string listen = "127.0.0.1:0";
    gm::test::fake_options opt;
    opt.record_limit = 0;
    po::options_description desc("fake-gemini options");
    desc.add_options()
        ("help", "show this help")
        ("listen", po::value(&listen)->default_value(listen), "HOST:PORT to listen on (port 0: any)")
        ("tls-cert", po::value(&opt.cert_file), "PEM certificate chain: serve HTTPS")
        ("tls-key", po::value(&opt.key_file), "PEM private key for --tls-cert")
        ("plain", "serve plain HTTP (the default without --tls-cert)")
        ("threads", po::value(&opt.threads)->default_value(1), "I/O threads");
    try {
        po::variables_map vm;
        po::store(po::parse_command_line(argc, argv, desc), vm);
        po::notify(vm);
        if (vm.count("help")) {
            std::cout << desc << "\nBehaviour knobs are request headers; see tests/fake_gemini/fake_responder.hpp.\n";
            return 0;
        }
        opt.tls = !opt.cert_file.empty() && !vm.count("plain");
        if (opt.tls && opt.key_file.empty()) throw std::runtime_error("--tls-cert needs --tls-key");
        const auto colon = listen.rfind(':');
        if (colon == std::string::npos) throw std::runtime_error("--listen wants HOST:PORT");
        opt.listen_address = listen.substr(0, colon);
        opt.port = static_cast<unsigned short>(std::stoul(listen.substr(colon + 1)));

        // Block the signals before the I/O threads start so that only sigwait sees them.
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &set, nullptr);

        gm::test::fake_gemini fake(opt);
        // The bench script reads this line to learn the port.
        std::cout << "listening " << fake.base_url() << std::endl;
        int sig = 0;
        sigwait(&set, &sig);
        const auto c = fake.counters();
        std::cout << "requests " << c.requests << " connections " << c.connections_accepted << std::endl;
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "fake-gemini: " << e.what() << "\n";
        return 2;
    }
}

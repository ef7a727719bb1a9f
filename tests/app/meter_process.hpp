#pragma once
// The real gemini-meter binary as a child process, in front of the in-process fake Gemini
// upstream over TLS, on a fresh SQLite file; ports are taken from its start line.
#include <csignal>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

#include "fake_gemini/fake_gemini.hpp"
#include "storage/sqlite_queries.hpp"
#include "support/process_runner.hpp"
#include "support/raw_http_client.hpp"
#include "support/temp_dir.hpp"
#include "support/test_tls.hpp"

namespace gm::test {

inline const char* admin_token = "test-admin-token-0123456789";

// Every call stored in the database, oldest first.
inline std::vector<metering::usage_record> stored_rows(const std::string& db_path) {
    storage::sqlite_queries q(db_path);
    std::vector<metering::usage_record> out;
    q.export_rows({0, 4'000'000'000'000}, {}, [&](const metering::usage_record& r) {
        out.push_back(r);
        return true;
    });
    return out;
}

struct meter_process {
    explicit meter_process(std::vector<std::string> extra = {}, std::string upstream = {}) {
        fake_options fo;
        fo.cert_file = make_test_pki().cert_file;
        fo.key_file = make_test_pki().key_file;
        fake = std::make_unique<fake_gemini>(fo);
        db_path = dir.file("usage.db");
        std::vector<std::string> args{"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
                                      "--upstream", upstream.empty() ? fake->base_url() : upstream,
                                      "--database", "sqlite:" + db_path, "--io-threads", "2"};
        if (upstream.empty() || upstream.rfind("https", 0) == 0) {
            args.push_back("--upstream-ca-file");
            args.push_back(make_test_pki().ca_file);
        }
        args.insert(args.end(), extra.begin(), extra.end());
        // SSL_CERT_FILE / SSL_CERT_DIR cleared: some build hosts set them, and a set
        // SSL_CERT_FILE makes OpenSSL parse that whole bundle at start (~1 MB); the proxy
        // runs here with the system's default trust, as in its container.
        proc = std::make_unique<process_runner>(
            GM_BINARY, args,
            std::vector<std::pair<std::string, std::string>>{
                {"GEMINI_METER_ADMIN_TOKEN", admin_token}, {"SSL_CERT_FILE", ""}, {"SSL_CERT_DIR", ""}});
        auto line = proc->wait_for_line("\"event\":\"start\"");
        if (!line)
            throw std::runtime_error("gemini-meter did not start");
        std::smatch m;
        static const std::regex ports(R"(listening on [^:]+:(\d+), admin on [^:]+:(\d+))");
        if (!std::regex_search(*line, m, ports))
            throw std::runtime_error("no ports in the start line: " + *line);
        port = static_cast<unsigned short>(std::stoi(m[1]));
        admin_port = static_cast<unsigned short>(std::stoi(m[2]));
    }

    std::unique_ptr<raw_http_client> connect() {
        auto c = std::make_unique<raw_http_client>();
        c->connect("127.0.0.1", port);
        return c;
    }

    // SIGTERM, expect exit 0: every record is committed before the process ends.
    void stop() {
        proc->send_signal(SIGTERM);
        auto status = proc->wait_exit(std::chrono::seconds(40));
        if (!status || *status != 0)
            throw std::runtime_error("gemini-meter did not exit 0 on SIGTERM");
    }

    // Every stored call, oldest first.
    std::vector<metering::usage_record> rows() const { return stored_rows(db_path); }

    temp_dir dir;
    std::string db_path;
    std::unique_ptr<fake_gemini> fake;
    std::unique_ptr<process_runner> proc;
    unsigned short port = 0;
    unsigned short admin_port = 0;
};

}  // namespace gm::test

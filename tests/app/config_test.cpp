#include "app/config.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <string>

#include "support/temp_dir.hpp"

using namespace gm::app;

namespace {

parse_outcome parse(std::vector<const char*> args) {
    args.insert(args.begin(), "gemini-meter");
    return parse_config(static_cast<int>(args.size()), args.data());
}

}  // namespace

TEST_CASE("with no arguments gemini-meter is a working proxy with the documented defaults") {
    auto c = parse({}).config;
    CHECK(c.command == "serve");
    CHECK(c.proxy.listen_host == "0.0.0.0");
    CHECK(c.proxy.listen_port == 8080);
    CHECK(c.proxy.upstream_url == "https://generativelanguage.googleapis.com");
    CHECK(c.admin.host == "127.0.0.1");
    CHECK(c.admin.port == 9090);
    CHECK(c.database == "sqlite:./var/usage.db");
    CHECK(c.sqlite_path() == "./var/usage.db");
    CHECK(c.log_format == "json");
    CHECK(c.admin_priority == "idle");
    CHECK(c.proxy.io_slice == std::chrono::microseconds(500));
    CHECK_FALSE(c.proxy.io_cpus.enabled());
    CHECK(c.validate().empty());
}

TEST_CASE("flags, environment and a config file, in that order of precedence") {
    gm::test::temp_dir dir;
    const auto file = dir.file("meter.conf");
    std::ofstream(file) << "listen = 127.0.0.1:7001\nadmin-listen = 127.0.0.1:7002\nlog-format = text\n";
    ::setenv("GEMINI_METER_ADMIN_LISTEN", "127.0.0.1:7003", 1);
    auto c = parse({"--config", file.c_str(), "--listen", "127.0.0.1:7000"}).config;
    ::unsetenv("GEMINI_METER_ADMIN_LISTEN");
    CHECK(c.proxy.listen_port == 7000);  // flag
    CHECK(c.admin.port == 7003);         // environment over file
    CHECK(c.log_format == "text");       // file
}

TEST_CASE("durations and addresses parse with units and brackets") {
    CHECK(parse_duration("x", "250ms") == std::chrono::milliseconds(250));
    CHECK(parse_duration("x", "10s") == std::chrono::seconds(10));
    CHECK(parse_duration("x", "5m") == std::chrono::minutes(5));
    CHECK(parse_duration("x", "7") == std::chrono::seconds(7));
    auto hp = parse_host_port("listen", "[::1]:8080");
    CHECK(hp.host == "::1");
    CHECK(hp.port == 8080);
    CHECK(parse_host_port("listen", ":81").host == "0.0.0.0");
}

TEST_CASE("bad configuration values are refused with the flag and the reason") {
    CHECK_THROWS_WITH(parse({"--listen", "nonsense"}), Catch::Contains("--listen"));
    CHECK_THROWS_WITH(parse({"--listen", "1.2.3.4:99999"}), Catch::Contains("--listen"));
    CHECK_THROWS_WITH(parse({"--idle-timeout", "fast"}), Catch::Contains("--idle-timeout"));
    CHECK_THROWS_WITH(parse({"--idle-timeout", "5y"}), Catch::Contains("unknown unit"));
    CHECK_THROWS_WITH(parse({"--metering", "maybe"}), Catch::Contains("--metering"));
    CHECK_THROWS_WITH(parse({"--no-such-flag"}), Catch::Contains("no-such-flag"));
    CHECK_THROWS_WITH(parse({"launch"}), Catch::Contains("unknown command"));
    ::setenv("GEMINI_METER_LISTNE", "x", 1);
    CHECK_THROWS_WITH(parse({}), Catch::Contains("GEMINI_METER_LISTNE"));
    ::unsetenv("GEMINI_METER_LISTNE");
}

TEST_CASE("listen addresses are IP addresses or localhost, never a name to look up") {
    CHECK(parse({"--listen", "localhost:8080"}).config.proxy.listen_host == "127.0.0.1");
    CHECK(parse({"--admin-listen", "localhost:9091"}).config.admin.host == "127.0.0.1");
    CHECK(parse({"--listen", "[::]:8080"}).config.proxy.listen_host == "::");
    CHECK(parse({"--listen", "::1:0"}).config.proxy.listen_host == "::1");
    for (const char* bad : {"example.com", "999.1.1.1", "1.2.3", "[::1", "::g"}) {
        INFO(bad);
        CHECK_THROWS_WITH(parse({"--listen", (std::string(bad) + ":80").c_str()}),
                          "--listen: '" + std::string(bad) + "' is not an IP address (e.g. 0.0.0.0, 127.0.0.1, [::], [::1], "
                          "or localhost)");
    }
    CHECK_THROWS_WITH(parse({"--admin-listen", "admin.internal:9090"}),
                      Catch::StartsWith("--admin-listen: 'admin.internal' is not an IP address"));
    ::setenv("GEMINI_METER_LISTEN", "proxy.local:8080", 1);
    CHECK_THROWS_WITH(parse({}), Catch::StartsWith("--listen: 'proxy.local' is not an IP address"));
    ::unsetenv("GEMINI_METER_LISTEN");
}

TEST_CASE("a bad --upstream URL is a configuration error, listed with the others") {
    CHECK(parse({}).config.validate().empty());
    CHECK(parse({"--upstream", "http://127.0.0.1:8081/prefix"}).config.validate().empty());
    for (const char* bad : {"ftp://x", "https://", "generativelanguage.googleapis.com", "http://[::1"}) {
        INFO(bad);
        const auto problems = parse({"--upstream", bad, "--log-format", "xml"}).config.validate();
        REQUIRE(problems.size() == 2);
        CHECK(problems[0].starts_with("--upstream: "));
        CHECK(problems[0].size() > std::string("--upstream: ").size());
    }
    CHECK(parse({"--upstream", "ftp://x"}).config.validate()[0] ==
          "--upstream: upstream URL scheme must be http or https, not 'ftp'");
    // Commands that call no upstream do not care.
    CHECK(parse({"migrate", "--upstream", "ftp://x"}).config.validate().empty());
}

TEST_CASE("durations are at most 7 days, so that no timer overflows") {
    CHECK(parse_duration("idle-timeout", "168h") == std::chrono::hours(168));
    CHECK(parse_duration("idle-timeout", "604800") == std::chrono::hours(168));
    for (const char* bad : {"169h", "604801s", "99999999h", "10000000000"}) {
        INFO(bad);
        CHECK_THROWS_WITH(parse_duration("idle-timeout", bad),
                          "--idle-timeout: '" + std::string(bad) + "' is over the longest allowed, 7 days");
    }
    CHECK_THROWS_WITH(parse({"--connect-timeout", "10000000000"}), Catch::StartsWith("--connect-timeout: "));
}

TEST_CASE("another command's flag on the command line is refused; in the environment it is left alone") {
    CHECK_THROWS_WITH(parse({"--limit", "5"}), "--limit is an option of `gemini-meter report`, not of serve");
    CHECK_THROWS_WITH(parse({"serve", "--format", "json"}), "--format is an option of `gemini-meter report`, not of serve");
    CHECK_THROWS_WITH(parse({"report", "--since", "2024-11-01"}),
                      "--since is an option of `gemini-meter reprice`, not of report");
    CHECK_THROWS_WITH(parse({"--demo-rate", "5"}), "--demo-rate is an option of `gemini-meter demo`, not of serve");
    CHECK_THROWS_WITH(parse({"--status"}), "--status is an option of `gemini-meter migrate`, not of serve");
    CHECK(parse({"report", "--limit", "5", "--format", "json", "--start", "2024-11-01"}).config.report_format == "json");
    CHECK(parse({"reprice", "--since", "2024-11-01", "--until", "2024-11-30"}).config.reprice_since == "2024-11-01");
    CHECK(parse({"demo", "--demo-rate", "5"}).config.demo_rate == 5);
    CHECK(parse({"migrate", "--status"}).config.migrate_status);
    ::setenv("GEMINI_METER_LIMIT", "5", 1);  // e.g. set for reports run in the same container
    CHECK(parse({}).config.command == "serve");
    ::unsetenv("GEMINI_METER_LIMIT");
}

TEST_CASE("timeouts are greater than zero, but a drain may be none") {
    for (const char* flag : {"--connect-timeout", "--header-timeout", "--first-byte-timeout", "--idle-timeout",
                             "--keep-alive-timeout"}) {
        INFO(flag);
        const auto problems = parse({flag, "0"}).config.validate();
        REQUIRE(problems.size() == 1);
        CHECK(problems[0] == "timeouts must be greater than zero");
    }
    CHECK(parse({"--drain-timeout", "0"}).config.validate().empty());
}

TEST_CASE("header-limit takes 1024..1048576 bytes; a negative one is refused, not wrapped") {
    CHECK(parse({"--header-limit", "1048576"}).config.validate().empty());
    for (const char* bad : {"1023", "1048577", "99999999999", "-1"}) {
        INFO(bad);
        const auto problems = parse({"--header-limit", bad}).config.validate();
        REQUIRE(problems.size() == 1);
        CHECK(problems[0] == "--header-limit: must be 1024..1048576 bytes");
    }
}

TEST_CASE("cors-origin is * or an origin: scheme and host, no path") {
    for (const char* good : {"*", "https://console.example.com", "http://localhost:5173", "https://[::1]:8443"}) {
        INFO(good);
        CHECK(parse({"--cors-origin", good}).config.validate().empty());
    }
    for (const char* bad : {"console.example.com", "https://console.example.com/", "https://", "ftp://x",
                            "https://a.example/admin", "https://a b"}) {
        INFO(bad);
        const auto problems = parse({"--cors-origin", bad}).config.validate();
        REQUIRE(problems.size() == 1);
        CHECK(problems[0] == "--cors-origin: '" + std::string(bad) +
                                 "' must be * or an origin such as https://console.example.com (scheme and host, no path)");
    }
}

TEST_CASE("archive-dir needs retention-days: alone it would archive nothing") {
    const auto problems = parse({"--archive-dir", "/var/archive"}).config.validate();
    REQUIRE(problems.size() == 1);
    CHECK(problems[0] == "--archive-dir: keeps what retention deletes, and --retention-days is not set");
    CHECK(parse({"--archive-dir", "/var/archive", "--retention-days", "90"}).config.validate().empty());
}

TEST_CASE("io-threads takes 0 (one per core) to 256") {
    CHECK(parse({}).config.proxy.io_threads == 0);
    CHECK(parse({"--io-threads", "256"}).config.proxy.io_threads == 256);
    for (const char* bad : {"-1", "257", "4294967295", "two", ""}) {
        INFO(bad);
        CHECK_THROWS_WITH(parse({"--io-threads", bad}),
                          "--io-threads: '" + std::string(bad) + "' is not an integer in 0..256");
    }
}

TEST_CASE("validate reports every problem at once") {
    auto c = parse({"--database", "mysql://x", "--log-format", "xml", "--retention-days", "-1"}).config;
    const auto problems = c.validate();
    CHECK(problems.size() == 3);
}

TEST_CASE("admin-threads takes 1..64, also from the environment") {
    CHECK(parse({}).config.admin_threads == 2);
    CHECK(parse({"--admin-threads", "1"}).config.admin_threads == 1);
    CHECK(parse({"--admin-threads", "64"}).config.validate().empty());
    ::setenv("GEMINI_METER_ADMIN_THREADS", "3", 1);
    const auto c = parse({}).config;
    ::unsetenv("GEMINI_METER_ADMIN_THREADS");
    CHECK(c.admin_threads == 3);
    for (const char* bad : {"0", "-1", "65"}) {
        const auto problems = parse({"--admin-threads", bad}).config.validate();
        REQUIRE(problems.size() == 1);
        CHECK(problems[0] == "--admin-threads: " + std::string(bad) + " must be 1..64");
    }
    CHECK_THROWS_WITH(parse({"--admin-threads", "two"}), Catch::Contains("admin-threads"));
}

TEST_CASE("admin-priority takes idle, low or normal, also from the environment") {
    CHECK(parse({"--admin-priority", "low"}).config.admin_priority == "low");
    ::setenv("GEMINI_METER_ADMIN_PRIORITY", "normal", 1);
    auto c = parse({}).config;
    ::unsetenv("GEMINI_METER_ADMIN_PRIORITY");
    CHECK(c.admin_priority == "normal");
    CHECK(c.validate().empty());
    const auto problems = parse({"--admin-priority", "realtime"}).config.validate();
    REQUIRE(problems.size() == 1);
    CHECK(problems[0] == "--admin-priority: 'realtime' must be idle, low or normal");
}

TEST_CASE("writer-priority takes idle or normal, also from the environment") {
    CHECK(parse({}).config.writer_priority == "idle");
    CHECK(parse({"--writer-priority", "normal"}).config.writer_priority == "normal");
    ::setenv("GEMINI_METER_WRITER_PRIORITY", "normal", 1);
    auto c = parse({}).config;
    ::unsetenv("GEMINI_METER_WRITER_PRIORITY");
    CHECK(c.writer_priority == "normal");
    CHECK(c.validate().empty());
    const auto problems = parse({"--writer-priority", "low"}).config.validate();
    REQUIRE(problems.size() == 1);
    CHECK(problems[0] == "--writer-priority: 'low' must be idle or normal");
}

TEST_CASE("reprice needs --since") {
    auto c = parse({"reprice"}).config;
    CHECK(c.validate().size() == 1);
}

TEST_CASE("writer-max-queued takes 1..100000000 records, also from the environment") {
    CHECK(parse({}).config.writer_max_queued == 100000);
    CHECK(parse({"--writer-max-queued", "50"}).config.writer_max_queued == 50);
    ::setenv("GEMINI_METER_WRITER_MAX_QUEUED", "2500", 1);
    auto c = parse({}).config;
    ::unsetenv("GEMINI_METER_WRITER_MAX_QUEUED");
    CHECK(c.writer_max_queued == 2500);
    CHECK(c.validate().empty());
    for (const char* bad : {"0", "-5", "100000001"}) {
        const auto problems = parse({"--writer-max-queued", bad}).config.validate();
        REQUIRE(problems.size() == 1);
        CHECK(problems[0] == "--writer-max-queued: must be 1..100000000 records");
    }
    CHECK_THROWS_WITH(parse({"--writer-max-queued", "lots"}), Catch::Contains("writer-max-queued"));
}

TEST_CASE("io-cpus takes off, auto or a CPU list, also from the environment and a file") {
    CHECK_FALSE(parse({"--io-cpus", "off"}).config.proxy.io_cpus.enabled());
    CHECK(parse({"--io-cpus", "auto"}).config.proxy.io_cpus.automatic);
    CHECK(parse({"--io-cpus", "0,2-3"}).config.proxy.io_cpus.cpus == std::vector<int>{0, 2, 3});
    ::setenv("GEMINI_METER_IO_CPUS", "1", 1);
    const auto from_env = parse({}).config;
    ::unsetenv("GEMINI_METER_IO_CPUS");
    CHECK(from_env.proxy.io_cpus.cpus == std::vector<int>{1});
    gm::test::temp_dir dir;
    const auto file = dir.file("meter.conf");
    std::ofstream(file) << "io-cpus = auto\n";
    CHECK(parse({"--config", file.c_str()}).config.proxy.io_cpus.automatic);
    CHECK_THROWS_WITH(parse({"--io-cpus", "0-"}),
                      "--io-cpus: '0-' must be off, auto or a CPU list such as 0,2-3 (CPUs 0..1023)");
    CHECK_THROWS_WITH(parse({"--io-cpus", "2-1"}), "--io-cpus: '2-1' has a range that goes down (2-1)");
    CHECK_THROWS_WITH(parse({"--io-cpus", ""}), Catch::Contains("--io-cpus: '' is empty"));
}

TEST_CASE("io-slice-us takes 0 or 100..100000 microseconds, also from the environment") {
    CHECK(parse({"--io-slice-us", "0"}).config.proxy.io_slice == std::chrono::microseconds(0));
    CHECK(parse({"--io-slice-us", "100"}).config.proxy.io_slice == std::chrono::microseconds(100));
    CHECK(parse({"--io-slice-us", "100000"}).config.validate().empty());
    ::setenv("GEMINI_METER_IO_SLICE_US", "500", 1);
    auto c = parse({}).config;
    ::unsetenv("GEMINI_METER_IO_SLICE_US");
    CHECK(c.proxy.io_slice == std::chrono::microseconds(500));
    CHECK(c.validate().empty());
    // The kernel would clamp these silently: refused here, so that the slice asked is the one run.
    for (const char* bad : {"50", "-1", "100001"}) {
        const auto problems = parse({"--io-slice-us", bad}).config.validate();
        REQUIRE(problems.size() == 1);
        CHECK(problems[0] ==
              "--io-slice-us: " + std::string(bad) + " must be 0 (the kernel's default) or 100..100000 microseconds");
    }
    CHECK_THROWS_WITH(parse({"--io-slice-us", "short"}), Catch::Contains("io-slice-us"));
    CHECK_THROWS_WITH(parse({"--io-slice-us", "0.1ms"}), Catch::Contains("io-slice-us"));
}

TEST_CASE("demo: its own database and a loopback proxy on any port unless given; rate and days checked") {
    auto c = parse({"demo"}).config;
    CHECK(c.command == "demo");
    CHECK(c.database == "sqlite:./var/demo.db");
    CHECK(c.proxy.listen_host == "127.0.0.1");
    CHECK(c.proxy.listen_port == 0);
    CHECK(c.demo_rate == 2.0);
    CHECK(c.demo_days == 30);
    CHECK(c.validate().empty());
    auto given = parse({"demo", "--database", "sqlite:/tmp/mine.db", "--listen", "127.0.0.1:7100"}).config;
    CHECK(given.database == "sqlite:/tmp/mine.db");
    CHECK(given.proxy.listen_port == 7100);
    ::setenv("GEMINI_METER_DATABASE", "sqlite:/tmp/from-env.db", 1);
    auto from_env = parse({"demo"}).config;
    ::unsetenv("GEMINI_METER_DATABASE");
    CHECK(from_env.database == "sqlite:/tmp/from-env.db");
    // Serving is unchanged by the demo's defaults.
    CHECK(parse({"serve"}).config.database == "sqlite:./var/usage.db");

    CHECK(parse({"demo", "--demo-rate", "0"}).config.validate() ==
          std::vector<std::string>{"--demo-rate: 0 must be 0.1..1000 calls per second"});
    CHECK(parse({"demo", "--demo-rate", "nan"}).config.validate().size() == 1);
    CHECK(parse({"demo", "--demo-days", "401"}).config.validate() == std::vector<std::string>{"--demo-days: 401 must be 0..400"});
    CHECK(parse({"demo", "--demo-days", "-1"}).config.validate().size() == 1);
    CHECK(parse({"demo", "--demo-days", "0"}).config.validate().empty());
    CHECK_THROWS_AS(parse({"demo", "--demo-rate", "fast"}), config_error);
}

#include "app/config.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <boost/program_options.hpp>
#include <charconv>
#include <fmt/format.h>
#include <cctype>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include "proxy/io_slice.hpp"
#include "proxy/upstream_target.hpp"

namespace gm::app {

namespace po = boost::program_options;

namespace {

constexpr const char* env_prefix = "GEMINI_METER_";

std::string usage_text(const po::options_description& desc) {
    std::ostringstream out;
    out << "gemini-meter — a metering reverse proxy for the Gemini API\n\n"
           "usage: gemini-meter [serve] [options]\n"
           "       gemini-meter migrate [--status] [--database URL]\n"
           "       gemini-meter pricing [--pricing FILE]\n"
           "       gemini-meter reprice --since DATE [--until DATE] [--database URL] [--pricing FILE]\n"
           "       gemini-meter report [--start DATE] [--end DATE] [--filter NAME=VALUE]... [--limit N]\n"
           "                           [--format text|json] [--database URL]\n"
           "       gemini-meter demo [--demo-rate N] [--demo-days N] [options]\n"
           "         (a simulated upstream and app: the dashboard without an API key; database\n"
           "          sqlite:./var/demo.db and proxy on 127.0.0.1, any port, unless given)\n\n"
           "Every option can also be given as an environment variable GEMINI_METER_<NAME>\n"
           "(--admin-listen is GEMINI_METER_ADMIN_LISTEN) or in a --config file (name = value).\n\n"
        << desc;
    return out.str();
}

template <class Int>
Int parse_int(const std::string& flag, const std::string& value, Int lo, Int hi) {
    Int v{};
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc() || p != value.data() + value.size() || v < lo || v > hi)
        throw config_error(fmt::format("--{}: '{}' is not an integer in {}..{}", flag, value, lo, hi));
    return v;
}

}  // namespace

host_port parse_host_port(const std::string& flag, const std::string& value) {
    const auto colon = value.rfind(':');
    if (colon == std::string::npos)
        throw config_error(fmt::format("--{}: '{}' must be HOST:PORT", flag, value));
    host_port hp;
    hp.host = value.substr(0, colon);
    if (hp.host.size() >= 2 && hp.host.front() == '[' && hp.host.back() == ']')
        hp.host = hp.host.substr(1, hp.host.size() - 2);
    if (hp.host.empty())
        hp.host = "0.0.0.0";
    if (hp.host == "localhost")
        hp.host = "127.0.0.1";
    // Listening takes an address: a name would need a look-up at start, and one name can
    // stand for several addresses.
    unsigned char any[sizeof(in6_addr)];
    if (::inet_pton(AF_INET, hp.host.c_str(), any) != 1 && ::inet_pton(AF_INET6, hp.host.c_str(), any) != 1)
        throw config_error(fmt::format("--{}: '{}' is not an IP address (e.g. 0.0.0.0, 127.0.0.1, [::], [::1], "
                                       "or localhost)",
                                       flag, hp.host));
    hp.port = parse_int<unsigned short>(flag, value.substr(colon + 1), 0, 65535);
    return hp;
}

// What a browser sends as Origin: http or https, a host (and port), nothing after it.
static bool is_origin(const std::string& v) {
    for (const std::string_view scheme : {"http://", "https://"})
        if (v.starts_with(scheme)) {
            const std::string_view rest = std::string_view(v).substr(scheme.size());
            return !rest.empty() && rest.find_first_of("/?# \t") == std::string_view::npos;
        }
    return false;
}

std::chrono::milliseconds parse_duration(const std::string& flag, const std::string& value) {
    std::size_t digits = 0;
    while (digits < value.size() && value[digits] >= '0' && value[digits] <= '9')
        ++digits;
    if (digits == 0)
        throw config_error(fmt::format("--{}: '{}' is not a duration (e.g. 250ms, 10s, 5m)", flag, value));
    const auto n = parse_int<std::int64_t>(flag, value.substr(0, digits), 0, 10'000'000'000);
    const std::string unit = value.substr(digits);
    std::chrono::milliseconds d;
    if (unit == "ms")
        d = std::chrono::milliseconds(n);
    else if (unit == "s" || unit.empty())
        d = std::chrono::seconds(n);
    else if (unit == "m")
        d = std::chrono::minutes(n);
    else if (unit == "h")
        d = std::chrono::hours(n);
    else
        throw config_error(fmt::format("--{}: unknown unit '{}' in '{}' (ms, s, m, h)", flag, unit, value));
    // Timers count in nanoseconds from now: centuries would overflow them into the past.
    if (d > max_duration)
        throw config_error(fmt::format("--{}: '{}' is over the longest allowed, 7 days", flag, value));
    return d;
}

std::string app_config::sqlite_path() const {
    constexpr std::string_view scheme = "sqlite:";
    if (database.rfind(scheme, 0) == 0)
        return database.substr(scheme.size());
    return {};
}

std::vector<std::string> app_config::validate() const {
    std::vector<std::string> problems;
    // Checked here, with the parser the proxy uses at start, so that a bad URL is a
    // configuration error (exit 2) listed with the others, not a start-up failure.
    if (command == "serve") {
        try {
            (void)proxy::parse_upstream_url(proxy.upstream_url);
        } catch (const std::invalid_argument& e) {
            problems.push_back(fmt::format("--upstream: {}", e.what()));
        }
    }
    if (database.rfind("sqlite:", 0) == 0) {
        if (sqlite_path().empty())
            problems.push_back("--database: sqlite: needs a path, e.g. sqlite:./var/usage.db");
    } else if (database.rfind("postgres://", 0) == 0 || database.rfind("postgresql://", 0) == 0) {
        problems.push_back("--database: PostgreSQL is not supported yet; use sqlite:PATH");
    } else {
        problems.push_back("--database: '" + database + "' must be sqlite:PATH");
    }
    if (log_format != "json" && log_format != "text")
        problems.push_back("--log-format: '" + log_format + "' must be json or text");
    if (retention_days < 0)
        problems.push_back("--retention-days: must be 0 (keep) or more");
    if (!archive_dir.empty() && retention_days <= 0 && command == "serve")
        problems.push_back("--archive-dir: keeps what retention deletes, and --retention-days is not set");
    if (max_range_days < 1)
        problems.push_back("--max-range-days: must be at least 1");
    if (writer_max_queued < 1 || writer_max_queued > 100'000'000)
        problems.push_back("--writer-max-queued: must be 1..100000000 records");
    if (admin_threads < 1 || admin_threads > 64)
        problems.push_back(fmt::format("--admin-threads: {} must be 1..64", admin_threads));
    if (admin_priority != "idle" && admin_priority != "low" && admin_priority != "normal")
        problems.push_back("--admin-priority: '" + admin_priority + "' must be idle, low or normal");
    if (writer_priority != "idle" && writer_priority != "normal")
        problems.push_back("--writer-priority: '" + writer_priority + "' must be idle or normal");
    if (proxy.io_slice.count() != 0 &&
        (proxy.io_slice < proxy::min_io_slice || proxy.io_slice > proxy::max_io_slice))
        problems.push_back(fmt::format("--io-slice-us: {} must be 0 (the kernel's default) or {}..{} microseconds",
                                       proxy.io_slice.count(), proxy::min_io_slice.count(),
                                       proxy::max_io_slice.count()));
    // (A negative value reaches here wrapped to a huge one.)
    if (proxy.header_limit < 1024 || proxy.header_limit > 1024 * 1024)
        problems.push_back("--header-limit: must be 1024..1048576 bytes");
    if (!cors_origin.empty() && cors_origin != "*" && !is_origin(cors_origin))
        problems.push_back("--cors-origin: '" + cors_origin +
                           "' must be * or an origin such as https://console.example.com (scheme and host, no path)");
    // (--drain-timeout 0 is meaningful: cut the calls in flight at once.)
    if (proxy.connect_timeout.count() <= 0 || proxy.header_timeout.count() <= 0 ||
        proxy.upstream_first_byte_timeout.count() <= 0 || proxy.idle_timeout.count() <= 0 ||
        proxy.keep_alive_timeout.count() <= 0)
        problems.push_back("timeouts must be greater than zero");
    if (command == "demo" && !(demo_rate >= 0.1 && demo_rate <= 1000))
        problems.push_back(fmt::format("--demo-rate: {} must be 0.1..1000 calls per second", demo_rate));
    if (command == "demo" && (demo_days < 0 || demo_days > 400))
        problems.push_back(fmt::format("--demo-days: {} must be 0..400", demo_days));
    if (command == "reprice" && reprice_since.empty())
        problems.push_back("reprice: --since DATE is required");
    return problems;
}

parse_outcome parse_config(int argc, const char* const* argv) {
    std::string listen = "0.0.0.0:8080", admin_listen = "127.0.0.1:9090";
    std::string connect_timeout = "10s", header_timeout = "30s", first_byte_timeout = "10m", idle_timeout = "5m",
                keep_alive_timeout = "75s", drain_timeout = "30s", metering = "on", io_cpus = "off";
    std::string admin_token_file, pricing, config_file;

    parse_outcome out;
    auto& c = out.config;
    long long io_slice_us = c.proxy.io_slice.count();
    std::string io_threads = "0";  // read as text: an unsigned option takes "-1" as 4294967295
    po::options_description desc("options");
    desc.add_options()
        ("help,h", "print this help")
        ("config", po::value(&config_file), "a file of name = value lines")
        ("listen", po::value(&listen)->default_value(listen), "where the app connects, HOST:PORT")
        ("upstream", po::value(&c.proxy.upstream_url)->default_value(c.proxy.upstream_url), "Gemini API base URL")
        ("upstream-ca-file", po::value(&c.proxy.upstream_ca_file), "extra CA certificates (PEM) for the upstream")
        ("admin-listen", po::value(&admin_listen)->default_value(admin_listen), "admin API, metrics, HOST:PORT")
        ("admin-token-file", po::value(&admin_token_file), "bearer tokens for the admin API, one per line")
        ("database", po::value(&c.database)->default_value(c.database), "sqlite:PATH")
        ("pricing", po::value(&pricing), "a pricing JSON file replacing the built-in table")
        ("log-format", po::value(&c.log_format)->default_value(c.log_format), "json or text")
        ("io-threads", po::value(&io_threads)->default_value(io_threads), "I/O threads, 0..256 (0: one per core)")
        ("io-slice-us", po::value(&io_slice_us)->default_value(io_slice_us),
         "the I/O threads' CPU slice in microseconds (Linux 6.12+): shorter than the default lets them "
         "preempt what holds their core when a call wakes them; 0: the kernel's default")
        ("io-cpus", po::value(&io_cpus)->default_value(io_cpus),
         "bind each I/O thread to one CPU: off, auto (the CPUs the process may use, in turn) or a list such as 0,2-3")
        ("connect-timeout", po::value(&connect_timeout)->default_value(connect_timeout), "upstream connect + TLS")
        ("header-timeout", po::value(&header_timeout)->default_value(header_timeout), "client request header")
        ("first-byte-timeout", po::value(&first_byte_timeout)->default_value(first_byte_timeout),
         "upstream response header after the request")
        ("idle-timeout", po::value(&idle_timeout)->default_value(idle_timeout), "no byte either way mid-call")
        ("keep-alive-timeout", po::value(&keep_alive_timeout)->default_value(keep_alive_timeout),
         "idle client connection between requests")
        ("drain-timeout", po::value(&drain_timeout)->default_value(drain_timeout), "SIGTERM: time for calls in flight")
        ("header-limit", po::value(&c.proxy.header_limit)->default_value(c.proxy.header_limit),
         "request header bytes; over it: 431")
        ("metering", po::value(&metering)->default_value(metering), "on, or off to relay only (benchmarks)")
        ("cors-origin", po::value(&c.cors_origin), "browser origin allowed to call the admin API")
        ("max-range-days", po::value(&c.max_range_days)->default_value(c.max_range_days), "longest admin query range")
        ("admin-priority", po::value(&c.admin_priority)->default_value(c.admin_priority),
         "admin query threads' CPU priority: idle (only cycles the proxy leaves), low (nice 19) or normal")
        ("admin-threads", po::value(&c.admin_threads)->default_value(c.admin_threads),
         "admin query threads: how many admin queries run at once (each on its own read connection)")
        ("retention-days", po::value(&c.retention_days)->default_value(0), "delete raw rows older than N days")
        ("writer-max-queued", po::value(&c.writer_max_queued)->default_value(c.writer_max_queued),
         "records the writer holds in memory while the database cannot be written; later ones wait only in the journal")
        ("writer-priority", po::value(&c.writer_priority)->default_value(c.writer_priority),
         "the storage writer's SQLite work and checkpoints: idle (SCHED_IDLE, when the process may come back from it) or normal")
        ("archive-dir", po::value(&c.archive_dir), "archive rows to DIR/*.jsonl.gz before retention deletes them")
        ("status", po::bool_switch(&c.migrate_status), "migrate: show the schema version only")
        ("since", po::value(&c.reprice_since), "reprice: first UTC date (YYYY-MM-DD)")
        ("until", po::value(&c.reprice_until), "reprice: last UTC date, inclusive (default: today)")
        ("start", po::value(&c.report_start), "report: first moment, ISO date or date-time (default: 30 days before --end)")
        ("end", po::value(&c.report_end), "report: end, ISO date (that whole day) or date-time (default: now)")
        ("filter", po::value(&c.report_filters)->composing(),
         "report: NAME=VALUE, NAME one of model, endpoint, botId, userId, guest, tag (repeatable)")
        ("limit", po::value(&c.report_limit), "report: top users listed, 1..1000 (default 10)")
        ("format", po::value(&c.report_format)->default_value(c.report_format), "report: text or json")
        ("demo-rate", po::value(&c.demo_rate)->default_value(c.demo_rate),
         "demo: made-up calls per second through the proxy, 0.1..1000")
        ("demo-days", po::value(&c.demo_days)->default_value(c.demo_days),
         "demo: whole days of made-up history written into an empty database first, 0..400");

    po::options_description hidden;
    hidden.add_options()("command", po::value(&c.command));
    po::options_description all;
    all.add(desc).add(hidden);
    po::positional_options_description positional;
    positional.add("command", 1);

    po::variables_map vm;
    std::vector<std::string> cli_flags;  // the options given on the command line itself
    try {
        const auto cli = po::command_line_parser(argc, argv).options(all).positional(positional).run();
        for (const auto& o : cli.options)
            cli_flags.push_back(o.string_key);
        po::store(cli, vm);
        // Precedence is the order of store(): flags, then environment, then the file.
        std::vector<std::string> unknown_env;
        auto env_name = [&](const std::string& key) -> std::string {
            if (key.rfind(env_prefix, 0) != 0 || key == "GEMINI_METER_ADMIN_TOKEN")
                return {};
            std::string name = key.substr(std::string_view(env_prefix).size());
            for (auto& ch : name)
                ch = ch == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
            if (!desc.find_nothrow(name, false) || name == "help") {
                unknown_env.push_back(key);
                return {};
            }
            return name;
        };
        po::store(po::parse_environment(desc, env_name), vm);
        if (!unknown_env.empty())
            throw config_error("unknown environment variable " + unknown_env.front());
        if (vm.count("config")) {
            const auto path = vm["config"].as<std::string>();
            std::ifstream file(path);
            if (!file)
                throw config_error("--config: cannot read " + path);
            po::store(po::parse_config_file(file, desc), vm);
        }
        po::notify(vm);
    } catch (const po::error& e) {
        throw config_error(e.what());
    }
    if (vm.count("help")) {
        out.exit_now = true;
        out.message = usage_text(desc);
        return out;
    }
    if (c.command != "serve" && c.command != "migrate" && c.command != "pricing" && c.command != "reprice" &&
        c.command != "report" && c.command != "demo")
        throw config_error("unknown command '" + c.command + "' (serve, migrate, pricing, reprice, report, demo)");
    // A flag of another command given on the command line is a mistake (`gemini-meter
    // --limit 5` meant `report`); in the environment or a file it may serve several
    // commands, so there it is left alone.
    static const std::map<std::string, std::string, std::less<>> owner{
        {"start", "report"},   {"end", "report"},   {"filter", "report"}, {"limit", "report"},
        {"format", "report"},  {"since", "reprice"}, {"until", "reprice"}, {"demo-rate", "demo"},
        {"demo-days", "demo"}, {"status", "migrate"}};
    for (const auto& flag : cli_flags)
        if (const auto it = owner.find(flag); it != owner.end() && it->second != c.command)
            throw config_error(fmt::format("--{} is an option of `gemini-meter {}`, not of {}", flag, it->second,
                                           c.command));
    if (c.command == "demo") {
        // Made-up calls never go into the default (real) database, and the demo's proxy is
        // reachable from this machine only, on any free port (its start line says which).
        if (vm["database"].defaulted())
            c.database = "sqlite:./var/demo.db";
        if (vm["listen"].defaulted())
            listen = "127.0.0.1:0";
    }

    c.proxy.io_threads = parse_int<unsigned>("io-threads", io_threads, 0, 256);
    const auto lp = parse_host_port("listen", listen);
    c.proxy.listen_host = lp.host;
    c.proxy.listen_port = lp.port;
    c.admin = parse_host_port("admin-listen", admin_listen);
    c.proxy.connect_timeout = parse_duration("connect-timeout", connect_timeout);
    c.proxy.header_timeout = parse_duration("header-timeout", header_timeout);
    c.proxy.upstream_first_byte_timeout = parse_duration("first-byte-timeout", first_byte_timeout);
    c.proxy.idle_timeout = parse_duration("idle-timeout", idle_timeout);
    c.proxy.keep_alive_timeout = parse_duration("keep-alive-timeout", keep_alive_timeout);
    c.proxy.drain_timeout = parse_duration("drain-timeout", drain_timeout);
    c.proxy.io_slice = std::chrono::microseconds(io_slice_us);
    std::string io_cpus_error;
    const auto affinity = proxy::parse_io_cpus(io_cpus, io_cpus_error);
    if (!affinity)
        throw config_error("--io-cpus: " + io_cpus_error);
    c.proxy.io_cpus = *affinity;
    if (metering != "on" && metering != "off")
        throw config_error("--metering: '" + metering + "' must be on or off");
    c.proxy.metering = metering == "on";
    if (!admin_token_file.empty())
        c.admin_token_file = admin_token_file;
    if (!pricing.empty())
        c.pricing_file = pricing;
    return out;
}

}  // namespace gm::app

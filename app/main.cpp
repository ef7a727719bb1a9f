// gemini-meter: wiring only. Configuration errors exit 2 with every problem listed;
// start-up failures exit 1 with the reason; a clean SIGTERM/SIGINT exits 0.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <fmt/format.h>

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>

#include "admin_api/admin_server.hpp"
#include "admin_api/admin_tokens.hpp"
#include "admin_api/writer_health.hpp"
#include "app/call_log.hpp"
#include "app/call_pipeline.hpp"
#include "app/log_sink.hpp"
#include "app/report_command.hpp"
#include "app/retention_job.hpp"
#include "app/config.hpp"
#ifdef GM_WITH_DEMO
#include "app/demo/demo_history.hpp"
#include "app/demo/demo_traffic.hpp"
#include "app/demo/demo_upstream.hpp"
#endif
#include "app/utc_date.hpp"
#include "metering/call_metrics.hpp"
#include "metering/pricing_registry.hpp"
#include "metering/pricing_render.hpp"
#include "metering/pricing_table.hpp"
#include "proxy/io_affinity.hpp"
#include "proxy/proxy_server.hpp"
#include "storage/migrations.hpp"
#include "storage/reprice.hpp"
#include "storage/retention.hpp"
#include "storage/sqlite_store.hpp"

namespace {

using namespace gm;
namespace net = boost::asio;

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::shared_ptr<const metering::pricing_table> load_pricing(const app::app_config& c) {
    if (c.pricing_file)
        return std::make_shared<const metering::pricing_table>(metering::pricing_table::load_file(*c.pricing_file));
    return std::make_shared<const metering::pricing_table>(metering::pricing_table::builtin());
}

void ensure_parent_dir(const std::string& path) {
    const auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty())
        std::filesystem::create_directories(parent);
}

int run_migrate(const app::app_config& c) {
    const auto path = c.sqlite_path();
    if (c.migrate_status) {
        if (!std::filesystem::exists(path)) {
            fmt::print("database {} does not exist: version 0, latest {}\n", path, storage::latest_schema_version());
            return 0;
        }
        const auto s = storage::migration_state(path);
        fmt::print("database {}: schema version {}, latest {}{}\n", path, s.current, s.latest,
                   s.up_to_date() ? " (up to date)" : "");
        for (const auto& p : s.pending)
            fmt::print("pending: {}\n", p);
        return 0;
    }
    ensure_parent_dir(path);
    storage::migrate(path);
    fmt::print("database {}: schema version {}\n", path, storage::latest_schema_version());
    return 0;
}

int run_reprice(const app::app_config& c) {
    const auto table = load_pricing(c);
    const auto since = app::parse_utc_date("since", c.reprice_since);
    const auto until = c.reprice_until.empty() ? now_ms() + 1 : app::parse_utc_date("until", c.reprice_until) + 86'400'000;
    const auto result = storage::reprice(
        c.sqlite_path(), since, until,
        storage::record_pricer([&](const metering::usage_record& r) {
            const auto& key = !r.model_version.empty() && table->find(r.model_version) ? r.model_version : r.model;
            const auto p = table->price(key, r.tokens);
            return storage::price_result{p.priced, p.cost_pico_usd, table->version()};
        }));
    fmt::print("repriced with table {}: {} rows examined, {} changed, cost delta {:.6f} USD\n", table->version(),
               result.examined, result.changed, static_cast<double>(result.cost_delta_pico_usd) / 1e12);
    return 0;
}

// What a command built on `serve` adds: a token of its own for the admin API, and what to
// start once the proxy and the admin API listen (and stop before they drain).
struct serve_hooks {
    std::optional<std::string> extra_admin_token;
    std::function<void(unsigned short proxy_port, unsigned short admin_port)> started;
    std::function<void()> stopping;
};

int serve(const app::app_config& c, const serve_hooks& hooks = {}) {
    const auto format = c.log_format == "text" ? app::log_format::text : app::log_format::json;
    metering::pricing_registry pricing(load_pricing(c));
    metering::call_metrics metrics;

    const auto db_path = c.sqlite_path();
    ensure_parent_dir(db_path);
    // An archive directory that cannot be written would fail every pass, and retention
    // would then delete nothing: refused at start instead of in an hourly log line.
    if (c.retention_days > 0 && !c.archive_dir.empty()) {
        std::error_code ec;
        std::filesystem::create_directories(c.archive_dir, ec);
        if (!ec && ::access(c.archive_dir.c_str(), W_OK) != 0)
            ec = std::error_code(errno, std::generic_category());
        if (ec)
            throw std::runtime_error(fmt::format("cannot use --archive-dir {}: {}", c.archive_dir, ec.message()));
    }
    storage::store_options store_options;
    store_options.max_queued = static_cast<std::size_t>(c.writer_max_queued);
    store_options.writer_idle = c.writer_priority == "idle";
    auto store = storage::sqlite_store::open(db_path, store_options);

    app::log_sink call_log;
    app::call_pipeline pipeline(pricing, &metrics, &store->sink(), call_log, format, c.proxy.metering);
    proxy::proxy_server proxy(c.proxy, &pipeline);

    admin_api::admin_options admin_options;
    admin_options.host = c.admin.host;
    admin_options.port = c.admin.port;
    // The file's and the environment's tokens, and the run's own (demo); again at SIGHUP.
    const auto admin_tokens = [&] {
        auto tokens = admin_api::load_admin_tokens(c.admin_token_file, std::getenv("GEMINI_METER_ADMIN_TOKEN"));
        if (hooks.extra_admin_token)
            tokens.push_back(*hooks.extra_admin_token);
        return tokens;
    };
    admin_options.tokens = admin_tokens();
    admin_options.cors_origin = c.cors_origin;
    admin_options.max_range_days = c.max_range_days;
    // validate() has accepted the name.
    admin_options.query_priority = *admin_api::parse_query_priority(c.admin_priority);
    admin_options.query_threads = c.admin_threads;
    admin_api::admin_deps deps;
    deps.open_reader = [&store] { return store->open_reader(); };
    deps.health = [&store, &proxy] {
        const auto p = proxy.counters();
        auto h = admin_api::health_from_writer(store->stats());
        h.upstream_reachable = p.upstream.connect_failures == 0 || p.upstream.connections_opened > 0;
        return h;
    };
    deps.metrics = &metrics;
    deps.pricing_json = [&pricing] { return metering::render_pricing_json(*pricing.current()); };
    deps.log = [format](const std::string& line) { app::write_line(app::format_event_line("admin", line, format)); };

    proxy.start();
    // A kernel without custom slices (before 6.12) or a sandbox refusing sched_setattr leaves
    // the default slice: the proxy works the same, with a longer wait for a core in the tail.
    if (c.proxy.io_slice.count() != 0)
        app::write_line(app::format_event_line("io_slice", proxy::describe(proxy.io_slice(), c.proxy.io_slice), format));
    if (!proxy.io_cpus().empty())
        app::write_line(app::format_event_line("io_cpus", proxy::describe_io_cpus(proxy.io_cpus()), format));
    admin_api::admin_server admin(proxy.context(0), admin_options, deps);
    admin.start();
    // Signals and periodic jobs run on the main thread: never on an I/O thread.
    net::io_context main_ioc;
    net::signal_set stop_signals(main_ioc, SIGTERM, SIGINT);
    net::signal_set reload_signal(main_ioc, SIGHUP);

    std::function<void()> wait_reload = [&] {
        reload_signal.async_wait([&](boost::system::error_code ec, int) {
            if (ec)
                return;
            try {
                pricing.replace(load_pricing(c));
                app::write_line(app::format_event_line("pricing_reloaded", pricing.current()->version(), format));
            } catch (const std::exception& e) {
                app::write_line(app::format_event_line("pricing_reload_failed",
                                                       std::string(e.what()) + "; keeping the previous table", format));
            }
            // Token rotation without a restart: the file is read again (the environment's
            // tokens and the run's own stay as they were). Never a token in the log.
            if (c.admin_token_file) {
                try {
                    const auto tokens = admin_tokens();
                    admin.replace_tokens(tokens);
                    app::write_line(app::format_event_line(
                        "admin_tokens_reloaded", fmt::format("{} tokens from {}", tokens.size(), *c.admin_token_file),
                        format));
                } catch (const std::exception& e) {
                    app::write_line(app::format_event_line(
                        "admin_tokens_reload_failed", std::string(e.what()) + "; keeping the previous tokens", format));
                }
            }
            wait_reload();
        });
    };
    wait_reload();

    // Its own thread: a long first pass must not hold off SIGTERM (retention_job.hpp).
    std::optional<app::retention_job> retention;
    if (c.retention_days > 0)
        retention.emplace(
            [&](const std::atomic<bool>& stop) {
                try {
                    const auto cutoff = now_ms() - static_cast<std::int64_t>(c.retention_days) * 86'400'000;
                    std::optional<std::string> archive;
                    if (!c.archive_dir.empty())
                        archive = (std::filesystem::path(c.archive_dir) /
                                   fmt::format("apiusage-{}.jsonl.gz", now_ms()))
                                      .string();
                    const auto r = storage::delete_older_than(db_path, cutoff, 1000, archive, &stop);
                    if (r.deleted > 0 || r.stopped)
                        app::write_line(app::format_event_line(
                            "retention",
                            fmt::format("deleted {} rows, archived {}{}", r.deleted, r.archived,
                                        r.stopped ? "; stopped early, the rest at the next start" : ""),
                            format));
                } catch (const std::exception& e) {
                    app::write_line(app::format_event_line("retention_failed", e.what(), format));
                }
            },
            std::chrono::minutes(1), std::chrono::hours(1));

    stop_signals.async_wait([&](boost::system::error_code, int sig) {
        app::write_line(app::format_event_line("stopping", fmt::format("signal {}: draining", sig), format));
        if (hooks.stopping) hooks.stopping();
        // Phase one: refuse new work, finish calls in flight. Phase two: cut what is left,
        // then commit every record before exiting.
        admin.stop();
        if (retention) retention->stop();  // between two of its batches
        const bool drained = proxy.drain(c.proxy.drain_timeout);
        proxy.stop();
        call_log.flush();
        store->shutdown();
        app::write_line(app::format_event_line(
            "stopped", drained ? "all calls finished" : "drain timeout: unfinished calls were cut", format));
        reload_signal.cancel();
    });
    // Announced only now that SIGTERM is handled: a supervisor acting on this line gets a
    // drained exit, never a bare kill.
    app::write_line(app::format_event_line(
        "start",
        fmt::format("listening on {}:{}, admin on {}:{}, upstream {}, database {}, pricing {}", c.proxy.listen_host,
                    proxy.port(), c.admin.host, admin.port(), c.proxy.upstream_url, db_path, pricing.current()->version()),
        format));

    if (hooks.started) hooks.started(proxy.port(), admin.port());

    main_ioc.run();
    return 0;
}

#ifdef GM_WITH_DEMO
// `demo`: serve, with the demo's simulated Gemini as the upstream, made-up history in an
// empty database and a made-up app calling through the proxy (app/demo/).
int run_demo(app::app_config c) {
    const auto format = c.log_format == "text" ? app::log_format::text : app::log_format::json;
    demo::demo_upstream upstream;
    upstream.start();
    c.proxy.upstream_url = fmt::format("http://127.0.0.1:{}", upstream.port());
    c.proxy.upstream_ca_file.clear();

    const auto db_path = c.sqlite_path();
    ensure_parent_dir(db_path);
    if (c.demo_days > 0) {
        demo::history_options history;
        history.days = c.demo_days;
        const auto filled = demo::fill_history(db_path, history, now_ms(), *load_pricing(c));
        app::write_line(app::format_event_line("demo", filled.message, format));
    }

    // Without a configured token the demo makes one up for this run and prints it: it opens
    // a dashboard of made-up data on loopback, not the real one.
    serve_hooks hooks;
    const bool own_token = !c.admin_token_file && !std::getenv("GEMINI_METER_ADMIN_TOKEN");
    if (own_token) hooks.extra_admin_token = admin_api::random_admin_token();
    // Where this machine reaches a listener: its own address, or loopback for a wildcard one.
    const auto reach = [](const std::string& host) {
        return host == "0.0.0.0" ? std::string("127.0.0.1") : host == "::" ? std::string("::1") : host;
    };
    std::unique_ptr<demo::demo_traffic> traffic;
    hooks.started = [&](unsigned short proxy_port, unsigned short admin_port) {
        demo::traffic_options options;
        options.address = reach(c.proxy.listen_host);
        options.port = proxy_port;
        options.rate = c.demo_rate;
        traffic = std::make_unique<demo::demo_traffic>(options);
        traffic->start();
        const auto host = reach(c.admin.host);
        app::write_line(app::format_event_line(
            "demo",
            fmt::format("made-up calls at {}/s through the proxy to a simulated Gemini; dashboard: "
                        "http://{}:{}/dashboard{}",
                        c.demo_rate, host.find(':') == std::string::npos ? host : "[" + host + "]", admin_port,
                        own_token ? "#token=" + *hooks.extra_admin_token : " (with your admin token)"),
            format));
    };
    // The made-up app finishes its calls before the proxy drains: a call cut here would be
    // recorded as the client gone (and a cut stream priced for its prompt).
    hooks.stopping = [&] {
        if (traffic) traffic->drain(std::chrono::seconds(2));
    };
    const int rc = serve(c, hooks);
    upstream.stop();
    return rc;
}
#else
// The demo's simulated upstream and made-up app are ~0.4 MB of code: in the proxy's binary
// they would be resident in every deployment (its text is mapped whole), so they live in
// gemini-meter-demo, the same program built with them, which `gemini-meter demo` runs from
// the same directory with the same arguments.
[[noreturn]] void exec_demo_binary(char** argv) {
    const auto demo = std::filesystem::read_symlink("/proc/self/exe").parent_path() / "gemini-meter-demo";
    ::execv(demo.c_str(), argv);
    throw std::runtime_error(fmt::format("demo: cannot run {} ({}); it is built beside gemini-meter by `make build`",
                                         demo.string(), std::strerror(errno)));
}
#endif

}  // namespace

int main(int argc, char** argv) {
    app::parse_outcome parsed;
    try {
        parsed = app::parse_config(argc, argv);
    } catch (const app::config_error& e) {
        std::cerr << "gemini-meter: " << e.what() << "\n(run gemini-meter --help)\n";
        return 2;
    }
    if (parsed.exit_now) {
        std::cout << parsed.message;
        return 0;
    }
    const auto& c = parsed.config;
    const auto problems = c.validate();
    if (!problems.empty()) {
        for (const auto& p : problems)
            std::cerr << "gemini-meter: " << p << "\n";
        return 2;
    }
    try {
        if (c.command == "pricing") {
            std::cout << metering::render_pricing_table(*load_pricing(c));
            return 0;
        }
        if (c.command == "migrate")
            return run_migrate(c);
        if (c.command == "reprice")
            return run_reprice(c);
        if (c.command == "demo") {
#ifdef GM_WITH_DEMO
            return run_demo(c);
#else
            exec_demo_binary(argv);
#endif
        }
        if (c.command == "report") {
            app::run_report(c, now_ms(), std::cout);
            return 0;
        }
        return serve(c);
    } catch (const app::config_error& e) {
        std::cerr << "gemini-meter: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "gemini-meter: " << e.what() << "\n";
        return 1;
    }
}

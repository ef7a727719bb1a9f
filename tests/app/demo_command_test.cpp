// `gemini-meter demo` as a user runs it: made-up history in an empty database, made-up calls
// metered through the real proxy, the dashboard's API behind a token made for the run, a
// drained exit; on a second start the history is not written again.
#include <catch2/catch.hpp>

#include <filesystem>
#include <regex>

#include "admin_api/iso_time.hpp"
#include "meter_process.hpp"
#include "support/eventually.hpp"
#include "support/parse_json.hpp"
#include "support/thread_sched.hpp"

using namespace gm::test;

namespace {

struct demo_run {
    explicit demo_run(const std::string& db) {
        proc = std::make_unique<process_runner>(
            GM_BINARY, std::vector<std::string>{"demo", "--admin-listen", "127.0.0.1:0", "--database", "sqlite:" + db,
                                                "--demo-rate", "50", "--demo-days", "2"});
        const auto line = proc->wait_for_line("dashboard: http", std::chrono::seconds(30));
        REQUIRE(line);
        std::smatch m;
        static const std::regex url(R"(dashboard: http://127\.0\.0\.1:(\d+)/dashboard#token=([0-9a-f]{64}))");
        REQUIRE(std::regex_search(*line, m, url));
        admin_port = static_cast<unsigned short>(std::stoi(m[1]));
        token = m[2];
    }

    raw_response get(const std::string& target, const std::string& bearer) {
        raw_http_client c;
        c.connect("127.0.0.1", admin_port);
        c.send(raw_http_client::make_request("GET", target, {{"Authorization", "Bearer " + bearer}}));
        return c.read_response();
    }

    std::unique_ptr<process_runner> proc;
    unsigned short admin_port = 0;
    std::string token;
};

std::int64_t total_calls(const raw_response& r) {
    REQUIRE(r.status == 200);
    const auto doc = parse_json(r.body);
    return doc["stats"]["totalCalls"].GetInt64();
}

}  // namespace

TEST_CASE("demo: history, live made-up calls through the proxy, a token for the run, then a drained exit") {
    temp_dir dir;
    const auto db = dir.file("demo.db");
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    const auto today = gm::admin_api::format_iso_date(now);
    const auto two_days_ago = gm::admin_api::format_iso_date(now - 2 * gm::admin_api::ms_per_day);
    const auto yesterday = gm::admin_api::format_iso_date(now - gm::admin_api::ms_per_day);
    const auto history_query = "/api/api-usage/stats?startDate=" + two_days_ago + "&endDate=" + yesterday;
    std::int64_t history_calls = 0;
    {
        demo_run demo(db);
        CHECK(demo.proc->wait_for_line("\"event\":\"demo\",\"message\":\"demo history: "));
        history_calls = total_calls(demo.get(history_query, demo.token));
        CHECK(history_calls > 0);
        // Live calls: today's rows grow while the made-up app calls through the proxy.
        CHECK(eventually([&] { return total_calls(demo.get("/api/api-usage/stats?startDate=" + today, demo.token)) >= 20; }));
        CHECK(demo.get("/api/api-usage/stats", std::string(64, 'a')).status == 401);
        // The made-up app's key is relayed, never logged.
        for (const auto& l : demo.proc->stdout_lines()) CHECK(l.find("demo-key-not-secret") == std::string::npos);
        demo.proc->send_signal(SIGTERM);
        CHECK(demo.proc->wait_exit(std::chrono::seconds(40)) == 0);
    }
    const auto rows = stored_rows(db);
    CHECK(static_cast<std::int64_t>(rows.size()) > history_calls);
    for (const auto& r : rows) {
        CHECK(r.price_version != "");
        // The made-up app's calls in flight finished before the proxy drained.
        CHECK(r.ending == gm::metering::call_ending::completed);
    }

    // A second start on the same database: the history is not written again.
    demo_run again(db);
    CHECK(again.proc->wait_for_line("already holds", std::chrono::seconds(5)));
    CHECK(total_calls(again.get(history_query, again.token)) == history_calls);
    again.proc->send_signal(SIGTERM);
    CHECK(again.proc->wait_exit(std::chrono::seconds(40)) == 0);
}

TEST_CASE("demo on IPv6 loopback: the made-up app calls the proxy where it listens, the link is bracketed") {
    temp_dir dir;
    process_runner p(GM_BINARY, {"demo", "--listen", "[::1]:0", "--admin-listen", "[::1]:0", "--database",
                                 "sqlite:" + dir.file("demo.db"), "--demo-rate", "50", "--demo-days", "0"});
    const auto line = p.wait_for_line("dashboard: http", std::chrono::seconds(30));
    REQUIRE(line);
    CHECK(std::regex_search(*line, std::regex(R"(dashboard: http://\[::1\]:\d+/dashboard#token=)")));
    CHECK(eventually([&] {
        for (const auto& l : p.stdout_lines())
            if (l.find("\"event\":\"call\"") != std::string::npos && l.find("\"status\":200") != std::string::npos)
                return true;
        return false;
    }));
    p.send_signal(SIGTERM);
    CHECK(p.wait_exit(std::chrono::seconds(40)) == 0);
}

TEST_CASE("demo: a bad rate or number of days is a configuration error") {
    for (const auto& [flag, value] : std::vector<std::pair<std::string, std::string>>{
             {"--demo-rate", "0"}, {"--demo-rate", "5000"}, {"--demo-days", "-3"}}) {
        process_runner p(GM_BINARY, {"demo", flag, value, "--database", "sqlite:/nonexistent-dir/demo.db"});
        CHECK(p.wait_exit(std::chrono::seconds(10)) == 2);
        std::string err;
        for (const auto& l : p.stderr_lines()) err += l;
        CHECK_THAT(err, Catch::Contains(flag + ": "));
    }
}

TEST_CASE("demo: gemini-meter runs gemini-meter-demo beside it, and says so when it is missing") {
    temp_dir dir;
    const auto lone = dir.file("gemini-meter");
    std::filesystem::copy_file(GM_BINARY, lone);
    std::filesystem::permissions(lone, std::filesystem::perms::owner_all);
    process_runner p(lone, {"demo", "--database", "sqlite:" + dir.file("demo.db")});
    CHECK(p.wait_exit(std::chrono::seconds(10)) == 1);
    std::string err;
    for (const auto& l : p.stderr_lines()) err += l;
    CHECK_THAT(err, Catch::Contains("demo: cannot run " + dir.file("gemini-meter-demo")) &&
                        Catch::Contains("built beside gemini-meter by `make build`"));
    CHECK_FALSE(std::filesystem::exists(dir.file("demo.db")));
}

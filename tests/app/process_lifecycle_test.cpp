// The binary's life: start-up errors, one log line per call, flat memory under a huge
// upload and many idle connections, and SIGTERM letting calls in flight finish.
#include <catch2/catch.hpp>
#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include "meter_process.hpp"
#include "proxy/io_affinity.hpp"
#include "proxy/io_slice.hpp"
#include "support/parse_json.hpp"
#include "support/thread_sched.hpp"

using namespace gm::test;

namespace {

int run_and_wait(std::vector<std::string> args, std::vector<std::pair<std::string, std::string>> env = {},
                 std::string* err = nullptr) {
    process_runner p(GM_BINARY, std::move(args), std::move(env));
    auto status = p.wait_exit(std::chrono::seconds(10));
    if (err)
        for (const auto& l : p.stderr_lines())
            *err += l + "\n";
    return status.value_or(-1);
}

}  // namespace

TEST_CASE("configuration errors exit 2 naming the problem; start-up errors exit 1") {
    std::string err;
    CHECK(run_and_wait({"--listen", "nowhere"}, {}, &err) == 2);
    CHECK(err.find("--listen") != std::string::npos);
    err.clear();
    CHECK(run_and_wait({"--database", "mysql://x", "--log-format", "xml"}, {}, &err) == 2);
    CHECK(err.find("--database") != std::string::npos);
    CHECK(err.find("--log-format") != std::string::npos);
    err.clear();
    temp_dir d;
    CHECK(run_and_wait({"--listen", "127.0.0.1:0", "--admin-listen", "0.0.0.0:0", "--database",
                        "sqlite:" + d.file("u.db")},
                       {}, &err) == 1);
    CHECK(err.find("token") != std::string::npos);
    err.clear();
    // A bad upstream URL is a configuration error, listed with the others.
    CHECK(run_and_wait({"--upstream", "ftp://example.com", "--listen", "127.0.0.1:0", "--admin-listen",
                        "127.0.0.1:0", "--database", "sqlite:" + d.file("u.db"), "--log-format", "xml"},
                       {}, &err) == 2);
    CHECK(err.find("--upstream: upstream URL scheme must be http or https, not 'ftp'") != std::string::npos);
    CHECK(err.find("--log-format") != std::string::npos);
    err.clear();
    CHECK(run_and_wait({"--listen", "example.com:80"}, {}, &err) == 2);
    CHECK(err.find("--listen: 'example.com' is not an IP address") != std::string::npos);
    err.clear();
    CHECK(run_and_wait({"--io-threads", "-1"}, {}, &err) == 2);
    CHECK(err.find("--io-threads: '-1' is not an integer in 0..256") != std::string::npos);
    err.clear();
    {
        // An archive directory that cannot be made (under a regular file): refused at start,
        // before the database is opened, even as root.
        std::ofstream(d.file("a-file")) << "x";
        CHECK(run_and_wait({"--retention-days", "30", "--archive-dir", d.file("a-file") + "/archive", "--listen",
                            "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--database", "sqlite:" + d.file("r.db")},
                           {}, &err) == 1);
        CHECK(err.find("cannot use --archive-dir " + d.file("a-file") + "/archive: Not a directory") !=
              std::string::npos);
        CHECK_FALSE(std::filesystem::exists(d.file("r.db")));
        err.clear();
    }
    CHECK(run_and_wait({"--io-cpus", "2-1"}, {}, &err) == 2);
    CHECK(err.find("--io-cpus: '2-1' has a range that goes down") != std::string::npos);
    err.clear();
    const auto allowed = gm::proxy::allowed_cpus();
    int forbidden = 0;
    while (std::find(allowed.begin(), allowed.end(), forbidden) != allowed.end()) ++forbidden;
    CHECK(run_and_wait({"--io-cpus", std::to_string(forbidden), "--listen", "127.0.0.1:0", "--admin-listen",
                        "127.0.0.1:0", "--database", "sqlite:" + d.file("u.db")},
                       {}, &err) == 1);
    CHECK(err.find("--io-cpus: CPU " + std::to_string(forbidden) + " is not one this process may run on") !=
          std::string::npos);
}

TEST_CASE("the binary's I/O threads run on the CPU of --io-cpus with the slice of --io-slice-us") {
    const auto allowed = gm::proxy::allowed_cpus();
    REQUIRE_FALSE(allowed.empty());
    meter_process m({"--io-cpus", std::to_string(allowed.back()), "--io-slice-us", "300"});  // 2 I/O threads
    const auto threads = threads_named("gm-io", m.proc->pid());
    REQUIRE(threads.size() == 2);
    for (const auto& t : threads) {
        CHECK(gm::proxy::thread_cpus(t.tid) == std::vector<int>{allowed.back()});
        // 0 when the kernel has no custom slices (before 6.12): then the binary said so and went on.
        const auto slice = gm::proxy::thread_slice_ns(t.tid);
        CHECK((slice == 300'000 || slice == 0));
    }
    m.stop();
}

TEST_CASE("one JSON log line per call, with method, path without query, status, duration and bytes") {
    meter_process m;
    auto c = m.connect();
    for (int i = 0; i < 3; ++i) {
        c->send(raw_http_client::make_request("GET", "/v1beta/models?pageSize=5&key=abc"));
        REQUIRE(c->read_response().status == 200);
    }
    m.stop();
    int calls = 0;
    for (const auto& line : m.proc->stdout_lines()) {
        if (line.find("\"event\":\"call\"") == std::string::npos)
            continue;
        ++calls;
        CHECK(line.find("\"method\":\"GET\"") != std::string::npos);
        CHECK(line.find("\"path\":\"/v1beta/models\"") != std::string::npos);
        CHECK(line.find("\"status\":200") != std::string::npos);
        CHECK(line.find("\"durationMs\":") != std::string::npos);
        CHECK(line.find("\"responseBytes\":") != std::string::npos);
        CHECK(line.find("pageSize") == std::string::npos);
    }
    CHECK(calls == 3);
}

TEST_CASE("SIGTERM: calls in flight finish, then the process exits 0 with every row committed") {
    meter_process m;
    auto c = m.connect();
    c->send(raw_http_client::make_request("POST", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
                                          {{"Content-Type", "application/json"},
                                           {"x-fake-events", "10"},
                                           {"x-fake-event-delay-ms", "100"}},
                                          R"({"contents":[]})"));
    bool signalled = false;
    auto streamed = c->read_response_streaming([&](const body_piece&) {
        if (!signalled) {
            m.proc->send_signal(SIGTERM);
            signalled = true;
        }
        return true;
    });
    CHECK(streamed.response.complete);
    CHECK(streamed.response.body == m.fake->sent().back().body);
    auto status = m.proc->wait_exit(std::chrono::seconds(20));
    REQUIRE(status);
    CHECK(*status == 0);
    auto rows = m.rows();
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].success);
    // New connections are refused once draining has begun.
    raw_http_client late;
    CHECK_THROWS(late.connect("127.0.0.1", m.port));
}

TEST_CASE("a 200 MB upload streams through with flat memory") {
    meter_process m;
    const std::size_t total = 200u << 20;
    const std::size_t rss_before = m.proc->rss_kib();
    auto c = m.connect();
    c->send("POST /upload/v1beta/files HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
            "X-Goog-Upload-Protocol: raw\r\nContent-Length: " +
            std::to_string(total) + "\r\n\r\n");
    const std::string block(1 << 20, 'z');
    for (std::size_t sent = 0; sent < total; sent += block.size())
        c->send(block);
    auto res = c->read_response();
    CHECK(res.status == 200);
    auto got = m.fake->received();
    REQUIRE(got.size() == 1);
    CHECK(got[0].body_size == total);
    const std::size_t peak = m.proc->peak_rss_kib();
    INFO("RSS before " << rss_before << " KiB, peak " << peak << " KiB");
    CHECK(peak - rss_before < 32 * 1024);
    m.stop();
}

TEST_CASE("memory stays small idle and with 1,000 open client connections") {
    meter_process m;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const std::size_t idle = m.proc->rss_kib();
    std::vector<std::unique_ptr<raw_http_client>> clients;
    for (int i = 0; i < 1000; ++i)
        clients.push_back(m.connect());
    // One call on the last connection proves they are all accepted and served.
    clients.back()->send(raw_http_client::make_request("GET", "/v1beta/models"));
    CHECK(clients.back()->read_response().status == 200);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const std::size_t loaded = m.proc->rss_kib();
    INFO("idle " << idle << " KiB, with 1000 connections " << loaded << " KiB");
    CHECK(idle < 15 * 1024);
    CHECK(loaded < 30 * 1024);
    clients.clear();
    m.stop();
}

TEST_CASE("the admin query threads: as many as --admin-threads, at the priority --admin-priority names, SCHED_IDLE by default") {
    const auto readers_of = [](meter_process& m) { return threads_named("gm-reader", m.proc->pid()); };
    {
        meter_process m;
        const auto readers = readers_of(m);
        CHECK(readers.size() == 2);  // --admin-threads' default
        for (const auto& t : readers)
            CHECK(t.policy == SCHED_IDLE);
        m.stop();
    }
    {
        meter_process m({"--admin-priority", "low", "--admin-threads", "3"});
        const auto readers = readers_of(m);
        CHECK(readers.size() == 3);
        for (const auto& t : readers) {
            CHECK(t.policy == SCHED_BATCH);
            CHECK(t.nice == 19);
        }
        // The proxy's own threads keep the process's priority.
        for (const auto& t : threads_named("gm-io", m.proc->pid()))
            CHECK(t.policy == SCHED_OTHER);
        m.stop();
    }
}

TEST_CASE("the writer's checkpoints run under SCHED_IDLE by default and at the process's priority with --writer-priority normal") {
    if (::sched_getscheduler(0) != SCHED_OTHER) {  // the binary inherits the tests' policy
        WARN("skipped: the tests do not run under SCHED_OTHER");
        return;
    }
    // The checkpoint thread starts with the writer's first commit; one call makes one.
    const auto checkpoint_policy_after_a_call = [](meter_process& m) {
        auto c = m.connect();
        c->send(raw_http_client::make_request("GET", "/v1beta/models"));
        REQUIRE(c->read_response().status == 200);
        std::vector<thread_sched> threads;
        const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while ((threads = threads_named("gm-checkpoint", m.proc->pid())).empty() &&
               std::chrono::steady_clock::now() < end)
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        REQUIRE(threads.size() == 1);
        return threads.front().policy;
    };
    {
        meter_process m;
        CHECK(checkpoint_policy_after_a_call(m) == SCHED_IDLE);
        m.stop();
    }
    {
        meter_process m({"--writer-priority", "normal"});
        CHECK(checkpoint_policy_after_a_call(m) == SCHED_OTHER);
        m.stop();
    }
}

TEST_CASE("report: the calls the binary recorded, summed from its database by the report subcommand") {
    meter_process m;
    auto c = m.connect();
    for (const char* user : {"alice", "alice", "bob"}) {
        c->send(raw_http_client::make_request("POST", "/v1beta/models/gemini-2.5-flash:generateContent",
                                              {{"Content-Type", "application/json"}, {"X-Meter-User-Id", user}},
                                              R"({"contents":[]})"));
        REQUIRE(c->read_response().status == 200);
    }
    m.stop();
    const auto rows = m.rows();
    REQUIRE(rows.size() == 3);
    std::int64_t cost = 0, tokens = 0, alice_cost = 0;
    for (const auto& r : rows) {
        cost += r.cost_pico_usd;
        tokens += r.tokens.total;
        if (r.user_id == "alice") alice_cost += r.cost_pico_usd;
    }
    REQUIRE(cost > 0);

    process_runner report(GM_BINARY, {"report", "--database", "sqlite:" + m.db_path, "--format", "json"});
    REQUIRE(report.wait_exit(std::chrono::seconds(20)) == 0);
    std::string out;
    for (const auto& l : report.stdout_lines()) out += l;
    const auto doc = parse_json(out);
    REQUIRE(doc.IsObject());
    CHECK(doc["stats"]["stats"]["totalCalls"].GetInt64() == 3);
    CHECK(doc["stats"]["stats"]["totalTokens"].GetInt64() == tokens);
    CHECK(doc["stats"]["stats"]["totalCostPicoUSD"].GetInt64() == cost);
    const auto& top = doc["topUsers"]["topUsers"];
    REQUIRE(top.Size() == 2);
    CHECK(top[0]["userId"].GetString() == std::string("alice"));
    CHECK(top[0]["costPicoUSD"].GetInt64() == alice_cost);

    std::string err;
    CHECK(run_and_wait({"report", "--database", "sqlite:" + m.db_path, "--start", "tomorrow"}, {}, &err) == 2);
    CHECK_THAT(err, Catch::Contains("--start: invalid startDate: 'tomorrow'"));
    err.clear();
    const auto missing = m.dir.file("missing.db");
    CHECK(run_and_wait({"report", "--database", "sqlite:" + missing}, {}, &err) == 1);
    CHECK_THAT(err, Catch::Contains("does not exist"));
    CHECK_FALSE(std::filesystem::exists(missing));
}

TEST_CASE("SIGHUP re-reads --admin-token-file: a rotated token works at once, a removed one is refused") {
    temp_dir d;
    const auto file = d.file("tokens");
    std::ofstream(file) << "token-one-0123456789abcdef\n";
    meter_process m({"--admin-token-file", file});
    const auto status_with = [&](const std::string& token) {
        raw_http_client c;
        c.connect("127.0.0.1", m.admin_port);
        c.send(raw_http_client::make_request("GET", "/api/api-usage/pricing", {{"Authorization", "Bearer " + token}}));
        return c.read_response().status;
    };
    const auto log_has = [&](const std::string& needle) {
        for (const auto& line : m.proc->stdout_lines())
            if (line.find(needle) != std::string::npos) return true;
        return false;
    };
    CHECK(status_with("token-one-0123456789abcdef") == 200);
    CHECK(status_with("token-two-0123456789abcdef") == 401);

    std::ofstream(file) << "token-two-0123456789abcdef\n";
    m.proc->send_signal(SIGHUP);
    REQUIRE(m.proc->wait_for_line("\"admin_tokens_reloaded\""));
    CHECK(status_with("token-two-0123456789abcdef") == 200);
    CHECK(status_with("token-one-0123456789abcdef") == 401);
    CHECK(status_with(admin_token) == 200);  // the environment's token stays

    // A file that cannot be used keeps the tokens in force.
    std::ofstream(file) << "# nothing but a comment\n";
    m.proc->send_signal(SIGHUP);
    REQUIRE(m.proc->wait_for_line("\"admin_tokens_reload_failed\""));
    CHECK(status_with("token-two-0123456789abcdef") == 200);
    CHECK_FALSE(log_has("token-two-0123456789abcdef"));  // no token ever in the log
    CHECK_FALSE(log_has("token-one-0123456789abcdef"));
}

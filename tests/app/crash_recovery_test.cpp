// Issue 4, "nothing lost": the real binary under steady keep-alive load through the fake
// upstream is killed with SIGKILL at random moments and restarted on the same database
// (the journal is replayed at start). At the end, after a clean SIGTERM: every call whose
// response reached the client completely has its row, no row is stored twice, and there
// are never more rows than calls the fake upstream received.
//
// Each call carries its number twice: X-Meter-Tag-Call (kept by gemini-meter in
// metadata.tags, stripped before forwarding) and X-Test-Call (forwarded untouched, so the
// fake's records say which calls reached it).
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#include "meter_process.hpp"
#include "storage/journal_codec.hpp"
#include "storage/usage_journal.hpp"

using namespace gm::test;
using gm::metering::call_ending;
using gm::metering::usage_record;

namespace {

using namespace std::chrono_literals;

// gemini-meter on a database file and a fake upstream that both outlive it, so that it can
// be killed and started again on the same file. Each start takes fresh ports (port 0), so
// clients read endpoint() again after a failure.
class crash_meter {
public:
    crash_meter() {
        fake_options fo;
        fo.cert_file = make_test_pki().cert_file;
        fo.key_file = make_test_pki().key_file;
        fo.threads = 2;
        fo.record_limit = 1'000'000;  // every request is kept: the verdict compares them all
        fake = std::make_unique<fake_gemini>(fo);
        db_path = dir.file("usage.db");
    }

    void start() {
        proc.reset();
        std::vector<std::string> args{"--listen",       "127.0.0.1:0",      "--admin-listen", "127.0.0.1:0",
                                      "--upstream",     fake->base_url(),   "--database",     "sqlite:" + db_path,
                                      "--io-threads",   "2",                "--upstream-ca-file",
                                      make_test_pki().ca_file};
        proc = std::make_unique<process_runner>(
            GM_BINARY, args, std::vector<std::pair<std::string, std::string>>{{"GEMINI_METER_ADMIN_TOKEN", admin_token}});
        // Generous: a start replays the journal, and the machine is shared.
        auto line = proc->wait_for_line("\"event\":\"start\"", 30s);
        if (!line) {
            std::string err;
            for (const auto& l : proc->stderr_lines())
                err += l + "\n";
            throw std::runtime_error("gemini-meter did not start: " + err);
        }
        std::smatch m;
        static const std::regex ports(R"(listening on [^:]+:(\d+), admin on [^:]+:(\d+))");
        if (!std::regex_search(*line, m, ports))
            throw std::runtime_error("no ports in the start line: " + *line);
        const auto port = static_cast<std::uint64_t>(std::stoi(m[1]));
        endpoint_.store((static_cast<std::uint64_t>(++starts_) << 16) | port);
    }

    // SIGKILL: no handler runs, no buffer is flushed; only what reached the kernel survives.
    void kill() {
        proc->send_signal(SIGKILL);
        const auto status = proc->wait_exit(30s);
        if (!status || *status != 128 + SIGKILL)
            throw std::runtime_error("gemini-meter did not die of SIGKILL");
    }

    void stop() {
        proc->send_signal(SIGTERM);
        const auto status = proc->wait_exit(60s);
        if (!status || *status != 0)
            throw std::runtime_error("gemini-meter did not exit 0 on SIGTERM: " +
                                     (status ? "status " + std::to_string(*status) : std::string("still running")));
    }

    // The current process: its number (1 for the first, 2 after the first restart...) and its
    // port, read together so that a client knows which process answered it.
    std::pair<int, unsigned short> endpoint() const {
        const auto e = endpoint_.load();
        return {static_cast<int>(e >> 16), static_cast<unsigned short>(e & 0xffff)};
    }
    int starts() const { return starts_; }

    // Records in the journal segments ("<db>.journal.<seq>") right now: what the next start
    // replays (some of them may already be committed).
    std::vector<usage_record> journal_records() const {
        std::vector<usage_record> out;
        const std::string prefix = std::filesystem::path(db_path).filename().string() + ".journal.";
        for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(db_path).parent_path())) {
            const auto name = e.path().filename().string();
            if (name.rfind(prefix, 0) != 0 || name.find(".lock") != std::string::npos)
                continue;
            std::error_code ec;
            for (auto& r :
                 gm::storage::decode_journal_segment(gm::storage::usage_journal::read_bytes(e.path().string(), ec)))
                out.push_back(std::move(r));
        }
        return out;
    }

    // "name: N bytes (M non-zero), tags a b c" per journal file, for failure reports.
    std::string journal_listing() const {
        std::string out;
        const std::string prefix = std::filesystem::path(db_path).filename().string() + ".journal";
        for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(db_path).parent_path())) {
            const auto name = e.path().filename().string();
            if (name.rfind(prefix, 0) != 0)
                continue;
            std::error_code ec;
            const auto bytes = gm::storage::usage_journal::read_bytes(e.path().string(), ec);
            out += "\n    " + name + ": " + std::to_string(bytes.size()) + " bytes (" +
                   std::to_string(bytes.size() - static_cast<std::size_t>(std::count(bytes.begin(), bytes.end(), '\0'))) +
                   " non-zero), calls:";
            for (const auto& r : gm::storage::decode_journal_segment(bytes))
                for (const auto& [k, v] : r.tags)
                    if (k == "call")
                        out += " " + v;
        }
        return out;
    }

    std::vector<usage_record> rows() const { return stored_rows(db_path); }

    temp_dir dir;
    std::string db_path;
    std::unique_ptr<fake_gemini> fake;
    std::unique_ptr<process_runner> proc;

private:
    int starts_ = 0;
    std::atomic<std::uint64_t> endpoint_{0};
};

struct completed_call {
    unsigned status = 0;
    int process = 0;          // which start of gemini-meter answered it
    std::uint64_t order = 0;  // 0, 1, 2... in the order the responses completed
    bool stream = false;
};

// What the clients saw, shared with the main thread.
struct client_log {
    std::mutex mutex;
    std::map<std::uint64_t, completed_call> completed;  // by call number
    std::uint64_t attempted = 0;
    std::uint64_t broken = 0;  // sent, but no complete response (killed mid-call, refused...)
    std::atomic<std::uint64_t> completed_count{0};
};

const std::string request_body = R"({"contents":[{"role":"user","parts":[{"text":"Is anything lost?"}]}]})";

std::string make_call(std::uint64_t n, bool stream) {
    header_list h{{"Content-Type", "application/json"},
                  {"X-Meter-Tag-Call", std::to_string(n)},
                  {"X-Test-Call", std::to_string(n)},
                  {"X-Meter-User-Id", "crash-user-" + std::to_string(n % 7)}};
    if (!stream)
        return raw_http_client::make_request("POST", "/v1beta/models/gemini-2.5-flash:generateContent", h,
                                             request_body);
    // Short streams with a little time between events, so that kills land mid-stream too.
    h.emplace_back("x-fake-events", "3");
    h.emplace_back("x-fake-event-delay-ms", "2");
    return raw_http_client::make_request("POST", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", h,
                                         request_body);
}

// One keep-alive client: calls until told to stop, reconnecting (to the current port) after
// any failure. A call counts as completed only when its whole response was read.
void run_client(crash_meter& m, client_log& log, std::atomic<bool>& stop, std::atomic<std::uint64_t>& next_call) {
    raw_client_options o;
    o.timeout = 20s;  // only a guard: a killed proxy's sockets end at once
    std::unique_ptr<raw_http_client> c;
    int process = 0;
    while (!stop.load()) {
        if (!c) {
            try {
                c = std::make_unique<raw_http_client>(o);
                unsigned short port = 0;
                std::tie(process, port) = m.endpoint();
                c->connect("127.0.0.1", port);
            } catch (const std::exception&) {
                c.reset();  // between a kill and the restart
                std::this_thread::sleep_for(2ms);
                continue;
            }
        }
        const std::uint64_t n = next_call.fetch_add(1);
        const bool stream = n % 2 == 1;
        raw_response res;
        bool ok = false;
        try {
            c->send(make_call(n, stream));
            res = c->read_response();
            ok = res.complete;
        } catch (const std::exception&) {
            ok = false;
        }
        std::lock_guard lk(log.mutex);
        ++log.attempted;
        if (ok) {
            log.completed[n] = {res.status, process, log.completed_count.load(), stream};
            ++log.completed_count;
        } else {
            ++log.broken;
        }
        if (!ok || !res.keep_alive)
            c.reset();
    }
}

std::string tag_of(const usage_record& r, const std::string& name) {
    for (const auto& [k, v] : r.tags)
        if (k == name)
            return v;
    return {};
}

std::uint64_t header_call(const received_request& q) {
    for (const auto& [k, v] : q.headers) {
        std::string lower = k;
        std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return std::tolower(ch); });
        if (lower == "x-test-call")
            return std::stoull(v);
    }
    return UINT64_MAX;
}

// Blocks until the clients have completed `more` calls beyond `from`: each kill then hits a
// proxy that is really carrying traffic, however slow the machine. Progress, not time, is
// the condition; the limit is only there so that a hung proxy fails instead of hanging.
void wait_for_progress(const client_log& log, std::uint64_t from, std::uint64_t more) {
    const auto limit = std::chrono::steady_clock::now() + 60s;
    while (log.completed_count.load() < from + more) {
        if (std::chrono::steady_clock::now() > limit)
            FAIL("no calls completed through the proxy for 60 s");
        std::this_thread::sleep_for(1ms);
    }
}

// Polls the database until the row of call `tag` is there (committed by the writer).
void wait_for_row(const crash_meter& m, const std::string& tag) {
    const auto limit = std::chrono::steady_clock::now() + 60s;
    for (;;) {
        for (const auto& r : m.rows())
            if (tag_of(r, "call") == tag)
                return;
        if (std::chrono::steady_clock::now() > limit)
            FAIL("the row of call " << tag << " was not committed within 60 s");
        std::this_thread::sleep_for(5ms);
    }
}

std::uint64_t crash_seed() {
    if (const char* s = std::getenv("GM_CRASH_SEED"))
        return std::stoull(s);
    return std::random_device{}();
}

}  // namespace

TEST_CASE("SIGKILL under load, restarted on the same database: no completed call lost, no row twice") {
    const std::uint64_t seed = crash_seed();
    std::cout << "crash_recovery_test seed " << seed << " (set GM_CRASH_SEED to repeat)\n";
    INFO("seed " << seed << " (set GM_CRASH_SEED to repeat)");
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<int> pause_ms(100, 600);

    constexpr int kills = 5;
    constexpr int clients = 3;

    crash_meter m;
    m.start();

    client_log log;
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> next_call{1};
    std::vector<std::thread> threads;
    // Stops and joins the clients however the test leaves this scope (a FAIL throws).
    struct joiner {
        std::atomic<bool>& stop;
        std::vector<std::thread>& threads;
        void join() {
            stop = true;
            for (auto& t : threads)
                if (t.joinable())
                    t.join();
        }
        ~joiner() { join(); }
    } clients_done{stop, threads};
    for (int i = 0; i < clients; ++i)
        threads.emplace_back([&] { run_client(m, log, stop, next_call); });

    // For the report when a row is missing: which calls each killed process left behind,
    // committed or in the journal (process k + 1 at index k).
    std::vector<std::size_t> journal_at_kill;
    std::vector<std::set<std::uint64_t>> persisted_at_kill;
    for (int k = 0; k < kills; ++k) {
        wait_for_progress(log, log.completed_count.load(), 20);
        std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(rng)));
        m.kill();
        std::set<std::uint64_t> persisted;
        const auto journal = m.journal_records();
        journal_at_kill.push_back(journal.size());
        for (const auto& r : journal)
            if (const auto t = tag_of(r, "call"); !t.empty())
                persisted.insert(std::stoull(t));
        for (const auto& r : m.rows())
            if (const auto t = tag_of(r, "call"); !t.empty())
                persisted.insert(std::stoull(t));
        persisted_at_kill.push_back(std::move(persisted));
        m.start();
    }
    // A last stretch of traffic, then a clean stop while the clients are still calling:
    // SIGTERM drains what is in flight and commits everything.
    wait_for_progress(log, log.completed_count.load(), 20);
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(rng)));
    m.stop();
    clients_done.join();

    const auto rows = m.rows();
    const auto received = m.fake->received();

    std::ostringstream summary;
    summary << "calls attempted " << log.attempted << ", completed " << log.completed.size() << ", broken "
            << log.broken << "; fake received " << received.size() << "; rows " << rows.size()
            << "; starts " << m.starts() << "; journal records left at each kill:";
    for (auto j : journal_at_kill)
        summary << ' ' << j;
    std::cout << summary.str() << "\n";
    INFO(summary.str());

    // The run really exercised the crash path: every kill interrupted a proxy with traffic.
    CHECK(m.starts() == kills + 1);
    CHECK(log.completed.size() >= static_cast<std::size_t>(20 * (kills + 1)));

    std::set<std::uint64_t> fake_calls;
    for (const auto& q : received)
        fake_calls.insert(header_call(q));

    // No duplicate: ids and call tags unique; every row belongs to a call the fake received.
    std::set<std::string> ids;
    std::map<std::uint64_t, const usage_record*> row_of;
    std::vector<std::string> duplicates, untagged, unknown;
    std::size_t proxy_answered = 0;  // 502/504 rows: the proxy answered, the fake saw nothing
    for (const auto& r : rows) {
        const bool forwarded = r.ending != call_ending::upstream_unreachable &&
                               r.ending != call_ending::upstream_timeout && r.ending != call_ending::rejected;
        if (!forwarded)
            ++proxy_answered;
        if (!ids.insert(r.id).second)
            duplicates.push_back("id " + r.id);
        const auto tag = tag_of(r, "call");
        if (tag.empty()) {
            untagged.push_back(r.id);
            continue;
        }
        const std::uint64_t n = std::stoull(tag);
        if (!row_of.emplace(n, &r).second)
            duplicates.push_back("call " + tag + " (ids " + row_of[n]->id + ", " + r.id + ")");
        if (forwarded && !fake_calls.count(n))
            unknown.push_back(tag);
    }
    INFO("duplicated: " << ::Catch::Detail::stringify(duplicates));
    CHECK(duplicates.empty());
    INFO("rows without a call tag: " << ::Catch::Detail::stringify(untagged));
    CHECK(untagged.empty());
    INFO("rows for calls the fake never received: " << ::Catch::Detail::stringify(unknown));
    CHECK(unknown.empty());
    INFO(proxy_answered << " rows of calls the proxy answered itself");
    CHECK(rows.size() - proxy_answered <= received.size());

    // Nothing lost: each completed call has its row, with the status the client saw.
    std::vector<std::string> missing;
    std::vector<std::string> wrong_status;
    for (const auto& [n, call] : log.completed) {
        const auto it = row_of.find(n);
        if (it == row_of.end()) {
            // Evidence for the report: was it the last thing the process did, and had the
            // killed process written it anywhere (database or journal)?
            std::size_t later = 0;
            for (const auto& [other_n, other] : log.completed)
                if (other.process == call.process && other.order > call.order)
                    ++later;
            std::string d = "call " + std::to_string(n) + (call.stream ? " (SSE" : " (unary") + ", status " +
                            std::to_string(call.status) + ") answered by process " + std::to_string(call.process);
            if (call.process <= kills)
                d += ", " + std::to_string(later) + " calls completed after it before the SIGKILL; after the kill " +
                     (persisted_at_kill[call.process - 1].count(n) ? "it WAS" : "it was NOT") +
                     " in the database or the journal";
            missing.push_back(d);
            continue;
        }
        if (it->second->http_status != static_cast<int>(call.status))
            wrong_status.push_back(std::to_string(n) + ": client " + std::to_string(call.status) + ", row " +
                                   std::to_string(it->second->http_status));
    }
    std::string missing_text;
    for (const auto& d : missing)
        missing_text += "\n  " + d;
    INFO("completed calls without a row:" << missing_text);
    CHECK(missing.empty());
    INFO("rows whose status differs from the client's: " << ::Catch::Detail::stringify(wrong_status));
    CHECK(wrong_status.empty());
}

// The sharpest moment of the test above, made deterministic: SIGKILL the instant a response
// is complete on the client. Whatever the proxy still had to do after its last byte left is
// then never done, so the row must already be in the journal by the time the response ends.
TEST_CASE("SIGKILL the moment a response is complete: the call's row is already safe") {
    constexpr int rounds = 10;
    crash_meter m;
    std::vector<std::string> lost;
    std::vector<std::uint64_t> completed;
    for (int i = 0; i < rounds; ++i) {
        m.start();
        const std::uint64_t n = static_cast<std::uint64_t>(i) + 1;
        const bool stream = i % 2 == 1;
        raw_http_client c;
        c.connect("127.0.0.1", m.endpoint().second);
        // A first call on the connection, so that the one under test is a plain keep-alive
        // call like the bulk of the traffic (the upstream connection is warm too).
        c.send(make_call(1000 + n, stream));
        REQUIRE(c.read_response().complete);
        c.send(make_call(n, stream));
        const auto res = c.read_response();
        m.kill();
        REQUIRE(res.complete);
        REQUIRE(res.status == 200);
        completed.push_back(n);
        bool persisted = false;
        for (const auto& r : m.journal_records())
            persisted = persisted || tag_of(r, "call") == std::to_string(n);
        for (const auto& r : m.rows())
            persisted = persisted || tag_of(r, "call") == std::to_string(n);
        if (!persisted)
            lost.push_back("call " + std::to_string(n) + (stream ? " (SSE)" : " (unary)") +
                           ": neither in the database nor in the journal after the kill; journal files:" +
                           m.journal_listing());
    }
    // The replay of what the last kill left is queued before the first call, so once a new
    // call's row is in the database the replayed ones are too.
    m.start();
    {
        raw_http_client c;
        c.connect("127.0.0.1", m.endpoint().second);
        c.send(make_call(999, false));
        REQUIRE(c.read_response().complete);
        wait_for_row(m, "999");
    }
    m.stop();
    std::set<std::string> stored;
    for (const auto& r : m.rows())
        stored.insert(tag_of(r, "call"));
    for (const auto n : completed)
        if (!stored.count(std::to_string(n)))
            lost.push_back("call " + std::to_string(n) + ": no row after the final replay");
    std::string text;
    for (const auto& l : lost)
        text += "\n  " + l;
    INFO(lost.size() << " of " << 2 * rounds << " checks failed:" << text);
    CHECK(lost.empty());
}

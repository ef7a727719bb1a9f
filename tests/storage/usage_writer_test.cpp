#include "storage/usage_writer.hpp"

#include <catch2/catch.hpp>

#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "storage/idle_priority.hpp"
#include "storage/migrations.hpp"
#include "storage/record_codec.hpp"
#include "storage/sqlite_store.hpp"
#include "support/temp_dir.hpp"
#include "support/thread_sched.hpp"
#include "test_records.hpp"
#include "support/eventually.hpp"

using namespace gm::storage;
using gm::test::numbered_record;
using gm::test::query_int;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using gm::test::eventually;

namespace {

// Journal segment 1 holding records 0 .. n-1, as a process that died before committing
// them would leave it.
void leave_journal_segment(const std::string& db, int n) {
    std::ofstream j(db + ".journal.00000001", std::ios::binary);
    for (int i = 0; i < n; ++i) j << encode_journal_line(numbered_record(i));
}

store_options fast_retry() {
    store_options o;
    o.busy_timeout_ms = 20;
    o.retry_initial = 5ms;
    o.retry_max = 50ms;
    return o;
}

std::vector<fs::path> journal_segments(const std::string& db) {
    std::vector<fs::path> out;
    const std::string prefix = fs::path(db).filename().string() + ".journal.";
    for (const auto& e : fs::directory_iterator(fs::path(db).parent_path())) {
        const std::string name = e.path().filename().string();
        // Segments end in digits; "<journal>.lock" is the writer's lock file.
        if (name.rfind(prefix, 0) == 0 && name.find_first_not_of("0123456789", prefix.size()) == std::string::npos)
            out.push_back(e.path());
    }
    return out;
}

// Rows, and each rollup's idea of the number of rows: all equal when nothing is lost or
// counted twice.
void check_consistent(const std::string& db, std::int64_t n, std::int64_t with_user) {
    CHECK(query_int(db, "SELECT COUNT(*) FROM ApiUsage") == n);
    CHECK(query_int(db, "SELECT COALESCE(SUM(calls), 0) FROM UsageDaily") == n);
    CHECK(query_int(db, "SELECT COALESCE(SUM(calls), 0) FROM UsageDailyDim WHERE dim = 'model'") == n);
    CHECK(query_int(db, "SELECT COALESCE(SUM(calls), 0) FROM UsageDailyDim WHERE dim = 'guest'") == n);
    CHECK(query_int(db, "SELECT COALESCE(SUM(calls), 0) FROM UsageDailyUser") == with_user);
    CHECK(query_int(db, "SELECT COALESCE(SUM(costPicoUsd), 0) FROM ApiUsage") ==
          query_int(db, "SELECT COALESCE(SUM(costPicoUsd), 0) FROM UsageDaily"));
}

std::int64_t with_user(int n) {
    std::int64_t k = 0;
    for (int i = 0; i < n; ++i) k += numbered_record(i).user_id.empty() ? 0 : 1;
    return k;
}

// After a drain: each of the n records committed once, none waiting only in the journal,
// the rows and rollups consistent, and the journal released at shutdown.
void check_drained(sqlite_store& store, const writer_stats& s, const std::string& db, int n) {
    CHECK(s.written == static_cast<std::uint64_t>(n));
    CHECK(s.duplicates == 0);
    CHECK(s.journal_only == 0);
    check_consistent(db, n, with_user(n));
    store.shutdown();
    CHECK(journal_segments(db).empty());
}

// Runs body in a child process (optionally as an unprivileged user, so that file modes
// bind even when the tests run as root) and returns its exit status; body returns 0 for
// success or the number of the step that failed.
int in_child(const gm::test::temp_dir& dir, bool drop_root, const std::function<int()>& body) {
    const pid_t pid = ::fork();
    if (pid == 0) {
        if (drop_root && ::geteuid() == 0) {
            if (::chown(dir.str().c_str(), 65534, 65534) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0)
                ::_exit(90);
        }
        int rc = 99;
        try {
            rc = body();
        } catch (...) {
            rc = 98;
        }
        ::_exit(rc);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

// The scheduling policy of this process's thread named `name`; -1 when there is none.
int policy_of_thread(const std::string& name) {
    const auto threads = gm::test::threads_named(name);
    return threads.empty() ? -1 : threads.front().policy;
}

}  // namespace

TEST_CASE("usage_writer: SQLite work runs under SCHED_IDLE unless writer_idle is off, and the writer is at its "
          "priority when it waits",
          "[usage_writer]") {
    // A writer at the I/O threads' priority kept them waiting for a core while it committed
    // (see usage_writer.cpp); a SCHED_IDLE writer that kept that policy while it takes
    // submit()'s lock would be worse. writer_idle off (--writer-priority normal) leaves it be.
    if (::sched_getscheduler(0) != SCHED_OTHER) {
        WARN("skipped: the tests do not run under SCHED_OTHER");
        return;
    }
    for (const bool idle : {true, false}) {
        INFO("writer_idle " << idle);
        if (idle && !gm::storage::can_return_from_idle()) {  // the writer lowers itself only then
            WARN("writer_idle on skipped: this process may not leave SCHED_IDLE (no CAP_SYS_NICE)");
            continue;
        }
        gm::test::temp_dir dir;
        const std::string db = dir.file("usage.db");
        store_options o;
        o.busy_timeout_ms = 600000;  // the writer stays inside its commit until the lock below goes
        o.writer_idle = idle;
        auto store = sqlite_store::open(db, o);
        store->sink().submit(numbered_record(0));
        REQUIRE(store->flush(30s));
        CHECK(policy_of_thread("gm-writer") == SCHED_OTHER);  // waiting for records

        sqlite_conn blocker(db, sqlite_conn::mode::read_write);
        blocker.exec("BEGIN EXCLUSIVE");
        store->sink().submit(numbered_record(1));
        if (idle) {
            CHECK(eventually([&] { return policy_of_thread("gm-writer") == SCHED_IDLE; }));  // in its commit
        } else {
            // In its commit, waiting for the lock, for the whole 300 ms: with writer_idle on
            // it is SCHED_IDLE there at once.
            bool saw_idle = false;
            const auto end = std::chrono::steady_clock::now() + 300ms;
            while (std::chrono::steady_clock::now() < end) {
                saw_idle = saw_idle || policy_of_thread("gm-writer") == SCHED_IDLE;
                std::this_thread::sleep_for(1ms);
            }
            CHECK_FALSE(saw_idle);
            CHECK(policy_of_thread("gm-checkpoint") == SCHED_OTHER);
        }
        blocker.exec("ROLLBACK");
        REQUIRE(store->flush(30s));
        CHECK(policy_of_thread("gm-writer") == SCHED_OTHER);
        CHECK(store->stats().written == 2);
    }
}

TEST_CASE("usage_writer: records submitted are committed and the journal is released", "[usage_writer]") {
    gm::test::temp_dir dir;
    const std::string db = dir.file("usage.db");
    auto store = sqlite_store::open(db);
    for (int i = 0; i < 1000; ++i) store->sink().submit(numbered_record(i));
    REQUIRE(store->flush(30s));
    const auto s = store->stats();
    CHECK(s.submitted == 1000);
    CHECK(s.written == 1000);
    CHECK(s.queued == 0);
    CHECK(s.journal_backlog == 0);
    CHECK(s.batches >= 1);
    CHECK(s.failures == 0);
    CHECK(s.db_writable);
    check_consistent(db, 1000, with_user(1000));
    store->shutdown();
    CHECK(journal_segments(db).empty());
}

TEST_CASE("usage_writer: shutdown drains everything queued", "[usage_writer]") {
    gm::test::temp_dir dir;
    const std::string db = dir.file("usage.db");
    store_options o;
    o.max_batch_delay = 10s;  // the writer would sit on a small batch; shutdown must not
    o.batch_size = 100000;
    auto store = sqlite_store::open(db, o);
    for (int i = 0; i < 3000; ++i) store->sink().submit(numbered_record(i));
    store->shutdown();
    CHECK(store->stats().written == 3000);
    check_consistent(db, 3000, with_user(3000));
    CHECK(journal_segments(db).empty());
}

TEST_CASE("usage_writer: a killed process loses nothing and replay never duplicates", "[usage_writer]") {
    gm::test::temp_dir dir;
    const std::string db = dir.file("usage.db");
    const int n = 3000;
    migrate(db);
    // The child submits and dies by SIGKILL without any shutdown: whatever the writer had
    // not committed exists only in the journal's page cache.
    const int status = in_child(dir, false, [&] {
        store_options o;
        o.batch_size = 50;
        o.max_batch_size = 50;  // many small commits, so the kill lands between two of them
        o.max_batch_delay = 0ms;
        auto store = sqlite_store::open(db, o);
        for (int i = 0; i < n; ++i) store->sink().submit(numbered_record(i));
        ::raise(SIGKILL);
        return 1;
    });
    REQUIRE(status == 100 + SIGKILL);
    const auto committed_before = query_int(db, "SELECT COUNT(*) FROM ApiUsage");
    INFO("rows committed before the kill: " << committed_before);
    CHECK(committed_before < n);
    REQUIRE_FALSE(journal_segments(db).empty());

    // Keep the journal as it was, to replay it a second time below.
    const fs::path saved = dir.path() / "saved";
    fs::create_directory(saved);
    for (const auto& p : journal_segments(db)) fs::copy_file(p, saved / p.filename());

    {
        auto store = sqlite_store::open(db);
        REQUIRE(store->flush(30s));
        const auto s = store->stats();
        CHECK(s.replayed >= static_cast<std::uint64_t>(n - committed_before));
        CHECK(s.written == static_cast<std::uint64_t>(n - committed_before));
        CHECK(s.written + s.duplicates == s.replayed);
        check_consistent(db, n, with_user(n));
    }
    CHECK(journal_segments(db).empty());

    // As if the process had died after committing but before releasing the journal.
    for (const auto& e : fs::directory_iterator(saved)) fs::copy_file(e.path(), dir.path() / e.path().filename());
    {
        auto store = sqlite_store::open(db);
        REQUIRE(store->flush(30s));
        const auto s = store->stats();
        CHECK(s.written == 0);
        CHECK(s.duplicates == s.replayed);
        check_consistent(db, n, with_user(n));
    }
    CHECK(journal_segments(db).empty());
}

TEST_CASE("usage_writer: a torn last journal line is skipped, the rest replayed", "[usage_writer]") {
    gm::test::temp_dir dir;
    const std::string db = dir.file("usage.db");
    migrate(db);
    {
        std::ofstream j(db + ".journal.00000001", std::ios::binary);
        j << encode_journal_line(numbered_record(1)) << encode_journal_line(numbered_record(2));
        const std::string torn = encode_journal_line(numbered_record(3));
        j << torn.substr(0, torn.size() / 2);
    }
    auto store = sqlite_store::open(db);
    REQUIRE(store->flush(30s));
    CHECK(store->stats().replayed == 2);
    CHECK(query_int(db, "SELECT COUNT(*) FROM ApiUsage") == 2);
    store->shutdown();
    CHECK(journal_segments(db).empty());
}

TEST_CASE("usage_writer: a backlog is committed in batches that grow up to max_batch_size", "[usage_writer]") {
    gm::test::temp_dir dir;
    const std::string db = dir.file("usage.db");
    migrate(db);
    // A journal left by a previous process: the whole backlog is queued before the writer
    // starts, so how it is cut into batches does not depend on timing.
    leave_journal_segment(db, 10000);
    store_options o;
    o.batch_size = 1000;
    o.max_batch_size = 4000;
    auto store = sqlite_store::open(db, o);
    REQUIRE(store->flush(30s));
    const auto s = store->stats();
    CHECK(s.written == 10000);
    CHECK(s.batches == 3);  // 4000, 4000, 2000
    check_consistent(db, 10000, with_user(10000));
}

TEST_CASE("usage_writer: a database locked by another connection delays rows, loses none", "[usage_writer]") {
    gm::test::temp_dir dir;
    const std::string db = dir.file("usage.db");
    auto store = sqlite_store::open(db, fast_retry());
    sqlite_conn blocker(db, sqlite_conn::mode::read_write);
    blocker.exec("BEGIN EXCLUSIVE");

    for (int i = 0; i < 200; ++i) store->sink().submit(numbered_record(i));  // returns: never waits on the lock
    REQUIRE(eventually([&] {
        const auto s = store->stats();
        return s.failures > 0 && !s.db_writable;
    }));
    auto s = store->stats();
    CHECK(s.last_error.find("locked") != std::string::npos);
    CHECK(s.journal_backlog == 200);
    CHECK(s.written == 0);
    CHECK_FALSE(journal_segments(db).empty());

    blocker.exec("ROLLBACK");
    REQUIRE(store->flush(30s));
    s = store->stats();
    CHECK(s.db_writable);
    CHECK(s.written == 200);
    CHECK(s.journal_backlog == 0);
    check_consistent(db, 200, with_user(200));
}

TEST_CASE("usage_writer: a read-only database file delays rows until it is writable again", "[usage_writer]") {
    gm::test::temp_dir dir;
    const std::string db = dir.file("usage.db");
    const int rc = in_child(dir, true, [&]() -> int {
        {
            auto store = sqlite_store::open(db);
            for (int i = 0; i < 10; ++i) store->sink().submit(numbered_record(i));
            if (!store->flush(30s)) return 1;
        }
        if (::chmod(db.c_str(), 0444) != 0) return 2;
        auto store = sqlite_store::open(db, fast_retry());  // must start: traffic keeps flowing
        for (int i = 10; i < 20; ++i) store->sink().submit(numbered_record(i));
        if (!eventually([&] { return store->stats().failures > 0; })) return 3;
        const auto s = store->stats();
        if (s.db_writable) return 4;
        if (s.last_error.find("readonly") == std::string::npos) return 5;
        if (s.journal_backlog != 10) return 6;
        // SQLite gives the -wal and -shm files it creates the database file's mode, so
        // whoever repairs the permissions repairs those too.
        for (const char* suffix : {"", "-wal", "-shm"})
            if (fs::exists(db + suffix) && ::chmod((db + suffix).c_str(), 0644) != 0) return 7;
        if (!store->flush(30s)) {
            std::fprintf(stderr, "still failing: %s\n", store->stats().last_error.c_str());
            return 8;
        }
        if (!store->stats().db_writable) return 9;
        store->shutdown();
        if (query_int(db, "SELECT COUNT(*) FROM ApiUsage") != 20) return 10;
        if (!journal_segments(db).empty()) return 11;
        return 0;
    });
    CHECK(rc == 0);
}

TEST_CASE("usage_writer: a full disk delays rows until space returns", "[usage_writer]") {
    gm::test::temp_dir dir;
    const std::string db = dir.file("usage.db");
    // RLIMIT_FSIZE makes writes past a size fail with EFBIG, which SQLite reports as
    // SQLITE_FULL, as on a full disk. The limit leaves room for the journal (a few KB)
    // but not for the next commit's WAL frames.
    const int rc = in_child(dir, false, [&]() -> int {
        ::signal(SIGXFSZ, SIG_IGN);
        auto store = sqlite_store::open(db, fast_retry());
        store->sink().submit(numbered_record(0));
        if (!store->flush(30s)) return 1;
        const auto wal = static_cast<rlim_t>(fs::file_size(db + "-wal"));
        rlimit lim{};
        ::getrlimit(RLIMIT_FSIZE, &lim);
        const rlimit tight{wal + 16 * 1024, lim.rlim_max};
        if (::setrlimit(RLIMIT_FSIZE, &tight) != 0) return 2;
        for (int i = 1; i <= 20; ++i) store->sink().submit(numbered_record(i));
        if (!eventually([&] { return store->stats().failures > 0; })) return 3;
        const auto s = store->stats();
        if (s.db_writable) return 4;
        // EFBIG is reported as an I/O error, ENOSPC (a real full disk) as "database or disk is full".
        if (s.last_error.find("full") == std::string::npos && s.last_error.find("I/O") == std::string::npos) {
            std::fprintf(stderr, "unexpected error: %s\n", s.last_error.c_str());
            return 5;
        }
        if (s.journal_errors != 0) return 6;
        if (::setrlimit(RLIMIT_FSIZE, &lim) != 0) return 7;
        if (!store->flush(30s)) return 8;
        store->shutdown();
        if (query_int(db, "SELECT COUNT(*) FROM ApiUsage") != 21) return 9;
        return 0;
    });
    CHECK(rc == 0);
}

namespace {

// The cap on records held in memory, small enough that 1,000 records overflow it many times.
store_options capped(std::size_t cap) {
    store_options o = fast_retry();
    o.max_queued = cap;
    return o;
}

}  // namespace

TEST_CASE("usage_writer: past max_queued, records wait in the journal only and all arrive once", "[usage_writer]") {
    gm::test::temp_dir dir;
    const std::string db = dir.file("usage.db");
    const int n = 1000;
    auto store = sqlite_store::open(db, capped(50));
    sqlite_conn blocker(db, sqlite_conn::mode::read_write);
    blocker.exec("BEGIN EXCLUSIVE");

    std::uint64_t most_queued = 0;
    for (int i = 0; i < n; ++i) {
        store->sink().submit(numbered_record(i));  // returns: never waits on the lock
        most_queued = std::max(most_queued, store->stats().queued);
    }
    CHECK(most_queued <= 50);
    REQUIRE(eventually([&] { return store->stats().failures > 0; }));
    auto s = store->stats();
    CHECK_FALSE(s.db_writable);
    CHECK(s.written == 0);
    CHECK(s.submitted == n);
    CHECK(s.journal_backlog == n);
    // At most one batch in the writer's hands and a full queue are in memory; the rest is
    // only in the journal, in segments of at most 50 records.
    CHECK(s.journal_only >= n - 2 * 50);
    CHECK(journal_segments(db).size() >= (n - 100) / 50);

    blocker.exec("ROLLBACK");
    REQUIRE(store->flush(30s));
    s = store->stats();
    CHECK(s.db_writable);
    CHECK(s.written == n);
    CHECK(s.duplicates == 0);
    CHECK(s.journal_only == 0);
    CHECK(s.journal_backlog == 0);
    CHECK(s.queued == 0);
    check_consistent(db, n, with_user(n));

    // Spilling has ended: new records are queued in memory again.
    for (int i = n; i < n + 10; ++i) store->sink().submit(numbered_record(i));
    CHECK(store->stats().journal_only == 0);
    REQUIRE(store->flush(30s));
    check_consistent(db, n + 10, with_user(n + 10));
    store->shutdown();
    CHECK(journal_segments(db).empty());
}

TEST_CASE("usage_writer: records only in the journal survive a writer that gives up at shutdown", "[usage_writer]") {
    gm::test::temp_dir dir;
    const std::string db = dir.file("usage.db");
    const int n = 1000;
    {
        store_options o = capped(50);
        o.shutdown_timeout = 50ms;
        auto store = sqlite_store::open(db, o);
        sqlite_conn blocker(db, sqlite_conn::mode::read_write);
        blocker.exec("BEGIN EXCLUSIVE");
        for (int i = 0; i < n; ++i) store->sink().submit(numbered_record(i));
        REQUIRE(eventually([&] { return store->stats().failures > 0; }));
        CHECK(store->stats().journal_only >= n - 2 * 50);
        store->shutdown();  // the database stays locked: it gives up, the journal keeps all
        CHECK(store->stats().written == 0);
        blocker.exec("ROLLBACK");
    }
    REQUIRE_FALSE(journal_segments(db).empty());
    auto store = sqlite_store::open(db, capped(50));  // replays more than the cap holds
    REQUIRE(store->flush(30s));
    const auto s = store->stats();
    CHECK(s.replayed == n);
    CHECK(s.queued == 0);
    check_drained(*store, s, db, n);
}

TEST_CASE("usage_writer: a killed process with records only in the journal loses none, doubles none", "[usage_writer]") {
    gm::test::temp_dir dir;
    const std::string db = dir.file("usage.db");
    const int n = 1000;
    migrate(db);
    const int status = in_child(dir, false, [&]() -> int {
        auto store = sqlite_store::open(db, capped(50));
        // A few rows committed before the outage: the replay must not insert them twice.
        for (int i = 0; i < 100; ++i) store->sink().submit(numbered_record(i));
        if (!store->flush(30s)) return 1;
        sqlite_conn blocker(db, sqlite_conn::mode::read_write);
        blocker.exec("BEGIN EXCLUSIVE");
        for (int i = 100; i < n; ++i) store->sink().submit(numbered_record(i));
        if (!eventually([&] { return store->stats().failures > 0; })) return 2;
        if (store->stats().journal_only < static_cast<std::uint64_t>(n - 100 - 2 * 50)) return 3;
        ::raise(SIGKILL);
        return 4;
    });
    REQUIRE(status == 100 + SIGKILL);
    CHECK(query_int(db, "SELECT COUNT(*) FROM ApiUsage") == 100);
    REQUIRE_FALSE(journal_segments(db).empty());

    auto store = sqlite_store::open(db, capped(50));
    REQUIRE(store->flush(30s));
    const auto s = store->stats();
    CHECK(s.written == n - 100);
    CHECK(s.written + s.duplicates == s.replayed);
    CHECK(s.journal_only == 0);
    check_consistent(db, n, with_user(n));
    store->shutdown();
    CHECK(journal_segments(db).empty());
}

TEST_CASE("usage_writer: traffic that goes on while the journal-only backlog drains is kept whole", "[usage_writer]") {
    gm::test::temp_dir dir;
    const std::string db = dir.file("usage.db");
    const int n = 4000;
    auto store = sqlite_store::open(db, capped(50));
    sqlite_conn blocker(db, sqlite_conn::mode::read_write);
    blocker.exec("BEGIN EXCLUSIVE");
    for (int i = 0; i < n / 2; ++i) store->sink().submit(numbered_record(i));
    REQUIRE(eventually([&] { return store->stats().failures > 0; }));
    CHECK(store->stats().journal_only > 0);
    // The second half arrives from two threads while the writer reads the first back:
    // spilling starts and ends any number of times under them.
    blocker.exec("ROLLBACK");
    std::thread a([&] {
        for (int i = n / 2; i < n; i += 2) store->sink().submit(numbered_record(i));
    });
    std::thread b([&] {
        for (int i = n / 2 + 1; i < n; i += 2) store->sink().submit(numbered_record(i));
    });
    a.join();
    b.join();
    REQUIRE(store->flush(30s));
    const auto s = store->stats();
    CHECK(s.journal_backlog == 0);
    check_drained(*store, s, db, n);
}

TEST_CASE("usage_writer: a journal left over larger than max_queued is read back, in batches", "[usage_writer]") {
    gm::test::temp_dir dir;
    const std::string db = dir.file("usage.db");
    migrate(db);
    // One segment of 10,000 records, as an older version (or a larger cap) would leave it.
    leave_journal_segment(db, 10000);
    store_options o;
    o.batch_size = 1000;
    o.max_batch_size = 4000;
    o.max_queued = 2000;
    auto store = sqlite_store::open(db, o);
    CHECK(store->stats().queued == 0);  // none of it held in the queue
    REQUIRE(store->flush(30s));
    auto s = store->stats();
    CHECK(s.replayed == 10000);
    CHECK(s.written == 10000);
    CHECK(s.batches == 3);  // 4000, 4000, 2000
    CHECK(s.journal_only == 0);
    check_consistent(db, 10000, with_user(10000));
    // Caught up: new records are queued in memory again.
    store->sink().submit(numbered_record(10000));
    CHECK(store->stats().journal_only == 0);
    REQUIRE(store->flush(30s));
    store->shutdown();
    CHECK(query_int(db, "SELECT COUNT(*) FROM ApiUsage") == 10001);
    CHECK(journal_segments(db).empty());
}

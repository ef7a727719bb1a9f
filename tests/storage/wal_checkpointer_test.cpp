#include "storage/wal_checkpointer.hpp"

#include <catch2/catch.hpp>

#include <sched.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "storage/migrations.hpp"
#include "storage/sqlite_batch_inserter.hpp"
#include "storage/sqlite_store.hpp"
#include "support/temp_dir.hpp"
#include "support/thread_sched.hpp"
#include "test_records.hpp"

using namespace gm::storage;
using gm::test::numbered_record;
using gm::test::query_int;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::vector<gm::metering::usage_record> batch_of(int first, int n) {
    std::vector<gm::metering::usage_record> out;
    for (int i = first; i < first + n; ++i) out.push_back(numbered_record(i));
    return out;
}

std::uintmax_t wal_size(const std::string& db) {
    std::error_code ec;
    const auto n = fs::file_size(db + "-wal", ec);
    return ec ? 0 : n;
}

constexpr std::uintmax_t frame_bytes = 4096 + 24;  // a WAL frame: page and header

// The scheduling policy of this process's thread named `name`; -1 when there is none.
int policy_of_thread(const std::string& name) {
    const auto threads = gm::test::threads_named(name);
    return threads.empty() ? -1 : threads.front().policy;
}

}  // namespace

TEST_CASE("wal_checkpointer: its thread runs under SCHED_IDLE when asked, else at the process's priority",
          "[wal_checkpointer]") {
    // Its copies and syncs must not keep an I/O thread waiting for a core
    // (--writer-priority idle, the default); --writer-priority normal leaves it alone.
    if (::sched_getscheduler(0) != SCHED_OTHER) {
        WARN("skipped: the tests do not run under SCHED_OTHER");
        return;
    }
    gm::test::temp_dir dir;
    const std::string db = dir.file("usage.db");
    migrate(db);
    for (const bool idle : {true, false}) {
        INFO("idle " << idle);
        wal_checkpointer checkpointer(db, 8192, 32768, idle);
        // The thread names (and lowers) itself as it starts; the deadline only stops a hung test.
        const int want = idle ? SCHED_IDLE : SCHED_OTHER;
        const auto end = std::chrono::steady_clock::now() + 30s;
        while (policy_of_thread("gm-checkpoint") != want && std::chrono::steady_clock::now() < end)
            std::this_thread::sleep_for(2ms);
        CHECK(policy_of_thread("gm-checkpoint") == want);
    }
}

TEST_CASE("wal_checkpointer: committed rows are visible to readers and the WAL stays bounded", "[wal_checkpointer]") {
    gm::test::temp_dir dir;
    const std::string db = dir.file("usage.db");
    migrate(db);
    constexpr std::int64_t start_pages = 16;  // the writer waits past 4 times this
    sqlite_batch_inserter inserter(db, 1000, 8 * 1024, start_pages);
    sqlite_conn reader(db, sqlite_conn::mode::read_only);
    auto count = reader.prepare("SELECT COUNT(*) FROM ApiUsage");

    constexpr int batch = 200, batches = 40;
    std::uintmax_t largest_batch = 0, largest_wal = 0;
    for (int b = 0; b < batches; ++b) {
        const auto before = wal_size(db);
        REQUIRE(inserter.commit(batch_of(b * batch, batch)) == batch);
        const auto after = wal_size(db);
        // The file only grows, so a batch written past the old end shows its own frames.
        if (after > before) largest_batch = std::max(largest_batch, after - before);
        largest_wal = std::max(largest_wal, after);
        count.reset();
        REQUIRE(count.step());
        CHECK(count.col_int(0) == (b + 1) * batch);
        count.reset();  // ends the read: a live statement would pin the WAL like a snapshot
    }
    // Without checkpoints the WAL would hold every batch's frames. With them it never holds
    // more than the writer's bound plus the batch that crosses it, and the one after it
    // (begun while the last checkpoint was still copying).
    const std::uintmax_t bound = 4 * start_pages * frame_bytes + 2 * largest_batch + 32;
    INFO("largest WAL " << largest_wal << " bytes, largest batch " << largest_batch << " bytes, bound " << bound);
    CHECK(largest_wal <= bound);
    const auto s = inserter.checkpoints();
    CHECK(s.checkpoints > 0);
    CHECK(s.failures == 0);
}

TEST_CASE("wal_checkpointer: a reader holding an old snapshot never stalls the writer", "[wal_checkpointer]") {
    gm::test::temp_dir dir;
    const std::string db = dir.file("usage.db");
    migrate(db);
    sqlite_batch_inserter inserter(db, 1000, 8 * 1024, 4);
    REQUIRE(inserter.commit(batch_of(0, 100)) == 100);
    {
        // The snapshot pins the WAL: checkpoints cannot copy frames committed after it, so
        // the writer must not wait for a checkpoint to empty the WAL.
        sqlite_conn reader(db, sqlite_conn::mode::read_only);
        read_transaction snapshot(reader);
        auto count = reader.prepare("SELECT COUNT(*) FROM ApiUsage");
        REQUIRE(count.step());
        CHECK(count.col_int(0) == 100);
        for (int b = 1; b < 20; ++b) REQUIRE(inserter.commit(batch_of(b * 100, 100)) == 100);
        count.reset();
        REQUIRE(count.step());
        CHECK(count.col_int(0) == 100);  // still the snapshot
    }
    CHECK(inserter.checkpoints().incomplete > 0);
    // Once the reader is gone, checkpoints catch up and the WAL starts over.
    for (int b = 20; b < 40; ++b) REQUIRE(inserter.commit(batch_of(b * 100, 100)) == 100);
    CHECK(query_int(db, "SELECT COUNT(*) FROM ApiUsage") == 4000);
    CHECK(inserter.checkpoints().failures == 0);
}

TEST_CASE("wal_checkpointer: after a writer's shutdown the database file holds every row", "[wal_checkpointer]") {
    gm::test::temp_dir dir;
    const std::string db = dir.file("usage.db");
    {
        auto store = sqlite_store::open(db);
        for (int i = 0; i < 5000; ++i) store->sink().submit(numbered_record(i));
        store->shutdown();
        CHECK(store->stats().written == 5000);
    }
    // The writer's connection closes last: SQLite checkpoints the rest and removes the WAL,
    // so the file alone (copied without its -wal) has every row.
    CHECK_FALSE(fs::exists(db + "-wal"));
    const std::string copy = dir.file("copy.db");
    fs::copy_file(db, copy);
    CHECK(query_int(copy, "SELECT COUNT(*) FROM ApiUsage") == 5000);
    CHECK(query_int(copy, "SELECT SUM(calls) FROM UsageDaily") == 5000);
}

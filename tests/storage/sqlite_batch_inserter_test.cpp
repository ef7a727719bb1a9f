#include "storage/sqlite_batch_inserter.hpp"

#include <catch2/catch.hpp>

#include <vector>

#include "storage/migrations.hpp"
#include "support/temp_dir.hpp"
#include "test_records.hpp"

using namespace gm::storage;
using gm::test::numbered_record;
using gm::test::query_int;

namespace {

std::vector<gm::metering::usage_record> records(int first, int n) {
    std::vector<gm::metering::usage_record> out;
    for (int i = first; i < first + n; ++i) out.push_back(numbered_record(i));
    return out;
}

// Rows and every rollup agree on how many calls and how much cost there are.
void check_rollups(const std::string& db, std::int64_t rows) {
    CHECK(query_int(db, "SELECT COUNT(*) FROM ApiUsage") == rows);
    for (const char* table : {"UsageDaily", "UsageHourly"})
        CHECK(query_int(db, std::string("SELECT SUM(calls) FROM ") + table) == rows);
    CHECK(query_int(db, "SELECT SUM(calls) FROM UsageDailyDim WHERE dim = 'model'") == rows);
    CHECK(query_int(db, "SELECT SUM(costPicoUsd) FROM UsageDaily") ==
          query_int(db, "SELECT SUM(costPicoUsd) FROM ApiUsage"));
    CHECK(query_int(db, "SELECT SUM(calls) FROM UsageDailyUser") ==
          query_int(db, "SELECT COUNT(*) FROM ApiUsage WHERE userId IS NOT NULL"));
    CHECK(query_int(db, "SELECT SUM(costPicoUsd) FROM UsageMonthlyUser") ==
          query_int(db, "SELECT SUM(costPicoUsd) FROM ApiUsage WHERE userId IS NOT NULL"));
}

}  // namespace

// Batches are written 32 rows per statement on the assumption that every id is new; a
// journal replay breaks it. Sizes around 32 exercise the full statements and the tail.
TEST_CASE("sqlite_batch_inserter: a batch repeating stored ids counts only its new rows", "[sqlite_batch_inserter]") {
    gm::test::temp_dir dir;
    const std::string db = dir.file("usage.db");
    migrate(db);
    sqlite_batch_inserter inserter(db, 1000, 8 * 1024);
    CHECK(inserter.commit(records(0, 70)) == 70);
    check_rollups(db, 70);
    // 40 stored (one full statement's worth and more), 45 new.
    CHECK(inserter.commit(records(30, 85)) == 45);
    check_rollups(db, 115);
    // All stored: nothing moves.
    CHECK(inserter.commit(records(0, 115)) == 0);
    check_rollups(db, 115);
}

TEST_CASE("sqlite_batch_inserter: an id twice in one batch is one row", "[sqlite_batch_inserter]") {
    gm::test::temp_dir dir;
    const std::string db = dir.file("usage.db");
    migrate(db);
    sqlite_batch_inserter inserter(db, 1000, 8 * 1024);
    auto batch = records(0, 40);
    batch.push_back(numbered_record(33));
    CHECK(inserter.commit(batch) == 40);
    check_rollups(db, 40);
}

#include "storage/retention.hpp"

#include <catch2/catch.hpp>

#include <atomic>

#include <zlib.h>

#include <rapidjson/document.h>

#include "storage/sqlite_queries.hpp"
#include "storage/sqlite_store.hpp"
#include "support/temp_dir.hpp"
#include "test_records.hpp"

using namespace gm::storage;
using gm::test::at;
using gm::test::query_int;

namespace {

// 10 calls on each of 2024-11-01 .. 2024-11-05, at 01:00 + i minutes, cost 100 + i.
void fill(const std::string& db) {
    auto store = sqlite_store::open(db);
    for (int d = 0; d < 5; ++d)
        for (int i = 0; i < 10; ++i) {
            gm::test::record_spec s;
            s.id = fmt::format("d{}-{:02}", d, i);
            s.ms = at("2024-11-01T01:00:00Z") + d * ms_per_day + i * 60'000;
            s.user = i % 2 ? "odd" : "even";
            s.prompt = 10;
            s.candidates = 1;
            s.cost = 100 + i;
            store->sink().submit(gm::test::make_record(s));
        }
    REQUIRE(store->flush(std::chrono::seconds(30)));
}

std::vector<std::string> read_gz_lines(const std::string& path) {
    std::vector<std::string> out;
    gzFile f = gzopen(path.c_str(), "rb");
    REQUIRE(f != nullptr);
    char buf[8192];
    while (gzgets(f, buf, sizeof buf)) {
        std::string line(buf);
        if (!line.empty() && line.back() == '\n') line.pop_back();
        out.push_back(line);
    }
    gzclose(f);
    return out;
}

}  // namespace

TEST_CASE("retention: old rows go in small batches, into the archive, and totals stay", "[retention]") {
    gm::test::temp_dir dir;
    const std::string db = dir.file("usage.db");
    fill(db);
    const time_range all{at("2024-11-01"), at("2024-11-06")};
    auto q = std::make_unique<sqlite_queries>(db);
    const auto before = q->stats(all, {});
    const auto daily_before = q->daily(all, {});
    const auto top_before = q->top_users(all, {}, 10);
    REQUIRE(before.totals.calls == 50);

    const std::string archive = dir.file("archive.jsonl.gz");
    const auto res = delete_older_than(db, at("2024-11-04"), 7, archive);
    CHECK(res.deleted == 30);
    CHECK(res.archived == 30);
    CHECK(res.batches == 5);  // 7 + 7 + 7 + 7 + 2
    CHECK(query_int(db, "SELECT COUNT(*) FROM ApiUsage") == 20);
    CHECK(query_int(db, "SELECT MIN(createdAtMs) FROM ApiUsage") == at("2024-11-04T01:00:00Z"));

    // Whole-day answers come from rollups: unchanged.
    const auto after = q->stats(all, {});
    CHECK(after.totals == before.totals);
    CHECK(after.by_model.size() == before.by_model.size());
    const auto daily_after = q->daily(all, {});
    REQUIRE(daily_after.size() == daily_before.size());
    for (std::size_t i = 0; i < daily_after.size(); ++i) CHECK(daily_after[i].totals == daily_before[i].totals);
    const auto top_after = q->top_users(all, {}, 10);
    REQUIRE(top_after.size() == 2);
    CHECK(top_after[0].totals == top_before[0].totals);
    // Raw-row answers lose the deleted rows, as documented.
    CHECK(q->recent({}, 100, std::nullopt).calls.size() == 20);

    // The archive is gzip JSON lines with the ApiUsage column names, oldest first.
    const auto lines = read_gz_lines(archive);
    REQUIRE(lines.size() == 30);
    std::int64_t cost = 0;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        rapidjson::Document d;
        d.Parse(lines[i].c_str());
        REQUIRE_FALSE(d.HasParseError());
        CHECK(d["createdAtMs"].GetInt64() < at("2024-11-04"));
        cost += d["costPicoUsd"].GetInt64();
        if (i == 0) {
            CHECK(std::string(d["id"].GetString()) == "d0-00");
            CHECK(std::string(d["createdAt"].GetString()) == "2024-11-01T01:00:00.000Z");
            CHECK(std::string(d["userId"].GetString()) == "even");
            CHECK(d["inputTokens"].GetInt64() == 10);
            CHECK(d["isGuest"].GetBool() == false);
            CHECK(d["metadata"].IsObject());
        }
    }
    CHECK(cost == 3 * (100 * 10 + 45));

    // Nothing left to delete: no change, and a second archive member is still readable.
    const auto again = delete_older_than(db, at("2024-11-04"), 7, archive);
    CHECK(again.deleted == 0);
    CHECK(read_gz_lines(archive).size() == 30);
    const auto more = delete_older_than(db, at("2024-11-05"), 1000, archive);
    CHECK(more.deleted == 10);
    CHECK(read_gz_lines(archive).size() == 40);
}

TEST_CASE("retention: without an archive, and with a live store writing beside it", "[retention]") {
    gm::test::temp_dir dir;
    const std::string db = dir.file("usage.db");
    fill(db);
    auto store = sqlite_store::open(db);
    for (int i = 0; i < 500; ++i) store->sink().submit(gm::test::numbered_record(i, at("2024-11-10")));
    const auto res = delete_older_than(db, at("2024-11-06"), 3);
    REQUIRE(store->flush(std::chrono::seconds(30)));
    CHECK(res.deleted == 50);
    CHECK(query_int(db, "SELECT COUNT(*) FROM ApiUsage") == 500);
    CHECK(query_int(db, "SELECT SUM(calls) FROM UsageDailyDim WHERE dim = 'guest'") == 550);
}

TEST_CASE("retention: a raised stop flag ends the pass before its next batch, and the next pass finishes", "[retention]") {
    gm::test::temp_dir dir;
    const std::string db = dir.file("usage.db");
    fill(db);
    const auto rows = query_int(db, "SELECT COUNT(*) FROM ApiUsage");
    std::atomic<bool> stop{true};
    auto res = delete_older_than(db, at("2024-11-06"), 3, std::nullopt, &stop);
    CHECK(res.stopped);
    CHECK(res.deleted == 0);
    CHECK(query_int(db, "SELECT COUNT(*) FROM ApiUsage") == rows);
    stop = false;
    res = delete_older_than(db, at("2024-11-06"), 3, std::nullopt, &stop);
    CHECK_FALSE(res.stopped);
    CHECK(res.deleted == 50);
}

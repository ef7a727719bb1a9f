// Retention in the running binary (--retention-days, --archive-dir): its first pass, a minute
// after start, deletes the raw rows past the limit into a gzip archive, keeps the newer
// ones and the old days' totals (rollups), and the process still drains and exits 0.
#include <catch2/catch.hpp>

#include <filesystem>

#include <zlib.h>

#include "meter_process.hpp"
#include "storage/migrations.hpp"
#include "storage/sqlite_batch_inserter.hpp"
#include "storage/test_records.hpp"
#include "storage/utc_time.hpp"

using namespace gm::test;

namespace {

std::vector<std::string> gz_lines(const std::string& path) {
    std::vector<std::string> out;
    gzFile f = gzopen(path.c_str(), "rb");
    REQUIRE(f);
    char buf[1 << 16];
    while (gzgets(f, buf, sizeof buf)) out.emplace_back(buf);
    gzclose(f);
    return out;
}

}  // namespace

TEST_CASE("retention in the binary: old raw rows archived and deleted, newer ones and old totals kept") {
    temp_dir dir;
    const auto db = dir.file("usage.db");
    const auto archive_dir = dir.file("archive");
    std::filesystem::create_directories(archive_dir);
    const std::int64_t day = 86'400'000;
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    const auto today = now - now % day;
    const auto old_day = today - 100 * day;  // past --retention-days 30
    gm::storage::migrate(db);
    std::vector<gm::metering::usage_record> rows;
    for (int i = 0; i < 3; ++i) {
        record_spec s;
        s.id = "old-" + std::to_string(i);
        s.ms = old_day + 10 * 3'600'000 + i;
        s.user = "u1";
        s.prompt = 100;
        s.candidates = 10;
        s.cost = 1'000'000 * (i + 1);
        rows.push_back(make_record(s));
    }
    for (int i = 0; i < 2; ++i) {
        record_spec s;
        s.id = "new-" + std::to_string(i);
        s.ms = today - day + i;
        s.user = "u2";
        s.prompt = 5;
        s.cost = 7;
        rows.push_back(make_record(s));
    }
    gm::storage::sqlite_batch_inserter(db, 5000, 2000).commit(rows);

    process_runner p(GM_BINARY, {"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--upstream",
                                 "http://127.0.0.1:9", "--database", "sqlite:" + db, "--retention-days", "30",
                                 "--archive-dir", archive_dir});
    REQUIRE(p.wait_for_line("\"event\":\"start\""));
    // The first pass runs a minute after start.
    const auto line = p.wait_for_line("\"event\":\"retention\"", std::chrono::seconds(120));
    REQUIRE(line);
    CHECK_THAT(*line, Catch::Contains("deleted 3 rows, archived 3"));

    std::vector<std::string> ids;
    for (const auto& r : stored_rows(db)) ids.push_back(r.id);
    CHECK(ids == std::vector<std::string>{"new-0", "new-1"});
    // The old day's totals come from the rollups, which retention keeps.
    gm::storage::sqlite_queries q(db);
    const auto old_stats = q.stats({old_day, old_day + day}, {});
    CHECK(old_stats.totals.calls == 3);
    CHECK(old_stats.totals.cost_pico_usd == 6'000'000);
    CHECK(old_stats.totals.input_tokens == 300);

    std::vector<std::string> archives;
    for (const auto& e : std::filesystem::directory_iterator(archive_dir)) archives.push_back(e.path().string());
    REQUIRE(archives.size() == 1);
    CHECK_THAT(archives[0], Catch::EndsWith(".jsonl.gz"));
    const auto lines = gz_lines(archives[0]);
    REQUIRE(lines.size() == 3);
    for (int i = 0; i < 3; ++i) CHECK_THAT(lines[i], Catch::Contains("\"old-" + std::to_string(i) + "\""));

    p.send_signal(SIGTERM);
    CHECK(p.wait_exit(std::chrono::seconds(40)) == 0);
}

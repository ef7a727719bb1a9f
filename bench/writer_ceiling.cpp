// How fast can SQLite take these rows at all, on this machine, in this run? Writes the same
// records (app/demo/usage_generator.hpp) three ways, each into a fresh file, in alternating rounds:
//   bare  the specification's ApiUsage table (schema version 1) without its four indexes:
//         one prepared single-row INSERT per row, one transaction per batch;
//   spec  the same table with the specification's four indexes;
//   full  gemini-meter's writer (sqlite_batch_inserter::commit) at the current schema.
// It prints rows per CPU-second and per wall-second of each, medians over rounds, and the
// ratios full / spec and spec / the 200,000 rows/s goal of issue 4: the writer's throughput
// measured against the database's own ceiling, not against a number from another machine.
//   writer_ceiling [--dir DIR] [--rows N] [--days D] [--batch N] [--rounds R]
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "app/demo/usage_generator.hpp"
#include "storage/migrations.hpp"
#include "storage/record_codec.hpp"
#include "storage/sqlite_batch_inserter.hpp"
#include "storage/sqlite_conn.hpp"
#include "storage/utc_time.hpp"

namespace {

namespace fs = std::filesystem;
using gm::metering::usage_record;

struct args {
    std::string dir = ".";
    long long rows = 400'000;
    int days = 1;  // a day's traffic, as the writer sees it live: time-ordered, one day
    std::size_t batch = 20'000;
    int rounds = 3;
};

args parse(int argc, char** argv) {
    args a;
    for (int i = 1; i < argc; ++i) {
        const std::string k = argv[i];
        if (i + 1 >= argc) {
            std::fprintf(stderr, "usage: writer_ceiling [--dir DIR] [--rows N] [--days D] [--batch N] [--rounds R]\n");
            std::exit(2);
        }
        const std::string v = argv[++i];
        if (k == "--dir") a.dir = v;
        else if (k == "--rows") a.rows = std::stoll(v);
        else if (k == "--days") a.days = std::stoi(v);
        else if (k == "--batch") a.batch = std::stoul(v);
        else if (k == "--rounds") a.rounds = std::stoi(v);
        else {
            std::fprintf(stderr, "unknown option %s\n", k.c_str());
            std::exit(2);
        }
    }
    if (a.rows <= 0 || a.days <= 0 || a.batch == 0 || a.rounds <= 0) {
        std::fprintf(stderr, "--rows, --days, --batch and --rounds must be positive\n");
        std::exit(2);
    }
    return a;
}

double process_cpu_seconds() {
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

struct rate {
    double per_cpu_second = 0, per_wall_second = 0;
};

void remove_db(const fs::path& p) {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(p.string() + suffix);
}

// The specification's columns, as a plain app would write them: one row per statement run.
class spec_inserter {
public:
    spec_inserter(const std::string& path, bool indexes, std::int64_t cache_kib)
        : conn_(path, gm::storage::sqlite_conn::mode::read_write) {
        conn_.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL");
        conn_.exec("PRAGMA cache_size=-" + std::to_string(cache_kib));
        if (!indexes)
            conn_.exec("DROP INDEX ApiUsage_userId_idx; DROP INDEX ApiUsage_createdAt_idx; "
                       "DROP INDEX ApiUsage_model_idx; DROP INDEX ApiUsage_endpoint_idx");
        insert_ = conn_.prepare(
            "INSERT INTO ApiUsage (id, userId, isGuest, endpoint, model, botId, inputTokens, outputTokens, "
            "totalTokens, estimatedCostUSD, durationMs, success, errorMessage, metadata, createdAt) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    }

    void commit(const std::vector<usage_record>& batch) {
        conn_.exec("BEGIN");
        for (const auto& r : batch) {
            meta_.clear();  // encode_metadata appends
            gm::storage::encode_metadata(r, meta_);
            gm::storage::format_iso_ms(r.created_at_ms, iso_);
            insert_.rewind();
            insert_.bind_static(1, r.id)
                .bind_static_or_null(2, r.user_id)
                .bind(3, r.is_guest)
                .bind_static(4, r.endpoint)
                .bind_static(5, r.model)
                .bind_static_or_null(6, r.bot_id)
                .bind(7, r.tokens.prompt)
                .bind(8, r.tokens.candidates + r.tokens.thoughts)
                .bind(9, r.tokens.total)
                .bind(10, static_cast<double>(r.cost_pico_usd) / 1e12)
                .bind(11, r.duration_ms)
                .bind(12, r.success)
                .bind_static_or_null(13, r.error_message)
                .bind_static(14, meta_)
                .bind_static(15, std::string_view(iso_));
            insert_.run();
        }
        conn_.exec("COMMIT");
    }

private:
    gm::storage::sqlite_conn conn_;
    gm::storage::sqlite_stmt insert_;
    std::string meta_;
    char iso_[40] = {};
};

// Writes every batch with `commit` and returns the rate; CPU is the whole process's, so the
// WAL checkpoint thread of the full writer is counted as well.
rate measure(const std::vector<std::vector<usage_record>>& batches, long long rows,
             const std::function<void(const std::vector<usage_record>&)>& commit) {
    const auto w0 = std::chrono::steady_clock::now();
    const double c0 = process_cpu_seconds();
    for (const auto& b : batches) commit(b);
    const double cpu = process_cpu_seconds() - c0;
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
    return {static_cast<double>(rows) / cpu, static_cast<double>(rows) / wall};
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
    const args a = parse(argc, argv);
    constexpr std::int64_t cache_kib = 256 * 1024;  // what storage_fill gives the writer
    gm::demo::usage_generator gen({a.rows, a.days, 50'000, 20});
    std::vector<std::vector<usage_record>> batches;
    for (long long i = 0; i < a.rows;) {
        auto& b = batches.emplace_back();
        for (std::size_t k = 0; k < a.batch && i < a.rows; ++k, ++i) b.push_back(gen.make(i));
    }
    std::printf("writer_ceiling: %lld rows over %d day(s), batches of %zu, %d rounds, files in %s\n", a.rows, a.days,
                a.batch, a.rounds, a.dir.c_str());

    const fs::path db = fs::path(a.dir) / "writer-ceiling.db";
    struct mode {
        const char* name;
        std::vector<double> cpu, wall;
    };
    std::vector<mode> modes{{"bare", {}, {}}, {"spec", {}, {}}, {"full", {}, {}}};
    for (int round = 0; round < a.rounds; ++round) {
        for (auto& m : modes) {
            remove_db(db);
            rate r;
            const std::string name = m.name;
            if (name == "full") {
                gm::storage::migrate(db.string());
                gm::storage::sqlite_batch_inserter inserter(db.string(), 5000, cache_kib);
                r = measure(batches, a.rows, [&](const auto& b) { inserter.commit(b); });
            } else {
                gm::storage::migrate_to(db.string(), 1);
                spec_inserter inserter(db.string(), name == "spec", cache_kib);
                r = measure(batches, a.rows, [&](const auto& b) { inserter.commit(b); });
            }
            m.cpu.push_back(r.per_cpu_second);
            m.wall.push_back(r.per_wall_second);
            std::printf("  round %d %-4s %9.0f rows/CPU-s %9.0f rows/s\n", round + 1, m.name, r.per_cpu_second,
                        r.per_wall_second);
            std::fflush(stdout);
        }
    }
    remove_db(db);

    std::printf("\nmedians over %d rounds (rows per CPU-second / per wall-second):\n", a.rounds);
    const char* what[] = {"specification's table, no index", "specification's table and four indexes",
                          "gemini-meter's writer, current schema"};
    for (std::size_t i = 0; i < modes.size(); ++i)
        std::printf("  %-4s %9.0f / %9.0f   %s\n", modes[i].name, median(modes[i].cpu), median(modes[i].wall), what[i]);
    // Per CPU-second is the figure that holds on a shared machine; per wall-second is what
    // the goal names, and equals it only on an otherwise idle core.
    for (const bool cpu : {true, false}) {
        const double spec = median(cpu ? modes[1].cpu : modes[1].wall);
        const double full = median(cpu ? modes[2].cpu : modes[2].wall);
        std::printf("%s: full / spec %.2f; spec / 200,000 rows/s goal %.2f; full / goal %.2f\n",
                    cpu ? "per CPU-second " : "per wall-second", full / spec, spec / 200'000.0, full / 200'000.0);
    }
    return 0;
}

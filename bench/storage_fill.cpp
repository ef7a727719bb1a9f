// Fills a database with realistic usage rows through the real write path (journal, queue,
// batched writer) and reports the sustained writer throughput.
//   storage_fill [--db PATH] [--rows N] [--days D] [--users U] [--dims K] [--batch N] [--direct]
// Defaults: 10,000,000 rows over the 90 days before now, 50,000 users, 20 models,
// endpoints and bots. Distributions are skewed (Zipf-like), as real traffic is: a few
// models, features and users carry most calls; 40% of calls are guests. --direct bypasses the journal and queue and
// commits batches straight into SQLite (the database's own ceiling). --batch: rows per
// transaction (default 20,000; the writer's own default is 5,000, and under real traffic
// batches are as large as the backlog).
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "app/demo/usage_generator.hpp"
#include "storage/migrations.hpp"
#include "storage/sqlite_batch_inserter.hpp"
#include "storage/sqlite_store.hpp"
#include "storage/utc_time.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

struct args {
    std::string db = "bench-usage.db";
    long long rows = 10'000'000;
    int days = 90;
    int users = 50'000;
    int dims = 20;
    bool direct = false;
    std::size_t batch = 20000;
};

args parse(int argc, char** argv) {
    args a;
    for (int i = 1; i < argc; ++i) {
        const std::string k = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "%s needs a value\n", k.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (k == "--db") a.db = next();
        else if (k == "--rows") a.rows = std::stoll(next());
        else if (k == "--days") a.days = std::stoi(next());
        else if (k == "--users") a.users = std::stoi(next());
        else if (k == "--dims") a.dims = std::stoi(next());
        else if (k == "--direct") a.direct = true;
        else if (k == "--batch") a.batch = std::stoul(next());
        else {
            std::fprintf(stderr, "usage: storage_fill [--db PATH] [--rows N] [--days D] [--users U] [--dims K] [--batch N] [--direct]\n");
            std::exit(2);
        }
    }
    return a;
}

double thread_cpu_seconds() {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double process_cpu_seconds() {
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

double seconds_since(clock_type::time_point t0) {
    return std::chrono::duration<double>(clock_type::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
    const args a = parse(argc, argv);
    std::printf("storage_fill: %lld rows, %d days, %d users, %d models/endpoints/bots -> %s (%s)\n", a.rows, a.days,
                a.users, a.dims, a.db.c_str(), a.direct ? "direct batches" : "journal + queue + writer");
    gm::demo::usage_generator gen({a.rows, a.days, a.users, a.dims});
    const auto t0 = clock_type::now();
    double gen_seconds = 0;
    if (a.direct) {
        gm::storage::migrate(a.db);
        gm::storage::sqlite_batch_inserter inserter(a.db, 5000, 256 * 1024);
        std::vector<gm::metering::usage_record> batch;
        double commit_cpu = 0;
        for (long long i = 0; i < a.rows;) {
            const auto g0 = clock_type::now();
            batch.clear();
            for (std::size_t k = 0; k < a.batch && i < a.rows; ++k, ++i) batch.push_back(gen.make(i));
            gen_seconds += seconds_since(g0);
            const double c0 = process_cpu_seconds();
            inserter.commit(batch);
            commit_cpu += process_cpu_seconds() - c0;
            if (i % 1'000'000 < static_cast<long long>(a.batch)) std::printf("  %lld rows, %.0f rows/s\n", i, i / seconds_since(t0)), std::fflush(stdout);
        }
        std::printf("commit: %.2f us CPU per row (%.1f s), %.0f rows per CPU-second\n",
                    commit_cpu * 1e6 / static_cast<double>(a.rows), commit_cpu,
                    static_cast<double>(a.rows) / commit_cpu);
    } else {
        gm::storage::store_options o;
        o.batch_size = a.batch;
        o.writer_cache_kib = 256 * 1024;
        auto store = gm::storage::sqlite_store::open(a.db, o);
        // Records are made in chunks outside the measured part, so that submit()'s own CPU
        // time (encoding, the journal write, the queue) is measured on this thread's clock.
        std::vector<gm::metering::usage_record> chunk;
        double submit_cpu = 0;
        for (long long i = 0; i < a.rows;) {
            const auto g0 = clock_type::now();
            chunk.clear();
            for (int k = 0; k < 1024 && i < a.rows; ++k, ++i) chunk.push_back(gen.make(i));
            gen_seconds += seconds_since(g0);
            const double c0 = thread_cpu_seconds();
            for (auto& r : chunk) store->sink().submit(std::move(r));
            submit_cpu += thread_cpu_seconds() - c0;
            // The bench's own flow control: keep memory bounded when the producer outruns
            // the writer (the proxy's real rate is far below either).
            while (store->stats().queued > 200'000) std::this_thread::sleep_for(std::chrono::milliseconds(1));
            if (i % 1'000'000 < 1024 && i >= 1'000'000)
                std::printf("  %lld submitted, %llu written, %.0f rows/s\n", i,
                            static_cast<unsigned long long>(store->stats().written),
                            store->stats().written / seconds_since(t0)),
                    std::fflush(stdout);
        }
        store->shutdown();
        const auto s = store->stats();
        std::printf("writer: written %llu, batches %llu, failures %llu, journal errors %llu\n",
                    static_cast<unsigned long long>(s.written), static_cast<unsigned long long>(s.batches),
                    static_cast<unsigned long long>(s.failures), static_cast<unsigned long long>(s.journal_errors));
        const double producer = thread_cpu_seconds();
        const double writer = process_cpu_seconds() - producer;
        std::printf("submit(): %.2f us CPU per record (%.1f s); writer thread: %.2f us CPU per row (%.1f s), "
                    "%.0f rows per writer CPU-second\n",
                    submit_cpu * 1e6 / static_cast<double>(a.rows), submit_cpu,
                    writer * 1e6 / static_cast<double>(a.rows), writer, static_cast<double>(a.rows) / writer);
    }
    const double total = seconds_since(t0);
    std::printf("elapsed %.1f s: %.0f rows/s end to end (generating the records took %.1f s of it%s)\n", total,
                a.rows / total, gen_seconds, a.direct ? ", on the same thread" : ", on the producer thread");
    std::printf("database size: %.1f MiB\n", std::filesystem::file_size(a.db) / 1048576.0);
    return 0;
}

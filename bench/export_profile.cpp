// The CSV export's query-thread work without the server around it: sqlite_queries::export_rows
// over a range, each row rendered by csv_row_writer into one buffer, as admin_session's export
// does (minus the socket). For callgrind, to count instructions per exported row:
//   valgrind --tool=callgrind --toggle-collect='gm::storage::sqlite_queries::export_rows*'
//     export_profile --db COPY.db --minutes 150 --repeat 3
// then divide the total by the rows printed (rows x repeat). Without valgrind it prints the
// time per export and per row (noisy on a shared machine; the instruction count is not).
//   export_profile --db PATH [--start MS] [--minutes N] [--repeat N] [--csv FILE]
// --start defaults to the middle of the database's time span; --csv writes the last export.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "admin_api/csv_export.hpp"
#include "storage/sqlite_conn.hpp"
#include "storage/sqlite_queries.hpp"

int main(int argc, char** argv) {
    std::string db, csv_out;
    std::int64_t start = -1, minutes = 15;
    int repeat = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--db") db = argv[i + 1];
        else if (a == "--start") start = std::atoll(argv[i + 1]);
        else if (a == "--minutes") minutes = std::atoll(argv[i + 1]);
        else if (a == "--repeat") repeat = std::atoi(argv[i + 1]);
        else if (a == "--csv") csv_out = argv[i + 1];
        else {
            std::fprintf(stderr, "unknown option %s\n", a.c_str());
            return 2;
        }
    }
    if (db.empty()) {
        std::fprintf(stderr, "usage: export_profile --db PATH [--start MS] [--minutes N] [--repeat N] [--csv FILE]\n");
        return 2;
    }
    if (start < 0) {
        gm::storage::sqlite_conn c(db, gm::storage::sqlite_conn::mode::read_only);
        auto st = c.prepare("SELECT min(createdAtMs), max(createdAtMs) FROM ApiUsage");
        if (!st.step()) return 1;
        start = (st.col_int(0) + st.col_int(1)) / 2;
    }
    gm::storage::sqlite_queries q(db);
    const gm::storage::time_range range{start, start + minutes * 60'000};
    std::string out;
    std::uint64_t rows = 0;
    double ms_total = 0;
    for (int i = 0; i < repeat; ++i) {
        out.clear();
        rows = 0;
        gm::admin_api::csv_row_writer w;
        out = gm::admin_api::csv_header();
        const auto t0 = std::chrono::steady_clock::now();
        q.export_rows(range, {}, [&](const gm::metering::usage_record& r) {
            w.append(out, r);
            ++rows;
            return true;
        });
        ms_total += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    }
    std::printf("range %lld + %lld min: %llu rows, %zu bytes per export; %.3f ms per export, %.2f us per row\n",
                static_cast<long long>(start), static_cast<long long>(minutes),
                static_cast<unsigned long long>(rows), out.size(), ms_total / repeat,
                rows ? ms_total * 1000 / repeat / static_cast<double>(rows) : 0.0);
    if (!csv_out.empty()) {
        FILE* f = std::fopen(csv_out.c_str(), "wb");
        if (!f) return 1;
        std::fwrite(out.data(), 1, out.size(), f);
        std::fclose(f);
    }
    return 0;
}

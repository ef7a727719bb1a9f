// CPU cost of usage_sink::submit() on the calling thread (what the proxy's I/O threads pay
// per call), and of its parts: encoding the journal record (binary now, the JSON line of
// schema version 2 for comparison) and appending it (memcpy into the mapped segment, or
// one write(2)). Thread CPU time, so time spent waiting for the CPU on a busy machine is
// not counted; page faults and system calls are.
//   storage_submit_bench [--records N] [--dir PATH]
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "storage/journal_codec.hpp"
#include "storage/record_codec.hpp"
#include "storage/sqlite_store.hpp"

namespace {

double thread_cpu_seconds() {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// A typical call: attribution headers, one tag, a streamed response with usage.
gm::metering::usage_record make(int i) {
    gm::metering::usage_record r;
    r.created_at_ms = 1'730'800'000'000 + i;
    r.id = fmt::format("{:012x}{:014x}", r.created_at_ms, i);
    r.user_id = fmt::format("user-{:05}", i % 50'000);
    r.user_email = fmt::format("user{}@example.com", i % 50'000);
    r.is_guest = false;
    r.endpoint = "chat";
    r.bot_id = "g-socratic";
    r.tags = {{"team", "red"}};
    r.http_method = "POST";
    r.model = "gemini-2.5-flash";
    r.gemini_method = "streamGenerateContent";
    r.path = "/v1beta/models/gemini-2.5-flash:streamGenerateContent";
    r.model_version = "gemini-2.5-flash-001";
    r.response_id = fmt::format("resp{:x}", i * 7919);
    r.streamed = true;
    r.http_status = 200;
    r.success = true;
    r.source = gm::metering::usage_source::response;
    r.tokens = {1844, 51, 901, 91, 0, 1986, 0, 0};
    r.priced = true;
    r.cost_pico_usd = 123'456'789;
    r.price_version = "2025-06";
    r.duration_ms = 1200;
    r.ttfb_ms = 300;
    r.request_bytes = 5000;
    r.response_bytes = 9000;
    return r;
}

template <class F>
double per_record_us(int n, F&& f) {
    const double t0 = thread_cpu_seconds();
    for (int i = 0; i < n; ++i) f(i);
    return (thread_cpu_seconds() - t0) * 1e6 / n;
}

}  // namespace

int main(int argc, char** argv) {
    int n = 200'000;
    std::string dir = "/tmp";
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string k = argv[i];
        if (k == "--records") n = std::atoi(argv[i + 1]);
        else if (k == "--dir") dir = argv[i + 1];
    }
    std::vector<gm::metering::usage_record> recs;
    recs.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) recs.push_back(make(i));

    std::string buf;
    std::size_t bytes = 0;
    const double bin = per_record_us(n, [&](int i) {
        buf.clear();
        gm::storage::encode_journal_record(recs[static_cast<std::size_t>(i)], buf);
        bytes += buf.size();
    });
    const std::size_t bin_bytes = bytes / static_cast<std::size_t>(n);
    bytes = 0;
    const double text = per_record_us(n, [&](int i) {
        bytes += gm::storage::encode_journal_line(recs[static_cast<std::size_t>(i)]).size();
    });
    std::printf("storage_submit_bench: %d records, CPU per record on the calling thread\n", n);
    std::printf("  encode, binary record (now)        %6.3f us  (%zu bytes)\n", bin, bin_bytes);
    std::printf("  encode, JSON line (schema v2)      %6.3f us  (%zu bytes)\n", text, bytes / static_cast<std::size_t>(n));

    for (const bool mapped : {true, false}) {
        const std::string db = fmt::format("{}/submit-bench-{}.db", dir, ::getpid());
        {
            gm::storage::store_options o;
            o.journal_mapped = mapped;
            o.batch_size = 20'000;
            auto store = gm::storage::sqlite_store::open(db, o);
            auto copy = recs;  // submit consumes records
            // Chunks of 1000 with a flush between them (not measured): the writer keeps up,
            // as it does behind a proxy, so the queue and the journal stay small, as they
            // do there, instead of growing by the whole run.
            double cpu = 0;
            for (int start = 0; start < n; start += 1000) {
                const int end = std::min(n, start + 1000);
                const double t0 = thread_cpu_seconds();
                for (int i = start; i < end; ++i) store->sink().submit(std::move(copy[static_cast<std::size_t>(i)]));
                cpu += thread_cpu_seconds() - t0;
                store->flush(std::chrono::seconds(60));
            }
            const double us = cpu * 1e6 / n;
            std::printf("  submit(), %s   %6.3f us\n", mapped ? "mapped journal (memcpy)   " : "write(2) per record (v2)  ",
                        us);
            store->shutdown();
        }
        for (const char* suffix : {"", "-wal", "-shm", ".journal.lock"}) std::filesystem::remove(db + suffix);
    }
    return 0;
}

#include "app/demo/demo_history.hpp"

#include <fmt/format.h>

#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

#include "app/demo/demo_catalog.hpp"
#include "app/demo/usage_generator.hpp"
#include "storage/migrations.hpp"
#include "storage/sqlite_batch_inserter.hpp"
#include "storage/sqlite_conn.hpp"
#include "storage/utc_time.hpp"

namespace gm::demo {
namespace {

constexpr std::size_t rows_per_transaction = 5000;
constexpr int busy_timeout_ms = 5000;
constexpr std::int64_t writer_cache_kib = 16 * 1024;

void check_positive(long long value, const char* name) {
    if (value <= 0) throw std::invalid_argument(fmt::format("demo history: {} must be > 0, got {}", name, value));
}

// How many calls each day gets, summing to days x calls_per_day: weekends are quieter, usage
// grows over the span (by about two thirds from the first day to the last), and no two days
// are alike, so the daily chart and the projections look like an app's.
std::vector<long long> daily_calls(int days, int calls_per_day, std::int64_t first_day) {
    std::mt19937_64 rng(2026);
    std::vector<double> cumulative{0};
    for (int d = 0; d < days; ++d) {
        const std::int64_t weekday = (first_day + d + 4) % 7;  // 1970-01-01 was a Thursday; 0: Sunday
        const double weekend = weekday == 0 || weekday == 6 ? 0.55 : 1.0;
        const double growth = 0.75 + 0.5 * (days > 1 ? static_cast<double>(d) / (days - 1) : 1.0);
        const double noise = std::uniform_real_distribution<double>(0.9, 1.1)(rng);
        cumulative.push_back(cumulative.back() + weekend * growth * noise);
    }
    const double total = static_cast<double>(days) * calls_per_day;
    std::vector<long long> out;
    for (int d = 0; d < days; ++d) {
        const auto upto = [&](int k) { return std::llround(total * cumulative[static_cast<std::size_t>(k)] / cumulative.back()); };
        out.push_back(upto(d + 1) - upto(d));
    }
    return out;
}

long long count_calls(const std::string& db_path) {
    storage::sqlite_conn conn(db_path, storage::sqlite_conn::mode::read_only, busy_timeout_ms);
    auto st = conn.prepare("SELECT COUNT(*) FROM ApiUsage");
    st.step();
    return st.col_int(0);
}

}  // namespace

history_result fill_history(const std::string& db_path, const history_options& options, std::int64_t now_ms,
                            const metering::pricing_table& table) {
    check_positive(options.days, "days");
    check_positive(options.calls_per_day, "calls_per_day");
    check_positive(options.users, "users");

    // The schema first: an empty file, or none, becomes an empty current database.
    storage::migrate(db_path);

    history_result out;
    out.existing_rows = count_calls(db_path);
    if (out.existing_rows > 0) {
        out.message = fmt::format("demo history: {} already holds {} calls; left as it is, no history added", db_path,
                                  out.existing_rows);
        return out;
    }

    // Whole UTC days ending where today begins: the live traffic fills today.
    out.end_ms = storage::day_start_ms(storage::utc_day(now_ms));
    out.start_ms = out.end_ms - static_cast<std::int64_t>(options.days) * storage::ms_per_day;
    const auto per_day = daily_calls(options.days, options.calls_per_day, storage::utc_day(out.start_ms));
    const long long rows = static_cast<long long>(options.days) * options.calls_per_day;

    const demo_catalog cat = make_demo_catalog(options.users);
    record_names names;
    names.models = cat.models;
    names.endpoints = cat.endpoints;
    names.bots = cat.bots;
    names.teams = cat.teams;
    names.user_ids = cat.user_ids;
    names.user_emails = cat.user_emails;
    names.chat_like = cat.chat_like;
    usage_generator gen({rows, options.days, options.users, 0}, std::move(names), table, out.start_ms, per_day);

    storage::sqlite_batch_inserter inserter(db_path, busy_timeout_ms, writer_cache_kib);
    std::vector<metering::usage_record> batch;
    batch.reserve(rows_per_transaction);
    for (long long i = 0; i < rows;) {
        batch.clear();
        for (; batch.size() < rows_per_transaction && i < rows; ++i) batch.push_back(gen.make(i));
        out.rows += static_cast<long long>(inserter.commit(batch));
    }
    out.filled = true;
    out.message = fmt::format("demo history: {} calls over the {} days {} .. {} written to {}", out.rows, options.days,
                              storage::format_date(storage::utc_day(out.start_ms)),
                              storage::format_date(storage::utc_day(out.end_ms - 1)), db_path);
    return out;
}

}  // namespace gm::demo

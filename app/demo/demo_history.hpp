#pragma once
// Fills an empty usage database with made-up days of calls before the demo serves, so that
// the dashboard's daily chart, top lists and projections have something to show at once.
// The records are the skewed kind the storage benchmarks write (usage_generator), named
// from the demo catalog as the live demo traffic is and priced by the given price table,
// and they are committed through storage's real write path (migrations, then the batch
// inserter's transactions, rollups included). A database that already has calls is left as
// it is: the demo never mixes made-up history into real data.
#include <cstdint>
#include <string>

#include "metering/pricing_table.hpp"

namespace gm::demo {

struct history_options {
    int days = 30;             // whole UTC days before today's
    int calls_per_day = 400;   // on average: weekends are quieter, later days busier
    int users = 60;            // registered users named (guests aside)
};

struct history_result {
    bool filled = false;          // false: the database already had calls, nothing was written
    long long existing_rows = 0;  // calls found before filling (0 when filled)
    long long rows = 0;           // calls written
    std::int64_t start_ms = 0;    // the span written, [start_ms, end_ms): whole UTC days
    std::int64_t end_ms = 0;
    std::string message;          // one line saying which of the two happened, for the log
};

// Throws std::invalid_argument naming the option (days, calls_per_day, users) when one is
// <= 0; storage's exceptions (sqlite_error, std::runtime_error) when the database cannot be
// migrated or written. now_ms: the history ends at the start of now_ms's UTC day.
history_result fill_history(const std::string& db_path, const history_options& options, std::int64_t now_ms,
                            const metering::pricing_table& table = metering::pricing_table::builtin());

}  // namespace gm::demo

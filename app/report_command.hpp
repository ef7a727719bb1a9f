#pragma once
// `gemini-meter report`: reads the database named by --database (never creating, migrating
// or writing it) and prints the usage summary of app/usage_report for the range and filters
// given. The range and filters are checked by the admin API's own parameter rules, so the
// command and the API accept and refuse the same values.
#include <cstdint>
#include <ostream>

#include "app/config.hpp"

namespace gm::app {

// Throws config_error for a bad --start/--end/--filter/--limit/--format (the caller exits 2)
// and std::runtime_error when the database is missing, unreadable or at another schema
// version (exit 1).
void run_report(const app_config& c, std::int64_t now_ms, std::ostream& out);

}  // namespace gm::app

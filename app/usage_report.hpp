#pragma once
// `gemini-meter report`: what the admin API's stats, top-users and projections answer, read
// straight from the database and printed for a shell — as aligned text, or as one JSON
// object holding the three endpoints' own documents (the same shapes, so scripts can use
// either).
#include <string>
#include <vector>

#include "storage/usage_queries.hpp"

namespace gm::app {

struct usage_report {
    storage::time_range range;
    std::vector<std::string> filters;  // "name=value" as given, for the heading
    storage::usage_stats stats;
    std::vector<storage::user_usage> top_users;
    int top_limit = 10;
    storage::projection projection;
};

std::string render_report_text(const usage_report& r);
std::string render_report_json(const usage_report& r);

}  // namespace gm::app

#include "app/report_command.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <stdexcept>
#include <string_view>

#include "admin_api/api_query.hpp"
#include "app/usage_report.hpp"
#include "storage/migrations.hpp"
#include "storage/sqlite_queries.hpp"

namespace gm::app {

namespace {

constexpr std::array<std::string_view, 6> filter_names = {"model", "endpoint", "botId", "userId", "guest", "tag"};

// The admin API's parameter names, from the command's flags.
admin_api::query_params to_params(const app_config& c) {
    admin_api::query_params params;
    if (!c.report_start.empty()) params.emplace_back("startDate", c.report_start);
    if (!c.report_end.empty()) params.emplace_back("endDate", c.report_end);
    if (!c.report_limit.empty()) params.emplace_back("limit", c.report_limit);
    for (const auto& f : c.report_filters) {
        const auto eq = f.find('=');
        const auto name = f.substr(0, eq);
        if (eq == std::string::npos || std::find(filter_names.begin(), filter_names.end(), name) == filter_names.end())
            throw config_error(fmt::format("--filter: '{}' must be NAME=VALUE with NAME one of {}", f,
                                           fmt::join(filter_names, ", ")));
        params.emplace_back(name, f.substr(eq + 1));
    }
    return params;
}

std::string flag_of(const std::string& parameter) {
    if (parameter == "startDate") return "--start";
    if (parameter == "endDate") return "--end";
    if (parameter == "limit") return "--limit";
    return "--filter " + parameter;
}

}  // namespace

void run_report(const app_config& c, std::int64_t now_ms, std::ostream& out) {
    if (c.report_format != "text" && c.report_format != "json")
        throw config_error(fmt::format("--format: '{}' must be text or json", c.report_format));
    admin_api::query_limits limits;
    limits.max_range_days = c.max_range_days;
    // top-users takes the range, the filters and the limit: everything the report asks.
    const auto parsed = admin_api::parse_api_query(admin_api::route_id::top_users, to_params(c), limits, now_ms);
    if (const auto* e = std::get_if<admin_api::param_error>(&parsed))
        throw config_error(fmt::format("{}: {} (allowed: {})", flag_of(e->parameter), e->message, e->allowed));
    const auto& q = std::get<admin_api::api_query>(parsed);

    const auto path = c.sqlite_path();
    if (!std::filesystem::exists(path))
        throw std::runtime_error(fmt::format("database {} does not exist", path));
    const auto schema = storage::migration_state(path);
    if (!schema.up_to_date())
        throw std::runtime_error(fmt::format(
            "database {} is at schema version {}, this gemini-meter reads version {}{}", path, schema.current,
            schema.latest, schema.current < schema.latest ? ": run `gemini-meter migrate` first" : ""));

    storage::sqlite_queries reader(path);
    usage_report r;
    r.range = q.range;
    r.filters = c.report_filters;
    r.top_limit = q.limit;
    r.stats = reader.stats(q.range, q.filter);
    r.top_users = reader.top_users(q.range, q.filter, q.limit);
    r.projection = reader.projections(now_ms, q.filter);
    out << (c.report_format == "json" ? render_report_json(r) : render_report_text(r));
}

}  // namespace gm::app

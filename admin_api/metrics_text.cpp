#include "admin_api/metrics_text.hpp"

#include <fmt/format.h>

#include <map>
#include <tuple>

#include "admin_api/admin_server.hpp"

namespace gm::admin_api {

namespace {

void help(std::string& out, std::string_view name, std::string_view type, std::string_view text) {
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, text, name, type);
}

// pico-USD to a float only here, at the edge: the sums behind it are exact integers.
std::string usd(std::int64_t pico) {
    return fmt::format("{}", static_cast<double>(pico) / 1e12);
}

std::string seconds(std::int64_t ms) {
    return fmt::format("{}", static_cast<double>(ms) / 1e3);
}

void histogram(std::string& out, std::string_view name, std::string_view text, const metering::histogram_snapshot& h) {
    help(out, name, "histogram", text);
    for (std::size_t i = 0; i < h.bounds_ms.size(); ++i)
        fmt::format_to(std::back_inserter(out), "{}_bucket{{le=\"{}\"}} {}\n", name, seconds(h.bounds_ms[i]), h.cumulative[i]);
    fmt::format_to(std::back_inserter(out), "{}_bucket{{le=\"+Inf\"}} {}\n{}_sum {}\n{}_count {}\n", name, h.count,
                   name, seconds(h.sum_ms), name, h.count);
}

}  // namespace

std::string escape_label(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

std::string render_metrics(const metering::call_metrics_snapshot* calls, const health_snapshot* health,
                           const admin_counters& admin) {
    std::string out;
    auto o = std::back_inserter(out);
    if (calls) {
        using metering::token_kind;
        help(out, "gemini_meter_calls_total", "counter", "Calls relayed, by model, endpoint, HTTP status class and ending.");
        for (const auto& s : calls->series)
            fmt::format_to(o, "gemini_meter_calls_total{{model=\"{}\",endpoint=\"{}\",status_class=\"{}\",ending=\"{}\"}} {}\n",
                           escape_label(s.model), escape_label(s.endpoint), s.status_class, s.ending, s.calls);

        // Token, cost and unpriced sums are summed over status and ending: fewer series.
        struct sums {
            std::array<std::int64_t, static_cast<std::size_t>(token_kind::count_)> tokens{};
            std::int64_t cost = 0, unpriced = 0;
        };
        std::map<std::pair<std::string, std::string>, sums> by_pair;
        std::map<std::pair<std::string, std::string>, std::int64_t> errors;  // (model, ending)
        for (const auto& s : calls->series) {
            auto& a = by_pair[{s.model, s.endpoint}];
            for (std::size_t k = 0; k < a.tokens.size(); ++k) a.tokens[k] += s.tokens[k];
            a.cost += s.cost_pico_usd;
            a.unpriced += s.unpriced_calls;
            if (s.ending != "completed") errors[{s.model, s.ending}] += s.calls;
        }
        help(out, "gemini_meter_tokens_total", "counter", "Tokens reported by Gemini, by model, endpoint and kind.");
        for (const auto& [k, a] : by_pair)
            for (std::size_t i = 0; i < a.tokens.size(); ++i)
                fmt::format_to(o, "gemini_meter_tokens_total{{model=\"{}\",endpoint=\"{}\",kind=\"{}\"}} {}\n",
                               escape_label(k.first), escape_label(k.second),
                               metering::to_string(static_cast<token_kind>(i)), a.tokens[i]);
        help(out, "gemini_meter_cost_usd_total", "counter", "Estimated cost in USD, by model and endpoint.");
        for (const auto& [k, a] : by_pair)
            fmt::format_to(o, "gemini_meter_cost_usd_total{{model=\"{}\",endpoint=\"{}\"}} {}\n", escape_label(k.first),
                           escape_label(k.second), usd(a.cost));
        help(out, "gemini_meter_unpriced_calls_total", "counter", "Calls whose model is missing from the price table.");
        for (const auto& [k, a] : by_pair)
            fmt::format_to(o, "gemini_meter_unpriced_calls_total{{model=\"{}\",endpoint=\"{}\"}} {}\n",
                           escape_label(k.first), escape_label(k.second), a.unpriced);
        help(out, "gemini_meter_upstream_errors_total", "counter",
             "Calls that did not complete (unreachable, timeout, broken, client gone, rejected), by model and ending.");
        for (const auto& [k, n] : errors)
            fmt::format_to(o, "gemini_meter_upstream_errors_total{{model=\"{}\",ending=\"{}\"}} {}\n",
                           escape_label(k.first), k.second, n);
        help(out, "gemini_meter_usage_problems_total", "counter", "Calls whose usage could not be read cleanly.");
        fmt::format_to(o, "gemini_meter_usage_problems_total {}\n", calls->usage_problems);
        help(out, "gemini_meter_series_overflow_total", "counter", "Calls counted under model and endpoint \"_other\" because the series limit was reached.");
        fmt::format_to(o, "gemini_meter_series_overflow_total {}\n", calls->overflowed_calls);
        histogram(out, "gemini_meter_request_duration_seconds", "First request byte to last response byte.", calls->duration);
        histogram(out, "gemini_meter_time_to_first_byte_seconds", "First request byte to first response byte.", calls->ttfb);
    }
    if (health) {
        help(out, "gemini_meter_writer_queued", "gauge", "Records waiting for the writer thread.");
        fmt::format_to(o, "gemini_meter_writer_queued {}\n", health->queued);
        help(out, "gemini_meter_writer_written_total", "counter", "Records committed to the database.");
        fmt::format_to(o, "gemini_meter_writer_written_total {}\n", health->written);
        help(out, "gemini_meter_writer_batches_total", "counter", "Transactions committed by the writer.");
        fmt::format_to(o, "gemini_meter_writer_batches_total {}\n", health->batches);
        help(out, "gemini_meter_writer_failures_total", "counter", "Failed write attempts.");
        fmt::format_to(o, "gemini_meter_writer_failures_total {}\n", health->failures);
        help(out, "gemini_meter_journal_backlog", "gauge", "Records in the journal not yet committed.");
        fmt::format_to(o, "gemini_meter_journal_backlog {}\n", health->journal_backlog);
        help(out, "gemini_meter_journal_only", "gauge",
             "Of the journal backlog, records held only in the journal (the writer's memory queue was full); read back once the database is writable.");
        fmt::format_to(o, "gemini_meter_journal_only {}\n", health->journal_only);
        help(out, "gemini_meter_journal_errors_total", "counter", "Journal writes that failed (those records were held only in memory).");
        fmt::format_to(o, "gemini_meter_journal_errors_total {}\n", health->journal_errors);
        help(out, "gemini_meter_database_writable", "gauge", "1 when the last write to the database succeeded.");
        fmt::format_to(o, "gemini_meter_database_writable {}\n", health->db_writable ? 1 : 0);
        help(out, "gemini_meter_upstream_reachable", "gauge", "1 when the upstream answered the last attempt.");
        fmt::format_to(o, "gemini_meter_upstream_reachable {}\n", health->upstream_reachable ? 1 : 0);
    }
    help(out, "gemini_meter_admin_requests_total", "counter", "Requests served by the admin listener.");
    fmt::format_to(o, "gemini_meter_admin_requests_total {}\n", admin.requests);
    help(out, "gemini_meter_admin_auth_failures_total", "counter", "Admin requests refused for a missing or wrong token.");
    fmt::format_to(o, "gemini_meter_admin_auth_failures_total {}\n", admin.auth_failures);
    help(out, "gemini_meter_admin_rate_limited_total", "counter", "Admin requests refused because the address failed too often.");
    fmt::format_to(o, "gemini_meter_admin_rate_limited_total {}\n", admin.rate_limited);
    help(out, "gemini_meter_admin_query_errors_total", "counter", "Admin queries that failed in storage.");
    fmt::format_to(o, "gemini_meter_admin_query_errors_total {}\n", admin.query_errors);
    help(out, "gemini_meter_admin_exports_total", "counter",
         "CSV exports by outcome: complete, abandoned (the client went away or stopped reading), stopped (server stop), failed (storage).");
    fmt::format_to(o, "gemini_meter_admin_exports_total{{outcome=\"complete\"}} {}\n", admin.exports_complete);
    fmt::format_to(o, "gemini_meter_admin_exports_total{{outcome=\"abandoned\"}} {}\n", admin.exports_abandoned);
    fmt::format_to(o, "gemini_meter_admin_exports_total{{outcome=\"stopped\"}} {}\n", admin.exports_stopped);
    fmt::format_to(o, "gemini_meter_admin_exports_total{{outcome=\"failed\"}} {}\n", admin.exports_failed);
    return out;
}

}  // namespace gm::admin_api

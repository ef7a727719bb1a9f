#include "app/usage_report.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "admin_api/iso_time.hpp"
#include "admin_api/json_render.hpp"

namespace gm::app {

namespace {

using storage::keyed_totals;
using storage::usage_totals;

std::string average_ms(const usage_totals& t) {
    if (t.duration_count == 0) return "-";
    return fmt::format("{} ms", admin_api::scale_rounded(t.duration_ms_sum, 1, t.duration_count));
}

// Most expensive first, then most calls, then by name: the order an operator scans in.
std::vector<keyed_totals> by_cost(std::vector<keyed_totals> groups) {
    std::stable_sort(groups.begin(), groups.end(), [](const keyed_totals& a, const keyed_totals& b) {
        if (a.totals.cost_pico_usd != b.totals.cost_pico_usd) return a.totals.cost_pico_usd > b.totals.cost_pico_usd;
        if (a.totals.calls != b.totals.calls) return a.totals.calls > b.totals.calls;
        return a.key < b.key;
    });
    return groups;
}

void breakdown(std::string& out, std::string_view title, const std::vector<keyed_totals>& groups) {
    out += fmt::format("\n{:<32} {:>10} {:>8} {:>14} {:>14} {:>18}\n", title, "calls", "failed", "input tokens",
                       "output tokens", "cost USD");
    if (groups.empty()) out += "  (no calls)\n";
    for (const auto& g : by_cost(groups)) {
        out += fmt::format("  {:<30} {:>10} {:>8} {:>14} {:>14} {:>18}",
                           g.key.empty() ? std::string(admin_api::none_key) : g.key, g.totals.calls,
                           g.totals.failed_calls, g.totals.input_tokens, g.totals.output_tokens,
                           admin_api::usd_fixed(g.totals.cost_pico_usd));
        // A cost without these calls' share must not pass for the whole cost.
        if (g.totals.unpriced_calls > 0) out += fmt::format("  ({} unpriced)", g.totals.unpriced_calls);
        out += '\n';
    }
}

}  // namespace


std::string render_report_text(const usage_report& r) {
    const auto& t = r.stats.totals;
    std::string out;
    out += fmt::format("gemini-meter usage report\n");
    out += fmt::format("range         {} .. {} (UTC, end excluded)\n", admin_api::format_iso_ms(r.range.start_ms),
                       admin_api::format_iso_ms(r.range.end_ms));
    out += fmt::format("filters       {}\n\n", r.filters.empty() ? std::string("none") : fmt::format("{}", fmt::join(r.filters, ", ")));
    out += fmt::format("calls         {} ({} successful, {} failed; {} guest, {} registered)\n", t.calls,
                       t.successful_calls, t.failed_calls, t.guest_calls, t.registered_calls);
    out += fmt::format("tokens        {} input, {} output, {} total ({} cached, {} thinking)\n", t.input_tokens,
                       t.output_tokens, t.total_tokens, t.cached_tokens, t.thoughts_tokens);
    out += fmt::format("cost          {} USD ({} pico-USD)\n", admin_api::usd_fixed(t.cost_pico_usd), t.cost_pico_usd);
    if (t.unpriced_calls > 0)
        out += fmt::format("unpriced      {} calls of models the price table does not know: tokens recorded, no cost\n",
                           t.unpriced_calls);
    out += fmt::format("avg duration  {}\n", average_ms(t));

    breakdown(out, "by model", r.stats.by_model);
    breakdown(out, "by endpoint", r.stats.by_endpoint);
    breakdown(out, "by bot", r.stats.by_bot);

    out += fmt::format("\n{:<32} {:>10} {:>14} {:>18}\n", fmt::format("top users (up to {})", r.top_limit), "calls",
                       "total tokens", "cost USD");
    if (r.top_users.empty()) out += "  (no registered user called)\n";
    for (const auto& u : r.top_users) {
        const auto who = u.email.empty() ? u.user_id : fmt::format("{} <{}>", u.user_id, u.email);
        out += fmt::format("  {:<30} {:>10} {:>14} {:>18}\n", who, u.totals.calls, u.totals.total_tokens,
                           admin_api::usd_fixed(u.totals.cost_pico_usd));
    }

    // The admin API's projection arithmetic: from the exact baseline sums, × 1 / days and × 30 / days.
    const auto& p = r.projection;
    const std::int64_t days = p.baseline_days > 0 ? p.baseline_days : 7;
    const auto& b = p.baseline_totals;
    out += fmt::format("\nprojection    from the {} days {} .. {}\n", days, admin_api::format_iso_date(p.baseline.start_ms),
                       admin_api::format_iso_date(p.baseline.end_ms - 1));
    out += fmt::format("  per day     {} USD, {} calls\n", admin_api::usd_fixed(admin_api::scale_rounded(b.cost_pico_usd, 1, days)),
                       admin_api::scale_rounded(b.calls, 1, days));
    out += fmt::format("  30 days     {} USD, {} calls\n", admin_api::usd_fixed(admin_api::scale_rounded(b.cost_pico_usd, 30, days)),
                       admin_api::scale_rounded(b.calls, 30, days));
    return out;
}

std::string render_report_json(const usage_report& r) {
    // Each part is a complete JSON document already; the report only nests them.
    return fmt::format("{{\"stats\":{},\"topUsers\":{},\"projections\":{}}}\n",
                       admin_api::render_stats(r.range, r.stats), admin_api::render_top_users(r.range, r.top_users),
                       admin_api::render_projections(r.projection));
}

}  // namespace gm::app

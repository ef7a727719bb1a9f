#include "metering/record_finisher.hpp"

namespace gm::metering {

void apply_usage(usage_record& rec, const tap_result& tap, const pricing_table& table) {
    rec.source = tap.source;
    rec.tokens = tap.has_usage ? tap.tokens : token_counts{};
    if (!tap.model_version.empty()) rec.model_version = tap.model_version;
    if (!tap.response_id.empty()) rec.response_id = tap.response_id;
    if (rec.model.empty() && !rec.model_version.empty()) rec.model = rec.model_version;
    for (const auto& p : tap.problems) rec.problems.push_back(p);
    if (rec.error_message.empty() && !tap.error_message.empty()) rec.error_message = tap.error_message;

    const bool never_answered = rec.ending == call_ending::upstream_unreachable ||
                                rec.ending == call_ending::upstream_timeout ||
                                rec.ending == call_ending::rejected;
    rec.partial = !never_answered && !tap.finished;

    rec.price_version = table.version();
    rec.priced = false;
    rec.cost_pico_usd = 0;
    if (!tap.has_usage) return;

    price_result pr;
    if (!rec.model_version.empty()) pr = table.price(rec.model_version, rec.tokens);
    if (!pr.priced && !rec.model.empty() && rec.model != rec.model_version) {
        price_result by_request = table.price(rec.model, rec.tokens);
        if (by_request.priced || rec.model_version.empty()) pr = std::move(by_request);
    }
    if (rec.model.empty() && rec.model_version.empty()) pr.problem = "no model name to price with";
    rec.priced = pr.priced;
    rec.cost_pico_usd = pr.priced ? pr.cost_pico_usd : 0;
    if (!pr.priced && !pr.problem.empty()) rec.problems.push_back(pr.problem);
}

}  // namespace gm::metering

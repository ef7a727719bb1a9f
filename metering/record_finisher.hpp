#pragma once
// Moves what the response tap found into the record and prices it.
#include "metering/pricing_table.hpp"
#include "metering/response_tap.hpp"
#include "metering/usage_record.hpp"

namespace gm::metering {

// Fills tokens, source, model_version, response_id, problems, cost, priced,
// price_version, partial and (if the proxy set none) error_message.
// Pricing key: the response's modelVersion when the table knows it, else rec.model.
// No usage: cost 0 and priced = false (the cost is unknown, not zero), source none.
// partial = the response did not finish (no finishReason on a stream, or a body cut
// short) and the call got as far as the upstream answering.
void apply_usage(usage_record& rec, const tap_result& tap, const pricing_table& table);

}  // namespace gm::metering

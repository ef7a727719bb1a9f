#pragma once
// The X-Meter-* request headers of ARCHITECTURE.md: read into the record, then removed so
// that they never reach Google.
#include "metering/usage_record.hpp"
#include "proxy/header_fields.hpp"

namespace gm::proxy {

// Moves every X-Meter-* field of `fields` into `record` and erases it. Defaults: guest when
// no user id, endpoint left empty (the caller falls back to the Gemini method).
void take_attribution(header_fields& fields, metering::usage_record& record);

}  // namespace gm::proxy

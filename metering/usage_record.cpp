#include "metering/usage_record.hpp"

namespace gm::metering {

// Stable names: they are stored in the database and shown on the dashboard.
const char* to_string(call_ending e) noexcept {
    switch (e) {
        case call_ending::completed: return "completed";
        case call_ending::upstream_unreachable: return "upstream_unreachable";
        case call_ending::upstream_timeout: return "upstream_timeout";
        case call_ending::client_gone: return "client_gone";
        case call_ending::upstream_broken: return "upstream_broken";
        case call_ending::rejected: return "rejected";
    }
    return "unknown";
}

const char* to_string(usage_source s) noexcept {
    switch (s) {
        case usage_source::response: return "response";
        case usage_source::none: return "none";
        case usage_source::estimated: return "estimated";
    }
    return "unknown";
}

}  // namespace gm::metering

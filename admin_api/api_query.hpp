#pragma once
// Turns the decoded query parameters of one /api/api-usage/* request into a validated
// query, or into the first problem found (a 400 naming the parameter and what is allowed).
// Values only ever reach storage as fields of these structs, never as SQL text.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "admin_api/admin_routes.hpp"
#include "storage/usage_queries.hpp"

namespace gm::admin_api {

struct api_query {
    route_id route = route_id::stats;
    storage::time_range range;     // the range asked for (compare: the current one)
    storage::time_range baseline;  // compare only: the range compared against
    storage::usage_filter filter;
    int limit = 0;                 // top-users, recent
    std::optional<storage::recent_cursor> before;  // recent
    std::int64_t now_ms = 0;
};

struct param_error {
    std::string parameter;  // "" when the problem is not one parameter's
    std::string message;
    std::string allowed;
};

struct query_limits {
    int max_range_days = 400;
};

using query_params = std::vector<std::pair<std::string, std::string>>;

std::variant<api_query, param_error> parse_api_query(route_id route, const query_params& params,
                                                     const query_limits& limits, std::int64_t now_ms);

// The recent endpoint's keyset cursor, opaque to clients (base64url of "ms:id").
std::string encode_cursor(const storage::recent_cursor& c);
std::optional<storage::recent_cursor> decode_cursor(std::string_view text);

}  // namespace gm::admin_api

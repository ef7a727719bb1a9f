#pragma once
// Runs one validated /api/api-usage/* query against a reader and renders the JSON
// response. Called on a query thread; the export endpoint is streamed by the session
// instead and does not come here.
#include <functional>
#include <string>

#include "admin_api/admin_response.hpp"
#include "admin_api/api_query.hpp"
#include "storage/usage_queries.hpp"

namespace gm::admin_api {

// pricing_json may be empty (pricing then answers 503). Storage exceptions propagate.
admin_response run_api_query(const api_query& q, storage::usage_queries* reader,
                             const std::function<std::string()>& pricing_json);

// Whether the route needs a storage reader (pricing does not).
bool needs_reader(route_id r) noexcept;

}  // namespace gm::admin_api

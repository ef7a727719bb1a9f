#include "admin_api/api_handler.hpp"

#include <stdexcept>

#include "admin_api/json_render.hpp"

namespace gm::admin_api {

bool needs_reader(route_id r) noexcept { return r != route_id::pricing; }

admin_response run_api_query(const api_query& q, storage::usage_queries* reader,
                             const std::function<std::string()>& pricing_json) {
    admin_response res;
    if (needs_reader(q.route) && !reader) throw std::logic_error("run_api_query: no reader");
    switch (q.route) {
    case route_id::stats:
        res.body = render_stats(q.range, reader->stats(q.range, q.filter));
        break;
    case route_id::daily:
        res.body = render_daily(q.range, reader->daily(q.range, q.filter));
        break;
    case route_id::top_users:
        res.body = render_top_users(q.range, reader->top_users(q.range, q.filter, q.limit));
        break;
    case route_id::recent:
        res.body = render_recent(reader->recent(q.filter, q.limit, q.before));
        break;
    case route_id::projections:
        res.body = render_projections(reader->projections(q.now_ms, q.filter));
        break;
    case route_id::compare: {
        auto current = reader->stats(q.range, q.filter);
        auto baseline = reader->stats(q.baseline, q.filter);
        res.body = render_compare(q.range, current, q.baseline, baseline);
        break;
    }
    case route_id::pricing:
        if (!pricing_json) return json_error(503, "the price table is not available");
        res.body = pricing_json();
        break;
    default:
        throw std::logic_error("run_api_query: route is not a query");
    }
    return res;
}

}  // namespace gm::admin_api

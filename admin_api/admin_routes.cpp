#include "admin_api/admin_routes.hpp"

#include <utility>

namespace gm::admin_api {

const route* find_route(std::string_view path) noexcept {
    static const std::pair<std::string_view, route> table[] = {
        {"/api/api-usage/stats", {route_id::stats, true, false}},
        {"/api/api-usage/daily", {route_id::daily, true, false}},
        {"/api/api-usage/top-users", {route_id::top_users, true, false}},
        {"/api/api-usage/recent", {route_id::recent, true, false}},
        {"/api/api-usage/projections", {route_id::projections, true, false}},
        {"/api/api-usage/export", {route_id::export_csv, true, true}},
        {"/api/api-usage/compare", {route_id::compare, true, false}},
        {"/api/api-usage/pricing", {route_id::pricing, true, false}},
        {"/healthz", {route_id::healthz, false, false}},
        {"/readyz", {route_id::readyz, false, false}},
        {"/metrics", {route_id::metrics, false, false}},
        {"/", {route_id::dashboard_html, false, false}},
        {"/dashboard", {route_id::dashboard_html, false, false}},
        {"/dashboard/", {route_id::dashboard_html, false, false}},
        {"/dashboard/app.js", {route_id::dashboard_js, false, false}},
    };
    for (const auto& [p, r] : table)
        if (p == path) return &r;
    return nullptr;
}

}  // namespace gm::admin_api

#pragma once
// The admin listener's path table. Every route answers GET (and OPTIONS for CORS);
// anything else is 405 with an Allow field.
#include <string_view>

namespace gm::admin_api {

enum class route_id {
    stats, daily, top_users, recent, projections, export_csv, compare, pricing,  // /api/api-usage/*
    healthz, readyz, metrics, dashboard_html, dashboard_js,
};

struct route {
    route_id id;
    bool api;           // needs a bearer token, answered from the query pool
    bool streamed;      // body written in chunks (the CSV export)
};

// nullptr: unknown path (404).
const route* find_route(std::string_view path) noexcept;

constexpr std::string_view allowed_methods = "GET, OPTIONS";

}  // namespace gm::admin_api

#pragma once
// The dashboard's files, compiled into the binary (generated from admin_api/dashboard/ at
// configure time) so that the listener serves them without a path to find at run time.
#include <string_view>

namespace gm::admin_api {

std::string_view dashboard_html() noexcept;
std::string_view dashboard_js() noexcept;

}  // namespace gm::admin_api

#pragma once
// Command-line dates (reprice --since/--until): YYYY-MM-DD, UTC midnight in epoch ms.
#include <cstdint>
#include <string>

namespace gm::app {

// Throws config_error naming the flag.
std::int64_t parse_utc_date(const std::string& flag, const std::string& value);

}  // namespace gm::app

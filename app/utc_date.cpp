#include "app/utc_date.hpp"

#include <chrono>
#include <cstdio>

#include "app/config.hpp"

namespace gm::app {

std::int64_t parse_utc_date(const std::string& flag, const std::string& value) {
    int y = 0, m = 0, d = 0;
    char tail = 0;
    if (value.size() != 10 || std::sscanf(value.c_str(), "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3)
        throw config_error("--" + flag + ": '" + value + "' is not a date YYYY-MM-DD");
    const std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(static_cast<unsigned>(m)),
                                          std::chrono::day(static_cast<unsigned>(d))};
    if (!ymd.ok())
        throw config_error("--" + flag + ": '" + value + "' is not a valid calendar date");
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::sys_days(ymd).time_since_epoch())
        .count();
}

}  // namespace gm::app

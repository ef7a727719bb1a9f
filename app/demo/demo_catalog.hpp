#pragma once
// The names the demo's history and its live traffic share (models, features, bots, users,
// teams), so that the dashboard shows one app: live calls land on the users, endpoints and
// models that the history already has.
#include <string>
#include <vector>

namespace gm::demo {

struct demo_catalog {
    std::vector<std::string> models;     // generative models of the built-in price table, most used first
    std::vector<std::string> endpoints;  // X-Meter-Endpoint values; the first chat_like ones have bots
    std::vector<std::string> bots;       // X-Meter-Bot-Id values
    std::vector<std::string> teams;      // X-Meter-Tag-Team values
    int chat_like = 2;

    std::vector<std::string> user_ids;     // X-Meter-User-Id values
    std::vector<std::string> user_emails;  // X-Meter-User-Email, one per user id
};

// users: how many user ids (and emails) to name. Throws std::invalid_argument when users <= 0.
demo_catalog make_demo_catalog(int users);

}  // namespace gm::demo

#include "app/demo/demo_catalog.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <stdexcept>
#include <string_view>

#include "metering/pricing_table.hpp"

namespace gm::demo {
namespace {

// How much a typical app uses each model: cheap fast models carry most calls. Models of the
// table that are not listed here follow in the table's order; models it no longer has are
// skipped, so the demo never sends a model the proxy cannot price.
constexpr std::array<std::string_view, 9> preferred_models = {
    "gemini-2.5-flash",      "gemini-2.5-flash-lite", "gemini-2.0-flash",
    "gemini-2.5-pro",        "gemini-3-flash-preview", "gemini-3-pro-preview",
    "gemini-2.0-flash-lite", "gemini-1.5-flash",      "gemini-1.5-pro"};

constexpr std::array<std::string_view, 16> first_names = {
    "ada", "grace", "alan", "edsger", "barbara", "donald", "margaret", "ken",
    "frances", "john", "radia", "dennis", "shafi", "leslie", "sophie", "tim"};

// Generation models only: an embedding model (no output rate) answers no generateContent.
std::vector<std::string> generative_models() {
    const auto& table = metering::pricing_table::builtin();
    std::vector<std::string> out;
    auto generative = [](const metering::price_entry& e) { return e.rates(false).output > 0; };
    for (std::string_view name : preferred_models) {
        const auto* e = table.find(name);
        if (e && e->model == name && generative(*e)) out.emplace_back(name);
    }
    for (const auto& e : table.entries())
        if (generative(e) && std::find(out.begin(), out.end(), e.model) == out.end()) out.push_back(e.model);
    return out;
}

}  // namespace

demo_catalog make_demo_catalog(int users) {
    if (users <= 0) throw std::invalid_argument(fmt::format("demo: users must be > 0, got {}", users));
    demo_catalog c;
    c.models = generative_models();
    if (c.models.empty()) throw std::invalid_argument("demo: the built-in price table has no generative model");
    c.endpoints = {"chat", "tutor-chat", "analyze", "summarize", "format-interview", "translate", "classify"};
    c.chat_like = 2;
    c.bots = {"g-socratic", "g-coach", "g-reviewer", "g-interviewer"};
    c.teams = {"growth", "learning", "platform", "research", "support"};
    c.user_ids.reserve(static_cast<std::size_t>(users));
    c.user_emails.reserve(static_cast<std::size_t>(users));
    for (int i = 0; i < users; ++i) {
        const auto name = first_names[static_cast<std::size_t>(i) % first_names.size()];
        c.user_ids.push_back(fmt::format("user-{:04}", i + 1));
        c.user_emails.push_back(i < static_cast<int>(first_names.size())
                                    ? fmt::format("{}@example.com", name)
                                    : fmt::format("{}{}@example.com", name, i / static_cast<int>(first_names.size())));
    }
    return c;
}

}  // namespace gm::demo

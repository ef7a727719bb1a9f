#include "metering/pricing_table.hpp"

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <algorithm>
#include <fstream>
#include <limits>
#include <sstream>

#include "metering/decimal_price.hpp"

namespace gm::metering {

effective_rates price_entry::rates(bool above) const noexcept {
    effective_rates b;
    b.input = base.input.value_or(0);
    b.output = base.output.value_or(0);
    b.cached_input = base.cached_input.value_or(b.input);
    b.audio_input = base.audio_input.value_or(b.input);
    b.cached_audio_input = base.cached_audio_input.value_or(b.cached_input);
    if (!above) return b;
    effective_rates h;
    h.input = above_tier.input.value_or(b.input);
    h.output = above_tier.output.value_or(b.output);
    h.cached_input = above_tier.cached_input.value_or(h.input);
    h.audio_input = above_tier.audio_input.value_or(h.input);
    h.cached_audio_input = above_tier.cached_audio_input.value_or(h.cached_input);
    return h;
}

pricing_table::pricing_table(std::string version, std::string source_date, std::vector<price_entry> entries,
                             std::vector<std::pair<std::string, std::string>> aliases)
    : version_(std::move(version)),
      source_date_(std::move(source_date)),
      entries_(std::move(entries)),
      aliases_(std::move(aliases)) {}

namespace {

std::string_view strip_models(std::string_view m) {
    if (m.starts_with("models/")) m.remove_prefix(7);
    return m;
}

// "-preview-05-20", "-001", "-latest", "-exp-0827": words that name a version of the
// same model, not a different model.
bool is_version_suffix(std::string_view s) {
    if (s.empty() || s.front() != '-') return false;
    while (!s.empty()) {
        if (s.front() != '-') return false;
        s.remove_prefix(1);
        std::size_t n = s.find('-');
        if (n == std::string_view::npos) n = s.size();
        const std::string_view word = s.substr(0, n);
        s.remove_prefix(n);
        if (word.empty()) return false;
        const bool digits = std::all_of(word.begin(), word.end(), [](char c) { return c >= '0' && c <= '9'; });
        if (!digits && word != "latest" && word != "preview" && word != "exp") return false;
    }
    return true;
}

}  // namespace

const price_entry* pricing_table::find(std::string_view model) const noexcept {
    const std::string_view m = strip_models(model);
    for (const auto& e : entries_)
        if (e.model == m) return &e;
    for (const auto& [alias, target] : aliases_) {
        if (alias != m) continue;
        for (const auto& e : entries_)
            if (e.model == target) return &e;
    }
    const price_entry* best = nullptr;
    for (const auto& e : entries_) {
        if (m.size() <= e.model.size() || !m.starts_with(e.model)) continue;
        if (!is_version_suffix(m.substr(e.model.size()))) continue;
        if (best == nullptr || e.model.size() > best->model.size()) best = &e;
    }
    return best;
}

std::optional<std::int64_t> call_cost_pico(const price_entry& e, const token_counts& t, bool& above) noexcept {
    above = e.tier_threshold > 0 && t.prompt > e.tier_threshold;
    const effective_rates r = e.rates(above);
    using i128 = __int128;
    // The parser guarantees these relations; clamping here only keeps a hand-built
    // token_counts from producing a negative cost.
    const std::int64_t cached = std::clamp<std::int64_t>(t.cached, 0, std::max<std::int64_t>(t.prompt, 0));
    const std::int64_t uncached = std::max<std::int64_t>(t.prompt, 0) - cached;
    const std::int64_t cached_audio = std::clamp<std::int64_t>(t.cached_audio, 0, cached);
    const std::int64_t audio_uncached =
        std::clamp<std::int64_t>(t.prompt_audio - cached_audio, 0, uncached);
    const i128 text_in = i128{uncached} - audio_uncached + std::max<std::int64_t>(t.tool_use_prompt, 0);
    const i128 out_tokens = i128{std::max<std::int64_t>(t.candidates, 0)} + std::max<std::int64_t>(t.thoughts, 0);
    const i128 cost = text_in * r.input + i128{audio_uncached} * r.audio_input +
                      i128{cached - cached_audio} * r.cached_input + i128{cached_audio} * r.cached_audio_input +
                      out_tokens * r.output;
    if (cost > std::numeric_limits<std::int64_t>::max()) return std::nullopt;
    return static_cast<std::int64_t>(cost);
}

price_result pricing_table::price(std::string_view model, const token_counts& tokens) const {
    price_result r;
    const price_entry* e = find(model);
    if (e == nullptr) {
        r.problem = fmt::format("model '{}' is not in price table {}", model.substr(0, 100), version_);
        return r;
    }
    r.matched_model = e->model;
    const auto cost = call_cost_pico(*e, tokens, r.above_tier);
    if (!cost) {
        r.problem = "cost overflows 64 bits";
        return r;
    }
    r.priced = true;
    r.cost_pico_usd = *cost;
    return r;
}

namespace {

constexpr std::string_view rate_fields[] = {"input", "output", "cached_input", "audio_input", "cached_audio_input"};

std::optional<std::int64_t> price_rates::* const rate_members[] = {
    &price_rates::input, &price_rates::output, &price_rates::cached_input, &price_rates::audio_input,
    &price_rates::cached_audio_input};

struct loader {
    std::string origin;
    std::vector<std::string> errors;

    void err(std::string_view field, std::string_view reason) {
        errors.push_back(fmt::format("{}: {}: {}", origin, field, reason));
    }

    // With kParseNumbersAsStringsFlag numbers arrive as their exact source text.
    std::optional<std::int64_t> price(const rapidjson::Value& v, const std::string& field) {
        if (!v.IsString()) {
            err(field, "must be a decimal number or a string holding one");
            return std::nullopt;
        }
        const auto p = parse_usd_per_million({v.GetString(), v.GetStringLength()});
        if (!p.pico) err(field, p.error + " (\"" + std::string(v.GetString(), std::min<std::size_t>(v.GetStringLength(), 40)) + "\")");
        return p.pico;
    }

    void rates(const rapidjson::Value& obj, const std::string& path, price_rates& out, bool allow_tier_fields,
               price_entry* entry) {
        std::vector<std::string_view> seen;
        for (const auto& m : obj.GetObject()) {
            const std::string_view key(m.name.GetString(), m.name.GetStringLength());
            const std::string field = path + "." + std::string(key);
            if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
                err(field, "duplicated");
                continue;
            }
            seen.push_back(key);
            bool done = false;
            for (std::size_t i = 0; i < std::size(rate_fields); ++i) {
                if (key != rate_fields[i]) continue;
                out.*rate_members[i] = price(m.value, field);
                done = true;
            }
            if (done) continue;
            if (allow_tier_fields && key == "tier_threshold") {
                const std::string_view s = m.value.IsString() ? std::string_view(m.value.GetString(), m.value.GetStringLength()) : std::string_view{};
                if (s.empty() || s.size() > 12 || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
                    err(field, "must be a positive integer number of prompt tokens");
                } else {
                    entry->tier_threshold = std::stoll(std::string(s));
                    if (entry->tier_threshold <= 0) err(field, "must be a positive integer number of prompt tokens");
                }
            } else if (allow_tier_fields && key == "above_tier") {
                if (!m.value.IsObject()) {
                    err(field, "must be an object of rates");
                } else {
                    rates(m.value, field, entry->above_tier, false, nullptr);
                }
            } else if (allow_tier_fields && (key == "checked" || key == "note")) {
                if (!m.value.IsString()) {
                    err(field, "must be a string");
                } else if (key == "checked") {
                    entry->checked.assign(m.value.GetString(), m.value.GetStringLength());
                }
            } else {
                err(field, "unknown field");
            }
        }
    }
};

}  // namespace

pricing_table pricing_table::from_json(std::string_view json, std::string_view origin) {
    loader L{std::string(origin), {}};
    rapidjson::Document d;
    d.Parse<rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseIterativeFlag>(json.data(), json.size());
    if (d.HasParseError()) {
        throw pricing_error(fmt::format("{}: offset {}: malformed JSON: {}", origin, d.GetErrorOffset(),
                                        rapidjson::GetParseError_En(d.GetParseError())));
    }
    if (!d.IsObject()) throw pricing_error(fmt::format("{}: (top level): must be an object", origin));

    std::string version, source_date;
    std::vector<price_entry> entries;
    std::vector<std::pair<std::string, std::string>> aliases;
    bool has_models = false;
    std::vector<std::string_view> seen_top;
    for (const auto& m : d.GetObject()) {
        const std::string_view key(m.name.GetString(), m.name.GetStringLength());
        if (std::find(seen_top.begin(), seen_top.end(), key) != seen_top.end()) {
            L.err(key, "duplicated");
            continue;
        }
        seen_top.push_back(key);
        if (key == "version" || key == "source_date" || key == "note") {
            if (!m.value.IsString() || m.value.GetStringLength() == 0) {
                L.err(key, "must be a non-empty string");
            } else if (key == "version") {
                version.assign(m.value.GetString(), m.value.GetStringLength());
            } else if (key == "source_date") {
                source_date.assign(m.value.GetString(), m.value.GetStringLength());
            }
        } else if (key == "unit") {
            if (!m.value.IsString() || std::string_view(m.value.GetString()) != "USD per 1M tokens")
                L.err(key, "must be \"USD per 1M tokens\" (the only unit supported)");
        } else if (key == "models") {
            has_models = true;
            if (!m.value.IsObject() || m.value.MemberCount() == 0) {
                L.err(key, "must be a non-empty object of model name -> prices");
                continue;
            }
            for (const auto& mm : m.value.GetObject()) {
                std::string name(mm.name.GetString(), mm.name.GetStringLength());
                const std::string field = "models." + name;
                if (name.empty() || name.starts_with("models/")) {
                    L.err(field, "model name must be non-empty, without the models/ prefix");
                    continue;
                }
                if (std::any_of(entries.begin(), entries.end(), [&](const price_entry& e) { return e.model == name; })) {
                    L.err(field, "duplicated model");
                    continue;
                }
                if (!mm.value.IsObject()) {
                    L.err(field, "must be an object of rates");
                    continue;
                }
                price_entry e;
                e.model = name;
                L.rates(mm.value, field, e.base, true, &e);
                if (!mm.value.HasMember("input")) L.err(field + ".input", "required");
                const bool has_above = mm.value.HasMember("above_tier");
                if (e.tier_threshold > 0 && !has_above) L.err(field + ".above_tier", "required with tier_threshold");
                if (has_above && e.tier_threshold == 0 && !mm.value.HasMember("tier_threshold"))
                    L.err(field + ".tier_threshold", "required with above_tier");
                if (has_above && mm.value["above_tier"].IsObject() && !mm.value["above_tier"].HasMember("input"))
                    L.err(field + ".above_tier.input", "required");
                entries.push_back(std::move(e));
            }
        } else if (key == "aliases") {
            if (!m.value.IsObject()) {
                L.err(key, "must be an object of alias -> model");
                continue;
            }
            for (const auto& a : m.value.GetObject()) {
                const std::string field = std::string("aliases.") + a.name.GetString();
                if (!a.value.IsString()) {
                    L.err(field, "must name a model of this file");
                    continue;
                }
                aliases.emplace_back(a.name.GetString(), a.value.GetString());
            }
        } else {
            L.err(key, "unknown field");
        }
    }
    if (version.empty() && std::find(seen_top.begin(), seen_top.end(), "version") == seen_top.end())
        L.err("version", "required (it is stored with every record priced by this table)");
    if (!has_models) L.err("models", "required");
    for (const auto& a : aliases) {
        if (std::none_of(entries.begin(), entries.end(), [&](const price_entry& e) { return e.model == a.second; }))
            L.err("aliases." + a.first, "names unknown model '" + a.second + "'");
    }
    if (!L.errors.empty()) {
        std::string msg = L.errors.front();
        for (std::size_t i = 1; i < L.errors.size(); ++i) msg += "\n" + L.errors[i];
        throw pricing_error(msg);
    }
    return pricing_table(std::move(version), std::move(source_date), std::move(entries), std::move(aliases));
}

pricing_table pricing_table::load_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw pricing_error(fmt::format("{}: cannot open the pricing file", path));
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) throw pricing_error(fmt::format("{}: cannot read the pricing file", path));
    return from_json(ss.str(), path);
}

const pricing_table& pricing_table::builtin() {
    static const pricing_table table = from_json(builtin_pricing_json(), "built-in pricing table");
    return table;
}

}  // namespace gm::metering

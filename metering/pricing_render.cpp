#include "metering/pricing_render.hpp"

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "metering/decimal_price.hpp"

namespace gm::metering {

namespace {

std::string rate_text(const std::optional<std::int64_t>& r) { return r ? format_usd_per_million(*r) : "-"; }

void write_rates(rapidjson::Writer<rapidjson::StringBuffer>& w, const effective_rates& r) {
    const std::pair<const char*, std::int64_t> items[] = {
        {"input", r.input},
        {"output", r.output},
        {"cachedInput", r.cached_input},
        {"audioInput", r.audio_input},
        {"cachedAudioInput", r.cached_audio_input},
    };
    w.StartObject();
    for (const auto& [name, v] : items) {
        w.Key(name);
        w.StartObject();
        w.Key("usdPerMillion");
        const std::string s = format_usd_per_million(v);
        w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
        w.Key("picoUsdPerToken");
        w.Int64(v);
        w.EndObject();
    }
    w.EndObject();
}

}  // namespace

std::string render_pricing_table(const pricing_table& t) {
    std::string out = fmt::format("price table {} (source date {}), USD per 1M tokens, paid tier, standard\n",
                                  t.version(), t.source_date().empty() ? "-" : t.source_date());
    out += fmt::format("{:<26} {:>8} {:>8} {:>9} {:>8} {:>9}  {:>9} {:>8} {:>8} {:>9}  {}\n", "model", "input",
                       "output", "cached", "audio", "c.audio", "tier >", "input", "output", "cached", "checked");
    for (const auto& e : t.entries()) {
        const auto& b = e.base;
        std::string tier = "-", hi_in = "", hi_out = "", hi_cached = "";
        if (e.tier_threshold > 0) {
            tier = std::to_string(e.tier_threshold);
            hi_in = rate_text(e.above_tier.input);
            hi_out = rate_text(e.above_tier.output);
            hi_cached = rate_text(e.above_tier.cached_input);
        }
        out += fmt::format("{:<26} {:>8} {:>8} {:>9} {:>8} {:>9}  {:>9} {:>8} {:>8} {:>9}  {}\n", e.model,
                           rate_text(b.input), rate_text(b.output), rate_text(b.cached_input),
                           rate_text(b.audio_input), rate_text(b.cached_audio_input), tier, hi_in, hi_out,
                           hi_cached, e.checked.empty() ? "-" : e.checked);
    }
    for (const auto& [alias, target] : t.aliases()) out += fmt::format("alias {} -> {}\n", alias, target);
    out +=
        "absent rates: cached -> input, audio -> input, cached audio -> cached, output -> 0; "
        "above the tier the whole call is billed at the tier's rates.\n"
        "model names also match with a models/ prefix and version suffixes (-001, -latest, -preview-MM-DD).\n";
    return out;
}

std::string render_pricing_json(const pricing_table& t) {
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    auto str = [&](const std::string& s) { w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size())); };
    w.StartObject();
    w.Key("version");
    str(t.version());
    w.Key("sourceDate");
    str(t.source_date());
    w.Key("unit");
    w.String("USD per 1M tokens");
    w.Key("models");
    w.StartArray();
    for (const auto& e : t.entries()) {
        w.StartObject();
        w.Key("model");
        str(e.model);
        w.Key("checked");
        str(e.checked);
        w.Key("tierThreshold");
        w.Int64(e.tier_threshold);
        w.Key("rates");
        write_rates(w, e.rates(false));
        w.Key("aboveTier");
        if (e.tier_threshold > 0) {
            write_rates(w, e.rates(true));
        } else {
            w.Null();
        }
        w.EndObject();
    }
    w.EndArray();
    w.Key("aliases");
    w.StartObject();
    for (const auto& [alias, target] : t.aliases()) {
        w.Key(alias.c_str(), static_cast<rapidjson::SizeType>(alias.size()));
        str(target);
    }
    w.EndObject();
    w.EndObject();
    return std::string(sb.GetString(), sb.GetSize());
}

}  // namespace gm::metering

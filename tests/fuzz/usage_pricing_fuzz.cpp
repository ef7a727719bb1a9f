// Fuzzes the small parsers: usage objects, request model tap, call identity, decimal
// prices and pricing files (which must either load or throw pricing_error).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "metering/call_identity.hpp"
#include "metering/decimal_price.hpp"
#include "metering/pricing_render.hpp"
#include "metering/pricing_table.hpp"
#include "metering/request_model_tap.hpp"
#include "metering/usage_parser.hpp"

using namespace gm::metering;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);

    for (auto r : {parse_gemini_usage(in), parse_openai_usage(in)}) {
        if (r.ok && (r.tokens.prompt < 0 || r.tokens.candidates < 0 || r.tokens.thoughts < 0 ||
                     r.tokens.cached > r.tokens.prompt || r.tokens.prompt > max_token_count))
            std::abort();
        if (r.ok) {
            auto p = pricing_table::builtin().price("gemini-2.5-pro", r.tokens);
            if (p.priced && p.cost_pico_usd < 0) std::abort();
        }
    }

    request_model_tap tap;
    tap.feed(in.substr(0, in.size() / 2));
    tap.feed(in.substr(in.size() / 2));
    (void)tap.model();

    auto id = identify_call("POST", in);
    (void)id;
    if (redact_target(in).find('?') != std::string::npos) std::abort();

    auto d = parse_usd_per_million(in.substr(0, 40));
    if (d.pico) {
        if (*d.pico < 0) std::abort();
        // format -> parse must give the same exact value back
        auto again = parse_usd_per_million(format_usd_per_million(*d.pico));
        if (!again.pico || *again.pico != *d.pico) std::abort();
    }

    try {
        auto t = pricing_table::from_json(in, "fuzz.json");
        (void)render_pricing_table(t);
        (void)render_pricing_json(t);
        token_counts tc;
        tc.prompt = 300'000;
        tc.candidates = 1'000;
        for (const auto& e : t.entries()) {
            auto p = t.price(e.model, tc);
            if (!p.priced && p.problem.empty()) std::abort();
        }
    } catch (const pricing_error&) {
    }
    return 0;
}

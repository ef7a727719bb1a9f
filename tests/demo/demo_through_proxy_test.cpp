// The demo's parts around the real binary, as `gemini-meter demo` wires them: the made-up
// traffic goes through the proxy to the simulated upstream, and every answered call is a row
// with its attribution, its usage and the built-in table's price.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <set>

#include "app/demo/demo_catalog.hpp"
#include "app/demo/demo_traffic.hpp"
#include "app/demo/demo_upstream.hpp"
#include "app/meter_process.hpp"
#include "metering/pricing_table.hpp"
#include "support/eventually.hpp"

using gm::metering::call_ending;
using gm::metering::usage_source;

TEST_CASE("demo: the made-up traffic through the real proxy is metered and priced", "[demo]") {
    gm::demo::upstream_options uo;
    uo.latency_scale = 0;
    gm::demo::demo_upstream up(uo);
    up.start();
    gm::test::meter_process m({}, fmt::format("http://127.0.0.1:{}", up.port()));

    gm::demo::traffic_options o;
    o.port = m.port;
    o.rate = 100;
    gm::demo::demo_traffic traffic(o);
    traffic.start();
    REQUIRE(gm::test::eventually([&] { return traffic.stats().ok + traffic.stats().error_answers >= 200; }));
    // As the demo ends: no new calls, the ones in flight answered (the limit bounds a hang).
    REQUIRE(traffic.drain(std::chrono::seconds(60)));
    const auto ts = traffic.stats();
    m.stop();
    const auto rows = m.rows();

    const auto& table = gm::metering::pricing_table::builtin();
    const auto cat = gm::demo::make_demo_catalog(o.users);
    std::size_t ok = 0, errors = 0, streamed = 0, counts = 0, registered = 0, guests = 0, bots = 0, tagged = 0;
    for (const auto& r : rows) {
        INFO(r.path << " status " << r.http_status << " ending " << gm::metering::to_string(r.ending));
        // drain() waited for every call: none was cut short.
        REQUIRE(r.ending == call_ending::completed);
        CHECK(std::find(cat.endpoints.begin(), cat.endpoints.end(), r.endpoint) != cat.endpoints.end());
        if (r.is_guest) {
            ++guests;
            CHECK(r.user_id.empty());
        } else {
            ++registered;
            CHECK(std::find(cat.user_ids.begin(), cat.user_ids.end(), r.user_id) != cat.user_ids.end());
            CHECK_FALSE(r.user_email.empty());
        }
        bots += !r.bot_id.empty();
        tagged += !r.tags.empty();
        if (r.http_status != 200) {
            ++errors;
            CHECK((r.http_status == 429 || r.http_status == 500 || r.http_status == 503));
            CHECK_FALSE(r.success);
            CHECK_FALSE(r.error_message.empty());  // Google's error.message, read by the proxy
            CHECK(r.cost_pico_usd == 0);
            continue;
        }
        CHECK(r.success);
        if (r.gemini_method == "countTokens") {
            ++counts;
            CHECK(r.cost_pico_usd == 0);  // not a billed generation
            continue;
        }
        ++ok;
        streamed += r.streamed;
        CHECK(r.gemini_method == (r.streamed ? "streamGenerateContent" : "generateContent"));
        CHECK(r.source == usage_source::response);
        CHECK_FALSE(r.partial);
        CHECK(r.tokens.total == r.tokens.prompt + r.tokens.candidates + r.tokens.thoughts);
        CHECK(r.tokens.prompt >= 100);
        CHECK(r.model_version == r.model);
        const auto price = table.price(r.model, r.tokens);
        CHECK(r.priced);
        CHECK(r.cost_pico_usd > 0);
        CHECK(r.cost_pico_usd == price.cost_pico_usd);
    }
    CHECK(ok + errors + counts >= 200);
    CHECK(rows.size() == ts.ok + ts.error_answers);
    CHECK(ts.failed == 0);
    CHECK(errors == ts.error_answers);
    CHECK(streamed > 0);
    CHECK(streamed < ok);
    CHECK(counts > 0);
    CHECK(errors > 0);
    CHECK(registered > 0);
    CHECK(guests > 0);
    CHECK(bots > 0);
    CHECK(tagged > 0);
}

#include "admin_api/metrics_text.hpp"

#include <catch2/catch.hpp>

#include "admin_api/admin_server.hpp"
#include "promtool_check.hpp"

using namespace gm::admin_api;

namespace {
gm::metering::usage_record rec(std::string model, std::string endpoint, int status, gm::metering::call_ending e,
                               std::int64_t pico) {
    gm::metering::usage_record r;
    r.model = std::move(model);
    r.endpoint = std::move(endpoint);
    r.http_status = status;
    r.ending = e;
    r.priced = true;
    r.cost_pico_usd = pico;
    r.duration_ms = 1500;
    r.ttfb_ms = 200;
    r.tokens.prompt = 1000;
    r.tokens.candidates = 300;
    return r;
}
bool has_line(const std::string& text, const std::string& line) {
    return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}
}  // namespace

TEST_CASE("render_metrics writes the documented series with exact values") {
    gm::metering::call_metrics m;
    m.observe(rec("gemini-2.5-flash", "chat", 200, gm::metering::call_ending::completed, 2'500'000'000'000));
    m.observe(rec("gemini-2.5-flash", "chat", 200, gm::metering::call_ending::completed, 2'500'000'000'000));
    m.observe(rec("gemini-2.5-pro", "say \"hi\"\\\n", 0, gm::metering::call_ending::upstream_unreachable, 0));
    auto snap = m.snapshot();
    health_snapshot h;
    h.db_writable = false;
    h.journal_backlog = 12;
    h.journal_only = 9;
    h.journal_errors = 1;
    h.queued = 3;
    h.written = 100;
    h.batches = 7;
    h.failures = 2;
    admin_counters a{5, 1, 0, 0, 7, 2, 1, 3};
    std::string text = render_metrics(&snap, &h, a);
    CHECK(has_line(text, R"(gemini_meter_calls_total{model="gemini-2.5-flash",endpoint="chat",status_class="2xx",ending="completed"} 2)"));
    CHECK(has_line(text, R"(gemini_meter_calls_total{model="gemini-2.5-pro",endpoint="say \"hi\"\\\n",status_class="none",ending="upstream_unreachable"} 1)"));
    CHECK(has_line(text, R"(gemini_meter_tokens_total{model="gemini-2.5-flash",endpoint="chat",kind="prompt"} 2000)"));
    CHECK(has_line(text, R"(gemini_meter_tokens_total{model="gemini-2.5-flash",endpoint="chat",kind="candidates"} 600)"));
    CHECK(has_line(text, R"(gemini_meter_cost_usd_total{model="gemini-2.5-flash",endpoint="chat"} 5)"));
    CHECK(has_line(text, R"(gemini_meter_upstream_errors_total{model="gemini-2.5-pro",ending="upstream_unreachable"} 1)"));
    CHECK(has_line(text, R"(gemini_meter_request_duration_seconds_bucket{le="1"} 0)"));
    CHECK(has_line(text, R"(gemini_meter_request_duration_seconds_bucket{le="2.5"} 3)"));
    CHECK(has_line(text, R"(gemini_meter_request_duration_seconds_bucket{le="+Inf"} 3)"));
    CHECK(has_line(text, R"(gemini_meter_request_duration_seconds_sum 4.5)"));
    CHECK(has_line(text, R"(gemini_meter_time_to_first_byte_seconds_bucket{le="0.25"} 3)"));
    CHECK(has_line(text, "gemini_meter_journal_backlog 12"));
    CHECK(has_line(text, "gemini_meter_journal_only 9"));
    CHECK(has_line(text, "# TYPE gemini_meter_journal_only gauge"));
    CHECK(has_line(text, "gemini_meter_journal_errors_total 1"));
    CHECK(has_line(text, "gemini_meter_writer_written_total 100"));
    CHECK(has_line(text, "gemini_meter_writer_failures_total 2"));
    CHECK(has_line(text, "gemini_meter_database_writable 0"));
    CHECK(has_line(text, "gemini_meter_admin_requests_total 5"));
    CHECK(has_line(text, R"(gemini_meter_admin_exports_total{outcome="complete"} 7)"));
    CHECK(has_line(text, R"(gemini_meter_admin_exports_total{outcome="abandoned"} 2)"));
    CHECK(has_line(text, R"(gemini_meter_admin_exports_total{outcome="stopped"} 1)"));
    CHECK(has_line(text, R"(gemini_meter_admin_exports_total{outcome="failed"} 3)"));

    auto check = gm::test::promtool_check(text);
    if (!check.available) WARN("promtool not installed (Debian package prometheus): format not checked");
    else {
        INFO(check.output);
        CHECK(check.exit_code == 0);
    }
}

TEST_CASE("render_metrics without proxy metrics or health is still valid") {
    std::string text = render_metrics(nullptr, nullptr, {});
    CHECK(has_line(text, "gemini_meter_admin_requests_total 0"));
    auto check = gm::test::promtool_check(text);
    if (check.available) {
        INFO(check.output);
        CHECK(check.exit_code == 0);
    }
}

TEST_CASE("promtool rejects a broken exposition, so the check above can fail") {
    auto check = gm::test::promtool_check("# TYPE x counter\nx{a=\"unterminated} 1\n");
    if (check.available) CHECK(check.exit_code != 0);
}

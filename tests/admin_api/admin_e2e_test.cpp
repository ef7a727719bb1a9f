// Every endpoint over HTTP on a real SQLite database filled through sqlite_store's sink
// with known rows; the expected numbers are worked out by hand in the comments.
#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <thread>
#include <unistd.h>

#include "admin_api/admin_server.hpp"
#include "admin_api/iso_time.hpp"
#include "csv_reader.hpp"
#include "http_client.hpp"
#include "metering/pricing_render.hpp"
#include "metering/pricing_table.hpp"
#include "server_fixture.hpp"
#include "storage/sqlite_store.hpp"

using namespace gm::admin_api;
using gm::metering::usage_record;
using gm::test::http_get_auth;

namespace {

const std::int64_t now = 1730889000000;  // 2024-11-06T10:30:00.000Z
const std::string token = "e2e-token";

std::int64_t at(const char* iso) { return parse_iso_time(iso)->ms; }

usage_record row(std::string id, const char* created, std::string user, std::string email, std::string endpoint,
                 std::string model, std::string bot, std::int64_t in, std::int64_t out, std::int64_t pico,
                 std::int64_t duration, bool success) {
    usage_record r;
    r.id = std::move(id);
    r.created_at_ms = at(created);
    r.user_id = std::move(user);
    r.user_email = std::move(email);
    r.is_guest = r.user_id.empty();
    r.endpoint = std::move(endpoint);
    r.model = std::move(model);
    r.bot_id = std::move(bot);
    r.http_method = "POST";
    r.gemini_method = "generateContent";
    r.path = "/v1beta/models/" + r.model + ":generateContent";
    r.tokens.prompt = in;
    r.tokens.candidates = out;
    r.tokens.total = in + out;
    r.source = gm::metering::usage_source::response;
    r.priced = true;
    r.cost_pico_usd = pico;
    r.price_version = "test";
    r.duration_ms = duration;
    r.ttfb_ms = duration / 4;
    r.success = success;
    r.http_status = success ? 200 : 429;
    if (!success) r.error_message = "Resource has been exhausted, \"quota\"";
    return r;
}

// The fixed data set. Costs in pico-USD.
std::vector<usage_record> known_rows() {
    std::vector<usage_record> v;
    v.push_back(row("r1", "2024-11-01T09:00:00Z", "u1", "u1@example.com", "chat", "gemini-2.5-flash", "g-socratic", 1000, 500, 100'000'000, 1000, true));
    v.push_back(row("r2", "2024-11-01T23:59:59.999Z", "u2", "u2@example.com", "analyze", "gemini-2.5-pro", "", 2000, 1000, 7'500'000'000, 3000, true));
    v.push_back(row("r3", "2024-11-02T00:00:00Z", "", "", "chat", "gemini-2.5-flash", "g-socratic", 300, 100, 52'500'000, 500, true));
    v.back().tags = {{"team", "core"}};
    v.push_back(row("r4", "2024-11-03T12:00:00Z", "u1", "u1@example.com", "chat", "gemini-2.5-flash", "g-socratic", 0, 0, 0, 200, false));
    v.push_back(row("r5", "2024-11-05T08:00:00Z", "u1", "u1@example.com", "chat", "gemini-2.5-pro", "g-coach", 4000, 2000, 15'000'000'000, 2500, true));
    v.back().tags = {{"team", "growth"}};
    v.push_back(row("r6", "2024-11-06T10:00:00Z", "", "", "chat", "gemini-2.5-flash", "", 100, 50, 22'500'000, 100, true));
    v.push_back(row("r7", "2024-10-20T15:00:00Z", "u3", "", "format-interview", "gemini-2.5-pro", "", 10000, 5000, 37'500'000'000, 6000, true));
    return v;
}

constexpr int bulk_rows = 3000;  // in September, far from the rest: makes the export span many chunks

struct e2e_db {
    std::filesystem::path dir;
    std::unique_ptr<gm::storage::sqlite_store> store;
    e2e_db() {
        dir = std::filesystem::temp_directory_path() / ("gm_admin_e2e_" + std::to_string(::getpid()));
        std::filesystem::remove_all(dir);
        std::filesystem::create_directories(dir);
        store = gm::storage::sqlite_store::open((dir / "usage.db").string());
        for (auto& r : known_rows()) store->sink().submit(std::move(r));
        for (int i = 0; i < bulk_rows; ++i) {
            char id[32];
            std::snprintf(id, sizeof id, "bulk-%05d", i);
            auto r = row(id, "2024-09-10T00:00:00Z", "bulk-user", "bulk@example.com", "chat", "gemini-2.5-flash", "",
                         10, 5, 1000, 10, true);
            r.created_at_ms += i * 1000LL;
            r.error_message = i % 100 == 0 ? "comma, \"quote\"\nnewline" : "";
            store->sink().submit(std::move(r));
        }
        // Everything committed before the first query.
        REQUIRE(store->flush(std::chrono::seconds(30)));
    }
    ~e2e_db() {
        store.reset();
        std::filesystem::remove_all(dir);
    }
};

e2e_db& db() {
    static e2e_db instance;
    return instance;
}

struct server {
    gm::test::admin_fixture f;
    explicit server(int max_range_days = 400)
        : f([&] {
              admin_options o;
              o.tokens = {token};
              o.query_threads = 2;
              o.max_range_days = max_range_days;
              return o;
          }(),
            [] {
                admin_deps d;
                d.open_reader = [] { return db().store->open_reader(); };
                d.now_ms = [] { return now; };
                d.pricing_json = [] { return gm::metering::render_pricing_json(gm::metering::pricing_table::builtin()); };
                return d;
            }()) {}
    rapidjson::Document get(const std::string& target, unsigned expect = 200) {
        auto r = http_get_auth(f.port(), target, token);
        INFO(target << " -> " << r.status << " " << r.body);
        REQUIRE(r.status == expect);
        rapidjson::Document d;
        d.Parse(r.body.c_str(), r.body.size());
        REQUIRE_FALSE(d.HasParseError());
        return d;
    }
};

std::string s(const rapidjson::Value& v) { return v.IsString() ? v.GetString() : "<not a string>"; }

void check_group(const rapidjson::Value& g, std::int64_t calls, std::int64_t ok, std::int64_t in, std::int64_t out,
                 const char* usd, std::int64_t pico) {
    CHECK(g["calls"].GetInt64() == calls);
    CHECK(g["successfulCalls"].GetInt64() == ok);
    CHECK(g["failedCalls"].GetInt64() == calls - ok);
    CHECK(g["inputTokens"].GetInt64() == in);
    CHECK(g["outputTokens"].GetInt64() == out);
    CHECK(g["totalTokens"].GetInt64() == in + out);
    CHECK(g["costUSD"].GetDouble() == Approx(std::stod(usd)).margin(0));
    CHECK(g["costPicoUSD"].GetInt64() == pico);
}

// Whether /metrics shows `line` within a few seconds: a query thread counts its export's
// outcome after the client has seen the end of it.
bool metrics_show(unsigned short port, const std::string& line) {
    for (int i = 0; i < 500; ++i) {
        if (gm::test::http_request(port, "/metrics").body.find(line) != std::string::npos) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

}  // namespace

TEST_CASE("e2e stats: totals and breakdowns for 2024-11-01..2024-11-05 (r1..r5)") {
    server sv;
    auto d = sv.get("/api/api-usage/stats?startDate=2024-11-01&endDate=2024-11-05");
    CHECK(s(d["dateRange"]["start"]) == "2024-11-01T00:00:00.000Z");
    CHECK(s(d["dateRange"]["end"]) == "2024-11-06T00:00:00.000Z");  // date-only end: the whole day
    const auto& st = d["stats"];
    CHECK(st["totalCalls"].GetInt64() == 5);
    CHECK(st["successfulCalls"].GetInt64() == 4);
    CHECK(st["failedCalls"].GetInt64() == 1);
    CHECK(st["totalInputTokens"].GetInt64() == 7300);   // 1000+2000+300+0+4000
    CHECK(st["totalOutputTokens"].GetInt64() == 3600);  // 500+1000+100+0+2000
    CHECK(st["totalTokens"].GetInt64() == 10900);
    // 100e6 + 7.5e9 + 52.5e6 + 0 + 15e9 = 22,652,500,000 pico = 0.0226525 USD -> 0.022653
    CHECK(st["totalCostPicoUSD"].GetInt64() == 22'652'500'000);
    CHECK(st["totalCostUSD"].GetDouble() == 0.022653);
    CHECK(st["averageDurationMs"].GetInt64() == 1440);  // (1000+3000+500+200+2500)/5
    CHECK(st["guestCalls"].GetInt64() == 1);
    CHECK(st["registeredCalls"].GetInt64() == 4);
    CHECK(st["unpricedCalls"].GetInt64() == 0);

    CHECK(st["byModel"].MemberCount() == 2);
    check_group(st["byModel"]["gemini-2.5-flash"], 3, 2, 1300, 600, "0.000153", 152'500'000);  // r1 r3 r4
    check_group(st["byModel"]["gemini-2.5-pro"], 2, 2, 6000, 3000, "0.0225", 22'500'000'000);  // r2 r5
    CHECK(st["byEndpoint"].MemberCount() == 2);
    check_group(st["byEndpoint"]["chat"], 4, 3, 5300, 2600, "0.015153", 15'152'500'000);
    check_group(st["byEndpoint"]["analyze"], 1, 1, 2000, 1000, "0.0075", 7'500'000'000);
    CHECK(st["byBot"].MemberCount() == 3);
    check_group(st["byBot"]["g-socratic"], 3, 2, 1300, 600, "0.000153", 152'500'000);
    check_group(st["byBot"]["g-coach"], 1, 1, 4000, 2000, "0.015", 15'000'000'000);
    check_group(st["byBot"]["(none)"], 1, 1, 2000, 1000, "0.0075", 7'500'000'000);
}

TEST_CASE("e2e stats: filters") {
    server sv;
    const std::string base = "/api/api-usage/stats?startDate=2024-11-01&endDate=2024-11-05";
    CHECK(sv.get(base + "&model=gemini-2.5-pro")["stats"]["totalCalls"].GetInt64() == 2);
    CHECK(sv.get(base + "&endpoint=analyze")["stats"]["totalCostPicoUSD"].GetInt64() == 7'500'000'000);
    CHECK(sv.get(base + "&botId=g-socratic")["stats"]["totalCalls"].GetInt64() == 3);
    CHECK(sv.get(base + "&userId=u1")["stats"]["totalCostPicoUSD"].GetInt64() == 15'100'000'000);  // r1 r4 r5
    auto guest = sv.get(base + "&guest=true");
    CHECK(guest["stats"]["totalCalls"].GetInt64() == 1);
    CHECK(guest["stats"]["guestCalls"].GetInt64() == 1);
    CHECK(sv.get(base + "&guest=false")["stats"]["totalCalls"].GetInt64() == 4);
    CHECK(sv.get(base + "&tag=team%3Dcore")["stats"]["totalInputTokens"].GetInt64() == 300);  // r3
    CHECK(sv.get(base + "&tag=team")["stats"]["totalCalls"].GetInt64() == 2);                  // r3 r5
    CHECK(sv.get(base + "&model=gemini-2.5-pro&userId=u1")["stats"]["totalCalls"].GetInt64() == 1);  // r5
    // A value that would be an injection if it reached SQL as text is just a model name.
    CHECK(sv.get(base + "&model=x'%20OR%201%3D1%20--")["stats"]["totalCalls"].GetInt64() == 0);
}

TEST_CASE("e2e stats: default range is the 30 days before now, r1..r7 (r7 on 2024-10-20)") {
    server sv;
    auto d = sv.get("/api/api-usage/stats");
    CHECK(s(d["dateRange"]["start"]) == "2024-10-07T10:30:00.000Z");
    CHECK(s(d["dateRange"]["end"]) == "2024-11-06T10:30:00.000Z");
    CHECK(d["stats"]["totalCalls"].GetInt64() == 7);
    // 22,652,500,000 + 22,500,000 (r6) + 37,500,000,000 (r7)
    CHECK(d["stats"]["totalCostPicoUSD"].GetInt64() == 60'175'000'000);
    CHECK(d["stats"]["totalCostUSD"].GetDouble() == 0.060175);
}

TEST_CASE("e2e daily: one zero-filled entry per UTC day, midnight boundaries respected") {
    server sv;
    auto d = sv.get("/api/api-usage/daily?startDate=2024-11-01&endDate=2024-11-05");
    const auto& days = d["daily"];
    REQUIRE(days.Size() == 5);
    const char* dates[] = {"2024-11-01", "2024-11-02", "2024-11-03", "2024-11-04", "2024-11-05"};
    for (rapidjson::SizeType i = 0; i < 5; ++i) CHECK(s(days[i]["date"]) == dates[i]);
    check_group(days[0], 2, 2, 3000, 1500, "0.0076", 7'600'000'000);  // r1 + r2 (23:59:59.999)
    check_group(days[1], 1, 1, 300, 100, "0.000053", 52'500'000);     // r3 at 00:00:00.000
    check_group(days[2], 1, 0, 0, 0, "0", 0);                         // r4 failed
    check_group(days[3], 0, 0, 0, 0, "0", 0);                         // nothing: zero-filled
    check_group(days[4], 1, 1, 4000, 2000, "0.015", 15'000'000'000);
    CHECK(sv.get("/api/api-usage/daily?startDate=2024-11-01&endDate=2024-11-05&model=gemini-2.5-pro")["daily"][0]["calls"].GetInt64() == 1);
}

TEST_CASE("e2e top-users: by cost, registered users only, email when known, limit") {
    server sv;
    auto d = sv.get("/api/api-usage/top-users?startDate=2024-11-01&endDate=2024-11-05");
    const auto& u = d["topUsers"];
    REQUIRE(u.Size() == 2);
    CHECK(s(u[0]["userId"]) == "u1");
    CHECK(s(u[0]["email"]) == "u1@example.com");
    check_group(u[0], 3, 2, 5000, 2500, "0.0151", 15'100'000'000);  // r1 r4 r5
    CHECK(s(u[1]["userId"]) == "u2");
    check_group(u[1], 1, 1, 2000, 1000, "0.0075", 7'500'000'000);
    REQUIRE(sv.get("/api/api-usage/top-users?startDate=2024-11-01&endDate=2024-11-05&limit=1")["topUsers"].Size() == 1);
    auto all = sv.get("/api/api-usage/top-users");  // default range includes r7 by u3, who has no email
    REQUIRE(all["topUsers"].Size() == 3);
    CHECK(s(all["topUsers"][0]["userId"]) == "u3");
    CHECK(all["topUsers"][0]["email"].IsNull());
}

TEST_CASE("e2e recent: newest first, keyset pages until nextCursor is null") {
    server sv;
    auto d = sv.get("/api/api-usage/recent");
    REQUIRE(d["recentCalls"].Size() == 50);  // default limit; the bulk rows follow r7
    CHECK(s(d["recentCalls"][0]["id"]) == "r6");
    CHECK(d["nextCursor"].IsString());

    std::vector<std::string> ids;
    std::string target = "/api/api-usage/recent?limit=3&guest=false&model=gemini-2.5-pro";
    d = sv.get(target);  // pro, registered: r5, r2, r7
    for (const auto& c : d["recentCalls"].GetArray()) ids.push_back(s(c["id"]));
    CHECK(ids == std::vector<std::string>{"r5", "r2", "r7"});
    CHECK(d["nextCursor"].IsNull());

    ids.clear();
    target = "/api/api-usage/recent?limit=2&endpoint=chat&userId=u1";  // r5, r4 | r1
    d = sv.get(target);
    for (const auto& c : d["recentCalls"].GetArray()) ids.push_back(s(c["id"]));
    REQUIRE(d["nextCursor"].IsString());
    d = sv.get(target + "&before=" + s(d["nextCursor"]));
    for (const auto& c : d["recentCalls"].GetArray()) ids.push_back(s(c["id"]));
    CHECK(d["nextCursor"].IsNull());
    CHECK(ids == std::vector<std::string>{"r5", "r4", "r1"});

    d = sv.get("/api/api-usage/recent?limit=7");
    const auto& r5 = d["recentCalls"][1];
    CHECK(s(r5["id"]) == "r5");
    CHECK(s(r5["userId"]) == "u1");
    CHECK(s(r5["userEmail"]) == "u1@example.com");
    CHECK(s(r5["endpoint"]) == "chat");
    CHECK(s(r5["model"]) == "gemini-2.5-pro");
    CHECK(s(r5["botId"]) == "g-coach");
    CHECK(r5["inputTokens"].GetInt64() == 4000);
    CHECK(r5["outputTokens"].GetInt64() == 2000);
    CHECK(r5["totalTokens"].GetInt64() == 6000);
    CHECK(r5["estimatedCostUSD"].GetDouble() == 0.015);
    CHECK(r5["estimatedCostPicoUSD"].GetInt64() == 15'000'000'000);
    CHECK(r5["durationMs"].GetInt64() == 2500);
    CHECK(r5["success"].GetBool());
    CHECK(s(r5["createdAt"]) == "2024-11-05T08:00:00.000Z");
    const auto& r6 = d["recentCalls"][0];
    CHECK(r6["userId"].IsNull());
    CHECK(r6["userEmail"].IsNull());
    CHECK(r6["botId"].IsNull());
    CHECK(r6["isGuest"].GetBool());
    const auto& r4 = d["recentCalls"][2];
    CHECK_FALSE(r4["success"].GetBool());
    CHECK(r4["httpStatus"].GetInt() == 429);
    CHECK(s(r4["errorMessage"]) == "Resource has been exhausted, \"quota\"");
}

TEST_CASE("e2e projections: 7 full days before today (2024-10-30..2024-11-05 = r1..r5), x30/7") {
    server sv;
    auto d = sv.get("/api/api-usage/projections");
    CHECK(d["baselinePeriod"]["days"].GetInt() == 7);
    CHECK(s(d["baselinePeriod"]["start"]) == "2024-10-30T00:00:00.000Z");
    CHECK(s(d["baselinePeriod"]["end"]) == "2024-11-06T00:00:00.000Z");
    // 22,652,500,000 / 7 = 3,236,071,428.57 -> 3,236,071,429 pico = 0.003236 USD
    CHECK(d["daily"]["avgCostPicoUSD"].GetInt64() == 3'236'071'429);
    CHECK(d["daily"]["avgCost"].GetDouble() == 0.003236);
    CHECK(d["daily"]["avgCalls"].GetDouble() == 0.71);      // 5/7
    CHECK(d["daily"]["avgTokens"].GetDouble() == 1557.14);  // 10900/7
    // 22,652,500,000 * 30 / 7 = 97,082,142,857.1 -> 0.097082 USD
    CHECK(d["monthly"]["projectedCostPicoUSD"].GetInt64() == 97'082'142'857);
    CHECK(d["monthly"]["projectedCost"].GetDouble() == 0.097082);
    CHECK(d["monthly"]["projectedCalls"].GetInt64() == 21);      // 150/7 = 21.4
    CHECK(d["monthly"]["projectedTokens"].GetInt64() == 46714);  // 327000/7 = 46714.3
    const auto& flash = d["breakdown"]["byModel"]["gemini-2.5-flash"];
    check_group(flash, 3, 2, 1300, 600, "0.000153", 152'500'000);
    CHECK(flash["projectedMonthlyCostPicoUSD"].GetInt64() == 653'571'429);  // 152.5e6*30/7
    CHECK(d["breakdown"]["byEndpoint"]["analyze"]["projectedMonthlyCostUSD"].GetDouble() == 0.032143);  // 7.5e9*30/7
    CHECK(sv.get("/api/api-usage/projections?model=gemini-2.5-pro")["monthly"]["projectedCalls"].GetInt64() == 9);  // 60/7
}

TEST_CASE("e2e compare: a range against the same length before it, and the month default") {
    server sv;
    // current 11-04..11-05 (r5), baseline 11-02..11-03 (r3, r4)
    auto d = sv.get("/api/api-usage/compare?startDate=2024-11-04&endDate=2024-11-05");
    CHECK(s(d["current"]["dateRange"]["start"]) == "2024-11-04T00:00:00.000Z");
    CHECK(s(d["baseline"]["dateRange"]["start"]) == "2024-11-02T00:00:00.000Z");
    CHECK(s(d["baseline"]["dateRange"]["end"]) == "2024-11-04T00:00:00.000Z");
    CHECK(d["current"]["stats"]["totalCalls"].GetInt64() == 1);
    CHECK(d["baseline"]["stats"]["totalCalls"].GetInt64() == 2);
    CHECK(d["change"]["calls"]["difference"].GetInt64() == -1);
    CHECK(d["change"]["calls"]["percentChange"].GetDouble() == -50.0);
    CHECK(d["change"]["cost"]["differencePicoUSD"].GetInt64() == 14'947'500'000);
    CHECK(d["change"]["cost"]["differenceUSD"].GetDouble() == 0.014948);
    CHECK(d["change"]["cost"]["percentChange"].GetDouble() == 28471.43);  // 14.9475e9 / 52.5e6 * 100

    d = sv.get("/api/api-usage/compare");  // November so far (r1..r6) against October (r7)
    CHECK(d["current"]["stats"]["totalCalls"].GetInt64() == 6);
    CHECK(d["baseline"]["stats"]["totalCalls"].GetInt64() == 1);
    CHECK(s(d["baseline"]["dateRange"]["start"]) == "2024-10-01T00:00:00.000Z");
}

TEST_CASE("e2e range limit is configurable") {
    server sv(3);
    auto d = sv.get("/api/api-usage/stats?startDate=2024-11-01&endDate=2024-11-05", 400);
    CHECK(s(d["error"]["parameter"]) == "endDate");
    CHECK(s(d["error"]["allowed"]) == "a range of at most 3 days");
}

TEST_CASE("e2e pricing: the effective table as JSON") {
    server sv;
    auto d = sv.get("/api/api-usage/pricing");
    REQUIRE(d.HasMember("models"));
    CHECK(d["models"].IsArray());
    CHECK(d["models"].Size() > 0);
}

TEST_CASE("e2e export: streamed CSV, parsed back equal to the rows") {
    server sv;
    auto r = http_get_auth(sv.f.port(), "/api/api-usage/export?format=csv&startDate=2024-11-01&endDate=2024-11-05", token);
    REQUIRE(r.status == 200);
    CHECK(r.chunked);
    CHECK(r.header("content-type") == "text/csv; charset=utf-8");
    CHECK(r.header("content-disposition") == "attachment; filename=\"api-usage-2024-11-01-2024-11-05.csv\"");
    auto rows = gm::test::parse_csv(r.body);
    REQUIRE(rows.size() == 6);
    const auto& h = rows[0];
    auto col = [&](const std::vector<std::string>& row, const std::string& name) {
        auto it = std::find(h.begin(), h.end(), name);
        REQUIRE(it != h.end());
        return row[static_cast<std::size_t>(it - h.begin())];
    };
    auto expected = known_rows();
    for (std::size_t i = 0; i < 5; ++i) {
        const auto& e = expected[i];  // r1..r5, oldest first
        const auto& got = rows[i + 1];
        INFO(e.id);
        REQUIRE(got.size() == h.size());
        CHECK(col(got, "id") == e.id);
        CHECK(col(got, "createdAt") == format_iso_ms(e.created_at_ms));
        CHECK(col(got, "userId") == e.user_id);
        CHECK(col(got, "userEmail") == e.user_email);
        CHECK(col(got, "isGuest") == (e.is_guest ? "true" : "false"));
        CHECK(col(got, "endpoint") == e.endpoint);
        CHECK(col(got, "model") == e.model);
        CHECK(col(got, "botId") == e.bot_id);
        CHECK(col(got, "inputTokens") == std::to_string(e.input_tokens()));
        CHECK(col(got, "outputTokens") == std::to_string(e.output_tokens()));
        CHECK(col(got, "totalTokens") == std::to_string(e.tokens.total));
        CHECK(col(got, "costPicoUSD") == std::to_string(e.cost_pico_usd));
        CHECK(col(got, "durationMs") == std::to_string(e.duration_ms));
        CHECK(col(got, "success") == (e.success ? "true" : "false"));
        CHECK(col(got, "httpStatus") == std::to_string(e.http_status));
        CHECK(col(got, "errorMessage") == e.error_message);
    }
    CHECK(col(rows[3], "tags") == "team=core");
    CHECK(col(rows[5], "tags") == "team=growth");

    auto filtered = gm::test::parse_csv(
        http_get_auth(sv.f.port(), "/api/api-usage/export?startDate=2024-11-01&endDate=2024-11-05&userId=u1", token).body);
    CHECK(filtered.size() == 4);  // header + r1 r4 r5
}

TEST_CASE("e2e export: a large range crosses many chunks and keeps every row") {
    server sv;
    auto r = http_get_auth(sv.f.port(), "/api/api-usage/export?startDate=2024-09-01&endDate=2024-09-30", token);
    REQUIRE(r.status == 200);
    CHECK(r.body.size() > 4 * 64 * 1024);
    auto rows = gm::test::parse_csv(r.body);
    REQUIRE(rows.size() == bulk_rows + 1);
    CHECK(rows[1][0] == "bulk-00000");
    CHECK(rows.back()[0] == "bulk-02999");
    auto err = std::find(rows[0].begin(), rows[0].end(), "errorMessage") - rows[0].begin();
    CHECK(rows[1][static_cast<std::size_t>(err)] == "comma, \"quote\"\nnewline");
    CHECK(metrics_show(sv.f.port(), "gemini_meter_admin_exports_total{outcome=\"complete\"} 1\n"));
    CHECK(gm::test::http_request(sv.f.port(), "/metrics").body.find("gemini_meter_admin_exports_total{outcome=\"abandoned\"} 0\n") !=
          std::string::npos);
}

TEST_CASE("e2e keep-alive: several requests on one connection, including after a streamed export") {
    server sv;
    auto replies = gm::test::http_sequence(
        sv.f.port(),
        {"/api/api-usage/stats?startDate=2024-11-01&endDate=2024-11-05", "/api/api-usage/export?startDate=2024-09-01&endDate=2024-09-30",
         "/api/api-usage/top-users?limit=0", "/api/api-usage/export?startDate=2024-11-01&endDate=2024-11-05",
         "/api/api-usage/daily?startDate=2024-11-01&endDate=2024-11-05"},
        {{"Authorization", "Bearer " + token}});
    REQUIRE(replies.size() == 5);
    CHECK(replies[0].status == 200);
    CHECK(replies[1].status == 200);
    CHECK(gm::test::parse_csv(replies[1].body).size() == bulk_rows + 1);
    CHECK(replies[2].status == 400);
    CHECK(gm::test::parse_csv(replies[3].body).size() == 6);
    CHECK(replies[4].status == 200);
    CHECK(replies[4].body.find("\"date\":\"2024-11-05\"") != std::string::npos);
}

TEST_CASE("e2e export: a client that hangs up mid-stream stops the export and the server carries on") {
    server sv;
    for (int i = 0; i < 3; ++i) {
        boost::asio::io_context ioc;
        boost::asio::ip::tcp::socket sock(ioc);
        sock.connect({boost::asio::ip::make_address("127.0.0.1"), sv.f.port()});
        std::string req = "GET /api/api-usage/export?startDate=2024-09-01&endDate=2024-09-30 HTTP/1.1\r\nHost: x\r\n"
                          "Authorization: Bearer " + token + "\r\n\r\n";
        boost::asio::write(sock, boost::asio::buffer(req));
        char buf[1024];
        std::size_t got = sock.read_some(boost::asio::buffer(buf));
        CHECK(got > 0);
        CHECK(std::string(buf, got).rfind("HTTP/1.1 200", 0) == 0);
        sock.close();  // about 1 KiB read of ~700 KiB
    }
    // Exports abandoned by their clients leave the query threads free for the next requests.
    for (int i = 0; i < 4; ++i)
        CHECK(http_get_auth(sv.f.port(), "/api/api-usage/stats?startDate=2024-11-01&endDate=2024-11-05", token).status == 200);
    // Each export is counted once, when its query thread ends it: abandoned when a send failed,
    // complete when the ~700 KiB had all reached the kernel's buffers before the client went.
    auto outcomes = [&] {
        const std::string m = gm::test::http_request(sv.f.port(), "/metrics").body;
        auto count = [&](const std::string& outcome) {
            const std::string key = "gemini_meter_admin_exports_total{outcome=\"" + outcome + "\"} ";
            const auto at = m.find(key);
            return at == std::string::npos ? -1 : std::stoi(m.substr(at + key.size()));
        };
        return std::array<int, 3>{count("abandoned"), count("complete"), count("failed")};
    };
    std::array<int, 3> seen{};
    for (int i = 0; i < 500 && (seen = outcomes())[0] + seen[1] < 3; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(seen[0] + seen[1] == 3);
    CHECK(seen[2] == 0);
    auto m = gm::test::http_request(sv.f.port(), "/metrics");
    CHECK(m.body.find("gemini_meter_admin_query_errors_total 0\n") != std::string::npos);
}

TEST_CASE("e2e export: a client that reads slowly through a small window still gets every row") {
    server sv;
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::socket sock(ioc);
    sock.open(boost::asio::ip::tcp::v4());
    // A small window: the query thread finds the socket full many times and waits for it.
    sock.set_option(boost::asio::socket_base::receive_buffer_size(4096));
    sock.connect({boost::asio::ip::make_address("127.0.0.1"), sv.f.port()});
    std::string req = "GET /api/api-usage/export?startDate=2024-09-01&endDate=2024-09-30 HTTP/1.1\r\nHost: x\r\n"
                      "Connection: close\r\nAuthorization: Bearer " + token + "\r\n\r\n";
    boost::asio::write(sock, boost::asio::buffer(req));
    std::string raw;
    char buf[2048];
    for (;;) {
        boost::system::error_code ec;
        const std::size_t n = sock.read_some(boost::asio::buffer(buf), ec);
        raw.append(buf, n);
        if (ec) break;  // the server closes after the last chunk (Connection: close)
        std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    boost::beast::http::response_parser<boost::beast::http::string_body> parser;
    parser.body_limit(1ull << 32);
    parser.eager(true);
    std::size_t used = 0;
    boost::system::error_code ec;
    while (!ec && !parser.is_done() && used < raw.size())
        used += parser.put(boost::asio::buffer(raw.data() + used, raw.size() - used), ec);
    REQUIRE_FALSE(ec);
    REQUIRE(parser.is_done());
    CHECK(parser.get().chunked());
    auto rows = gm::test::parse_csv(parser.get().body());
    REQUIRE(rows.size() == bulk_rows + 1);
    CHECK(rows[1][0] == "bulk-00000");
    CHECK(rows.back()[0] == "bulk-02999");
    CHECK(http_get_auth(sv.f.port(), "/api/api-usage/stats?startDate=2024-11-01&endDate=2024-11-05", token).status == 200);
}

TEST_CASE("e2e export: an HTTP/1.0 client gets the body unframed, ended by the connection's end") {
    // HTTP/1.0 has no chunked coding: chunk-size lines would end up inside its CSV. Asking for
    // keep-alive does not help: the body's end can only be the connection's.
    server sv;
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::socket sock(ioc);
    sock.connect({boost::asio::ip::make_address("127.0.0.1"), sv.f.port()});
    std::string req = "GET /api/api-usage/export?startDate=2024-09-01&endDate=2024-09-30 HTTP/1.0\r\n"
                      "Connection: keep-alive\r\nAuthorization: Bearer " + token + "\r\n\r\n";
    boost::asio::write(sock, boost::asio::buffer(req));
    std::string raw;
    char buf[16384];
    for (;;) {
        boost::system::error_code ec;
        const std::size_t n = sock.read_some(boost::asio::buffer(buf), ec);
        raw.append(buf, n);
        if (ec) break;  // the end of the body
    }
    const auto head_end = raw.find("\r\n\r\n");
    REQUIRE(head_end != std::string::npos);
    std::string head = raw.substr(0, head_end);
    std::transform(head.begin(), head.end(), head.begin(), [](unsigned char c) { return std::tolower(c); });
    CHECK(head.rfind("http/1.0 200", 0) == 0);
    CHECK(head.find("transfer-encoding") == std::string::npos);
    CHECK(head.find("keep-alive") == std::string::npos);
    auto rows = gm::test::parse_csv(raw.substr(head_end + 4));
    REQUIRE(rows.size() == bulk_rows + 1);
    CHECK(rows[0][0] == "id");
    CHECK(rows[1][0] == "bulk-00000");
    CHECK(rows.back()[0] == "bulk-02999");
    CHECK(http_get_auth(sv.f.port(), "/api/api-usage/stats?startDate=2024-11-01&endDate=2024-11-05", token).status == 200);
}

TEST_CASE("e2e: queries run concurrently from several clients on the query pool") {
    server sv;
    std::vector<std::thread> clients;
    std::atomic<int> ok{0};
    for (int t = 0; t < 4; ++t)
        clients.emplace_back([&] {
            for (int i = 0; i < 5; ++i) {
                auto r = http_get_auth(sv.f.port(), "/api/api-usage/stats?startDate=2024-11-01&endDate=2024-11-05", token);
                if (r.status == 200 && r.body.find("\"totalCalls\":5,") != std::string::npos) ++ok;
            }
        });
    for (auto& c : clients) c.join();
    CHECK(ok == 20);
}

TEST_CASE("e2e dashboard in headless Chromium: the page loads the API with the typed token and shows the numbers") {
    const char* candidates[] = {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"};
    const char* browser = nullptr;
    for (const char* c : candidates)
        if (std::filesystem::exists(c)) browser = c;
    if (!browser) {
        WARN("Chromium not installed (Debian package chromium): dashboard not tested in a browser");
        return;
    }
    server sv;
    const auto profile = db().dir / "chromium-profile";
    const std::string url = fmt::format("http://127.0.0.1:{}/dashboard#token={}&start=2024-11-01&end=2024-11-05",
                                        sv.f.port(), token);
    const std::string cmd = fmt::format(
        "{} --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run --user-data-dir={} "
        "--virtual-time-budget=15000 --dump-dom '{}' 2>/dev/null",
        browser, profile.string(), url);
    std::string dom;
    if (FILE* p = ::popen(cmd.c_str(), "r")) {
        char buf[8192];
        std::size_t n;
        while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) dom.append(buf, n);
        ::pclose(p);
    }
    INFO(dom.substr(0, 4000));
    REQUIRE(dom.find("id=\"c-calls\"") != std::string::npos);
    CHECK(dom.find("<div class=\"value\" id=\"c-calls\">5</div>") != std::string::npos);
    CHECK(dom.find("<div class=\"value\" id=\"c-cost\">$0.022653</div>") != std::string::npos);
    CHECK(dom.find("<div class=\"value\" id=\"c-duration\">1,440 ms</div>") != std::string::npos);
    CHECK(dom.find("<td>gemini-2.5-pro</td>") != std::string::npos);
    CHECK(dom.find("<td>g-coach</td>") != std::string::npos);
    CHECK(dom.find("<td>u1@example.com</td>") != std::string::npos);
    CHECK(dom.find("<td>2024-11-04</td>") != std::string::npos);  // the zero-filled day
    CHECK(dom.find("class=\"error\"") == std::string::npos);
}

#include "admin_api/csv_export.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>

#include "admin_api/json_render.hpp"
#include "csv_reader.hpp"

using namespace gm::admin_api;

TEST_CASE("CSV rows quote what needs quoting and parse back to the same fields") {
    gm::metering::usage_record r;
    r.id = "id1";
    r.created_at_ms = 1730889000123;
    r.user_id = "u,1";
    r.user_email = "a\"b@example.com";
    r.is_guest = false;
    r.endpoint = "chat";
    r.model = "gemini-2.5-flash";
    r.tokens.prompt = 10;
    r.tokens.candidates = 5;
    r.tokens.thoughts = 2;
    r.tokens.cached = 4;
    r.tokens.total = 17;
    r.cost_pico_usd = 1'234'567;
    r.priced = true;
    r.duration_ms = 99;
    r.ttfb_ms = -1;
    r.success = false;
    r.http_status = 429;
    r.ending = gm::metering::call_ending::completed;
    r.error_message = "line1\nline2";
    r.tags = {{"team", "core"}, {"campaign", "x"}};
    std::string csv = csv_header();
    append_csv_row(csv, r);
    auto rows = gm::test::parse_csv(csv);
    REQUIRE(rows.size() == 2);
    const auto& h = rows[0];
    const auto& v = rows[1];
    REQUIRE(h.size() == v.size());
    auto col = [&](const std::string& name) {
        for (std::size_t i = 0; i < h.size(); ++i)
            if (h[i] == name) return v[i];
        FAIL("no column " << name);
        return std::string();
    };
    CHECK(h.size() == 25);
    CHECK(col("id") == "id1");
    CHECK(col("createdAt") == "2024-11-06T10:30:00.123Z");
    CHECK(col("userId") == "u,1");
    CHECK(col("userEmail") == "a\"b@example.com");
    CHECK(col("isGuest") == "false");
    CHECK(col("inputTokens") == "10");
    CHECK(col("outputTokens") == "7");
    CHECK(col("totalTokens") == "17");
    CHECK(col("cachedTokens") == "4");
    CHECK(col("thoughtsTokens") == "2");
    CHECK(col("estimatedCostUSD") == "0.000001");
    CHECK(col("costPicoUSD") == "1234567");
    CHECK(col("ttfbMs") == "");
    CHECK(col("success") == "false");
    CHECK(col("httpStatus") == "429");
    CHECK(col("ending") == "completed");
    CHECK(col("errorMessage") == "line1\nline2");
    CHECK(col("tags") == "team=core;campaign=x");
    CHECK(csv.substr(csv.size() - 2) == "\r\n");
}

TEST_CASE("CSV tags: none is an empty field; a quote or comma in a tag quotes the whole joined field") {
    auto tags_of = [](std::vector<std::pair<std::string, std::string>> tags) {
        gm::metering::usage_record r;
        r.id = "id";
        r.tags = std::move(tags);
        std::string csv = csv_header();
        append_csv_row(csv, r);
        auto rows = gm::test::parse_csv(csv);
        REQUIRE(rows.size() == 2);
        REQUIRE(rows[1].size() == rows[0].size());
        REQUIRE(rows[0].back() == "tags");
        return rows[1].back();
    };
    CHECK(tags_of({}) == "");
    CHECK(tags_of({{"team", "core"}}) == "team=core");
    CHECK(tags_of({{"note", "say \"hi\", twice"}, {"a", "b"}}) == "note=say \"hi\", twice;a=b");
    CHECK(tags_of({{"k,1", "v"}}) == "k,1=v");
}

TEST_CASE("csv_row_writer writes the same bytes as append_csv_row across second, minute, day and year boundaries") {
    const std::int64_t times[] = {0,
                                  999,
                                  59'999,
                                  60'000,
                                  1730889000123,  // 2024-11-06T10:30:00.123Z
                                  1730889000123,
                                  1730889059999,
                                  1730889060000,
                                  1730851199999,  // going back: 2024-11-05T23:59:59.999Z
                                  1730851200000,
                                  1735689599999,  // 2024-12-31T23:59:59.999Z
                                  1735689600000,
                                  1709164800000,  // 2024-02-29T00:00:00.000Z
                                  253402300799999,  // 9999-12-31T23:59:59.999Z
                                  253402300800000,  // year 10000: another shape, written whole
                                  253402300799999,
                                  -1,               // before 1970
                                  1730889000123};
    gm::admin_api::csv_row_writer writer;
    for (auto ms : times) {
        gm::metering::usage_record r;
        r.id = "id";
        r.created_at_ms = ms;
        r.cost_pico_usd = ms * 7919;  // and other fields that vary
        r.ttfb_ms = ms % 3 - 1;
        r.user_id = ms % 2 ? "u,1" : "u1";
        std::string expected, got;
        append_csv_row(expected, r);
        writer.append(got, r);
        INFO(ms);
        CHECK(got == expected);
    }
}

TEST_CASE("CSV estimatedCostUSD is usd_from_pico's text, rounding and signs included") {
    std::vector<std::int64_t> picos = {0, 1, -1, 499'999, 500'000, -499'999, -500'000, -500'001, 1'234'567,
                                       999'999'499'999, 999'999'500'000, 12'500'000'000'000, -12'500'000'000'000,
                                       100'000'000, 10'000'000'000'000'000,
                                       std::numeric_limits<std::int64_t>::max(),
                                       std::numeric_limits<std::int64_t>::min(),
                                       std::numeric_limits<std::int64_t>::min() + 1};
    std::uint64_t x = 88172645463325252ull;  // xorshift64: the same values on every run
    for (int i = 0; i < 5000; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        const int bits = 1 + static_cast<int>(x % 63);  // every magnitude, not only huge ones
        auto v = static_cast<std::int64_t>(x >> (64 - bits));
        picos.push_back(x & (1ull << 62) ? -v : v);
    }
    gm::admin_api::csv_row_writer writer;
    std::string csv = csv_header();
    for (auto pico : picos) {
        gm::metering::usage_record r;
        r.id = "id";
        r.cost_pico_usd = pico;
        writer.append(csv, r);
    }
    const auto rows = gm::test::parse_csv(csv);
    REQUIRE(rows.size() == picos.size() + 1);
    REQUIRE(rows[0][13] == "estimatedCostUSD");
    for (std::size_t i = 0; i < picos.size(); ++i) {
        INFO(picos[i]);
        CHECK(rows[i + 1][13] == usd_from_pico(picos[i]));
        CHECK(rows[i + 1][14] == std::to_string(picos[i]));
    }
}

#include "fake_gemini/fake_responder.hpp"

#include <catch2/catch.hpp>

using namespace gm::test;

namespace {

received_request request(std::string method, std::string target, fake_header_list headers = {}, std::string body = "{}") {
    received_request r;
    r.method = std::move(method);
    r.target = std::move(target);
    r.headers = std::move(headers);
    r.body_size = body.size();
    r.body_prefix = std::move(body);
    r.body_sha256 = std::string(64, 'a');
    return r;
}

std::string joined(const response_plan& p) {
    std::string s;
    for (const auto& piece : p.pieces) s += piece.data;
    return s;
}

std::string header(const response_plan& p, const std::string& name) {
    for (const auto& [k, v] : p.headers)
        if (k == name) return v;
    return {};
}

}  // namespace

TEST_CASE("fake_responder is deterministic: the same request gives the same bytes") {
    fake_responder a("https"), b("https");
    const auto r = request("POST", "/v1beta/models/gemini-2.5-flash:generateContent", {{"Accept-Encoding", "gzip"}});
    CHECK(joined(a.answer(r)) == joined(b.answer(r)));
    CHECK(joined(a.answer(r)) == joined(a.answer(r)));  // from its cache the second time
}

TEST_CASE("fake_responder plans streams as chunked pieces with the event delay between them") {
    fake_responder f("https");
    const auto p = f.answer(request("POST", "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse",
                                    {{"x-fake-events", "4"}, {"x-fake-event-delay-ms", "25"}}));
    CHECK(p.chunked);
    REQUIRE(p.pieces.size() == 4);
    CHECK(p.pieces[0].delay_before.count() == 0);
    for (std::size_t i = 1; i < 4; ++i) CHECK(p.pieces[i].delay_before.count() == 25);
    CHECK(header(p, "Content-Type") == "text/event-stream");
}

TEST_CASE("fake_responder carries the delay, truncation and close knobs into the plan") {
    fake_responder f("http");
    const auto p = f.answer(request("POST", "/v1/models/gemini-2.5-pro:generateContent",
                                    {{"X-Fake-Delay-Ms", "40"}, {"x-fake-truncate-after", "7"}, {"x-fake-close", "1"}}));
    CHECK(p.delay_before_header.count() == 40);
    REQUIRE(p.truncate_after.has_value());
    CHECK(*p.truncate_after == 7);
    CHECK(p.close);
    CHECK_FALSE(p.chunked);
}

TEST_CASE("fake_responder rejects unknown versions, models and paths with 404") {
    fake_responder f("https");
    CHECK(f.answer(request("POST", "/v2/models/gemini-2.5-flash:generateContent")).status == 404);
    CHECK(f.answer(request("POST", "/v1beta/models/gpt-4:generateContent")).status == 404);
    CHECK(f.answer(request("POST", "/v1beta/models/gemini-2.5-flash:noSuchMethod")).status == 404);
    CHECK(f.answer(request("POST", "/v1beta/tunedModels/my-tuned:generateContent")).status == 200);
    CHECK(f.answer(request("POST", "/v1beta/openai/chat/completions", {}, "not json")).status == 400);
}

TEST_CASE("fake_responder x-fake-event-flush asks for one write per piece") {
    fake_responder f("https");
    const auto path = "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse";
    CHECK_FALSE(f.answer(request("POST", path)).write_each_piece);
    CHECK(f.answer(request("POST", path, {{"x-fake-event-flush", "1"}})).write_each_piece);
}

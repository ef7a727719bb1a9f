#include "metering/call_identity.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace gm::metering;

TEST_CASE("identify_call understands every Gemini URL form") {
    struct row {
        const char* method;
        const char* target;
        const char* gemini_method;
        const char* model;
        bool streamed;
        bool openai;
    };
    const row rows[] = {
        {"POST", "/v1beta/models/gemini-2.5-flash:generateContent", "generateContent", "gemini-2.5-flash", false, false},
        {"POST", "/v1/models/gemini-2.5-pro:streamGenerateContent?alt=sse&key=SECRET", "streamGenerateContent",
         "gemini-2.5-pro", true, false},
        {"POST", "/v1alpha/models/gemini-2.5-flash:streamGenerateContent", "streamGenerateContent", "gemini-2.5-flash",
         true, false},
        {"POST", "/v1beta/models/gemini-2.5-flash%3AcountTokens", "countTokens", "gemini-2.5-flash", false, false},
        {"POST", "/v1beta/models/gemini%2D2.5-flash:embedContent", "embedContent", "gemini-2.5-flash", false, false},
        {"POST", "/v1beta/models/gemini-embedding-001:batchEmbedContents", "batchEmbedContents", "gemini-embedding-001",
         false, false},
        {"POST", "/v1beta/tunedModels/my-tuned-1:generateContent", "generateContent", "my-tuned-1", false, false},
        {"POST", "/v1beta/dynamic/abc:generateContent", "generateContent", "abc", false, false},
        {"POST", "/v1/projects/p1/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent",
         "generateContent", "gemini-2.5-flash", false, false},
        {"POST", "/v1beta1/publishers/google/models/gemini-2.0-flash-001:streamGenerateContent?alt=sse",
         "streamGenerateContent", "gemini-2.0-flash-001", true, false},
        {"POST", "/v1beta/openai/chat/completions", "chat/completions", "", false, true},
        {"POST", "/v1beta/openai/embeddings", "embeddings", "", false, true},
        {"GET", "/v1beta/openai/models", "models", "", false, true},
        {"GET", "/v1beta/models", "models.list", "", false, false},
        {"GET", "/v1beta/models?pageSize=50", "models.list", "", false, false},
        {"GET", "/v1beta/models/gemini-2.5-flash", "models.get", "gemini-2.5-flash", false, false},
        {"GET", "/v1beta/files/abc-123", "files", "", false, false},
        {"POST", "/upload/v1beta/files?upload_id=xyz&upload_protocol=resumable", "upload", "", false, false},
        {"POST", "/v1beta/cachedContents", "cachedContents", "", false, false},
        {"POST", "/v1beta/models/gemini-2.5-flash:batchGenerateContent", "batchGenerateContent", "gemini-2.5-flash",
         false, false},
        {"GET", "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent?key=k",
         "BidiGenerateContent", "", false, false},
        {"POST", "//v1beta//models/gemini-2.5-flash:generateContent?q=%zz%2F", "generateContent", "gemini-2.5-flash",
         false, false},
        {"GET", "/", "unknown", "", false, false},
        {"GET", "/v1beta/somethingElse", "unknown", "", false, false},
    };
    for (const auto& r : rows) {
        INFO(r.target);
        auto id = identify_call(r.method, r.target);
        CHECK(id.gemini_method == r.gemini_method);
        CHECK(id.model == r.model);
        CHECK(id.streamed == r.streamed);
        CHECK(id.openai_compat == r.openai);
        CHECK(id.wants_request_body_model ==
              (r.openai && (std::string(r.gemini_method) == "chat/completions" ||
                            std::string(r.gemini_method) == "embeddings")));
    }
}

TEST_CASE("identify_call copes with targets that are not valid origin-form") {
    auto id = identify_call("POST", "/v1beta/models/gemini-2.5-flash:generateContent%zz?x");
    CHECK(id.gemini_method == "generateContent%zz");
    CHECK(id.model == "gemini-2.5-flash");
    auto empty = identify_call("GET", "");
    CHECK(empty.gemini_method == "unknown");
}

TEST_CASE("redact_target drops the query, where keys live") {
    CHECK(redact_target("/v1beta/models/m:generateContent?key=AIzaSECRET&alt=sse") == "/v1beta/models/m:generateContent");
    CHECK(redact_target("/ws/x?access_token=t") == "/ws/x");
    CHECK(redact_target("/a#frag") == "/a");
    CHECK(redact_target("/plain") == "/plain");
}

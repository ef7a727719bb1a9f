#pragma once
// What a request is, from its method and target alone: the Gemini method and the model,
// for every URL form of GEMINI_WIRE.md section 1.
#include <string>
#include <string_view>

namespace gm::metering {

struct call_identity {
    // generateContent, streamGenerateContent, countTokens, embedContent, ...;
    // OpenAI-compatible: chat/completions, embeddings, models;
    // resources: models.list, models.get, files, upload, cachedContents, batches,
    // operations, tunedModels; "unknown" when the path is not recognised.
    std::string gemini_method;
    std::string model;              // percent-decoded, prefixes removed; empty if none
    bool streamed = false;          // streamGenerateContent (OpenAI: set from the request body)
    bool openai_compat = false;
    bool wants_request_body_model = false;  // OpenAI-compatible: model is in the JSON body
};

// target: origin-form as received ("/v1beta/models/gemini-2.5-flash:generateContent?alt=sse").
call_identity identify_call(std::string_view http_method, std::string_view target);

// The path without query or fragment, for logs and records: the query may hold key=.
std::string redact_target(std::string_view target);

}  // namespace gm::metering

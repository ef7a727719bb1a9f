#pragma once
// What the demo's simulated Gemini upstream answers to one request, in Google's shapes
// (GEMINI_WIRE.md), without touching a socket: demo_upstream writes the answer out.
//
//   POST /{v1,v1beta,v1alpha}/models/{m}:generateContent          JSON with candidates,
//        usageMetadata, modelVersion, responseId
//   POST .../models/{m}:streamGenerateContent?alt=sse             a few "data: {...}\r\n\r\n"
//        events, cumulative usage (early ones prompt only), the whole usage on the last
//   POST .../models/{m}:countTokens                               {"totalTokens": n, ...}
//   a request with "X-Demo-Fail: N" (400..599)                    N in Google's error shape
//   anything else                                                 404 in Google's error shape
//
// Token counts come from the request (its body length) and a generator seeded from the
// body, the target and the upstream's seed: the same request always gets the same answer,
// in realistic sizes (prompts of hundreds to thousands of tokens, answers of tens to
// hundreds; thinking models think, some prompts hit the cache).
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gm::demo {

enum class answer_kind { generate, stream, count_tokens, error, not_found };

struct demo_answer {
    answer_kind kind = answer_kind::generate;
    unsigned status = 200;
    std::string content_type;
    bool stream = false;              // SSE: chunked, one piece per event; else one body
    std::vector<std::string> pieces;  // the body, or the events each with its "data: " and "\r\n\r\n"
    // When to answer, as a model would take: before the response header, and between events.
    std::chrono::milliseconds before_header{0};
    std::chrono::milliseconds between_pieces{0};
};

// fail_header: the X-Demo-Fail value ("" when absent). latency_scale multiplies every delay
// (0: answer at once).
demo_answer answer_request(std::string_view method, std::string_view target, std::string_view body,
                           std::string_view fail_header, std::uint64_t seed, double latency_scale);

}  // namespace gm::demo

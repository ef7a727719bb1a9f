#pragma once
// Decides what the fake Gemini upstream answers to one request, in the shapes of
// GEMINI_WIRE.md, without touching a socket (the session writes the plan out).
//
// Routes (any of v1, v1beta, v1alpha as {ver}):
//   POST /{ver}/models/{m}:generateContent         JSON, gzip + Content-Length when accepted
//   POST /{ver}/models/{m}:streamGenerateContent?alt=sse
//                                                   text/event-stream, chunked, one event per
//                                                   chunk, cumulative usageMetadata on each,
//                                                   finishReason on the last
//   POST /{ver}/models/{m}:streamGenerateContent   JSON array in pieces "[{..}", "\r\n,{..}", "]"
//   POST /{ver}/models/{m}:countTokens             {"totalTokens": n, ...}
//   POST /{ver}/models/{m}:embedContent            {"embedding": ...}, no usage
//   POST /{ver}/models/{m}:batchEmbedContents      {"embeddings": [...]}, no usage
//   GET  /{ver}/models, GET /{ver}/models/{m}      model list / one model
//   POST /v1beta/openai/chat/completions           OpenAI shape with usage; "stream": true in
//                                                   the body gives SSE ending in data: [DONE]
//   POST /upload/{ver}/files                       body streamed and hashed, never buffered;
//                                                   answers sizeBytes and sha256; resumable
//                                                   "start" answers x-goog-upload-url
//   GET/DELETE /{ver}/files/{id}, GET /{ver}/files, other GET/DELETE under /{ver}/: small JSON
//   anything else                                  404 in Google's error shape
// Models whose names do not start with a Gemini family prefix (gemini-, gemma-,
// text-embedding-, embedding-, learnlm-, imagen-, veo-) or tunedModels/ are unknown: 404.
//
// Tokens are deterministic: promptTokenCount = ceil(body bytes / 4); candidates from the
// text generated; thoughtsTokenCount = 2 x candidates for thinking models (gemini-2.5-*
// and gemini-3-*, except *-lite*). The same request always gets the same answer.
//
// Knobs, as request headers (the proxy forwards them untouched):
//   x-fake-status: N            answer N (>= 300) with a body in Google's error shape
//   x-fake-delay-ms: N          wait N ms before the response header
//   x-fake-event-delay-ms: N    wait N ms between stream pieces (SSE events, array pieces)
//   x-fake-events: N            number of stream events (default 3)
//   x-fake-truncate-after: N    close the TCP connection after N body bytes (as sent)
//   x-fake-body-size: N         pad a unary answer so that the body as sent (after gzip
//                               if any) is about N bytes
//   x-fake-no-usage: 1          no usageMetadata / usage anywhere
//   x-fake-malformed: 1         invalid JSON in the body (every event of a stream)
//   x-fake-usage: {json}        this object verbatim as the usageMetadata of a unary answer
//                               and of the last stream event
//   x-fake-model-version: s     modelVersion to report (default: the model from the URL)
//   x-fake-stream-gzip: 1       gzip streamed answers too when accepted (flushed per event)
//   x-fake-close: 1             Connection: close after this response
//   x-fake-event-flush: 1       write each stream piece with its own write even without a
//                               delay (the bench: events as separate TCP segments)
#include "fake_types.hpp"
#include "metering/google_status.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace gm::test {

struct response_piece {
    std::string data;  // payload bytes, already compressed when the answer is
    std::chrono::milliseconds delay_before{0};
};

struct response_plan {
    unsigned status = 200;
    fake_header_list headers;  // without framing (Content-Length / Transfer-Encoding / Connection)
    bool chunked = false;      // else Content-Length is the sum of the pieces
    std::vector<response_piece> pieces;
    std::chrono::milliseconds delay_before_header{0};
    std::optional<std::uint64_t> truncate_after;  // payload bytes, then close
    bool close = false;
    bool write_each_piece = false;  // else pieces without a delay share one write
};

class fake_responder {
public:
    // scheme: "http" or "https", for URLs the fake hands out (resumable uploads).
    explicit fake_responder(std::string scheme);
    response_plan answer(const received_request& request) const;

private:
    struct cached_body {
        std::vector<std::string> pieces;  // one for a unary answer, one per event for a stream
        std::string content_encoding;
    };
    std::shared_ptr<const cached_body> cached(const std::string& key) const;
    void remember(const std::string& key, std::shared_ptr<const cached_body> body) const;

    std::string scheme_;
    // Guards cache_: rendered bodies (JSON built, padded and compressed), keyed by
    // everything that shapes them, so that a benchmark's repeated request costs a lookup.
    mutable std::mutex mutex_;
    mutable std::unordered_map<std::string, std::shared_ptr<const cached_body>> cache_;
};

// Google's canonical error status name for a code: metering/google_status.hpp.
using metering::google_status_name;

}  // namespace gm::test

#pragma once
// The one object that crosses from the proxy to storage: everything known about one
// call once it has ended. Money is in pico-USD (1e-12 USD) so that a price per million
// tokens with up to six decimals is an exact integer per token; tokens are counts.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace gm::metering {

// Token counts as Google reports them (GEMINI_WIRE.md section 3). Cached tokens are a
// subset of prompt; output billed = candidates + thoughts.
struct token_counts {
    std::int64_t prompt = 0;
    std::int64_t candidates = 0;
    std::int64_t cached = 0;
    std::int64_t thoughts = 0;
    std::int64_t tool_use_prompt = 0;
    std::int64_t total = 0;
    // Per-modality parts that some models price apart.
    std::int64_t prompt_audio = 0;
    std::int64_t cached_audio = 0;

    friend bool operator==(const token_counts&, const token_counts&) = default;
};

// Where the token counts came from.
enum class usage_source : std::uint8_t {
    response,   // read from the response (usageMetadata or OpenAI usage)
    none,       // the response carries no usage (embeddings, countTokens, files...)
    estimated,  // estimated by the proxy; say how in record.problems
};

// How the call ended, as seen by the proxy.
enum class call_ending : std::uint8_t {
    completed,             // full response relayed (any status)
    upstream_unreachable,  // connect / TLS failed: the proxy answered 502
    upstream_timeout,      // no answer in time: the proxy answered 504
    client_gone,           // the app hung up before the response was relayed
    upstream_broken,       // the upstream closed or failed mid-response
    rejected,              // the proxy refused the request (bad input); never forwarded
};

const char* to_string(call_ending) noexcept;
const char* to_string(usage_source) noexcept;

struct usage_record {
    std::string id;                 // time-sortable unique id, set by make_record_id()
    std::int64_t created_at_ms = 0; // UTC epoch milliseconds of the first request byte

    // Attribution (X-Meter-* headers).
    std::string user_id;            // empty: guest
    std::string user_email;
    bool is_guest = true;
    std::string endpoint;           // X-Meter-Endpoint, default: the Gemini method
    std::string bot_id;
    std::vector<std::pair<std::string, std::string>> tags;  // X-Meter-Tag-<Name>

    // Call identity.
    std::string http_method;        // GET, POST...
    std::string path;               // request path without the query string
    std::string gemini_method;      // generateContent, streamGenerateContent, chat/completions...
    std::string model;              // normalised model name (pricing key)
    std::string model_version;      // modelVersion from the response, when present
    std::string response_id;
    bool streamed = false;

    // Outcome.
    int http_status = 0;            // status relayed to the app (0: none was sent)
    call_ending ending = call_ending::completed;
    bool success = false;           // 2xx relayed completely
    bool partial = false;           // usage is the last seen before the call broke off
    std::string error_message;      // Google's error.message or the proxy's reason

    // Usage and cost.
    usage_source source = usage_source::none;
    token_counts tokens;
    bool priced = false;            // false: model unknown to the price table
    std::int64_t cost_pico_usd = 0;
    std::string price_version;      // version of the table that priced it

    // Timing and size.
    std::int64_t duration_ms = 0;   // first request byte to last response byte
    std::int64_t ttfb_ms = -1;      // first request byte to first response byte; -1: none
    std::int64_t request_bytes = 0;
    std::int64_t response_bytes = 0;

    // What went wrong while reading usage (malformed JSON, truncated stream...),
    // kept in metadata instead of invented numbers.
    std::vector<std::string> problems;

    // Convenience for the spec's columns.
    std::int64_t input_tokens() const noexcept { return tokens.prompt + tokens.tool_use_prompt; }
    std::int64_t output_tokens() const noexcept { return tokens.candidates + tokens.thoughts; }
};

}  // namespace gm::metering

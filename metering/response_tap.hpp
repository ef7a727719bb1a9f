#pragma once
// The hot-path reader of a response copy: decompresses (if needed), frames (JSON body,
// JSON-array stream or text/event-stream) and scans for the few values metering needs.
// Memory is bounded and independent of body size; feed() never throws and never stops
// the relay: whatever goes wrong becomes a problem string in the result.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "metering/usage_record.hpp"

namespace gm::metering {

struct response_tap_options {
    std::string_view content_type;
    std::string_view content_encoding;
    int http_status = 0;
    bool openai_compat = false;
    std::string_view gemini_method;
    // Whole SSE events (and JSON-array elements) are read by json_skimmer, which gives
    // json_scanner's results faster; false makes json_scanner read everything (tests
    // compare the two).
    bool fast_path = true;
};

struct tap_result {
    usage_source source = usage_source::none;
    token_counts tokens;
    bool has_usage = false;
    std::string model_version;   // modelVersion (Gemini) or model (OpenAI) from the response
    std::string response_id;     // responseId (Gemini) or id (OpenAI)
    bool finished = false;       // finishReason / [DONE] seen, or a complete non-stream body
    std::string error_message;   // Google's error.message, or a mid-stream error event's
    std::vector<std::string> problems;
};

// Methods whose successful responses carry usage; for the others a missing usage is
// expected (source none) and not a problem.
bool method_reports_usage(std::string_view gemini_method, bool openai_compat) noexcept;

class response_tap {
public:
    static constexpr std::size_t max_problems = 16;
    static constexpr std::size_t max_text = 1024;  // error message, model version, id

    explicit response_tap(const response_tap_options& options);
    ~response_tap();
    response_tap(const response_tap&) = delete;
    response_tap& operator=(const response_tap&) = delete;

    // The original bytes as relayed (maybe compressed), in order, any split.
    void feed(std::string_view bytes) noexcept;
    // body_complete: the whole body was received. Call once.
    tap_result finish(bool body_complete) noexcept;

    std::uint64_t bytes_seen() const noexcept { return bytes_seen_; }

private:
    struct impl;
    std::unique_ptr<impl> impl_;
    std::uint64_t bytes_seen_ = 0;
};

}  // namespace gm::metering

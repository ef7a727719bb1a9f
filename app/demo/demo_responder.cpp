#include "app/demo/demo_responder.hpp"
#include "metering/google_status.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <random>

namespace gm::demo {
namespace {

constexpr std::string_view json_type = "application/json; charset=UTF-8";
constexpr std::string_view sse_type = "text/event-stream";

constexpr std::array<std::string_view, 48> words = {
    "the", "answer", "depends", "on", "what", "you", "measure", "and", "how", "often", "a", "model",
    "reads", "your", "prompt", "then", "writes", "short", "clear", "steps", "for", "each", "case",
    "consider", "cost", "latency", "users", "features", "daily", "totals", "so", "that", "teams",
    "see", "where", "tokens", "go", "before", "the", "bill", "arrives", "at", "month", "end",
    "with", "no", "surprises", "today"};

std::uint64_t fnv1a(std::string_view s, std::uint64_t h) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
    return h;
}

// Filler prose from a word list: JSON-safe (no quotes or backslashes) by construction.
std::string make_text(std::size_t length, std::mt19937_64& rng) {
    std::string out;
    out.reserve(length + 16);
    while (out.size() < length) {
        if (!out.empty()) out += ' ';
        out += words[rng() % words.size()];
    }
    out.resize(length);
    return out;
}

bool is_thinking_model(std::string_view model) {
    const bool family = model.starts_with("gemini-2.5") || model.starts_with("gemini-3");
    return family && model.find("-lite") == std::string_view::npos;
}

struct usage_numbers {
    std::int64_t prompt = 0, candidates = 0, thoughts = 0, cached = 0;
    std::int64_t total() const { return prompt + candidates + thoughts; }
};

std::string usage_json(const usage_numbers& u, bool prompt_only) {
    if (prompt_only) return fmt::format("{{\"promptTokenCount\": {0},\"totalTokenCount\": {0}}}", u.prompt);
    std::string out = fmt::format("{{\"promptTokenCount\": {},\"candidatesTokenCount\": {},\"totalTokenCount\": {}",
                                  u.prompt, u.candidates, u.total());
    if (u.cached > 0) out += fmt::format(",\"cachedContentTokenCount\": {}", u.cached);
    out += fmt::format(",\"promptTokensDetails\": [{{\"modality\": \"TEXT\",\"tokenCount\": {}}}]", u.prompt);
    if (u.cached > 0) out += fmt::format(",\"cacheTokensDetails\": [{{\"modality\": \"TEXT\",\"tokenCount\": {}}}]", u.cached);
    if (u.thoughts > 0) out += fmt::format(",\"thoughtsTokenCount\": {}", u.thoughts);
    return out + "}";
}

std::string_view error_message(unsigned code) {
    switch (code) {
    case 400: return "Request contains an invalid argument.";
    case 403: return "Permission denied: the demo key is not a real key.";
    case 404: return "Requested entity was not found.";
    case 429: return "You exceeded your current quota, please check your plan and billing details. Please retry in 53.0s.";
    case 500: return "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting";
    case 503: return "The model is overloaded. Please try again later.";
    case 504: return "Deadline expired before operation could complete.";
    default: return "The demo upstream was asked for this error.";
    }
}

std::string error_body(unsigned code) {
    const std::string details =
        code == 429 ? ",\n    \"details\": [\n      {\n        \"@type\": \"type.googleapis.com/google.rpc.RetryInfo\",\n"
                      "        \"retryDelay\": \"53s\"\n      }\n    ]"
                    : "";
    return fmt::format("{{\n  \"error\": {{\n    \"code\": {},\n    \"message\": \"{}\",\n    \"status\": \"{}\"{}\n  }}\n}}\n",
                       code, error_message(code), metering::google_status_name(code), details);
}

std::chrono::milliseconds scaled(double ms, double scale) {
    return std::chrono::milliseconds(static_cast<std::int64_t>(ms * scale));
}

demo_answer error_answer(unsigned code, std::string_view content_type, std::mt19937_64& rng, double scale) {
    demo_answer a;
    a.kind = code == 404 ? answer_kind::not_found : answer_kind::error;
    a.status = code;
    a.content_type = content_type;
    a.pieces.push_back(error_body(code));
    a.before_header = scaled(80.0 + static_cast<double>(rng() % 200), scale);
    return a;
}

// "/v1beta/models/gemini-2.5-flash:generateContent" -> model and method; false otherwise.
bool parse_model_path(std::string_view path, std::string_view& model, std::string_view& method) {
    if (!path.starts_with('/')) return false;
    path.remove_prefix(1);
    const auto slash = path.find('/');
    if (slash == std::string_view::npos) return false;
    const std::string_view ver = path.substr(0, slash);
    if (ver != "v1" && ver != "v1beta" && ver != "v1alpha") return false;
    path.remove_prefix(slash + 1);
    if (!path.starts_with("models/")) return false;
    path.remove_prefix(7);
    const auto colon = path.find(':');
    if (colon == std::string_view::npos || colon == 0 || path.substr(0, colon).find('/') != std::string_view::npos)
        return false;
    model = path.substr(0, colon);
    method = path.substr(colon + 1);
    return true;
}

bool query_has(std::string_view query, std::string_view param) {
    while (!query.empty()) {
        const auto amp = query.find('&');
        if (query.substr(0, amp) == param) return true;
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    return false;
}

usage_numbers make_usage(std::string_view model, std::size_t body_bytes, std::mt19937_64& rng) {
    usage_numbers u;
    // About four bytes of text per token, plus what a real app's system prompt adds.
    u.prompt = static_cast<std::int64_t>(body_bytes / 4) + 150 + static_cast<std::int64_t>(rng() % 1200);
    u.candidates = 20 + static_cast<std::int64_t>(rng() % 380);
    if (model.find("pro") != std::string_view::npos) u.candidates += static_cast<std::int64_t>(rng() % 300);
    if (is_thinking_model(model) && rng() % 10 < 6) u.thoughts = 30 + static_cast<std::int64_t>(rng() % 600);
    if (rng() % 4 == 0) u.cached = u.prompt / 2;
    return u;
}

}  // namespace


demo_answer answer_request(std::string_view method, std::string_view target, std::string_view body,
                           std::string_view fail_header, std::uint64_t seed, double latency_scale) {
    std::mt19937_64 rng(fnv1a(body, fnv1a(target, 14695981039346656037ULL ^ seed)));
    const auto q = target.find('?');
    const std::string_view path = target.substr(0, q);
    const std::string_view query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);

    std::string_view model, gemini_method;
    const bool known = method == "POST" && parse_model_path(path, model, gemini_method) &&
                       (gemini_method == "generateContent" || gemini_method == "streamGenerateContent" ||
                        gemini_method == "countTokens");
    const bool sse = known && gemini_method == "streamGenerateContent" && query_has(query, "alt=sse");

    if (!fail_header.empty()) {
        unsigned code = 0;
        const auto [p, ec] = std::from_chars(fail_header.data(), fail_header.data() + fail_header.size(), code);
        if (ec != std::errc{} || code < 400 || code > 599) code = 500;
        // Google answers an error on an SSE URL with the stream's content type.
        return error_answer(code, sse ? sse_type : json_type, rng, latency_scale);
    }
    if (!known) return error_answer(404, json_type, rng, latency_scale);

    const usage_numbers u = make_usage(model, body.size(), rng);
    const std::string response_id = fmt::format("demo-{:016x}", rng());
    demo_answer a;
    a.content_type = json_type;

    if (gemini_method == "countTokens") {
        a.kind = answer_kind::count_tokens;
        a.pieces.push_back(fmt::format(
            "{{\n  \"totalTokens\": {0},\n  \"promptTokensDetails\": [\n    {{\n      \"modality\": \"TEXT\",\n"
            "      \"tokenCount\": {0}\n    }}\n  ]\n}}\n",
            u.prompt));
        a.before_header = scaled(40.0 + static_cast<double>(rng() % 120), latency_scale);
        return a;
    }

    // A model's pace: a first byte after a few hundred ms, then ~4 ms per generated token.
    const double first_byte_ms = 250.0 + static_cast<double>(rng() % 600);
    const double generate_ms = 4.0 * static_cast<double>(u.candidates + u.thoughts);
    const std::string text = make_text(static_cast<std::size_t>(std::min<std::int64_t>(u.candidates * 4, 1600)), rng);

    if (!sse) {
        // streamGenerateContent without alt=sse (a JSON array) is not simulated: answered as a unary call.
        a.pieces.push_back(fmt::format(
            "{{\n  \"candidates\": [\n    {{\n      \"content\": {{\n        \"parts\": [\n          {{\n"
            "            \"text\": \"{}\"\n          }}\n        ],\n        \"role\": \"model\"\n      }},\n"
            "      \"finishReason\": \"STOP\",\n      \"index\": 0\n    }}\n  ],\n  \"usageMetadata\": {},\n"
            "  \"modelVersion\": \"{}\",\n  \"responseId\": \"{}\"\n}}\n",
            text, usage_json(u, false), model, response_id));
        a.before_header = scaled(first_byte_ms + generate_ms, latency_scale);
        return a;
    }

    a.kind = answer_kind::stream;
    a.stream = true;
    a.content_type = sse_type;
    const std::size_t events = 3 + rng() % 3;
    const std::size_t step = (text.size() + events - 1) / events;
    for (std::size_t i = 0; i < events; ++i) {
        const bool last = i + 1 == events;
        const std::string_view part = std::string_view(text).substr(std::min(text.size(), i * step), step);
        a.pieces.push_back(fmt::format(
            "data: {{\"candidates\": [{{\"content\": {{\"parts\": [{{\"text\": \"{}\"}}],\"role\": \"model\"}}{},"
            "\"index\": 0}}],\"usageMetadata\": {},\"modelVersion\": \"{}\",\"responseId\": \"{}\"}}\r\n\r\n",
            part, last ? ",\"finishReason\": \"STOP\"" : "", usage_json(u, !last), model, response_id));
    }
    a.before_header = scaled(first_byte_ms, latency_scale);
    a.between_pieces = scaled(generate_ms / static_cast<double>(events), latency_scale);
    return a;
}

}  // namespace gm::demo

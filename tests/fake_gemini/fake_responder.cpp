#include "fake_responder.hpp"

#include "fake_gzip.hpp"

#include <fmt/format.h>
#include <rapidjson/document.h>

#include <array>
#include <charconv>
#include <ctime>
#include <strings.h>

namespace gm::test {
namespace {

using namespace std::chrono_literals;

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

bool icontains(std::string_view hay, std::string_view needle) {
    if (needle.size() > hay.size()) return false;
    for (std::size_t i = 0; i + needle.size() <= hay.size(); ++i)
        if (iequals(hay.substr(i, needle.size()), needle)) return true;
    return false;
}

std::string_view header_value(const received_request& r, std::string_view name) {
    for (const auto& [k, v] : r.headers)
        if (iequals(k, name)) return v;
    return {};
}

std::optional<std::uint64_t> header_number(const received_request& r, std::string_view name) {
    const std::string_view v = header_value(r, name);
    std::uint64_t n = 0;
    if (v.empty()) return std::nullopt;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc{}) return std::nullopt;
    return n;
}

bool header_flag(const received_request& r, std::string_view name) {
    const std::string_view v = header_value(r, name);
    return !v.empty() && v != "0" && !iequals(v, "false");
}

struct knobs {
    std::optional<std::uint64_t> status;
    std::chrono::milliseconds delay{0};
    std::chrono::milliseconds event_delay{0};
    std::uint64_t events = 3;
    std::optional<std::uint64_t> truncate_after;
    std::optional<std::uint64_t> body_size;
    bool no_usage = false;
    bool malformed = false;
    bool stream_gzip = false;
    bool close = false;
    std::string usage;
    std::string model_version;
};

knobs read_knobs(const received_request& r) {
    knobs k;
    k.status = header_number(r, "x-fake-status");
    k.delay = std::chrono::milliseconds(header_number(r, "x-fake-delay-ms").value_or(0));
    k.event_delay = std::chrono::milliseconds(header_number(r, "x-fake-event-delay-ms").value_or(0));
    k.events = std::max<std::uint64_t>(1, header_number(r, "x-fake-events").value_or(3));
    k.truncate_after = header_number(r, "x-fake-truncate-after");
    k.body_size = header_number(r, "x-fake-body-size");
    k.no_usage = header_flag(r, "x-fake-no-usage");
    k.malformed = header_flag(r, "x-fake-malformed");
    k.stream_gzip = header_flag(r, "x-fake-stream-gzip");
    k.close = header_flag(r, "x-fake-close");
    k.usage = std::string(header_value(r, "x-fake-usage"));
    k.model_version = std::string(header_value(r, "x-fake-model-version"));
    return k;
}

bool accepts_gzip(const received_request& r) {
    const std::string_view ae = header_value(r, "accept-encoding");
    return icontains(ae, "gzip") && !icontains(ae, "gzip;q=0");
}

// One Date value per second per thread: formatting it per response would cost more than
// the rest of a pre-rendered answer.
std::string date_value() {
    thread_local std::time_t last = 0;
    thread_local std::string text;
    const std::time_t now = std::time(nullptr);
    if (now != last) {
        std::tm tm{};
        gmtime_r(&now, &tm);
        char buf[64];
        std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        text = buf;
        last = now;
    }
    return text;
}

// The headers Google puts around a JSON answer, in Google's order.
fake_header_list google_headers(std::string_view content_type, std::string_view encoding) {
    fake_header_list h;
    h.reserve(12);
    h.emplace_back("Content-Type", content_type);
    if (content_type == "text/event-stream") h.emplace_back("Content-Disposition", "attachment");
    h.emplace_back("Vary", "Origin");
    h.emplace_back("Vary", "X-Origin");
    h.emplace_back("Vary", "Referer");
    if (!encoding.empty()) h.emplace_back("Content-Encoding", encoding);
    h.emplace_back("Date", date_value());
    h.emplace_back("Server", "scaffolding on HTTPServer2");
    h.emplace_back("X-XSS-Protection", "0");
    h.emplace_back("X-Frame-Options", "SAMEORIGIN");
    h.emplace_back("X-Content-Type-Options", "nosniff");
    h.emplace_back("Server-Timing", "gfet4t7; dur=412");
    h.emplace_back("Alt-Svc", "h3=\":443\"; ma=2592000,h3-29=\":443\"; ma=2592000");
    return h;
}

constexpr std::string_view json_type = "application/json; charset=UTF-8";

constexpr std::array<std::string_view, 64> words = {
    "the", "model", "answers", "with", "a", "short", "text", "about", "tokens", "and", "costs",
    "while", "proxy", "relays", "every", "byte", "unchanged", "so", "app", "sees", "exactly",
    "what", "Google", "sent", "streams", "arrive", "as", "events", "one", "after", "another",
    "metering", "reads", "usage", "on", "side", "never", "slowing", "down", "response", "cached",
    "prompt", "thinking", "output", "price", "per", "million", "integer", "units", "sum",
    "daily", "report", "user", "guest", "endpoint", "feature", "latency", "small", "fast",
    "careful", "honest", "numbers", "table", "row"};

// Deterministic filler text: a fixed linear congruential sequence over a word list, so
// that gzip compresses it about as much as real prose (a repeated string would shrink to
// nothing and make "about N bytes as sent" meaningless).
std::string make_text(std::size_t length, std::uint64_t seed) {
    std::string out;
    out.reserve(length + 16);
    std::uint64_t x = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    while (out.size() < length) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        if (!out.empty()) out += ' ';
        out += words[(x >> 33) % words.size()];
    }
    out.resize(length);
    return out;
}

std::int64_t tokens_of(std::size_t bytes) { return static_cast<std::int64_t>((bytes + 3) / 4); }

bool is_thinking_model(std::string_view model) {
    const bool family = model.starts_with("gemini-2.5") || model.starts_with("gemini-3");
    return family && model.find("-lite") == std::string_view::npos;
}

bool is_known_model(std::string_view model) {
    for (std::string_view p : {"gemini-", "gemma-", "text-embedding-", "embedding-", "learnlm-", "imagen-", "veo-"})
        if (model.starts_with(p) && model.size() > p.size()) return true;
    return false;
}

struct usage_numbers {
    std::int64_t prompt = 0, candidates = 0, thoughts = 0;
    std::int64_t total() const { return prompt + candidates + thoughts; }
};

std::string usage_compact(const usage_numbers& u, bool prompt_only) {
    std::string out = fmt::format("{{\"promptTokenCount\": {}", u.prompt);
    if (!prompt_only) out += fmt::format(",\"candidatesTokenCount\": {}", u.candidates);
    out += fmt::format(",\"totalTokenCount\": {}", prompt_only ? u.prompt + u.thoughts : u.total());
    out += fmt::format(",\"promptTokensDetails\": [{{\"modality\": \"TEXT\",\"tokenCount\": {}}}]", u.prompt);
    if (u.thoughts > 0) out += fmt::format(",\"thoughtsTokenCount\": {}", u.thoughts);
    out += "}";
    return out;
}

std::string usage_pretty(const usage_numbers& u) {
    std::string out = fmt::format(
        "{{\n    \"promptTokenCount\": {},\n    \"candidatesTokenCount\": {},\n    \"totalTokenCount\": {},\n"
        "    \"promptTokensDetails\": [\n      {{\n        \"modality\": \"TEXT\",\n        \"tokenCount\": {}\n"
        "      }}\n    ]",
        u.prompt, u.candidates, u.total(), u.prompt);
    if (u.thoughts > 0) out += fmt::format(",\n    \"thoughtsTokenCount\": {}", u.thoughts);
    out += "\n  }";
    return out;
}

std::string error_body(unsigned code, std::string_view message) {
    std::string details;
    if (code == 429)
        details = ",\n    \"details\": [\n      {\n        \"@type\": \"type.googleapis.com/google.rpc.RetryInfo\",\n"
                  "        \"retryDelay\": \"53s\"\n      }\n    ]";
    return fmt::format("{{\n  \"error\": {{\n    \"code\": {},\n    \"message\": \"{}\",\n    \"status\": \"{}\"{}\n  }}\n}}\n",
                       code, message, google_status_name(code), details);
}

std::string_view default_message(unsigned code) {
    switch (code) {
    case 400: return "Request contains an invalid argument.";
    case 401: return "Request had invalid authentication credentials.";
    case 403: return "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.";
    case 404: return "Requested entity was not found.";
    case 429: return "You exceeded your current quota, please check your plan and billing details. Please retry in 53.0s.";
    case 500: return "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting";
    case 503: return "The model is overloaded. Please try again later.";
    case 504: return "Deadline expired before operation could complete.";
    default: return "The fake Gemini upstream was asked for this error.";
    }
}

struct target_parts {
    std::string_view path;
    std::string_view query;
};

target_parts split_target(std::string_view target) {
    const auto q = target.find('?');
    if (q == std::string_view::npos) return {target, {}};
    return {target.substr(0, q), target.substr(q + 1)};
}

bool query_has(std::string_view query, std::string_view param) {
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view item = query.substr(0, amp);
        if (item == param) return true;
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    return false;
}

std::vector<std::string_view> split_path(std::string_view path) {
    std::vector<std::string_view> out;
    while (!path.empty()) {
        if (path.front() == '/') { path.remove_prefix(1); continue; }
        const auto slash = path.find('/');
        out.push_back(path.substr(0, slash));
        if (slash == std::string_view::npos) break;
        path.remove_prefix(slash);
    }
    return out;
}

bool is_version(std::string_view v) { return v == "v1" || v == "v1beta" || v == "v1alpha"; }

// Builds a plan from whole-body answers: Content-Length framing, gzip when accepted.
response_plan unary_plan(unsigned status, std::string body, bool gzip, const knobs& k,
                         std::string_view content_type = json_type) {
    response_plan p;
    p.status = status;
    if (gzip) body = gzip_compress(body);
    p.headers = google_headers(content_type, gzip ? "gzip" : "");
    p.pieces.push_back({std::move(body), 0ms});
    return p;
}

response_plan error_plan(unsigned code, std::string_view message, bool gzip, const knobs& k,
                         std::string_view content_type = json_type) {
    return unary_plan(code, error_body(code, message), gzip, k, content_type);
}

std::string generate_body(std::string_view model_version, std::string_view response_id, std::string_view text,
                          const usage_numbers& u, const knobs& k) {
    if (k.malformed) return fmt::format("{{\n  \"candidates\": [\n    {{\n      \"content\": {{ \"parts\": [ {{ \"text\": \"{}", text);
    std::string usage = k.no_usage ? std::string() : ",\n  \"usageMetadata\": " + (k.usage.empty() ? usage_pretty(u) : k.usage);
    return fmt::format(
        "{{\n  \"candidates\": [\n    {{\n      \"content\": {{\n        \"parts\": [\n          {{\n"
        "            \"text\": \"{}\"\n          }}\n        ],\n        \"role\": \"model\"\n      }},\n"
        "      \"finishReason\": \"STOP\",\n      \"index\": 0\n    }}\n  ]{},\n  \"modelVersion\": \"{}\",\n"
        "  \"responseId\": \"{}\"\n}}\n",
        text, usage, model_version, response_id);
}

std::string sse_event_json(std::string_view text, bool last, std::string_view usage, std::string_view model_version,
                           std::string_view response_id) {
    return fmt::format(
        "{{\"candidates\": [{{\"content\": {{\"parts\": [{{\"text\": \"{}\"}}],\"role\": \"model\"}}{},\"index\": 0}}]{}"
        ",\"modelVersion\": \"{}\",\"responseId\": \"{}\"}}",
        text, last ? ",\"finishReason\": \"STOP\"" : "", usage.empty() ? std::string() : ",\"usageMetadata\": " + std::string(usage),
        model_version, response_id);
}

std::string openai_usage(const usage_numbers& u) {
    return fmt::format("{{\"completion_tokens\":{},\"prompt_tokens\":{},\"total_tokens\":{}}}", u.candidates, u.prompt, u.total());
}

}  // namespace


fake_responder::fake_responder(std::string scheme) : scheme_(std::move(scheme)) {}

std::shared_ptr<const fake_responder::cached_body> fake_responder::cached(const std::string& key) const {
    std::lock_guard lock(mutex_);
    auto it = cache_.find(key);
    return it == cache_.end() ? nullptr : it->second;
}

void fake_responder::remember(const std::string& key, std::shared_ptr<const cached_body> body) const {
    std::lock_guard lock(mutex_);
    // A bound, not an eviction policy: a test run never needs more than a few entries.
    if (cache_.size() > 4096) cache_.clear();
    cache_.emplace(key, std::move(body));
}

response_plan fake_responder::answer(const received_request& r) const {
    const knobs k = read_knobs(r);
    const auto [path, query] = split_target(r.target);
    const bool gzip = accepts_gzip(r);
    const auto segs = split_path(path);
    const bool sse = query_has(query, "alt=sse");
    const std::string response_id = "fake-" + r.body_sha256.substr(0, 16);
    const std::string_view method = r.method;
    const bool get_like = method == "GET" || method == "HEAD";

    response_plan plan = [&]() -> response_plan {
        // Errors asked for come first, in the content type of the URL's shape.
        if (k.status && *k.status >= 300) {
            const bool stream_url = path.find(":streamGenerateContent") != std::string_view::npos && sse;
            return error_plan(static_cast<unsigned>(*k.status), default_message(static_cast<unsigned>(*k.status)),
                              gzip && !stream_url, k, stream_url ? "text/event-stream" : json_type);
        }

        // Uploads: the session has already streamed the body through SHA-256.
        if (segs.size() >= 3 && segs[0] == "upload" && is_version(segs[1]) && segs[2] == "files" && method == "POST") {
            const std::string_view protocol = header_value(r, "x-goog-upload-protocol");
            const std::string_view command = header_value(r, "x-goog-upload-command");
            const std::string host(header_value(r, "host"));
            const std::string id = "fake-" + r.body_sha256.substr(0, 12);
            if (iequals(protocol, "resumable") && icontains(command, "start") && !icontains(command, "upload")) {
                response_plan p = unary_plan(200, std::string(), false, k);
                p.headers.emplace_back("X-Goog-Upload-Status", "active");
                p.headers.emplace_back("X-Goog-Upload-URL",
                                       fmt::format("{}://{}/upload/{}/files?upload_id={}&upload_protocol=resumable",
                                                   scheme_, host, segs[1], id));
                p.headers.emplace_back("X-Goog-Upload-Chunk-Granularity", "8388608");
                return p;
            }
            std::string body = fmt::format(
                "{{\n  \"file\": {{\n    \"name\": \"files/{}\",\n    \"mimeType\": \"{}\",\n    \"sizeBytes\": \"{}\",\n"
                "    \"createTime\": \"2025-01-01T00:00:00.000000Z\",\n    \"sha256Hash\": \"{}\",\n"
                "    \"uri\": \"{}://{}/{}/files/{}\",\n    \"state\": \"ACTIVE\",\n    \"source\": \"UPLOADED\"\n  }}\n}}\n",
                id, header_value(r, "content-type").empty() ? "application/octet-stream" : header_value(r, "content-type"),
                r.body_size, r.body_sha256, scheme_, host, segs[1], id);
            response_plan p = unary_plan(200, std::move(body), gzip, k);
            if (iequals(protocol, "resumable")) p.headers.emplace_back("X-Goog-Upload-Status", "final");
            return p;
        }

        if (segs.empty() || !is_version(segs[0])) return error_plan(404, default_message(404), gzip, k);
        const std::string_view ver = segs[0];

        // OpenAI-compatible endpoint: model and stream flag come from the JSON body.
        if (segs.size() >= 2 && segs[1] == "openai") {
            if (segs.size() == 3 && segs[2] == "models" && get_like)
                return unary_plan(200, "{\"object\":\"list\",\"data\":[{\"id\":\"models/gemini-2.5-flash\",\"object\":\"model\",\"owned_by\":\"google\"}]}", gzip, k);
            if (!(segs.size() == 4 && segs[2] == "chat" && segs[3] == "completions" && method == "POST"))
                return error_plan(404, default_message(404), gzip, k);
            rapidjson::Document doc;
            doc.Parse(r.body_prefix.data(), r.body_prefix.size());
            if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("model") || !doc["model"].IsString())
                return error_plan(400, "Invalid JSON payload received.", gzip, k);
            std::string model = doc["model"].GetString();
            if (model.starts_with("models/")) model.erase(0, 7);
            if (!is_known_model(model)) return error_plan(404, fmt::format("models/{} is not found", model), gzip, k);
            const bool stream = doc.HasMember("stream") && doc["stream"].IsBool() && doc["stream"].GetBool();
            const std::string mv = k.model_version.empty() ? model : k.model_version;
            usage_numbers u{tokens_of(r.body_size), 0, 0};
            const bool thinking = is_thinking_model(model);
            if (!stream) {
                const std::string text = make_text(k.body_size.value_or(120), 7);
                u.candidates = tokens_of(text.size());
                u.thoughts = thinking ? 2 * u.candidates : 0;
                std::string body = k.malformed ? std::string("{\"choices\":[{\"message\":") : fmt::format(
                    "{{\"choices\":[{{\"finish_reason\":\"stop\",\"index\":0,\"message\":{{\"content\":\"{}\",\"role\":\"assistant\"}}}}],"
                    "\"created\":1735689600,\"id\":\"{}\",\"model\":\"{}\",\"object\":\"chat.completion\"{}}}",
                    text, response_id, mv, k.no_usage ? std::string() : ",\"usage\":" + (k.usage.empty() ? openai_usage(u) : k.usage));
                return unary_plan(200, std::move(body), gzip, k);
            }
            response_plan p;
            p.headers = google_headers("text/event-stream", "");
            p.chunked = true;
            for (std::uint64_t i = 0; i < k.events; ++i) {
                const bool last = i + 1 == k.events;
                const std::string text = make_text(40, i);
                u.candidates += tokens_of(text.size());
                u.thoughts = thinking ? 2 * u.candidates : 0;
                std::string ev = k.malformed ? std::string("data: {\"choices\":[oops\n\n") : fmt::format(
                    "data: {{\"choices\":[{{\"delta\":{{\"content\":\"{}\",\"role\":\"assistant\"}}{},\"index\":0}}],"
                    "\"created\":1735689600,\"id\":\"{}\",\"model\":\"{}\",\"object\":\"chat.completion.chunk\"{}}}\n\n",
                    text, last ? ",\"finish_reason\":\"stop\"" : "", response_id, mv,
                    k.no_usage ? std::string() : ",\"usage\":" + (last && !k.usage.empty() ? k.usage : openai_usage(u)));
                if (last) ev += "data: [DONE]\n\n";
                p.pieces.push_back({std::move(ev), i == 0 ? 0ms : k.event_delay});
            }
            return p;
        }

        if (segs.size() == 2 && segs[1] == "models" && get_like) {
            std::string body = "{\n  \"models\": [\n";
            const std::array<std::string_view, 5> models = {"gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite",
                                                           "gemini-2.0-flash", "gemini-embedding-001"};
            for (std::size_t i = 0; i < models.size(); ++i)
                body += fmt::format("    {{\n      \"name\": \"models/{}\",\n      \"version\": \"001\",\n      \"displayName\": \"{}\",\n"
                                    "      \"inputTokenLimit\": 1048576,\n      \"outputTokenLimit\": 65536\n    }}{}\n",
                                    models[i], models[i], i + 1 < models.size() ? "," : "");
            body += "  ]\n}\n";
            return unary_plan(200, std::move(body), gzip, k);
        }

        // {ver}/models/{m}[:method] and {ver}/tunedModels/{m}[:method]
        if (segs.size() == 3 && (segs[1] == "models" || segs[1] == "tunedModels")) {
            const std::string_view last = segs[2];
            const auto colon = last.find(':');
            const std::string model(last.substr(0, colon));
            const std::string_view call = colon == std::string_view::npos ? std::string_view() : last.substr(colon + 1);
            const bool known = segs[1] == "tunedModels" || is_known_model(model);
            const bool stream_url = call == "streamGenerateContent";
            if (!known)
                return error_plan(404, fmt::format("models/{} is not found for API version {}, or is not supported for {}. "
                                                   "Call ListModels to see the list of available models and their supported methods.",
                                                   model, ver, call.empty() ? "get" : call),
                                  gzip && !(stream_url && sse), k, stream_url && sse ? "text/event-stream" : json_type);
            if (call.empty() && get_like)
                return unary_plan(200, fmt::format("{{\n  \"name\": \"models/{}\",\n  \"version\": \"001\",\n  \"displayName\": \"{}\"\n}}\n",
                                                   model, model), gzip, k);
            if (method != "POST") return error_plan(404, default_message(404), gzip, k);
            const std::string mv = k.model_version.empty() ? model : k.model_version;
            const bool thinking = is_thinking_model(model);
            usage_numbers u{tokens_of(r.body_size), 0, 0};

            if (call == "generateContent") {
                // The bench's hot path: render, pad and compress once per distinct request.
                const std::string key = fmt::format("gen|{}|{}|{}|{}|{}|{}|{}|{}|{}", mv, r.body_size, response_id,
                                                    k.body_size.value_or(0), k.no_usage, k.malformed, k.usage, gzip,
                                                    thinking);
                auto body = cached(key);
                if (!body) {
                    auto render = [&](std::size_t text_len) {
                        const std::string text = make_text(text_len, 1);
                        usage_numbers uu = u;
                        uu.candidates = tokens_of(text.size());
                        uu.thoughts = thinking ? 2 * uu.candidates : 0;
                        std::string b = generate_body(mv, response_id, text, uu, k);
                        return gzip ? gzip_compress(b) : b;
                    };
                    std::size_t len = 80;
                    std::string b = render(len);
                    if (k.body_size && *k.body_size > b.size()) {
                        // Secant steps on text length: gzip makes size(len) only roughly linear.
                        const std::size_t want = *k.body_size;
                        std::size_t lo_len = len, lo_size = b.size();
                        std::size_t guess = len + (want - lo_size) * (gzip ? 3 : 1);
                        for (int step = 0; step < 8; ++step) {
                            std::string c = render(guess);
                            const std::size_t size = c.size();
                            b = std::move(c);
                            if (size + want / 50 >= want && size <= want + want / 50) break;
                            const double slope = size == lo_size ? 1.0
                                : (double(size) - double(lo_size)) / (double(guess) - double(lo_len));
                            lo_len = guess;
                            lo_size = size;
                            const double next = double(guess) + (double(want) - double(size)) / std::max(slope, 0.05);
                            guess = next < 1 ? 1 : static_cast<std::size_t>(next);
                        }
                    }
                    body = std::make_shared<const cached_body>(cached_body{{std::move(b)}, gzip ? "gzip" : ""});
                    remember(key, body);
                }
                response_plan p;
                p.headers = google_headers(json_type, body->content_encoding);
                p.pieces.push_back({body->pieces.front(), 0ms});
                return p;
            }

            if (call == "streamGenerateContent") {
                const bool zip = k.stream_gzip && gzip;
                const std::string key = fmt::format("stream|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}", sse, mv, r.body_size, response_id,
                                                    k.events, k.no_usage, k.malformed, k.usage, zip, thinking);
                auto body = cached(key);
                if (!body) {
                    std::vector<std::string> pieces;
                    std::optional<gzip_stream> z;
                    if (zip) z.emplace();
                    for (std::uint64_t i = 0; i < k.events; ++i) {
                        const bool last = i + 1 == k.events;
                        const std::string text = make_text(32, i + 100);
                        u.candidates += tokens_of(text.size());
                        // Thinking happens before the first text, so its count is the same on every event.
                        u.thoughts = thinking ? 16 * static_cast<std::int64_t>(k.events) : 0;
                        std::string usage;
                        if (!k.no_usage) usage = last && !k.usage.empty() ? k.usage : usage_compact(u, i == 0 && k.events > 1);
                        std::string obj = k.malformed ? std::string("{\"candidates\": [oops")
                                                      : sse_event_json(text, last, usage, mv, response_id);
                        std::string piece;
                        if (sse) piece = "data: " + obj + "\r\n\r\n";
                        else piece = (i == 0 ? "[" : "\r\n,") + obj + (last ? "]" : "");
                        if (z) piece = z->write(piece, last);
                        pieces.push_back(std::move(piece));
                    }
                    body = std::make_shared<const cached_body>(cached_body{std::move(pieces), zip ? "gzip" : ""});
                    remember(key, body);
                }
                response_plan p;
                p.chunked = true;
                p.headers = google_headers(sse ? "text/event-stream" : json_type, body->content_encoding);
                p.pieces.reserve(body->pieces.size());
                for (std::size_t i = 0; i < body->pieces.size(); ++i)
                    p.pieces.push_back({body->pieces[i], i == 0 ? 0ms : k.event_delay});
                return p;
            }

            if (call == "countTokens")
                return unary_plan(200, fmt::format("{{\n  \"totalTokens\": {},\n  \"promptTokensDetails\": [\n    {{\n"
                                                   "      \"modality\": \"TEXT\",\n      \"tokenCount\": {}\n    }}\n  ]\n}}\n",
                                                   u.prompt, u.prompt), gzip, k);

            if (call == "embedContent" || call == "batchEmbedContents") {
                const std::string values = "[\n      0.0123,\n      -0.0456,\n      0.0789,\n      -0.0012\n    ]";
                if (call == "embedContent")
                    return unary_plan(200, fmt::format("{{\n  \"embedding\": {{\n    \"values\": {}\n  }}\n}}\n", values), gzip, k);
                std::size_t n = 1;
                rapidjson::Document doc;
                doc.Parse(r.body_prefix.data(), r.body_prefix.size());
                if (!doc.HasParseError() && doc.IsObject() && doc.HasMember("requests") && doc["requests"].IsArray())
                    n = std::max<std::size_t>(1, doc["requests"].Size());
                std::string body = "{\n  \"embeddings\": [\n";
                for (std::size_t i = 0; i < n; ++i)
                    body += fmt::format("    {{\n      \"values\": {}\n    }}{}\n", values, i + 1 < n ? "," : "");
                body += "  ]\n}\n";
                return unary_plan(200, std::move(body), gzip, k);
            }
            return error_plan(404, default_message(404), gzip, k);
        }

        if (segs.size() >= 2 && segs[1] == "files" && get_like && segs.size() == 2)
            return unary_plan(200, "{}\n", gzip, k);
        if (segs.size() >= 2 && get_like) {
            std::string name;
            for (std::size_t i = 1; i < segs.size(); ++i) name += (i > 1 ? "/" : "") + std::string(segs[i]);
            return unary_plan(200, fmt::format("{{\n  \"name\": \"{}\",\n  \"state\": \"ACTIVE\"\n}}\n", name), gzip, k);
        }
        if (segs.size() >= 2 && method == "DELETE") return unary_plan(200, "{}\n", gzip, k);
        return error_plan(404, default_message(404), gzip, k);
    }();

    plan.delay_before_header = k.delay;
    plan.truncate_after = k.truncate_after;
    plan.close = k.close;
    plan.write_each_piece = header_flag(r, "x-fake-event-flush");
    return plan;
}

}  // namespace gm::test

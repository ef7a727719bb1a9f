#include "metering/response_tap.hpp"

#include <fmt/format.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <array>

#include "metering/body_decoder.hpp"
#include "metering/json_array_framer.hpp"
#include "metering/json_scanner.hpp"
#include "metering/json_skim.hpp"
#include "metering/sse_framer.hpp"
#include "metering/usage_parser.hpp"

namespace gm::metering {

namespace {

enum watch_id : std::size_t {
    w_usage_metadata,
    w_model_version,
    w_response_id,
    w_finish_reason,
    w_error,
    w_openai_usage,
    w_openai_model,
    w_openai_id,
    w_openai_finish_reason,
};

// Usage and error objects are small (a few hundred bytes); 16 KiB leaves room for
// per-modality details and long error details without letting a hostile body grow us.
constexpr std::size_t object_cap = 16 * 1024;

// SSE events up to this size are held whole and skimmed (json_skimmer); longer ones
// stream through json_scanner as they arrive. Real events are a few hundred bytes to a
// few KiB; the bound keeps the tap's memory independent of the body.
constexpr std::size_t event_cap = 64 * 1024;

constexpr std::array<json_watch, 9> watches{{
    {"usageMetadata", 0, object_cap},
    {"modelVersion", 0, response_tap::max_text},
    {"responseId", 0, response_tap::max_text},
    {"finishReason", 2, 256},  // top.candidates[i].finishReason
    {"error", 0, object_cap},
    {"usage", 0, object_cap},
    {"model", 0, response_tap::max_text},
    {"id", 0, response_tap::max_text},
    {"finish_reason", 2, 256},  // top.choices[i].finish_reason
}};

const json_skim_keys& skim_keys() {
    static const json_skim_keys keys(watches);
    return keys;
}

bool decode_json_string(std::string_view raw, std::string& out) {
    // Model names and ids never hold escapes: skip the JSON reader for them.
    if (raw.size() >= 2 && raw.find('\\') == std::string_view::npos) {
        out.assign(raw.substr(1, std::min<std::size_t>(raw.size() - 2, response_tap::max_text)));
        return true;
    }
    rapidjson::Document d;
    d.Parse<rapidjson::kParseIterativeFlag>(raw.data(), raw.size());
    if (d.HasParseError() || !d.IsString()) return false;
    out.assign(d.GetString(), std::min<std::size_t>(d.GetStringLength(), response_tap::max_text));
    return true;
}


}  // namespace

bool method_reports_usage(std::string_view m, bool openai_compat) noexcept {
    if (openai_compat) return m == "chat/completions";
    return m == "generateContent" || m == "streamGenerateContent" || m == "batchGenerateContent";
}

struct response_tap::impl final : json_scan_handler, sse_event_handler, json_array_handler {
    enum class framing : std::uint8_t { undecided, json, sse };

    explicit impl(const response_tap_options& o)
        : decoder(o.content_encoding),
          scanner(watches, *this),
          skimmer(skim_keys()),
          framer(*this),
          array_framer(*this),
          status(o.http_status),
          openai(o.openai_compat),
          expects_usage(method_reports_usage(o.gemini_method, o.openai_compat)),
          event_stream(o.content_type.find("event-stream") != std::string_view::npos),
          skim_enabled(o.fast_path),
          sink([this](std::string_view b) { on_decoded(b); }) {
        if (decoder.failed()) add_problem(decoder.problem());
    }

    void on_decoded(std::string_view b) noexcept {
        if (mode == framing::undecided) {
            // The framing comes from the first bytes, the content type being only a hint:
            // Google sends JSON error bodies labelled text/event-stream.
            std::size_t i = 0;
            while (i < b.size()) {
                const auto c = static_cast<unsigned char>(b[i]);
                if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
                    ++i;
                } else if (bom_left > 0 && c == bom[3 - bom_left]) {
                    --bom_left;
                    ++i;
                } else {
                    break;
                }
            }
            b.remove_prefix(i);
            if (b.empty()) return;
            const char c = b.front();
            if (c == '{' || c == '[') {
                mode = framing::json;
                // A JSON-array stream: its elements are read whole, like SSE events.
                split_array = c == '[' && skim_enabled;
            } else if (event_stream || c == 'd' || c == ':') {
                mode = framing::sse;
            } else {
                mode = framing::json;  // the scanner reports "not JSON"
            }
        }
        if (mode == framing::json) {
            if (split_array) {
                array_framer.feed(b);
            } else {
                scanner.feed(b);
            }
        } else {
            framer.feed(b);
            // The event under way may point into b, which the caller is about to reuse.
            if (!event_owned && !event.empty()) hold_event();
        }
    }

    // An event's data is gathered whole (a view while it lies in one chunk, a copy
    // otherwise) and handled at its end, unless it outgrows event_cap.
    void on_event_data(std::string_view piece) override {
        if (event_streaming) {
            scanner.feed(piece);
            return;
        }
        if (!skim_enabled || event.size() + piece.size() > event_cap) {
            scanner.feed(event);
            scanner.feed(piece);
            drop_event();
            event_streaming = true;
            return;
        }
        if (event.empty()) {
            event = piece;
            return;
        }
        try {
            if (!event_owned) event_buf.assign(event);
            event_buf.append(piece);
            event = event_buf;
            event_owned = true;
        } catch (...) {
            failed = true;
            drop_event();
        }
    }

    void hold_event() noexcept {
        try {
            event_buf.assign(event);
            event = event_buf;
            event_owned = true;
        } catch (...) {
            failed = true;
            drop_event();
        }
    }

    void drop_event() noexcept {
        event = {};
        event_owned = false;
        event_buf.clear();
    }

    void on_outside(std::string_view bytes) override { scanner.feed(bytes); }

    bool on_element(std::string_view element) override {
        // An element sits one level below the array, which counts towards the depth limit.
        if (!skimmer.skim(element, 1)) return false;
        for (const auto& h : skimmer.hits()) on_value(h.watch, h.kind, h.raw);
        return true;
    }

    void on_event_end(bool is_done) override {
        bool whole = true;
        if (!event_streaming && !event.empty()) {
            if (skimmer.skim(event)) {
                for (const auto& h : skimmer.hits()) on_value(h.watch, h.kind, h.raw);
            } else {
                scanner.feed(event);
                whole = scanner.idle();
            }
        } else {
            whole = scanner.idle();
        }
        drop_event();
        event_streaming = false;
        // The event carrying finishReason also carries the final usage: it counts only
        // if that event's JSON arrived whole.
        if ((finish_reason_seen && whole) || is_done) stream_finished = true;
        finish_reason_seen = false;
        scanner.end_document();
    }

    void on_value(std::size_t w, json_value_kind kind, std::string_view raw) override {
        try {
            handle_value(w, kind, raw);
        } catch (...) {
            failed = true;
        }
    }

    void handle_value(std::size_t w, json_value_kind kind, std::string_view raw) {
        switch (w) {
            case w_usage_metadata:
            case w_openai_usage: {
                const char* name = w == w_usage_metadata ? "usageMetadata" : "usage";
                if (kind == json_value_kind::scalar) return;  // "usage": null on OpenAI chunks
                if (kind == json_value_kind::too_large) {
                    add_problem(fmt::format("{} larger than {} bytes: ignored", name, object_cap));
                    return;
                }
                if (kind != json_value_kind::object) {
                    add_problem(fmt::format("{} is not an object: ignored", name));
                    return;
                }
                // Streams repeat a cumulative usage in every chunk and only the last one
                // counts, so parsing is deferred to finish(): here we only keep the text
                // of the last two (the one before is the fallback if the last is bad).
                ++usage_objects;
                std::swap(prev_usage, last_usage);
                last_usage.raw.assign(raw);
                last_usage.openai = w == w_openai_usage;
                last_usage.present = true;
                return;
            }
            case w_model_version:
            case w_openai_model:
            case w_response_id:
            case w_openai_id: {
                if (kind != json_value_kind::string) return;
                const bool is_model = w == w_model_version || w == w_openai_model;
                std::string& target = is_model ? model_version : response_id;
                // Every chunk of a stream repeats the same text: decoding it again could
                // only give the value the target already holds.
                std::string& applied = is_model ? model_version_raw : response_id_raw;
                if (raw == applied) return;
                applied.assign(raw);
                if (!decode_json_string(raw, target)) return;
                if (&target == &model_version && model_version.starts_with("models/")) model_version.erase(0, 7);
                return;
            }
            case w_finish_reason:
            case w_openai_finish_reason:
                if (kind == json_value_kind::string && raw.size() > 2) finish_reason_seen = true;
                return;
            case w_error:
                handle_error(kind, raw);
                return;
            default:
                return;
        }
    }

    void handle_error(json_value_kind kind, std::string_view raw) {
        error_seen = true;
        std::string msg;
        if (kind == json_value_kind::string) {
            decode_json_string(raw, msg);
        } else if (kind == json_value_kind::object) {
            rapidjson::Document d;
            d.Parse<rapidjson::kParseIterativeFlag>(raw.data(), raw.size());
            if (!d.HasParseError() && d.IsObject()) {
                auto it = d.FindMember("message");
                if (it != d.MemberEnd() && it->value.IsString())
                    msg.assign(it->value.GetString(),
                               std::min<std::size_t>(it->value.GetStringLength(), max_text));
                if (msg.empty()) {
                    auto st = d.FindMember("status");
                    if (st != d.MemberEnd() && st->value.IsString()) msg = st->value.GetString();
                }
            }
        } else if (kind == json_value_kind::too_large) {
            msg = "error object too large to read";
        } else {
            return;  // "error": null
        }
        if (msg.empty()) msg = "error without message";
        error_message = std::move(msg);
    }

    void add_problem(std::string p) {
        if (p.size() > 300) p.resize(300);
        if (std::find(problems.begin(), problems.end(), p) != problems.end()) return;
        if (problems.size() >= max_problems) {
            overflowed_problems = true;
            return;
        }
        problems.push_back(std::move(p));
    }

    body_decoder decoder;
    json_scanner scanner;
    json_skimmer skimmer;
    sse_framer framer;
    json_array_framer array_framer;
    bool split_array = false;
    int status;
    bool openai;
    bool expects_usage;
    bool event_stream;
    bool skim_enabled;
    std::string_view event;   // the current SSE event's data so far
    std::string event_buf;    // its copy once it spans chunks
    bool event_owned = false; // event points into event_buf
    bool event_streaming = false;  // the event outgrew event_cap: json_scanner has it
    body_decoder::sink sink;
    framing mode = framing::undecided;
    int bom_left = 3;
    static constexpr unsigned char bom[3] = {0xEF, 0xBB, 0xBF};

    struct raw_usage {
        std::string raw;
        bool openai = false;
        bool present = false;
    };
    raw_usage last_usage, prev_usage;

    // Parses the last usage object; if it cannot be trusted, the one before it.
    void resolve_usage() {
        for (raw_usage* u : {&last_usage, &prev_usage}) {
            if (!u->present) continue;
            auto r = u->openai ? parse_openai_usage(u->raw) : parse_gemini_usage(u->raw);
            if (!r.ok) {
                add_problem("usage rejected: " + r.problem);
                continue;
            }
            tokens = r.tokens;
            has_usage = true;
            usage_note = std::move(r.note);
            return;
        }
    }

    token_counts tokens;
    bool has_usage = false;
    std::uint64_t usage_objects = 0;
    std::string usage_note;
    std::string model_version;
    std::string response_id;
    std::string model_version_raw;  // the JSON text last decoded into model_version
    std::string response_id_raw;
    bool finish_reason_seen = false;
    bool stream_finished = false;
    bool error_seen = false;
    std::string error_message;
    std::vector<std::string> problems;
    bool overflowed_problems = false;
    bool failed = false;
    bool finished_called = false;
};

response_tap::response_tap(const response_tap_options& options)
    : impl_(std::make_unique<impl>(options)) {}

response_tap::~response_tap() = default;

void response_tap::feed(std::string_view bytes) noexcept {
    bytes_seen_ += bytes.size();
    auto& s = *impl_;
    if (s.failed || s.finished_called || bytes.empty()) return;
    if (s.decoder.passthrough()) {
        s.on_decoded(bytes);
    } else {
        s.decoder.feed(bytes, s.sink);
    }
}

tap_result response_tap::finish(bool body_complete) noexcept {
    tap_result r;
    auto& s = *impl_;
    try {
        if (s.finished_called) return r;
        s.finished_called = true;
        if (!s.failed) {
            s.decoder.finish(s.sink);
        }
        if (s.decoder.failed()) s.add_problem(s.decoder.problem());
        if (s.split_array) s.array_framer.finish();
        if (s.mode == impl::framing::sse) {
            s.framer.finish();
        } else if (s.mode == impl::framing::json && !s.scanner.idle()) {
            s.scanner.end_document();
        }
        s.resolve_usage();
        const auto f = s.scanner.flags();
        if ((f & scan_not_json) != 0) s.add_problem("response body is not JSON");
        if ((f & scan_unbalanced) != 0) s.add_problem("malformed JSON: unbalanced brackets");
        if ((f & scan_too_deep) != 0)
            s.add_problem(fmt::format("JSON nested deeper than {} levels", json_scanner::max_depth));
        if ((f & scan_truncated) != 0)
            s.add_problem(s.mode == impl::framing::sse ? "truncated JSON in an SSE event"
                                                       : "truncated JSON body");
        if (s.failed) s.add_problem("usage extraction failed (out of memory)");
        if (!body_complete) s.add_problem("body incomplete");

        const bool ok_status = s.status >= 200 && s.status < 300;
        if (s.mode == impl::framing::sse) {
            r.finished = s.stream_finished;
            if (!r.finished && ok_status && s.expects_usage && !s.error_seen)
                s.add_problem(s.openai ? "stream ended without finish_reason or [DONE]"
                                       : "stream ended without finishReason");
        } else if (s.mode == impl::framing::json) {
            // A body cut short is unfinished even if a finishReason went by: the usage
            // comes after it.
            r.finished = body_complete && s.scanner.complete() && !s.decoder.failed() &&
                         (f & (scan_truncated | scan_unbalanced)) == 0;
        } else {
            r.finished = body_complete && !s.decoder.failed();
        }
        if (!s.has_usage && ok_status && s.expects_usage && !s.error_seen)
            s.add_problem(s.usage_objects > 0 ? "no valid usage in response" : "no usage in response");
        if (s.has_usage && !s.usage_note.empty()) s.add_problem(s.usage_note);
        if (s.decoder.corrupt()) {
            // Invalid compressed data: how much was decoded before the decoder noticed
            // depends on how the bytes arrived, so nothing read from it is kept and the
            // result is the same for every split.
            s.has_usage = false;
            s.model_version.clear();
            s.response_id.clear();
            s.error_message.clear();
            r.finished = false;
            s.problems.clear();
            s.overflowed_problems = false;
            s.add_problem(s.decoder.problem());
            if (!body_complete) s.add_problem("body incomplete");
            if (ok_status && s.expects_usage) s.add_problem("no usage in response");
        }
        if (s.overflowed_problems) s.problems.back() = "more problems not shown";

        r.has_usage = s.has_usage;
        r.source = s.has_usage ? usage_source::response : usage_source::none;
        if (s.has_usage) r.tokens = s.tokens;
        r.model_version = std::move(s.model_version);
        r.response_id = std::move(s.response_id);
        r.error_message = std::move(s.error_message);
        r.problems = std::move(s.problems);
    } catch (...) {
        r.problems.clear();
        r.has_usage = false;
        r.source = usage_source::none;
        r.tokens = {};
    }
    return r;
}

}  // namespace gm::metering

#include "metering/usage_parser.hpp"

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <cstring>

namespace gm::metering {

namespace {

constexpr unsigned parse_flags = rapidjson::kParseIterativeFlag;  // no recursion on hostile nesting

struct field_reader {
    std::string problem;

    // Reads a count into out; absent counts stay 0 (Google omits zeros). The field name
    // is only formatted on failure: this runs for every field of every streamed chunk.
    bool count(const rapidjson::Value& v, std::string_view prefix, std::string_view name, std::int64_t& out) {
        if (v.IsInt64()) {
            const auto x = v.GetInt64();
            if (x >= 0 && x <= max_token_count) {
                out = x;
                return true;
            }
            problem = fmt::format("{}.{} is {} ({})", prefix, name, x < 0 ? "negative" : "too large", x);
            return false;
        }
        if (v.IsNull()) {
            problem = fmt::format("{}.{} is null", prefix, name);
        } else if (!v.IsNumber()) {
            problem = fmt::format("{}.{} is not a number", prefix, name);
        } else if (v.IsUint64()) {
            problem = fmt::format("{}.{} is too large ({})", prefix, name, v.GetUint64());
        } else {
            problem = fmt::format("{}.{} is not an integer", prefix, name);
        }
        return false;
    }
};

// Usage objects are parsed once per streamed chunk: a DOM allocating its default 64 KiB
// pool each time would dominate the tap's cost. This buffer makes the common case
// allocation-free; larger objects spill to the heap as usual.
struct pooled_document {
    alignas(8) char buf[8192];
    rapidjson::MemoryPoolAllocator<> pool{buf, sizeof buf};
    rapidjson::Document doc{&pool, 256};
};

bool parse_object(std::string_view text, rapidjson::Document& d, std::string& problem) {
    d.Parse<parse_flags>(text.data(), text.size());
    if (d.HasParseError()) {
        problem = fmt::format("malformed usage JSON: {} at offset {}",
                              rapidjson::GetParseError_En(d.GetParseError()), d.GetErrorOffset());
        return false;
    }
    if (!d.IsObject()) {
        problem = "usage is not an object";
        return false;
    }
    return true;
}

std::string_view name_of(const rapidjson::Value& v) { return {v.GetString(), v.GetStringLength()}; }

// Sums the AUDIO entries of a promptTokensDetails-style array.
bool modality_audio(const rapidjson::Value& arr, std::string_view field, field_reader& r,
                    std::int64_t& audio) {
    if (!arr.IsArray()) {
        r.problem = fmt::format("{} is not an array", field);
        return false;
    }
    bool seen_audio = false;
    for (const auto& e : arr.GetArray()) {
        if (!e.IsObject()) {
            r.problem = fmt::format("{} has a non-object entry", field);
            return false;
        }
        std::string_view modality;
        std::int64_t count = 0;
        bool has_modality = false, has_count = false;
        for (const auto& m : e.GetObject()) {
            const auto key = name_of(m.name);
            if (key == "modality") {
                if (has_modality || !m.value.IsString()) {
                    r.problem = fmt::format("{}.modality is duplicated or not a string", field);
                    return false;
                }
                has_modality = true;
                modality = name_of(m.value);
            } else if (key == "tokenCount") {
                if (has_count) {
                    r.problem = fmt::format("{}.tokenCount is duplicated", field);
                    return false;
                }
                has_count = true;
                if (!r.count(m.value, field, "tokenCount", count)) return false;
            }
        }
        if (modality == "AUDIO") {
            if (seen_audio) {
                r.problem = fmt::format("{} lists AUDIO twice", field);
                return false;
            }
            seen_audio = true;
            audio = count;
        }
    }
    return true;
}

// A strict reader for the usage objects that streams repeat: a DOM costs a few hundred
// nanoseconds per object, this a few dozen. It only ever answers "yes, and these are the
// counts"; for anything unusual it gives up and the DOM reading decides, so no error
// message or edge case of the DOM reading has to be repeated here.
class quick_reader {
public:
    explicit quick_reader(std::string_view t) noexcept : p_(t.data()), end_(t.data() + t.size()) {}

    bool token(char c) noexcept {
        skip_ws();
        if (p_ < end_ && *p_ == c) {
            ++p_;
            return true;
        }
        return false;
    }

    // A string without escapes or control bytes (quotes not included in out).
    bool string(std::string_view& out) noexcept {
        if (!token('"')) return false;
        const char* const from = p_;
        while (p_ < end_ && *p_ != '"') {
            const auto c = static_cast<unsigned char>(*p_);
            if (c == '\\' || c < 0x20) return false;
            ++p_;
        }
        if (p_ == end_) return false;
        out = std::string_view(from, static_cast<std::size_t>(p_ - from));
        ++p_;
        return true;
    }

    // A count: digits only (no sign, fraction, exponent or leading zero), <= max_token_count.
    bool count(std::int64_t& out) noexcept {
        skip_ws();
        const char* const from = p_;
        std::int64_t v = 0;
        while (p_ < end_ && *p_ >= '0' && *p_ <= '9') {
            if (p_ - from == 16) return false;
            v = v * 10 + (*p_ - '0');
            ++p_;
        }
        const auto digits = p_ - from;
        if (digits == 0 || (digits > 1 && *from == '0') || v > max_token_count) return false;
        if (p_ < end_ && (*p_ == '.' || *p_ == 'e' || *p_ == 'E')) return false;
        out = v;
        return true;
    }

    // Any value made of such strings and counts, true, false, null, arrays and objects.
    bool skip_value(int depth = 0) noexcept {
        skip_ws();
        if (p_ == end_ || depth > 8) return false;
        switch (*p_) {
            case '"': {
                std::string_view s;
                return string(s);
            }
            case '{':
                ++p_;
                if (token('}')) return true;
                do {
                    std::string_view key;
                    if (!string(key) || !token(':') || !skip_value(depth + 1)) return false;
                } while (token(','));
                return token('}');
            case '[':
                ++p_;
                if (token(']')) return true;
                do {
                    if (!skip_value(depth + 1)) return false;
                } while (token(','));
                return token(']');
            case 't':
                return word("true");
            case 'f':
                return word("false");
            case 'n':
                return word("null");
            default: {
                std::int64_t v;
                return count(v);
            }
        }
    }

    bool at_end() noexcept {
        skip_ws();
        return p_ == end_;
    }

private:
    void skip_ws() noexcept {
        while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
    }
    bool word(std::string_view w) noexcept {
        if (static_cast<std::size_t>(end_ - p_) < w.size() || std::memcmp(p_, w.data(), w.size()) != 0) return false;
        p_ += w.size();
        return true;
    }

    const char* p_;
    const char* const end_;
};

// A promptTokensDetails-style array: the AUDIO entry's count, if any.
bool quick_audio(quick_reader& r, std::int64_t& audio) noexcept {
    if (!r.token('[')) return false;
    if (r.token(']')) return true;
    bool seen_audio = false;
    do {
        if (!r.token('{')) return false;
        std::string_view modality;
        std::int64_t count = 0;
        bool has_modality = false, has_count = false;
        if (!r.token('}')) {
            do {
                std::string_view key;
                if (!r.string(key) || !r.token(':')) return false;
                if (key == "modality") {
                    if (has_modality || !r.string(modality)) return false;
                    has_modality = true;
                } else if (key == "tokenCount") {
                    if (has_count || !r.count(count)) return false;
                    has_count = true;
                } else if (!r.skip_value()) {
                    return false;
                }
            } while (r.token(','));
            if (!r.token('}')) return false;
        }
        if (modality == "AUDIO") {
            if (seen_audio) return false;
            seen_audio = true;
            audio = count;
        }
    } while (r.token(','));
    return r.token(']');
}

bool quick_gemini_usage(std::string_view text, usage_parse_result& res) noexcept {
    static constexpr std::string_view names[] = {"promptTokenCount",    "candidatesTokenCount",
                                                 "cachedContentTokenCount", "thoughtsTokenCount",
                                                 "toolUsePromptTokenCount", "totalTokenCount"};
    static constexpr std::int64_t token_counts::*members[] = {&token_counts::prompt,    &token_counts::candidates,
                                                              &token_counts::cached,    &token_counts::thoughts,
                                                              &token_counts::tool_use_prompt, &token_counts::total};
    quick_reader r(text);
    token_counts t;
    unsigned seen = 0;
    if (!r.token('{')) return false;
    if (!r.token('}')) {
        do {
            std::string_view key;
            if (!r.string(key) || !r.token(':')) return false;
            unsigned i = 0;
            while (i < std::size(names) && key != names[i]) ++i;
            if (i < std::size(names)) {
                if ((seen & (1u << i)) != 0 || !r.count(t.*members[i])) return false;
                seen |= 1u << i;
                continue;
            }
            const bool prompt_details = key == "promptTokensDetails";
            if (prompt_details || key == "cacheTokensDetails") {
                const unsigned bit = prompt_details ? 1u << 6 : 1u << 7;
                if ((seen & bit) != 0 || !quick_audio(r, prompt_details ? t.prompt_audio : t.cached_audio)) return false;
                seen |= bit;
                continue;
            }
            if (!r.skip_value()) return false;
        } while (r.token(','));
        if (!r.token('}')) return false;
    }
    if (!r.at_end()) return false;
    // Rejections and notes carry the DOM reading's words: leave them to it.
    if (t.cached > t.prompt || t.prompt_audio > t.prompt || t.cached_audio > t.cached ||
        t.cached_audio > t.prompt_audio)
        return false;
    if ((seen & (1u << 5)) != 0 && t.total != t.prompt + t.candidates + t.thoughts + t.tool_use_prompt) return false;
    res.ok = true;
    res.tokens = t;
    return true;
}

}  // namespace

usage_parse_result parse_gemini_usage(std::string_view text) {
    usage_parse_result res;
    if (quick_gemini_usage(text, res)) return res;
    return parse_gemini_usage_dom(text);
}

usage_parse_result parse_gemini_usage_dom(std::string_view text) {
    usage_parse_result res;
    pooled_document pd;
    rapidjson::Document& d = pd.doc;
    if (!parse_object(text, d, res.problem)) return res;

    struct field {
        const char* name;
        std::int64_t token_counts::*member;
    };
    static constexpr field fields[] = {
        {"promptTokenCount", &token_counts::prompt},
        {"candidatesTokenCount", &token_counts::candidates},
        {"cachedContentTokenCount", &token_counts::cached},
        {"thoughtsTokenCount", &token_counts::thoughts},
        {"toolUsePromptTokenCount", &token_counts::tool_use_prompt},
        {"totalTokenCount", &token_counts::total},
    };
    unsigned seen = 0;  // bit per entry of fields, plus two for the details arrays
    field_reader r;
    token_counts t;
    for (const auto& m : d.GetObject()) {
        const auto key = name_of(m.name);
        bool known = false;
        for (unsigned i = 0; i < std::size(fields); ++i) {
            if (key != fields[i].name) continue;
            known = true;
            if ((seen & (1u << i)) != 0) {
                res.problem = fmt::format("usageMetadata.{} is duplicated", key);
                return res;
            }
            seen |= 1u << i;
            if (!r.count(m.value, "usageMetadata", key, t.*(fields[i].member))) {
                res.problem = r.problem;
                return res;
            }
        }
        if (known) continue;
        const bool prompt_details = key == "promptTokensDetails";
        const bool cache_details = key == "cacheTokensDetails";
        if (!prompt_details && !cache_details) continue;  // other details are not priced
        const unsigned bit = prompt_details ? 1u << 6 : 1u << 7;
        if ((seen & bit) != 0) {
            res.problem = fmt::format("usageMetadata.{} is duplicated", key);
            return res;
        }
        seen |= bit;
        if (!modality_audio(m.value, prompt_details ? "usageMetadata.promptTokensDetails" : "usageMetadata.cacheTokensDetails", r,
                            prompt_details ? t.prompt_audio : t.cached_audio)) {
            res.problem = r.problem;
            return res;
        }
    }
    if (t.cached > t.prompt) {
        res.problem = fmt::format("usageMetadata: cachedContentTokenCount {} exceeds promptTokenCount {}",
                                  t.cached, t.prompt);
        return res;
    }
    if (t.prompt_audio > t.prompt || t.cached_audio > t.cached || t.cached_audio > t.prompt_audio) {
        res.problem = "usageMetadata: AUDIO token details exceed their totals";
        return res;
    }
    const std::int64_t sum = t.prompt + t.candidates + t.thoughts + t.tool_use_prompt;
    if ((seen & (1u << 5)) != 0 && t.total != sum)
        res.note = fmt::format("usageMetadata: totalTokenCount {} != sum of parts {}", t.total, sum);
    res.ok = true;
    res.tokens = t;
    return res;
}

usage_parse_result parse_openai_usage(std::string_view text) {
    usage_parse_result res;
    pooled_document pd;
    rapidjson::Document& d = pd.doc;
    if (!parse_object(text, d, res.problem)) return res;
    field_reader r;
    token_counts t;
    unsigned seen = 0;
    auto take = [&](const rapidjson::Value& v, std::string_view name, unsigned bit, std::int64_t& out) {
        if ((seen & bit) != 0) {
            r.problem = fmt::format("usage.{} is duplicated", name);
            return false;
        }
        seen |= bit;
        return r.count(v, "usage", name, out);
    };
    bool has_total = false;
    for (const auto& m : d.GetObject()) {
        const auto key = name_of(m.name);
        bool ok = true;
        if (key == "prompt_tokens") {
            ok = take(m.value, key, 1u, t.prompt);
        } else if (key == "completion_tokens") {
            ok = take(m.value, key, 2u, t.candidates);
        } else if (key == "total_tokens") {
            ok = take(m.value, key, 4u, t.total);
            has_total = true;
        } else if (key == "prompt_tokens_details") {
            if ((seen & 8u) != 0) {
                r.problem = "usage.prompt_tokens_details is duplicated";
                ok = false;
            }
            seen |= 8u;
            if (ok && m.value.IsObject()) {
                unsigned dseen = 0;
                for (const auto& dm : m.value.GetObject()) {
                    const auto dk = name_of(dm.name);
                    const unsigned bit = dk == "cached_tokens" ? 1u : dk == "audio_tokens" ? 2u : 0u;
                    if (bit == 0) continue;
                    if ((dseen & bit) != 0) {
                        r.problem = fmt::format("usage.prompt_tokens_details.{} is duplicated", dk);
                        ok = false;
                        break;
                    }
                    dseen |= bit;
                    if (dm.value.IsNull()) continue;
                    ok = r.count(dm.value, "usage.prompt_tokens_details", dk, bit == 1u ? t.cached : t.prompt_audio);
                    if (!ok) break;
                }
            } else if (ok && !m.value.IsNull()) {
                r.problem = "usage.prompt_tokens_details is not an object";
                ok = false;
            }
        }
        if (!ok) {
            res.problem = r.problem;
            return res;
        }
    }
    if (t.cached > t.prompt) {
        res.problem = fmt::format("usage: cached_tokens {} exceeds prompt_tokens {}", t.cached, t.prompt);
        return res;
    }
    if (t.prompt_audio > t.prompt) {
        res.problem = "usage: audio_tokens exceed prompt_tokens";
        return res;
    }
    if (has_total) {
        // completion_tokens excludes thinking on Gemini's OpenAI endpoint (GEMINI_WIRE.md 3).
        const std::int64_t thinking = t.total - t.prompt - t.candidates;
        if (thinking < 0) {
            res.problem = fmt::format("usage: total_tokens {} is less than prompt + completion {}",
                                      t.total, t.prompt + t.candidates);
            return res;
        }
        t.thoughts = thinking;
    }
    res.ok = true;
    res.tokens = t;
    return res;
}

}  // namespace gm::metering

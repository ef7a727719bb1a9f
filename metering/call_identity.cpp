#include "metering/call_identity.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <boost/container/small_vector.hpp>
#include <string>
#include <vector>

namespace gm::metering {

namespace {

bool is_version(std::string_view s) {
    return s == "v1" || s == "v1beta" || s == "v1alpha" || s == "v1beta1" || s == "v1beta2" ||
           s == "v1beta3";
}

// The path's non-empty segments, percent-decoded. Nearly every target has no escape,
// and then the segments are views into it: decoding through Boost.URL into strings was
// most of this function's cost, and it runs on every call.
class path_segments {
public:
    explicit path_segments(std::string_view target) {
        const auto path = target.substr(0, target.find_first_of("?#"));
        if (path.find('%') != std::string_view::npos) {
            if (auto parsed = boost::urls::parse_origin_form(target)) {
                for (auto seg : parsed->segments())
                    if (!seg.empty())
                        decoded_.push_back(std::move(seg));
                for (const auto& seg : decoded_)
                    views_.emplace_back(seg);
                return;
            }
        }
        // No escapes, or not valid origin-form: split as it is.
        std::size_t pos = 0;
        while (pos < path.size()) {
            std::size_t slash = path.find('/', pos);
            if (slash == std::string_view::npos) slash = path.size();
            if (slash > pos) views_.push_back(path.substr(pos, slash - pos));
            pos = slash + 1;
        }
    }
    path_segments(const path_segments&) = delete;
    path_segments& operator=(const path_segments&) = delete;

    std::size_t size() const noexcept { return views_.size(); }
    std::string_view operator[](std::size_t i) const noexcept { return views_[i]; }

private:
    std::vector<std::string> decoded_;  // the views' text when the path had escapes
    boost::container::small_vector<std::string_view, 12> views_;
};

// "{model}:{method}" -> both parts; a model segment may itself hold no colon.
void split_model_method(std::string_view seg, std::string& model, std::string& method) {
    const auto colon = seg.rfind(':');
    if (colon == std::string_view::npos) {
        model.assign(seg);
        return;
    }
    model.assign(seg.substr(0, colon));
    method.assign(seg.substr(colon + 1));
}

}  // namespace

call_identity identify_call(std::string_view http_method, std::string_view target) {
    call_identity id;
    id.gemini_method = "unknown";
    const path_segments s(target);
    std::size_t i = 0;
    bool upload = false;
    if (i < s.size() && s[i] == "upload") {
        upload = true;
        ++i;
    }
    if (i < s.size() && is_version(s[i])) ++i;
    if (upload) {
        id.gemini_method = "upload";
        return id;
    }
    // Vertex AI: projects/{p}/locations/{l}/ before publishers/...
    if (i + 4 <= s.size() && s[i] == "projects" && s[i + 2] == "locations") i += 4;
    if (i + 2 <= s.size() && s[i] == "publishers") i += 2;
    if (i >= s.size()) return id;

    const std::string_view head = s[i];
    if (head == "openai") {
        id.openai_compat = true;
        std::string rest;
        for (std::size_t k = i + 1; k < s.size(); ++k) {
            if (!rest.empty()) rest += '/';
            rest += s[k];
        }
        if (rest == "chat/completions" || rest == "embeddings") {
            id.gemini_method = rest;
            id.wants_request_body_model = true;
        } else if (rest.starts_with("models")) {
            id.gemini_method = "models";
        } else {
            id.gemini_method = rest.empty() ? std::string("unknown") : rest;
        }
        return id;
    }
    if (head == "models" || head == "tunedModels" || head == "dynamic") {
        if (i + 1 >= s.size()) {
            id.gemini_method = head == "models" ? std::string_view("models.list") : head;
            return id;
        }
        std::string method;
        // A model id never contains '/', so the model is the next segment; anything after
        // it (operations/...) is a resource of that model.
        split_model_method(s[i + 1], id.model, method);
        if (!method.empty()) {
            id.gemini_method = std::move(method);
        } else if (i + 2 < s.size()) {
            id.gemini_method = s[i + 2];
        } else {
            id.gemini_method = head == "models" ? std::string_view("models.get") : head;
        }
        id.streamed = id.gemini_method == "streamGenerateContent";
        return id;
    }
    if (head == "files" || head == "cachedContents" || head == "batches" || head == "operations" ||
        head == "corpora" || head == "fileSearchStores" || head == "generatedFiles") {
        id.gemini_method = head;
        return id;
    }
    // Live API socket: /ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent
    if (head == "ws" && i + 1 < s.size()) {
        const auto dot = s[i + 1].rfind('.');
        id.gemini_method = dot == std::string_view::npos ? s[i + 1] : s[i + 1].substr(dot + 1);
        return id;
    }
    (void)http_method;
    return id;
}

std::string redact_target(std::string_view target) {
    const auto q = target.find_first_of("?#");
    return std::string(target.substr(0, q));
}

}  // namespace gm::metering

#pragma once
// Reads the model and the stream flag of an OpenAI-compatible request from a copy of the
// request body as it is forwarded. Only the first 64 KiB are looked at: "model" and
// "stream" come first in every client we know of, and a prompt can be megabytes.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "metering/json_scanner.hpp"

namespace gm::metering {

class request_model_tap final : json_scan_handler {
public:
    static constexpr std::size_t max_bytes = 64 * 1024;

    request_model_tap();
    void feed(std::string_view chunk) noexcept;

    // Top-level "model", without a "models/" prefix.
    std::optional<std::string> model() const;
    // Top-level "stream": true.
    bool stream() const noexcept { return stream_; }

private:
    void on_value(std::size_t watch_index, json_value_kind kind, std::string_view raw) override;

    json_scanner scanner_;
    std::size_t seen_ = 0;
    std::optional<std::string> model_;
    bool stream_ = false;
};

}  // namespace gm::metering

#pragma once
// One line per call on stdout, JSON or text. Never the API key: the record holds the path
// without its query string and no header values except attribution.
#include <string>

#include "metering/usage_record.hpp"

namespace gm::app {

enum class log_format { json, text };

std::string format_call_line(const metering::usage_record& record, log_format format);
// Other events (start, stop, reload, errors): {"event":..., "message":...}.
std::string format_event_line(std::string_view event, std::string_view message, log_format format);
// write(2) of one whole line: lines under PIPE_BUF never interleave between threads.
void write_line(const std::string& line) noexcept;

}  // namespace gm::app

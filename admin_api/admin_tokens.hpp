#pragma once
// Where admin bearer tokens come from: a file (one per line, `#` comments, blank lines
// ignored) and/or the GEMINI_METER_ADMIN_TOKEN value (comma-separated). Several tokens
// may be valid at once so that a new one can be rolled out before the old one is removed.
#include <optional>
#include <string>
#include <vector>

namespace gm::admin_api {

// Throws std::runtime_error when the file is given but cannot be read or holds no token.
// The token values never appear in the message.
std::vector<std::string> load_admin_tokens(std::optional<std::string> file, const char* env_value);

// A new token for one run (`gemini-meter demo` without a configured one): 64 hex digits
// from OpenSSL's random generator (256 bits). Throws std::runtime_error if it has no entropy.
std::string random_admin_token();

}  // namespace gm::admin_api

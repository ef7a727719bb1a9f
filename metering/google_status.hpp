#pragma once
// Google's canonical error status for an HTTP code, as the Gemini API puts it in
// {"error":{"code":429,"message":…,"status":"RESOURCE_EXHAUSTED"}}: one table for everything
// here that answers in Google's error shape (the demo's simulated upstream, the test fake).
#include <string_view>

namespace gm::metering {

constexpr std::string_view google_status_name(unsigned code) noexcept {
    switch (code) {
    case 400: return "INVALID_ARGUMENT";
    case 401: return "UNAUTHENTICATED";
    case 403: return "PERMISSION_DENIED";
    case 404: return "NOT_FOUND";
    case 409: return "ABORTED";
    case 429: return "RESOURCE_EXHAUSTED";
    case 499: return "CANCELLED";
    case 500: return "INTERNAL";
    case 501: return "NOT_IMPLEMENTED";
    case 503: return "UNAVAILABLE";
    case 504: return "DEADLINE_EXCEEDED";
    default: return code >= 500 ? "INTERNAL" : "FAILED_PRECONDITION";
    }
}

}  // namespace gm::metering

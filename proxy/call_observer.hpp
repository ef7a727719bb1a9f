#pragma once
// Where a finished call goes: the proxy knows nothing of pricing or storage; the app's
// implementation prices the record, counts it, logs it and hands it to storage.
#include "metering/response_tap.hpp"
#include "metering/usage_record.hpp"

namespace gm::proxy {

class call_observer {
public:
    virtual ~call_observer() = default;
    // Called once per forwarded call, on the I/O thread that carried it: must not block.
    virtual void on_call_finished(metering::usage_record&& record, metering::tap_result&& usage) noexcept = 0;
};

}  // namespace gm::proxy

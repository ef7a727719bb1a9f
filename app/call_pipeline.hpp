#pragma once
// What happens to a finished call: priced with the current table, counted, logged, handed
// to storage. Runs on the I/O thread that carried the call, so every step is non-blocking.
#include "app/call_log.hpp"
#include "app/log_sink.hpp"
#include "metering/call_metrics.hpp"
#include "metering/pricing_registry.hpp"
#include "metering/pricing_table.hpp"
#include "proxy/call_observer.hpp"
#include "storage/usage_sink.hpp"

namespace gm::app {

class call_pipeline final : public proxy::call_observer {
public:
    call_pipeline(const metering::pricing_registry& pricing, metering::call_metrics* metrics,
                  storage::usage_sink* sink, log_sink& log, log_format format, bool metering)
        : pricing_(pricing), metrics_(metrics), sink_(sink), log_(log), format_(format), metering_(metering) {}

    void on_call_finished(metering::usage_record&& record, metering::tap_result&& usage) noexcept override;

private:
    const metering::pricing_registry& pricing_;
    metering::call_metrics* metrics_;
    storage::usage_sink* sink_;
    log_sink& log_;
    log_format format_;
    bool metering_;
};

}  // namespace gm::app

#include "app/call_pipeline.hpp"

#include "metering/record_finisher.hpp"
#include "metering/record_id.hpp"

namespace gm::app {

void call_pipeline::on_call_finished(metering::usage_record&& record, metering::tap_result&& usage) noexcept {
    try {
        record.id = metering::make_record_id(record.created_at_ms);
        if (metering_) {
            const auto table = pricing_.current();
            metering::apply_usage(record, usage, *table);
        }
        log_.append(format_call_line(record, format_));
        if (metering_) {
            if (metrics_)
                metrics_->observe(record);
            if (sink_)
                sink_->submit(std::move(record));
        }
    } catch (const std::exception& e) {
        // Out of memory or a journal that cannot be written: say so, keep relaying.
        log_.append(format_event_line("record_error", e.what(), format_));
    }
}

}  // namespace gm::app

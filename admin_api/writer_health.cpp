#include "admin_api/writer_health.hpp"

namespace gm::admin_api {

health_snapshot health_from_writer(const storage::writer_stats& s) {
    health_snapshot h;
    h.db_writable = s.db_writable;
    h.journal_backlog = static_cast<std::int64_t>(s.journal_backlog);
    h.journal_only = static_cast<std::int64_t>(s.journal_only);
    h.journal_errors = static_cast<std::int64_t>(s.journal_errors);
    h.queued = static_cast<std::int64_t>(s.queued);
    h.written = static_cast<std::int64_t>(s.written);
    h.batches = static_cast<std::int64_t>(s.batches);
    h.failures = static_cast<std::int64_t>(s.failures);
    h.last_error = s.last_error;
    return h;
}

}  // namespace gm::admin_api

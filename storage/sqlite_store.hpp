#pragma once
// The SQLite store: what app/ wires. open() migrates the file, replays the journal and
// starts the writer; sink() is what the proxy submits to; open_reader() gives each admin
// worker thread its own read connection. A PostgreSQL store would offer the same four
// calls over the same usage_sink / usage_queries interfaces.
#include <chrono>
#include <memory>
#include <string>

#include "storage/store_options.hpp"
#include "storage/usage_queries.hpp"
#include "storage/usage_sink.hpp"
#include "storage/writer_stats.hpp"

namespace gm::storage {

class usage_writer;

class sqlite_store {
public:
    // Throws (start-up error) when the file cannot be created or migrated, or the journal
    // directory cannot be used. A database that is merely unwritable after migration does
    // not throw: records wait in the journal and stats().db_writable says so.
    static std::unique_ptr<sqlite_store> open(const std::string& db_path, const store_options& options = {});
    ~sqlite_store();  // shutdown()

    std::unique_ptr<usage_queries> open_reader();
    usage_sink& sink();
    writer_stats stats() const;  // cheap: atomics and one short lock
    // Waits until everything submitted so far is committed (tests, `report`, shutdown hooks).
    bool flush(std::chrono::milliseconds timeout);
    void shutdown();
    const std::string& db_path() const noexcept { return db_path_; }

private:
    sqlite_store(std::string db_path, const store_options& options);
    std::string db_path_;
    std::unique_ptr<usage_writer> writer_;
};

}  // namespace gm::storage

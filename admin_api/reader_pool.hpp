#pragma once
// One storage read connection per query thread, opened on first use by that thread.
// SQLite connections must not be shared between threads running at once; keeping one per
// thread also reuses its prepared statements across requests. The threads themselves are
// query_pool's.
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "storage/usage_queries.hpp"

namespace gm::admin_api {

class reader_pool {
public:
    using opener = std::function<std::unique_ptr<storage::usage_queries>()>;
    explicit reader_pool(opener open);

    // The calling thread's reader; opens it if needed (may throw what the opener throws).
    storage::usage_queries& for_this_thread();
    // Drops the calling thread's reader, e.g. after a query failed, so the next one reopens.
    void discard_for_this_thread();
    void clear();

private:
    opener open_;
    std::mutex mutex_;  // guards readers_ (the map; each reader is used by its thread only)
    std::map<std::thread::id, std::unique_ptr<storage::usage_queries>> readers_;
};

}  // namespace gm::admin_api

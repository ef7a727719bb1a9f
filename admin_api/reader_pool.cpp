#include "admin_api/reader_pool.hpp"

#include <pthread.h>

#include <stdexcept>

namespace gm::admin_api {

reader_pool::reader_pool(opener open) : open_(std::move(open)) {}

storage::usage_queries& reader_pool::for_this_thread() {
    const auto id = std::this_thread::get_id();
    {
        std::lock_guard lock(mutex_);
        auto it = readers_.find(id);
        if (it != readers_.end()) return *it->second;
    }
    if (!open_) throw std::runtime_error("no storage reader configured");
    // The first query on a thread of the admin query pool: name the thread, so that its CPU
    // can be told apart from the proxy's I/O threads ("gm-io") and the storage writer
    // ("gm-writer") in /proc/PID/task/*/comm (bench/admin_run.sh, top -H).
    pthread_setname_np(pthread_self(), "gm-reader");
    // Opened outside the lock: opening a database may take a while.
    auto reader = open_();
    if (!reader) throw std::runtime_error("storage returned no reader");
    std::lock_guard lock(mutex_);
    auto& slot = readers_[id];
    slot = std::move(reader);
    return *slot;
}

void reader_pool::discard_for_this_thread() {
    std::unique_ptr<storage::usage_queries> dropped;
    {
        std::lock_guard lock(mutex_);
        auto it = readers_.find(std::this_thread::get_id());
        if (it == readers_.end()) return;
        dropped = std::move(it->second);
        readers_.erase(it);
    }
}

void reader_pool::clear() {
    std::map<std::thread::id, std::unique_ptr<storage::usage_queries>> dropped;
    std::lock_guard lock(mutex_);
    dropped.swap(readers_);
}

}  // namespace gm::admin_api

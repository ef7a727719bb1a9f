#include "admin_api/reader_pool.hpp"

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

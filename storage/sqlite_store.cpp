#include "storage/sqlite_store.hpp"

#include "storage/migrations.hpp"
#include "storage/sqlite_queries.hpp"
#include "storage/usage_writer.hpp"

namespace gm::storage {

std::unique_ptr<sqlite_store> sqlite_store::open(const std::string& db_path, const store_options& options) {
    migrate(db_path);
    return std::unique_ptr<sqlite_store>(new sqlite_store(db_path, options));
}

sqlite_store::sqlite_store(std::string db_path, const store_options& options)
    : db_path_(std::move(db_path)), writer_(std::make_unique<usage_writer>(db_path_, options)) {}

sqlite_store::~sqlite_store() { shutdown(); }

std::unique_ptr<usage_queries> sqlite_store::open_reader() { return std::make_unique<sqlite_queries>(db_path_); }

usage_sink& sqlite_store::sink() { return *writer_; }

writer_stats sqlite_store::stats() const { return writer_->stats(); }

bool sqlite_store::flush(std::chrono::milliseconds timeout) { return writer_->flush(timeout); }

void sqlite_store::shutdown() { writer_->shutdown(); }

}  // namespace gm::storage

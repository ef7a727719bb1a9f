#include "storage/sqlite_conn.hpp"

#include <sqlite3.h>

#include <fmt/format.h>

namespace gm::storage {

namespace {
// Process-wide settings, applied once before SQLite initialises (sqlite3_config refuses
// them afterwards, harmlessly). Memory statistics cost a global mutex and counter updates
// on every sqlite3_malloc / sqlite3_free; this build of SQLite has no lookaside, so a
// writer's row makes ~20 such calls (callgrind: ~5% of commit()'s instructions). Nothing
// here reads sqlite3_memory_used().
void configure_sqlite_once() {
    static const bool done = [] {
        sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
        return true;
    }();
    (void)done;
}
}  // namespace

sqlite_conn::sqlite_conn(const std::string& path, mode m, int busy_timeout_ms) {
    configure_sqlite_once();
    int flags = SQLITE_OPEN_NOMUTEX;  // one thread per connection: skip SQLite's own locking
    switch (m) {
    case mode::read_write_create: flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE; break;
    case mode::read_write: flags |= SQLITE_OPEN_READWRITE; break;
    case mode::read_only: flags |= SQLITE_OPEN_READONLY; break;
    }
    const int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) {
        const std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
        sqlite3_close(db_);
        db_ = nullptr;
        throw sqlite_error(rc & 0xff, fmt::format("cannot open {}: {}", path, msg));
    }
    sqlite3_extended_result_codes(db_, 0);
    sqlite3_busy_timeout(db_, busy_timeout_ms);
}

sqlite_conn::~sqlite_conn() {
    // sqlite3_close_v2 defers the close until every statement is finalized, so member
    // order in owners does not matter.
    sqlite3_close_v2(db_);
}

void sqlite_conn::fail(int rc, std::string_view what) const {
    throw sqlite_error(rc & 0xff, fmt::format("{}: {}", what, db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc)));
}

void sqlite_conn::exec(const std::string& sql) {
    char* err = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
        std::string msg = err ? err : sqlite3_errstr(rc);
        sqlite3_free(err);
        throw sqlite_error(rc & 0xff, msg);
    }
}

sqlite_stmt sqlite_conn::prepare(std::string_view sql) { return sqlite_stmt(*this, sql); }

std::int64_t sqlite_conn::changes() const noexcept { return sqlite3_changes(db_); }

std::int64_t sqlite_conn::total_changes() const noexcept { return sqlite3_total_changes64(db_); }

bool sqlite_conn::read_only() const noexcept { return sqlite3_db_readonly(db_, "main") == 1; }

sqlite_stmt::sqlite_stmt(sqlite_conn& conn, std::string_view sql) : conn_(&conn) {
    const int rc = sqlite3_prepare_v3(conn.handle(), sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
    if (rc != SQLITE_OK) conn.fail(rc, fmt::format("prepare \"{}\"", sql.substr(0, 80)));
}

sqlite_stmt::~sqlite_stmt() { sqlite3_finalize(stmt_); }

sqlite_stmt::sqlite_stmt(sqlite_stmt&& o) noexcept : conn_(o.conn_), stmt_(o.stmt_) { o.stmt_ = nullptr; }

sqlite_stmt& sqlite_stmt::operator=(sqlite_stmt&& o) noexcept {
    if (this != &o) {
        sqlite3_finalize(stmt_);
        conn_ = o.conn_;
        stmt_ = o.stmt_;
        o.stmt_ = nullptr;
    }
    return *this;
}

sqlite_stmt& sqlite_stmt::bind(int i, std::int64_t v) {
    if (const int rc = sqlite3_bind_int64(stmt_, i, v); rc != SQLITE_OK) conn_->fail(rc, "bind");
    return *this;
}

sqlite_stmt& sqlite_stmt::bind(int i, double v) {
    if (const int rc = sqlite3_bind_double(stmt_, i, v); rc != SQLITE_OK) conn_->fail(rc, "bind");
    return *this;
}

sqlite_stmt& sqlite_stmt::bind(int i, std::string_view v) {
    const int rc = sqlite3_bind_text64(stmt_, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    if (rc != SQLITE_OK) conn_->fail(rc, "bind");
    return *this;
}

sqlite_stmt& sqlite_stmt::bind_null(int i) {
    if (const int rc = sqlite3_bind_null(stmt_, i); rc != SQLITE_OK) conn_->fail(rc, "bind");
    return *this;
}

sqlite_stmt& sqlite_stmt::bind_text_or_null(int i, std::string_view v) {
    return v.empty() ? bind_null(i) : bind(i, v);
}

sqlite_stmt& sqlite_stmt::bind_static(int i, std::string_view v) {
    const int rc = sqlite3_bind_text64(stmt_, i, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8);
    if (rc != SQLITE_OK) conn_->fail(rc, "bind");
    return *this;
}

sqlite_stmt& sqlite_stmt::bind_static_or_null(int i, std::string_view v) {
    return v.empty() ? bind_null(i) : bind_static(i, v);
}

bool sqlite_stmt::step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    sqlite3_reset(stmt_);
    conn_->fail(rc, "step");
}

void sqlite_stmt::run() {
    while (step()) {
    }
}

void sqlite_stmt::reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
}

void sqlite_stmt::rewind() { sqlite3_reset(stmt_); }

std::int64_t sqlite_stmt::col_int(int i) const { return sqlite3_column_int64(stmt_, i); }
double sqlite_stmt::col_double(int i) const { return sqlite3_column_double(stmt_, i); }
bool sqlite_stmt::col_null(int i) const { return sqlite3_column_type(stmt_, i) == SQLITE_NULL; }

std::string sqlite_stmt::col_text(int i) const { return std::string(col_view(i)); }

std::string_view sqlite_stmt::col_view(int i) const {
    // The text first, then its length: sqlite3_column_bytes after sqlite3_column_text is the
    // length of that text (the documented order).
    const auto* p = sqlite3_column_text(stmt_, i);
    return p ? std::string_view(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(stmt_, i)))
             : std::string_view();
}

}  // namespace gm::storage

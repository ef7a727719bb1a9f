#pragma once
// A thin RAII layer over the SQLite C API: one connection (never shared between threads)
// and its prepared statements. Failures throw sqlite_error, which callers on the data
// path catch at their loop boundary and turn into counters and last_error.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace gm::storage {

class sqlite_error : public std::runtime_error {
public:
    sqlite_error(int code, const std::string& what) : std::runtime_error(what), code_(code) {}
    int code() const noexcept { return code_; }  // primary SQLite result code

private:
    int code_;
};

class sqlite_stmt;

class sqlite_conn {
public:
    enum class mode { read_write_create, read_write, read_only };

    sqlite_conn(const std::string& path, mode m, int busy_timeout_ms = 5000);
    ~sqlite_conn();
    sqlite_conn(const sqlite_conn&) = delete;
    sqlite_conn& operator=(const sqlite_conn&) = delete;

    void exec(const std::string& sql);  // one or more statements, no results
    sqlite_stmt prepare(std::string_view sql);
    std::int64_t changes() const noexcept;
    std::int64_t total_changes() const noexcept;  // rows changed since the connection opened
    bool read_only() const noexcept;  // true when SQLite fell back to read-only or was asked to
    sqlite3* handle() const noexcept { return db_; }
    [[noreturn]] void fail(int rc, std::string_view what) const;

private:
    sqlite3* db_ = nullptr;
};

// BEGIN on construction, COMMIT at the end of the scope: the reads in between all see one
// snapshot of the database, whatever the writer commits meanwhile (WAL mode).
class read_transaction {
public:
    explicit read_transaction(sqlite_conn& conn) : conn_(conn) { conn_.exec("BEGIN"); }
    ~read_transaction() {
        try {
            conn_.exec("COMMIT");  // nothing was written: the same as a rollback
        } catch (...) {
        }
    }
    read_transaction(const read_transaction&) = delete;
    read_transaction& operator=(const read_transaction&) = delete;

private:
    sqlite_conn& conn_;
};

class sqlite_stmt {
public:
    sqlite_stmt() = default;
    sqlite_stmt(sqlite_conn& conn, std::string_view sql);
    ~sqlite_stmt();
    sqlite_stmt(sqlite_stmt&& other) noexcept;
    sqlite_stmt& operator=(sqlite_stmt&& other) noexcept;
    sqlite_stmt(const sqlite_stmt&) = delete;
    sqlite_stmt& operator=(const sqlite_stmt&) = delete;

    // Binds are 1-based as in SQLite. Text is copied (SQLITE_TRANSIENT) unless static_text.
    sqlite_stmt& bind(int i, std::int64_t v);
    sqlite_stmt& bind(int i, int v) { return bind(i, static_cast<std::int64_t>(v)); }
    sqlite_stmt& bind(int i, bool v) { return bind(i, static_cast<std::int64_t>(v ? 1 : 0)); }
    sqlite_stmt& bind(int i, double v);
    sqlite_stmt& bind(int i, std::string_view v);
    sqlite_stmt& bind(int i, const char* v) { return bind(i, std::string_view(v)); }
    sqlite_stmt& bind(int i, const std::string& v) { return bind(i, std::string_view(v)); }
    sqlite_stmt& bind_null(int i);
    // Empty string binds NULL: the spec's optional text columns (userId, botId...).
    sqlite_stmt& bind_text_or_null(int i, std::string_view v);
    // No copy: the bytes must stay unchanged until the statement is reset or rebound.
    sqlite_stmt& bind_static(int i, std::string_view v);
    sqlite_stmt& bind_static_or_null(int i, std::string_view v);

    bool step();  // true: a row is ready; false: done
    void run();   // step() until done
    void reset();  // reset and clear bindings, for reuse
    void rewind();  // reset, keeping the bindings (every parameter is rebound anyway)

    std::int64_t col_int(int i) const;
    double col_double(int i) const;
    std::string col_text(int i) const;
    // The same bytes without a copy: valid until the next step(), reset() or another col_*
    // call on this column.
    std::string_view col_view(int i) const;
    bool col_null(int i) const;

private:
    sqlite_conn* conn_ = nullptr;
    sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace gm::storage

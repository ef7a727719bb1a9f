#pragma once
// Versioned schema migrations, kept as C++ steps so that they are inside the binary;
// schema.sql at the project root is the documented result of applying all of them (a test
// checks that both give the same tables, columns and indexes). The version is
// PRAGMA user_version; each step runs in its own transaction together with the version
// bump, so a crash leaves the database at a whole version.
#include <string>
#include <vector>

namespace gm::storage {

class sqlite_conn;

struct migration_status {
    int current = 0;                   // user_version found (0: empty or pre-versioning)
    int latest = 0;                    // what this binary would migrate to
    std::vector<std::string> pending;  // "2: <description>" for each step still to apply
    bool up_to_date() const noexcept { return current == latest; }
};

int latest_schema_version() noexcept;

// Reads the state without changing the file (the file must exist).
migration_status migration_state(const std::string& db_path);
// Creates the file if needed, switches it to WAL and applies every pending step. Throws
// (std::runtime_error / sqlite_error) when the file is newer than this binary or a step fails.
void migrate(const std::string& db_path);
void migrate(sqlite_conn& conn);
// Applies the steps up to `version` only: makes databases of older versions for tests.
void migrate_to(const std::string& db_path, int version);

}  // namespace gm::storage

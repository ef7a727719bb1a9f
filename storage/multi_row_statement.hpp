#pragma once
// An INSERT prepared twice: for one row, and for `rows` rows in one VALUES list, so that a
// batch's thousands of rollup upserts run as a few hundred statements. Each run of a
// statement costs SQLite the same whatever its rows: a cursor opened and closed per B-tree,
// registers freed and allocated again (this SQLite is built without lookaside), the
// statement's halt — about a fifth of an upsert's instructions (callgrind, schema 9).
#include <cstddef>
#include <string>
#include <string_view>

#include "storage/sqlite_conn.hpp"

namespace gm::storage {

class multi_row_statement {
public:
    multi_row_statement() = default;
    // head: "INSERT INTO T (a, b)", tail: what follows the VALUES list (" ON CONFLICT ...");
    // params: placeholders per row.
    multi_row_statement(sqlite_conn& conn, std::string_view head, int params, std::string_view tail, int rows = 32)
        : params_(params), rows_(rows), one_(conn.prepare(sql(head, params, 1, tail))),
          many_(conn.prepare(sql(head, params, rows, tail))) {}

    // Binds and runs every item in order: bind(statement, index of the row's first
    // parameter, item) binds one row's params parameters from that index on.
    template <class Items, class Bind>
    void run_all(const Items& items, Bind&& bind) {
        const std::size_t n = items.size(), rows = static_cast<std::size_t>(rows_);
        std::size_t i = 0;
        for (; i + rows <= n; i += rows) {
            many_.rewind();
            for (std::size_t k = 0; k < rows; ++k) bind(many_, 1 + static_cast<int>(k) * params_, items[i + k]);
            many_.run();
        }
        for (; i < n; ++i) {
            one_.rewind();
            bind(one_, 1, items[i]);
            one_.run();
        }
    }

private:
    static std::string sql(std::string_view head, int params, int rows, std::string_view tail) {
        std::string row = "(";
        for (int i = 0; i < params; ++i) row += i ? ",?" : "?";
        row += ')';
        std::string s(head);
        s += " VALUES ";
        for (int r = 0; r < rows; ++r) {
            if (r) s += ',';
            s += row;
        }
        s += tail;
        return s;
    }

    int params_ = 0;
    int rows_ = 0;
    sqlite_stmt one_, many_;
};

}  // namespace gm::storage

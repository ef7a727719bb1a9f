#pragma once
// Commits a batch of records in one transaction: INSERT OR IGNORE by id (so a replayed
// journal never duplicates a row), and, for the rows actually inserted, the rollups
// and the users table, aggregated in memory first so that a batch of thousands of rows
// costs one upsert per distinct group. Owns the writer's connection; one thread only.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "metering/usage_record.hpp"
#include "storage/multi_row_statement.hpp"
#include "storage/sqlite_conn.hpp"
#include "storage/wal_checkpointer.hpp"

namespace gm::storage {

class sqlite_batch_inserter {
public:
    static constexpr std::int64_t default_checkpoint_pages = 8192;  // ~32 MiB of WAL frames

    // Opens the connection (WAL, synchronous=NORMAL), prepares the statements and starts
    // the checkpoint thread (see wal_checkpointer: it starts copying at checkpoint_pages WAL
    // frames; past 4 times that the writer waits for it; idle_checkpoints: under
    // SCHED_IDLE). Throws sqlite_error when the database cannot be opened.
    sqlite_batch_inserter(const std::string& db_path, int busy_timeout_ms, std::int64_t cache_kib,
                          std::int64_t checkpoint_pages = default_checkpoint_pages, bool idle_checkpoints = false);
    ~sqlite_batch_inserter();

    // Returns how many rows were new. Throws sqlite_error (the transaction is rolled back)
    // when the database refuses the write: read-only, full, locked past the busy timeout.
    std::size_t commit(const std::vector<metering::usage_record>& batch);
    checkpoint_stats checkpoints() const { return checkpointer_->stats(); }

private:
    static constexpr int insert_rows_per_statement = 32;
    // One transaction; fresh: every id is taken to be new (insert_fresh), else row by row.
    std::size_t write(const std::vector<metering::usage_record>& batch, bool fresh);
    // Inserts the batch's rows 32 per statement; throws repeated_id when fewer went in.
    void insert_fresh(const std::vector<metering::usage_record>& batch);

    sqlite_conn conn_;
    sqlite_stmt begin_, commit_, rollback_;
    // The rows' metadata JSON and createdAt text, reused from statement to statement.
    std::string metas_[insert_rows_per_statement];
    char isos_[insert_rows_per_statement][40];
    sqlite_stmt insert_row_;       // one row, for a batch that may repeat stored ids
    multi_row_statement insert_rows_;
    multi_row_statement upsert_daily_, upsert_hourly_, upsert_daily_tag_, upsert_hourly_tag_, upsert_dim_,
        upsert_hourly_dim_, upsert_daily_tag_dim_, upsert_hourly_tag_dim_,
        upsert_user_day_, upsert_user_dim_, upsert_user_month_, upsert_user_;

    // Schema 10's per-user hourly rollups and the daily one-dimension fold, kept apart from the
    // rest of the batch code (storage/sqlite_batch_inserter.cpp, "user_hour_rollups").
    struct user_hour_rollups;
    std::int64_t folded_user_day();
    void write_user_hour_rollups(const user_hour_rollups& groups);
    multi_row_statement upsert_user_hour_, upsert_user_hour_dim_, upsert_user_day_one_dim_;
    sqlite_stmt read_folded_user_day_, fold_user_days_, set_folded_user_day_;

    // Schema 11's and 12's rollups folded with it (UsageMonthlyUserSums, UsageDailyDimPair,
    // UsageMonthlyDim): a late call of a folded day is added to them directly
    // ("folded_day_rollups").
    struct folded_day_rollups;
    void write_folded_day_rollups(const folded_day_rollups& groups);
    multi_row_statement upsert_user_month_sums_, upsert_day_pair_, upsert_month_dim_;
    sqlite_stmt fold_user_months_, fold_day_pairs_, fold_dim_months_;

    // Last: stopped, and its connection closed, before the writer's connection, so that
    // the writer's close (the last one) checkpoints what is left and removes the WAL.
    std::unique_ptr<wal_checkpointer> checkpointer_;
};

}  // namespace gm::storage

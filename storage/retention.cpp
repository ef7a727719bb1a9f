#include "storage/retention.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <fmt/format.h>

#include <cerrno>
#include <system_error>
#include <thread>
#include <vector>

#include "storage/record_codec.hpp"
#include "storage/row_reader.hpp"
#include "storage/sqlite_conn.hpp"

namespace gm::storage {
namespace {

class gz_archive {
public:
    explicit gz_archive(const std::string& path) : path_(path) {
        fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "cannot open archive " + path);
        // Appending makes a new gzip member; gzip, zcat and zlib read concatenated members.
        gz_ = gzdopen(::dup(fd_), "ab");
        if (!gz_) throw std::runtime_error("cannot start gzip stream on " + path);
    }
    ~gz_archive() {
        if (gz_) gzclose(gz_);
        if (fd_ >= 0) ::close(fd_);
    }
    void write(const std::string& line) {
        if (gzwrite(gz_, line.data(), static_cast<unsigned>(line.size())) != static_cast<int>(line.size()) ||
            gzwrite(gz_, "\n", 1) != 1)
            throw std::runtime_error("cannot write archive " + path_);
    }
    // Makes what was written durable, so that deleting the rows cannot lose them.
    void sync() {
        if (gzflush(gz_, Z_SYNC_FLUSH) != Z_OK || ::fsync(fd_) != 0)
            throw std::runtime_error("cannot flush archive " + path_);
    }

private:
    std::string path_;
    int fd_ = -1;
    gzFile gz_ = nullptr;
};

}  // namespace

retention_result delete_older_than(const std::string& db_path, std::int64_t cutoff_ms, std::size_t batch,
                                   const std::optional<std::string>& archive_path, const std::atomic<bool>* stop) {
    retention_result res;
    if (batch == 0) batch = 1;
    sqlite_conn conn(db_path, sqlite_conn::mode::read_write, 10000);
    conn.exec("PRAGMA synchronous=NORMAL");
    std::optional<gz_archive> archive;
    if (archive_path) archive.emplace(*archive_path);

    auto select = conn.prepare(fmt::format("SELECT a.rowid, {} FROM ApiUsage a WHERE a.createdAtMs < ? "
                                           "ORDER BY a.createdAtMs, a.id LIMIT ?",
                                           record_select));
    auto email = conn.prepare("SELECT email FROM UsageUser WHERE userId = ?");
    auto remove = conn.prepare("DELETE FROM ApiUsage WHERE rowid = ?");
    std::vector<std::int64_t> rowids;
    for (;;) {
        if (stop && stop->load()) {
            res.stopped = true;
            break;
        }
        rowids.clear();
        conn.exec("BEGIN IMMEDIATE");
        try {
            select.reset();
            select.bind(1, cutoff_ms).bind(2, static_cast<std::int64_t>(batch));
            while (select.step()) {
                rowids.push_back(select.col_int(0));
                if (archive) {
                    auto r = read_record(select, 1);
                    if (!r.user_id.empty()) {
                        email.reset();
                        email.bind(1, r.user_id);
                        if (email.step()) r.user_email = email.col_text(0);
                        email.reset();
                    }
                    archive->write(encode_row_json(r));
                }
            }
            select.reset();
            if (archive && !rowids.empty()) archive->sync();
            for (const auto id : rowids) {
                remove.reset();
                remove.bind(1, id);
                remove.run();
            }
            conn.exec("COMMIT");
        } catch (...) {
            try {
                conn.exec("ROLLBACK");
            } catch (...) {
            }
            throw;
        }
        res.deleted += static_cast<std::int64_t>(rowids.size());
        if (archive) res.archived += static_cast<std::int64_t>(rowids.size());
        if (!rowids.empty()) ++res.batches;
        if (rowids.size() < batch) break;
        // Between batches: let the writer take the lock.
        std::this_thread::yield();
    }
    return res;
}

}  // namespace gm::storage

#pragma once
// The append-only journal in front of the database: a record is written here (write(2) into
// the page cache, no fsync) before it is queued, so a killed process loses nothing that
// submit() accepted. The journal is a series of segment files "<base>.<seq>"; a segment is
// deleted (or, when it is the active one, truncated) once every record in it is committed.
// Not thread-safe: the writer guards it with its queue mutex.
//
// Mapped mode (what the writer uses): the active segment is preallocated (fallocate) and
// mapped MAP_SHARED, and append() is a memcpy into the mapping, with no system call: the
// bytes are in the page cache the moment memcpy returns, so a killed process loses nothing,
// exactly as with write(2), at a fraction of its cost on the proxy's I/O threads. The file
// then carries zeros after the last record until the segment is closed (replay skips
// them). When space cannot be reserved (disk full, file size limit) the segment falls back
// to write(2) appends, and collect() tries to map it again later.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace gm::storage {

class usage_journal {
public:
    struct segment {
        std::uint64_t seq = 0;
        std::string path;
    };

    // Takes an exclusive lock on "<base>.lock" (one writing process per journal: a second
    // one would replay and delete segments the first is still appending to), finds the
    // segments a previous process left (oldest first) and opens a new active one after
    // them. Throws std::system_error when the directory cannot be used or the lock is held.
    explicit usage_journal(std::string base_path, bool mapped = false);
    ~usage_journal();
    usage_journal(const usage_journal&) = delete;
    usage_journal& operator=(const usage_journal&) = delete;

    // Segments present at open, to be replayed; each must later be released through
    // add_appended(seq, n) + mark_committed(seq, n) like any other.
    const std::vector<segment>& leftover() const noexcept { return leftover_; }
    // Reads one segment's lines (without '\n'); a final line without '\n' is included.
    static std::vector<std::string> read_lines(const std::string& path, std::error_code& ec);
    // A segment's whole content (binary records and text lines alike: see journal_codec).
    static std::string read_bytes(const std::string& path, std::error_code& ec);

    // Appends one encoded line to the active segment; returns the segment's seq.
    std::uint64_t append(std::string_view line, std::error_code& ec);
    void add_appended(std::uint64_t seq, std::uint64_t n);
    void mark_committed(std::uint64_t seq, std::uint64_t n);
    // Deletes fully committed segments, truncates the active one if it is fully committed,
    // and starts a new active segment when the current one is over max_bytes.
    void collect(std::uint64_t max_bytes, std::error_code& ec);

    // Closes the active segment (its reserved zeros dropped) and opens the next one, so that
    // the records appended from now on are in a file of their own: the writer keeps the
    // records it does not hold in memory in segments that hold nothing else. False (and
    // appends continue in the same segment) when the new file cannot be opened.
    bool rotate(std::error_code& ec);
    // Marks every record appended to segment seq committed (the writer committed all it
    // could read back from the file).
    void mark_all_committed(std::uint64_t seq);
    std::string path_of(std::uint64_t seq) const { return segment_path(seq); }

    // Closes the active segment, removing it if it is empty (a clean stop leaves no file).
    // A later append() reopens it.
    void close() noexcept;

    std::uint64_t backlog_records() const noexcept;  // appended, not yet committed
    std::uint64_t active_seq() const noexcept { return active_seq_; }
    std::size_t segment_count() const noexcept { return counts_.size(); }
    bool is_mapped() const noexcept { return map_ != nullptr; }  // appends go to the mapping now
    const std::string& base_path() const noexcept { return base_; }

private:
    struct counts {
        std::uint64_t appended = 0;
        std::uint64_t committed = 0;
    };
    std::string segment_path(std::uint64_t seq) const;
    void open_active(std::uint64_t seq);
    // Mapped mode: reserves and maps at least `need` bytes of the active segment; false
    // (and unmapped) when the space cannot be reserved.
    bool map_active(std::uint64_t need) noexcept;
    void unmap_active() noexcept;
    bool write_at_end(std::string_view bytes, std::error_code& ec);

    std::string base_;
    std::vector<segment> leftover_;
    std::map<std::uint64_t, counts> counts_;  // every live segment, active included
    std::uint64_t active_seq_ = 0;
    int active_fd_ = -1;
    std::uint64_t active_bytes_ = 0;
    int lock_fd_ = -1;
    bool mapped_ = false;
    char* map_ = nullptr;         // mapping of the active segment, map_cap_ bytes
    std::uint64_t map_cap_ = 0;
};

}  // namespace gm::storage

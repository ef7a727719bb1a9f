#include "storage/usage_journal.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace gm::storage {

namespace fs = std::filesystem;

namespace {
constexpr std::uint64_t map_chunk = 1ull << 20;
std::uint64_t round_up(std::uint64_t n, std::uint64_t to) { return (n + to - 1) / to * to; }
}  // namespace

usage_journal::usage_journal(std::string base_path, bool mapped) : base_(std::move(base_path)), mapped_(mapped) {
    const std::string lock_path = base_ + ".lock";
    lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd_ < 0) throw std::system_error(errno, std::generic_category(), "cannot open " + lock_path);
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        ::close(lock_fd_);
        throw std::system_error(err, std::generic_category(),
                                "journal " + base_ + " is in use by another gemini-meter process");
    }
    try {
        const fs::path base(base_);
        const fs::path dir = base.has_parent_path() ? base.parent_path() : fs::path(".");
        const std::string prefix = base.filename().string() + ".";
        std::uint64_t max_seq = 0;
        for (const auto& entry : fs::directory_iterator(dir)) {
            const std::string name = entry.path().filename().string();
            if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
            const std::string digits = name.substr(prefix.size());
            if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
                digits.size() > 18)
                continue;
            const std::uint64_t seq = std::stoull(digits);
            leftover_.push_back({seq, entry.path().string()});
            counts_[seq] = {};
            max_seq = std::max(max_seq, seq);
        }
        std::sort(leftover_.begin(), leftover_.end(), [](const segment& a, const segment& b) { return a.seq < b.seq; });
        open_active(max_seq + 1);
    } catch (...) {
        ::close(lock_fd_);
        throw;
    }
}

usage_journal::~usage_journal() {
    close();
    ::close(lock_fd_);  // releases the flock
}

void usage_journal::unmap_active() noexcept {
    if (!map_) return;
    ::munmap(map_, map_cap_);
    map_ = nullptr;
    map_cap_ = 0;
    // Drop the reserved zeros after the last record: a closed segment holds records only.
    if (active_fd_ >= 0) (void)!::ftruncate(active_fd_, static_cast<off_t>(active_bytes_));
}

bool usage_journal::map_active(std::uint64_t need) noexcept {
    if (active_fd_ < 0) return false;
    const std::uint64_t cap = round_up(std::max(need, std::max(map_cap_ * 2, map_chunk)), map_chunk);
    // Reserve the blocks first: a store into a mapped page the file system cannot back
    // would kill the process with SIGBUS; a failed fallocate is an ordinary error.
    if (::posix_fallocate(active_fd_, 0, static_cast<off_t>(cap)) != 0) {
        unmap_active();
        return false;
    }
    void* p = map_ ? ::mremap(map_, map_cap_, cap, MREMAP_MAYMOVE)
                   : ::mmap(nullptr, cap, PROT_READ | PROT_WRITE, MAP_SHARED, active_fd_, 0);
    if (p == MAP_FAILED) {
        unmap_active();
        return false;
    }
    // Fault the new pages in now, in one call, rather than one page fault per 4 KiB of
    // records on the submitting threads (best effort: older kernels lack it). After a
    // commit this runs on the writer thread (collect), so submit() rarely pays it.
#ifdef MADV_POPULATE_WRITE
    (void)::madvise(static_cast<char*>(p) + map_cap_, cap - map_cap_, MADV_POPULATE_WRITE);
#endif
    map_ = static_cast<char*>(p);
    map_cap_ = cap;
    return true;
}

void usage_journal::close() noexcept {
    if (active_fd_ < 0) return;
    unmap_active();
    ::close(active_fd_);
    active_fd_ = -1;
    if (active_bytes_ == 0) ::unlink(segment_path(active_seq_).c_str());
}

std::string usage_journal::segment_path(std::uint64_t seq) const { return fmt::format("{}.{:08}", base_, seq); }

void usage_journal::open_active(std::uint64_t seq) {
    const std::string path = segment_path(seq);
    // Mapping needs read access; appends in mapped mode go to explicit offsets.
    const int flags = mapped_ ? O_RDWR | O_CREAT | O_CLOEXEC : O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC;
    const int fd = ::open(path.c_str(), flags, 0600);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "cannot open journal " + path);
    if (active_fd_ >= 0) {
        unmap_active();
        ::close(active_fd_);
    }
    active_fd_ = fd;
    active_seq_ = seq;
    active_bytes_ = static_cast<std::uint64_t>(::lseek(fd, 0, SEEK_END));
    counts_.try_emplace(seq);
    if (mapped_) map_active(active_bytes_);  // on failure, appends use write(2)
}

std::vector<std::string> usage_journal::read_lines(const std::string& path, std::error_code& ec) {
    std::vector<std::string> out;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        ec = std::make_error_code(std::errc::no_such_file_or_directory);
        return out;
    }
    std::string line;
    while (std::getline(in, line))
        if (!line.empty()) out.push_back(std::move(line));
    return out;
}

std::string usage_journal::read_bytes(const std::string& path, std::error_code& ec) {
    // One read of the whole file: the writer reads spill segments of many MB back while it
    // drains a backlog (a character-at-a-time stream iterator costs several times more).
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) {
        ec = std::make_error_code(std::errc::no_such_file_or_directory);
        return {};
    }
    const std::streamoff size = in.tellg();
    std::string out(size > 0 ? static_cast<std::size_t>(size) : 0, '\0');
    in.seekg(0);
    in.read(out.data(), static_cast<std::streamsize>(out.size()));
    out.resize(static_cast<std::size_t>(in.gcount()));
    if (in.bad()) ec = std::make_error_code(std::errc::io_error);
    return out;
}

std::uint64_t usage_journal::append(std::string_view line, std::error_code& ec) {
    if (active_fd_ < 0) {
        try {
            open_active(active_seq_);
        } catch (const std::system_error& e) {
            ec = e.code();
            return active_seq_;
        }
    }
    if (map_ && (active_bytes_ + line.size() <= map_cap_ || map_active(active_bytes_ + line.size()))) {
        std::memcpy(map_ + active_bytes_, line.data(), line.size());
        active_bytes_ += line.size();
        return active_seq_;
    }
    write_at_end(line, ec);
    return active_seq_;
}

bool usage_journal::write_at_end(std::string_view line, std::error_code& ec) {
    const char* p = line.data();
    std::size_t left = line.size();
    while (left > 0) {
        // O_APPEND in plain mode; in mapped mode (fallen back) the end is active_bytes_,
        // the file itself may be longer (reserved zeros).
        const ssize_t n = mapped_ ? ::pwrite(active_fd_, p, left, static_cast<off_t>(active_bytes_ + (p - line.data())))
                                  : ::write(active_fd_, p, left);
        if (n < 0) {
            if (errno == EINTR) continue;
            ec.assign(errno, std::generic_category());
            // A partial line may be on disk; a newline ends it so the next record starts
            // clean, and the checksum makes replay skip the fragment.
            if (left != line.size()) {
                const auto done = static_cast<std::uint64_t>(p - line.data());
                if (mapped_ ? ::pwrite(active_fd_, "\n", 1, static_cast<off_t>(active_bytes_ + done)) == 1
                            : ::write(active_fd_, "\n", 1) == 1)
                    active_bytes_ += done + 1;
            }
            return false;
        }
        p += n;
        left -= static_cast<std::size_t>(n);
    }
    active_bytes_ += line.size();
    return true;
}

bool usage_journal::rotate(std::error_code& ec) {
    try {
        open_active(active_seq_ + 1);
        return true;
    } catch (const std::system_error& e) {
        ec = e.code();
        return false;
    }
}

void usage_journal::mark_all_committed(std::uint64_t seq) {
    if (auto it = counts_.find(seq); it != counts_.end()) it->second.committed = it->second.appended;
}

void usage_journal::add_appended(std::uint64_t seq, std::uint64_t n) { counts_[seq].appended += n; }

void usage_journal::mark_committed(std::uint64_t seq, std::uint64_t n) {
    if (auto it = counts_.find(seq); it != counts_.end()) it->second.committed += n;
}

void usage_journal::collect(std::uint64_t max_bytes, std::error_code& ec) {
    for (auto it = counts_.begin(); it != counts_.end();) {
        const bool done = it->second.committed >= it->second.appended;
        if (it->first == active_seq_) {
            if (done && active_bytes_ > 0 && active_fd_ >= 0 && map_ && map_cap_ <= map_chunk) {
                // The usual case, once per batch under the submitters' lock: keep the mapping
                // and its reserved blocks, and zero what was written (page cache only, no
                // system call). Truncating, reserving and mapping again cost ~1 ms of CPU
                // and a few ms of wall time per batch. A crash in the middle of the memset
                // leaves committed records to replay, which the ids make harmless.
                std::memset(map_, 0, active_bytes_);
                active_bytes_ = 0;
                it->second = {};
            } else if (done && active_bytes_ > 0 && active_fd_ >= 0) {
                if (::ftruncate(active_fd_, 0) != 0) {
                    ec.assign(errno, std::generic_category());
                } else {
                    active_bytes_ = 0;
                    it->second = {};
                    // Map a fresh first chunk (a backlog may have grown the mapping far past
                    // what steady traffic needs); if space cannot be reserved, appends fall
                    // back to write(2).
                    if (map_) {
                        ::munmap(map_, map_cap_);
                        map_ = nullptr;
                        map_cap_ = 0;
                        map_active(0);
                    }
                }
            }
            ++it;
        } else if (done) {
            if (::unlink(segment_path(it->first).c_str()) != 0 && errno != ENOENT)
                ec.assign(errno, std::generic_category());
            it = counts_.erase(it);
        } else {
            ++it;
        }
    }
    // A segment that fell back to write(2) is mapped again once space can be reserved.
    if (mapped_ && !map_ && active_fd_ >= 0) map_active(active_bytes_);
    if (active_bytes_ >= max_bytes) {
        try {
            open_active(active_seq_ + 1);
        } catch (const std::system_error& e) {
            ec = e.code();
        }
    }
}

std::uint64_t usage_journal::backlog_records() const noexcept {
    std::uint64_t n = 0;
    for (const auto& [seq, c] : counts_) n += c.appended > c.committed ? c.appended - c.committed : 0;
    return n;
}

}  // namespace gm::storage

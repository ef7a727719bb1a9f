#include "storage/usage_journal.hpp"

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include <fmt/format.h>

#include "storage/journal_codec.hpp"
#include "support/temp_dir.hpp"

using namespace gm::storage;
namespace fs = std::filesystem;

namespace {
std::size_t files_with_prefix(const fs::path& dir, const std::string& prefix) {
    std::size_t n = 0;
    for (const auto& e : fs::directory_iterator(dir)) {
        const std::string name = e.path().filename().string();
        if (name.rfind(prefix, 0) == 0 && name.find_first_not_of("0123456789", prefix.size()) == std::string::npos) ++n;
    }
    return n;
}
}  // namespace

TEST_CASE("usage_journal: committed segments are released, pending ones kept", "[usage_journal]") {
    gm::test::temp_dir dir;
    const std::string base = dir.file("j");
    {
        usage_journal j(base);
        CHECK(j.leftover().empty());
        std::error_code ec;
        const auto s1 = j.append("one\n", ec);
        j.add_appended(s1, 1);
        j.append("two\n", ec);
        j.add_appended(s1, 1);
        REQUIRE_FALSE(ec);
        // Rotate: the 8-byte segment is over a 4-byte limit.
        j.collect(4, ec);
        REQUIRE_FALSE(ec);
        CHECK(j.active_seq() == s1 + 1);
        const auto s2 = j.append("three\n", ec);
        j.add_appended(s2, 1);
        CHECK(j.backlog_records() == 3);
        j.mark_committed(s1, 2);
        j.collect(1 << 20, ec);
        CHECK(j.backlog_records() == 1);
        CHECK_FALSE(fs::exists(base + ".00000001"));
        CHECK(fs::file_size(base + ".00000002") == 6);
    }
    // A new process finds the pending segment and nothing else.
    usage_journal again(base);
    REQUIRE(again.leftover().size() == 1);
    std::error_code ec;
    const auto lines = usage_journal::read_lines(again.leftover()[0].path, ec);
    CHECK(lines == std::vector<std::string>{"three"});
    CHECK(again.active_seq() == 3);
}

TEST_CASE("usage_journal: a fully committed active segment is truncated, and removed at a clean stop",
          "[usage_journal]") {
    gm::test::temp_dir dir;
    const std::string base = dir.file("j");
    {
        usage_journal j(base);
        std::error_code ec;
        const auto s = j.append("x\n", ec);
        j.add_appended(s, 1);
        j.mark_committed(s, 1);
        j.collect(1 << 20, ec);
        CHECK(fs::file_size(base + ".00000001") == 0);
        CHECK(j.backlog_records() == 0);
    }
    CHECK(files_with_prefix(dir.path(), "j.") == 0);
}

TEST_CASE("usage_journal: a second writer on the same journal is refused", "[usage_journal]") {
    gm::test::temp_dir dir;
    const std::string base = dir.file("j");
    {
        usage_journal first(base);
        CHECK_THROWS_WITH(usage_journal(base), Catch::Contains("in use"));
    }
    CHECK_NOTHROW(usage_journal(base));
}

namespace {

std::string frame(const std::string& id) {
    gm::metering::usage_record r;
    r.id = id;
    r.model = "m";
    std::string out;
    encode_journal_record(r, out);
    return out;
}

std::vector<std::string> ids_in(const std::string& path) {
    std::error_code ec;
    std::uint64_t skipped = 0;
    std::vector<std::string> ids;
    for (const auto& r : decode_journal_segment(usage_journal::read_bytes(path, ec), &skipped)) ids.push_back(r.id);
    CHECK(skipped == 0);
    return ids;
}

}  // namespace

TEST_CASE("usage_journal: mapped appends are in the file at once, and a crash copy replays them", "[usage_journal]") {
    gm::test::temp_dir dir;
    const std::string base = dir.file("j");
    usage_journal j(base, true);
    REQUIRE(j.is_mapped());
    std::error_code ec;
    for (int i = 0; i < 3000; ++i) {  // past the first 1 MiB reservation: the mapping grows
        const auto s = j.append(frame(fmt::format("r{:05}", i)), ec);
        j.add_appended(s, 1);
    }
    for (int i = 0; i < 2000; ++i) {
        const auto s = j.append(frame(fmt::format("p{:05}", i) + std::string(500, 'x')), ec);
        j.add_appended(s, 1);
    }
    REQUIRE_FALSE(ec);
    CHECK(j.is_mapped());
    // What a process killed now would leave: the live file, reserved zeros included.
    const std::string path = base + ".00000001";
    CHECK(fs::file_size(path) >= (1u << 20));
    fs::copy_file(path, dir.file("crash-copy"));
    const auto ids = ids_in(dir.file("crash-copy"));
    REQUIRE(ids.size() == 5000);
    CHECK(ids.front() == "r00000");
    CHECK(ids.back().rfind("p01999", 0) == 0);

    // Everything committed: the segment is emptied in place, nothing replayable is left.
    j.mark_committed(1, 5000);
    j.collect(1ull << 30, ec);
    REQUIRE_FALSE(ec);
    CHECK(j.backlog_records() == 0);
    CHECK(ids_in(path).empty());
    const auto s = j.append(frame("after"), ec);
    j.add_appended(s, 1);
    CHECK(ids_in(path) == std::vector<std::string>{"after"});
}

TEST_CASE("usage_journal: a mapped segment is cut to its records when rotated or closed", "[usage_journal]") {
    gm::test::temp_dir dir;
    const std::string base = dir.file("j");
    const std::string one = frame("one"), two = frame("two");
    {
        usage_journal j(base, true);
        std::error_code ec;
        j.add_appended(j.append(one, ec), 1);
        j.collect(1, ec);  // over the limit: rotate
        CHECK(j.active_seq() == 2);
        CHECK(fs::file_size(base + ".00000001") == one.size());
        j.add_appended(j.append(two, ec), 1);
        REQUIRE_FALSE(ec);
    }
    CHECK(fs::file_size(base + ".00000002") == two.size());
    usage_journal again(base, true);
    REQUIRE(again.leftover().size() == 2);
    CHECK(ids_in(again.leftover()[1].path) == std::vector<std::string>{"two"});
}

TEST_CASE("usage_journal: when space cannot be reserved, mapped mode falls back to write(2) and loses nothing",
          "[usage_journal]") {
    gm::test::temp_dir dir;
    const std::string base = dir.file("j");
    // A file size limit below the 1 MiB reservation, in a child so the limit dies with it.
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::signal(SIGXFSZ, SIG_IGN);
        const rlimit tight{64 * 1024, 64 * 1024};
        if (::setrlimit(RLIMIT_FSIZE, &tight) != 0) ::_exit(2);
        try {
            usage_journal j(base, true);
            if (j.is_mapped()) ::_exit(3);
            std::error_code ec;
            for (int i = 0; i < 100; ++i) j.add_appended(j.append(frame(fmt::format("w{:03}", i)), ec), 1);
            if (ec) ::_exit(4);
            ::_exit(0);  // no close(): as if killed
        } catch (...) {
            ::_exit(5);
        }
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    const auto ids = ids_in(base + ".00000001");
    REQUIRE(ids.size() == 100);
    CHECK(ids[99] == "w099");
}

TEST_CASE("usage_journal: a fully committed mapped segment is reused in place, and a crash after replays only what followed",
          "[usage_journal]") {
    gm::test::temp_dir dir;
    const std::string base = dir.file("j");
    const std::string path = base + ".00000001";
    usage_journal j(base, true);
    REQUIRE(j.is_mapped());
    std::error_code ec;
    for (const char* id : {"old1", "old2", "old3"}) {
        const auto seq = j.append(frame(id), ec);
        j.add_appended(seq, 1);
        j.mark_committed(seq, 1);
    }
    const auto reserved = fs::file_size(path);
    j.collect(64ull << 20, ec);
    REQUIRE_FALSE(ec);
    CHECK(j.active_seq() == 1);
    CHECK(j.backlog_records() == 0);
    CHECK(j.is_mapped());
    CHECK(fs::file_size(path) == reserved);  // the reservation is kept: no truncate, no new mapping
    CHECK(ids_in(path).empty());             // the committed records are zeros now
    // Appends start over at the beginning; a copy taken now (a crash) holds only them.
    j.add_appended(j.append(frame("new1"), ec), 1);
    CHECK(j.backlog_records() == 1);
    CHECK(ids_in(path) == std::vector<std::string>{"new1"});
}

TEST_CASE("usage_journal: rotate() gives later appends a file of their own, released whole", "[usage_journal]") {
    gm::test::temp_dir dir;
    const std::string base = dir.file("j");
    usage_journal j(base, true);
    std::error_code ec;
    const auto s1 = j.append("one\n", ec);
    j.add_appended(s1, 1);
    REQUIRE(j.rotate(ec));
    const auto s2 = j.append("two\n", ec);
    j.add_appended(s2, 1);
    j.append("three\n", ec);
    j.add_appended(s2, 1);
    REQUIRE_FALSE(ec);
    CHECK(s2 == s1 + 1);
    // The rotated segment holds its records only (the mapping's reserved zeros are cut).
    CHECK(fs::file_size(j.path_of(s1)) == 4);
    CHECK(usage_journal::read_lines(j.path_of(s1), ec) == std::vector<std::string>{"one"});
    REQUIRE(j.rotate(ec));  // the writer closes a spill segment before reading it back
    CHECK(usage_journal::read_lines(j.path_of(s2), ec) == std::vector<std::string>{"two", "three"});
    j.mark_all_committed(s2);
    j.collect(1 << 20, ec);
    CHECK(j.backlog_records() == 1);
    CHECK_FALSE(fs::exists(j.path_of(s2)));
    CHECK(fs::exists(j.path_of(s1)));
}

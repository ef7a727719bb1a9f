#include "storage/usage_journal.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

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

#include "admin_api/admin_tokens.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace gm::admin_api;

namespace {
std::string write_temp(const std::string& text) {
    auto path = std::filesystem::temp_directory_path() / ("gm_admin_tokens_" + std::to_string(::getpid()) + "_" +
                                                          std::to_string(std::hash<std::string>{}(text)));
    std::ofstream(path) << text;
    return path.string();
}
}  // namespace

TEST_CASE("tokens from a file: one per line, comments and blank lines skipped") {
    auto path = write_temp("# admin tokens\n\n  tok-one  \ntok-two\r\n# old: tok-zero\n");
    auto t = load_admin_tokens(path, nullptr);
    std::filesystem::remove(path);
    CHECK(t == std::vector<std::string>{"tok-one", "tok-two"});
}

TEST_CASE("tokens from the environment: comma-separated, merged with the file, duplicates dropped") {
    CHECK(load_admin_tokens(std::nullopt, "a, b,,c") == std::vector<std::string>{"a", "b", "c"});
    CHECK(load_admin_tokens(std::nullopt, "").empty());
    CHECK(load_admin_tokens(std::nullopt, nullptr).empty());
    auto path = write_temp("a\nz\n");
    auto t = load_admin_tokens(path, "z,b");
    std::filesystem::remove(path);
    CHECK(t == std::vector<std::string>{"a", "z", "b"});
}

TEST_CASE("an unreadable or empty token file is a start-up error that does not echo tokens") {
    CHECK_THROWS_WITH(load_admin_tokens("/nonexistent/dir/tokens", nullptr), Catch::Contains("cannot read admin token file"));
    auto empty = write_temp("# nothing here\n\n");
    CHECK_THROWS_WITH(load_admin_tokens(empty, "env-token"), Catch::Contains("holds no token"));
    std::filesystem::remove(empty);
    auto dir = std::filesystem::temp_directory_path();
    CHECK_THROWS(load_admin_tokens(dir.string(), nullptr));
    auto spaced = write_temp("secret with-space\n");
    try {
        load_admin_tokens(spaced, nullptr);
        FAIL("expected an exception");
    } catch (const std::runtime_error& e) {
        CHECK(std::string(e.what()).find("secret") == std::string::npos);
    }
    std::filesystem::remove(spaced);
}

TEST_CASE("a token made for one run: 64 lowercase hex digits, a new one each time") {
    const auto a = random_admin_token(), b = random_admin_token();
    CHECK(a.size() == 64);
    CHECK(a.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(a != b);
}

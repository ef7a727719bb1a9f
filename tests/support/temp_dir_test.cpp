#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <fstream>

using gm::test::temp_dir;

TEST_CASE("temp_dir is created empty and removed with its contents") {
    std::filesystem::path where;
    {
        temp_dir dir;
        where = dir.path();
        REQUIRE(std::filesystem::is_directory(where));
        REQUIRE(std::filesystem::is_empty(where));
        std::filesystem::create_directories(where / "a" / "b");
        std::ofstream(dir.file("a/b/f.txt")) << "x";
    }
    REQUIRE_FALSE(std::filesystem::exists(where));
}

TEST_CASE("temp_dir names are unique and moves transfer ownership") {
    temp_dir a, b;
    REQUIRE(a.path() != b.path());
    const auto pa = a.path();
    temp_dir c(std::move(a));
    REQUIRE(c.path() == pa);
    REQUIRE(a.path().empty());
    REQUIRE(std::filesystem::exists(pa));
}

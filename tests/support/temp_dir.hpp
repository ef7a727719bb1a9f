#pragma once
// A fresh directory for one test's files, removed with everything in it when the object
// dies, so that tests never see each other's leftovers and never leave any behind.
#include <filesystem>
#include <string>

namespace gm::test {

class temp_dir {
public:
    // Creates <TMPDIR or /tmp>/<prefix>XXXXXX; throws std::system_error on failure.
    explicit temp_dir(const std::string& prefix = "gm-test-");
    ~temp_dir();
    temp_dir(temp_dir&& other) noexcept;
    temp_dir& operator=(temp_dir&& other) noexcept;
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    const std::filesystem::path& path() const noexcept { return path_; }
    std::string str() const { return path_.string(); }
    // path() / name, as a string: the common use is building a file name for a flag.
    std::string file(const std::string& name) const { return (path_ / name).string(); }

private:
    void remove() noexcept;
    std::filesystem::path path_;
};

}  // namespace gm::test

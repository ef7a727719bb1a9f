#include "temp_dir.hpp"

#include <cerrno>
#include <cstdlib>
#include <system_error>
#include <vector>

namespace gm::test {

temp_dir::temp_dir(const std::string& prefix) {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/" + prefix + "XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) == nullptr)
        throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
    path_ = buf.data();
}

temp_dir::~temp_dir() { remove(); }

temp_dir::temp_dir(temp_dir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }

temp_dir& temp_dir::operator=(temp_dir&& other) noexcept {
    if (this != &other) {
        remove();
        path_ = std::move(other.path_);
        other.path_.clear();
    }
    return *this;
}

void temp_dir::remove() noexcept {
    if (path_.empty()) return;
    std::error_code ec;  // a destructor must not throw; a leftover in /tmp is harmless
    std::filesystem::remove_all(path_, ec);
    path_.clear();
}

}  // namespace gm::test

#include "admin_api/admin_tokens.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <stdexcept>

namespace gm::admin_api {

namespace {

std::string trim(std::string_view s) {
    const char* ws = " \t\r\n";
    auto b = s.find_first_not_of(ws);
    if (b == std::string_view::npos) return {};
    auto e = s.find_last_not_of(ws);
    return std::string(s.substr(b, e - b + 1));
}

void add_unique(std::vector<std::string>& out, std::string token) {
    if (token.empty()) return;
    if (std::find(out.begin(), out.end(), token) == out.end()) out.push_back(std::move(token));
}

}  // namespace

std::vector<std::string> load_admin_tokens(std::optional<std::string> file, const char* env_value) {
    std::vector<std::string> tokens;
    if (file) {
        std::ifstream in(*file);
        if (!in) throw std::runtime_error("cannot read admin token file " + *file);
        std::size_t from_file = 0;
        std::string line;
        while (std::getline(in, line)) {
            std::string t = trim(line);
            if (t.empty() || t.front() == '#') continue;
            if (t.find_first_of(" \t") != std::string::npos)
                throw std::runtime_error("admin token file " + *file + ": a token must not contain spaces");
            add_unique(tokens, std::move(t));
            ++from_file;
        }
        if (in.bad()) throw std::runtime_error("cannot read admin token file " + *file);
        if (from_file == 0) throw std::runtime_error("admin token file " + *file + " holds no token");
    }
    if (env_value) {
        std::string_view v(env_value);
        while (!v.empty()) {
            auto comma = v.find(',');
            add_unique(tokens, trim(v.substr(0, comma)));
            if (comma == std::string_view::npos) break;
            v.remove_prefix(comma + 1);
        }
    }
    return tokens;
}

std::string random_admin_token() {
    std::array<unsigned char, 32> bytes{};
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
        throw std::runtime_error("cannot make an admin token: OpenSSL's random generator failed");
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned char b : bytes) {
        out += hex[b >> 4];
        out += hex[b & 15];
    }
    return out;
}

}  // namespace gm::admin_api

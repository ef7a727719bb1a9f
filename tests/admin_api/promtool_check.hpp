#pragma once
// Runs `promtool check metrics` on a text exposition (Debian package `prometheus`).
#include <cstdio>
#include <string>

namespace gm::test {

struct promtool_result {
    bool available = false;
    int exit_code = -1;
    std::string output;
};

inline promtool_result promtool_check(const std::string& text) {
    promtool_result r;
#ifdef GM_PROMTOOL
    r.available = true;
    std::string path = "/tmp/gm_promtool_" + std::to_string(reinterpret_cast<std::uintptr_t>(&text)) + ".prom";
    if (FILE* f = std::fopen(path.c_str(), "wb")) {
        std::fwrite(text.data(), 1, text.size(), f);
        std::fclose(f);
    }
    std::string cmd = std::string(GM_PROMTOOL) + " check metrics < " + path + " 2>&1";
    if (FILE* p = ::popen(cmd.c_str(), "r")) {
        char buf[4096];
        std::size_t n;
        while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
        int status = ::pclose(p);
        r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::remove(path.c_str());
#endif
    return r;
}

}  // namespace gm::test

#include "proxy/io_affinity.hpp"

#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <stdexcept>

namespace gm::proxy {

namespace {

std::optional<int> parse_cpu(std::string_view s) {
    int v = -1;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v < 0 || v >= CPU_SETSIZE)
        return std::nullopt;
    return v;
}

std::vector<int> cpus_of(const cpu_set_t& set) {
    std::vector<int> out;
    for (int c = 0; c < CPU_SETSIZE; ++c)
        if (CPU_ISSET(c, &set))
            out.push_back(c);
    return out;
}

}  // namespace

std::optional<io_cpu_affinity> parse_io_cpus(std::string_view text, std::string& error) {
    io_cpu_affinity a;
    if (text == "off")
        return a;
    if (text == "auto") {
        a.automatic = true;
        return a;
    }
    const std::string whole(text);
    const auto bad = [&](std::string why) {
        error = "'" + whole + "' " + why;
        return std::nullopt;
    };
    if (text.empty())
        return bad("is empty: off, auto or a CPU list such as 0,2-3");
    while (!text.empty()) {
        const auto comma = text.find(',');
        const auto item = text.substr(0, comma);
        text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
        const auto dash = item.find('-');
        const auto first = parse_cpu(item.substr(0, dash));
        const auto last = dash == std::string_view::npos ? first : parse_cpu(item.substr(dash + 1));
        if (!first || !last)
            return bad("must be off, auto or a CPU list such as 0,2-3 (CPUs 0.." + std::to_string(CPU_SETSIZE - 1) +
                       ")");
        if (*last < *first)
            return bad("has a range that goes down (" + std::string(item) + ")");
        for (int c = *first; c <= *last; ++c) {
            if (std::find(a.cpus.begin(), a.cpus.end(), c) != a.cpus.end())
                return bad("names CPU " + std::to_string(c) + " twice");
            a.cpus.push_back(c);
        }
        if (comma != std::string_view::npos && text.empty())
            return bad("ends with a comma");
    }
    return a;
}

std::vector<int> allowed_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (::sched_getaffinity(0, sizeof set, &set) != 0)
        return {};
    return cpus_of(set);
}

std::vector<int> io_thread_cpus(const io_cpu_affinity& affinity, unsigned threads) {
    if (!affinity.enabled())
        return {};
    const auto allowed = allowed_cpus();
    const auto& from = affinity.automatic ? allowed : affinity.cpus;
    if (from.empty())
        throw std::runtime_error("--io-cpus: cannot read the CPUs this process may run on");
    for (const int c : from)
        if (!std::binary_search(allowed.begin(), allowed.end(), c))
            throw std::runtime_error("--io-cpus: CPU " + std::to_string(c) +
                                     " is not one this process may run on (" + format_cpu_list(allowed) + ")");
    std::vector<int> out;
    for (unsigned i = 0; i < threads; ++i) out.push_back(from[i % from.size()]);
    return out;
}

int pin_current_thread(int cpu) noexcept {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return ::sched_setaffinity(0, sizeof set, &set) == 0 ? 0 : errno;
}

std::vector<int> thread_cpus(pid_t tid) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (::sched_getaffinity(tid, sizeof set, &set) != 0)
        return {};
    return cpus_of(set);
}

std::string format_cpu_list(const std::vector<int>& cpus) {
    std::string out;
    for (std::size_t i = 0; i < cpus.size();) {
        std::size_t j = i;
        while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
        if (!out.empty())
            out += ',';
        out += std::to_string(cpus[i]);
        if (j > i)
            out += '-' + std::to_string(cpus[j]);
        i = j + 1;
    }
    return out;
}

std::string describe_io_cpus(const std::vector<int>& thread_cpus) {
    std::string out = "I/O threads bound to CPUs";
    for (int cpu : thread_cpus) out += ' ' + std::to_string(cpu);
    out += " (in thread order)";
    std::vector<int> sorted = thread_cpus;
    std::sort(sorted.begin(), sorted.end());
    const auto distinct = static_cast<std::size_t>(std::unique(sorted.begin(), sorted.end()) - sorted.begin());
    if (distinct < thread_cpus.size())
        out += "; " + std::to_string(thread_cpus.size()) + " threads on " + std::to_string(distinct) +
               (distinct == 1 ? " CPU" : " CPUs") + ": more I/O threads than CPUs listed, so some take turns on one CPU";
    return out;
}

}  // namespace gm::proxy

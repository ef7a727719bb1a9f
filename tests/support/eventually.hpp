#pragma once
// Polls a condition that another thread or process makes true. The limit bounds a hang when
// it never does; it is not a timing assertion (the machine is shared and slow at times).
#include <chrono>
#include <functional>
#include <thread>

namespace gm::test {

inline bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit = std::chrono::seconds(60),
                       std::chrono::milliseconds step = std::chrono::milliseconds(5)) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        if (pred()) return true;
        std::this_thread::sleep_for(step);
    }
    return pred();
}

}  // namespace gm::test

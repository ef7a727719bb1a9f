#pragma once
// The effective price table, replaceable at run time (SIGHUP). Readers take a snapshot
// and price a whole call with it, so a reload never changes a call half-way and never
// makes a reader wait on a lock held across work.
#include <atomic>
#include <memory>

#include "metering/pricing_table.hpp"

namespace gm::metering {

class pricing_registry {
public:
    explicit pricing_registry(std::shared_ptr<const pricing_table> initial);

    std::shared_ptr<const pricing_table> current() const noexcept;
    void replace(std::shared_ptr<const pricing_table> next) noexcept;

private:
    std::atomic<std::shared_ptr<const pricing_table>> table_;
};

}  // namespace gm::metering

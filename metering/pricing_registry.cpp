#include "metering/pricing_registry.hpp"

#include <utility>

namespace gm::metering {

pricing_registry::pricing_registry(std::shared_ptr<const pricing_table> initial) : table_(std::move(initial)) {}

std::shared_ptr<const pricing_table> pricing_registry::current() const noexcept {
    return table_.load(std::memory_order_acquire);
}

void pricing_registry::replace(std::shared_ptr<const pricing_table> next) noexcept {
    if (next) table_.store(std::move(next), std::memory_order_release);
}

}  // namespace gm::metering

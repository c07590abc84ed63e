#include "relay/port_pool.hpp"

namespace sg::relay {

PortPool::PortPool(std::uint16_t first, std::uint16_t last)
    : first_(static_cast<std::uint16_t>(first + (first & 1U))) {
    for (std::uint32_t port = first_; port + 1 <= last; port += 2)
        free_.push_back(static_cast<std::uint16_t>(port));
    total_ = free_.size();
    in_use_.assign(total_, false);
}

std::optional<std::uint16_t> PortPool::take() {
    if (free_.empty()) return std::nullopt;
    const std::uint16_t port = free_.front();
    free_.pop_front();
    in_use_[(port - first_) / 2U] = true;
    return port;
}

void PortPool::release(std::uint16_t even_port) {
    if (even_port < first_ || (even_port - first_) % 2U != 0) return;
    const std::size_t slot = (even_port - first_) / 2U;
    if (slot >= total_ || !in_use_[slot]) return;
    in_use_[slot] = false;
    free_.push_back(even_port);
}

}  // namespace sg::relay

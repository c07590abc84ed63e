#include "punch/port_prediction.hpp"

#include <cstdlib>

namespace sg::punch {

std::optional<int> sequential_step(std::uint16_t m1, std::uint16_t m2, std::uint16_t m3) noexcept {
    const int step = int{m3} - int{m2};
    const int first = int{m2} - int{m1};
    if (step == 0 || std::abs(step) > k_max_port_step) return std::nullopt;
    // M2 came after M1 with at most `window` other allocations between them, all of the same step.
    if (first % step != 0) return std::nullopt;
    const int steps = first / step;
    if (steps < 1 || steps > static_cast<int>(k_prediction_window)) return std::nullopt;
    return step;
}

std::vector<std::uint16_t> predicted_ports(std::uint16_t p, int step, std::size_t window) {
    std::vector<std::uint16_t> ports;
    if (step == 0) return ports;
    ports.reserve(window);
    for (std::size_t k = 1; k <= window; ++k) {
        const long port = long{p} + static_cast<long>(k) * step;
        if (port >= 1024 && port <= 65535) ports.push_back(static_cast<std::uint16_t>(port));
    }
    return ports;
}

}  // namespace sg::punch

#include "server/udp_ports.hpp"

#include <system_error>

namespace sg::server {

UdpPortAllocator::UdpPortAllocator(std::uint16_t first, std::uint16_t last) noexcept
    : first_(static_cast<std::uint16_t>((first + 1U) & ~1U)), last_(last) {}

std::unique_ptr<UdpPair> UdpPortAllocator::allocate(const asio::any_io_executor& executor,
                                                    const asio::ip::address& address) {
    if (first_ == 0 || std::uint32_t{last_} < std::uint32_t{first_} + 1) return nullptr;
    const std::uint32_t pairs = (std::uint32_t{last_} - first_ + 1) / 2;
    for (std::uint32_t attempt = 0; attempt < pairs; ++attempt) {
        const auto port =
            static_cast<std::uint16_t>(first_ + 2 * (next_.fetch_add(1, std::memory_order_relaxed) % pairs));
        auto pair = std::make_unique<UdpPair>(
            UdpPair{asio::ip::udp::socket(executor), asio::ip::udp::socket(executor)});
        std::error_code ec;
        const auto protocol = address.is_v6() ? asio::ip::udp::v6() : asio::ip::udp::v4();
        pair->rtp.open(protocol, ec);
        if (!ec) pair->rtcp.open(protocol, ec);
        if (ec) return nullptr;  // no descriptors: trying other ports would not help
        pair->rtp.bind({address, port}, ec);
        if (ec) continue;
        pair->rtcp.bind({address, static_cast<std::uint16_t>(port + 1)}, ec);
        if (ec) continue;
        // Media is sent with non-blocking send_to: a full socket buffer drops a packet instead of stalling
        // every other session on this event loop.
        pair->rtp.non_blocking(true, ec);
        pair->rtcp.non_blocking(true, ec);
        return pair;
    }
    return nullptr;
}

}  // namespace sg::server

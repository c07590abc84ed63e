#include "client/udp_port_pair.hpp"

namespace sg::client {
namespace {

constexpr int k_attempts = 64;

bool bind_to(asio::ip::udp::socket& socket, asio::ip::udp family, std::uint16_t port, asio::error_code& ec) {
    socket.open(family, ec);
    if (ec) return false;
    const auto any = family == asio::ip::udp::v6() ? asio::ip::address(asio::ip::address_v6::any())
                                                   : asio::ip::address(asio::ip::address_v4::any());
    socket.bind(asio::ip::udp::endpoint(any, port), ec);
    if (ec) {
        asio::error_code ignored;
        socket.close(ignored);
        return false;
    }
    return true;
}

std::string reason(const asio::error_code& ec) {
    if (ec == asio::error::no_descriptors) return "too many open files (raise ulimit -n)";
    return "no free UDP port pair (widen net.ipv4.ip_local_port_range)";
}

}  // namespace

std::optional<UdpPortPair> open_udp_port_pair(const asio::any_io_executor& executor, asio::ip::udp family,
                                              std::string& error) {
    asio::error_code ec;
    for (int attempt = 0; attempt < k_attempts; ++attempt) {
        // The kernel picks a free port; its neighbour completes the pair if it is free too.
        asio::ip::udp::socket first(executor);
        if (!bind_to(first, family, 0, ec)) break;
        const auto port = first.local_endpoint(ec).port();
        if (ec) break;
        const bool even = port % 2 == 0;
        if (!even && port == 1) continue;
        if (even && port == 65534) continue;
        const auto other_port = static_cast<std::uint16_t>(even ? port + 1 : port - 1);
        asio::ip::udp::socket second(executor);
        if (!bind_to(second, family, other_port, ec)) {
            if (ec == asio::error::no_descriptors) break;
            continue;
        }
        if (even) return UdpPortPair{std::move(first), std::move(second), port};
        return UdpPortPair{std::move(second), std::move(first), other_port};
    }
    error = reason(ec);
    return std::nullopt;
}

}  // namespace sg::client

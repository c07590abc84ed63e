#include "relay_io/endpoint_conversion.hpp"

#include <netinet/in.h>

#include <algorithm>
#include <cstring>

#include "net/asio_endpoint.hpp"

namespace sg::relay_io {

relay::Address to_address(const asio::ip::udp::endpoint& endpoint) {
    relay::Address out;
    out.port = endpoint.port();
    const auto address = net::unmap(endpoint.address());
    if (address.is_v4()) {
        out.family = relay::Family::ip4;
        const auto bytes = address.to_v4().to_bytes();
        std::copy(bytes.begin(), bytes.end(), out.bytes.begin());
    } else {
        out.family = relay::Family::ip6;
        const auto bytes = address.to_v6().to_bytes();
        std::copy(bytes.begin(), bytes.end(), out.bytes.begin());
    }
    return out;
}

asio::ip::udp::endpoint to_endpoint(const relay::Address& address) {
    if (address.family == relay::Family::ip6) {
        asio::ip::address_v6::bytes_type bytes;
        std::copy(address.bytes.begin(), address.bytes.end(), bytes.begin());
        return {asio::ip::address_v6(bytes), address.port};
    }
    asio::ip::address_v4::bytes_type bytes;
    std::copy_n(address.bytes.begin(), 4, bytes.begin());
    return {asio::ip::address_v4(bytes), address.port};
}

// Only a length the endpoint can hold reaches resize(), which would throw otherwise.
// NOLINTNEXTLINE(bugprone-exception-escape)
std::optional<relay::Address> to_address(const ::sockaddr* address, ::socklen_t length) noexcept {
    asio::ip::udp::endpoint endpoint;
    // Each family's whole structure, as the kernel gives it: a shorter one is refused, not zero-filled.
    ::socklen_t needed = 0;
    if (address->sa_family == AF_INET) needed = sizeof(::sockaddr_in);
    if (address->sa_family == AF_INET6) needed = sizeof(::sockaddr_in6);
    if (needed == 0 || length < needed || length > endpoint.capacity()) return std::nullopt;
    std::memcpy(endpoint.data(), address, length);
    endpoint.resize(length);
    return to_address(endpoint);
}

}  // namespace sg::relay_io

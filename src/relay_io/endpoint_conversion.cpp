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

std::optional<relay::Address> to_address(const ::sockaddr* address, ::socklen_t length) noexcept {
    relay::Address out;
    if (address->sa_family == AF_INET && length >= sizeof(::sockaddr_in)) {
        ::sockaddr_in v4{};
        std::memcpy(&v4, address, sizeof v4);
        out.family = relay::Family::ip4;
        out.port = ntohs(v4.sin_port);
        std::memcpy(out.bytes.data(), &v4.sin_addr, 4);
        return out;
    }
    if (address->sa_family != AF_INET6 || length < sizeof(::sockaddr_in6)) return std::nullopt;
    ::sockaddr_in6 v6{};
    std::memcpy(&v6, address, sizeof v6);
    out.port = ntohs(v6.sin6_port);
    if (IN6_IS_ADDR_V4MAPPED(&v6.sin6_addr)) {
        out.family = relay::Family::ip4;
        std::memcpy(out.bytes.data(), &v6.sin6_addr.s6_addr[12], 4);
    } else {
        out.family = relay::Family::ip6;
        std::memcpy(out.bytes.data(), &v6.sin6_addr, 16);
    }
    return out;
}

}  // namespace sg::relay_io

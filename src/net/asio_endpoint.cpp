#include "net/asio_endpoint.hpp"

namespace sg::net {

sg::Result<asio::ip::tcp::endpoint> to_tcp_endpoint(const HostPort& hp) {
    asio::error_code ec;
    const auto addr = asio::ip::make_address(hp.host, ec);
    if (ec) return sg::fail("listen address must be a literal IPv4 or IPv6 address");
    return asio::ip::tcp::endpoint(addr, hp.port);
}

asio::ip::address unmap(const asio::ip::address& addr) {
    if (addr.is_v6() && addr.to_v6().is_v4_mapped()) {
        return asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
    }
    return addr;
}

HostPort to_host_port(const asio::ip::tcp::endpoint& ep) {
    return HostPort{unmap(ep.address()).to_string(), ep.port()};
}

std::string to_string(const asio::ip::tcp::endpoint& ep) {
    return to_string(to_host_port(ep));
}

std::string to_string(const asio::ip::udp::endpoint& ep) {
    return to_string(HostPort{unmap(ep.address()).to_string(), ep.port()});
}

}  // namespace sg::net

#pragma once
// One UDP socket of `streamgate turn` (a listener or a relayed address) as a plain non-blocking descriptor,
// closed with the object. Not an Asio socket: Asio would put it in its own epoll set as well and wake for
// every datagram; the server's edge reactor (net/edge_reactor.hpp) watches it instead.

#include <asio/ip/udp.hpp>
#include <system_error>

#include "common/byte_io.hpp"

namespace sg::turn {

class UdpPort {
public:
    // Makes the socket of the family; valid() is false when no descriptor was left.
    explicit UdpPort(bool ipv6) noexcept;
    ~UdpPort();
    UdpPort(const UdpPort&) = delete;
    UdpPort& operator=(const UdpPort&) = delete;

    bool valid() const noexcept { return fd_ >= 0; }
    int fd() const noexcept { return fd_; }

    // IPv6 sockets are bound v6-only: an IPv4 listener or relay of the same port is a separate socket.
    std::error_code bind(const asio::ip::udp::endpoint& local) noexcept;
    // NOLINTNEXTLINE(bugprone-exception-escape): see the definition
    asio::ip::udp::endpoint local_endpoint() const noexcept;
    // Best effort: the kernel caps these at net.core.rmem_max / wmem_max.
    void set_buffer_sizes(int bytes) noexcept;
    // DONT-FRAGMENT (RFC 8656 §14.8): what this socket sends carries DF.
    void set_dont_fragment(bool ipv6) noexcept;
    // One datagram now, without waiting: false when the kernel refused it (buffer full, unreachable, ...).
    bool send_to(Bytes datagram, const asio::ip::udp::endpoint& destination) noexcept;

private:
    int fd_ = -1;
};

}  // namespace sg::turn

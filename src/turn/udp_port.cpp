#include "turn/udp_port.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace sg::turn {

UdpPort::UdpPort(bool ipv6) noexcept
    : fd_(::socket(ipv6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) {
    if (fd_ >= 0 && ipv6) {
        const int on = 1;
        ::setsockopt(fd_, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
    }
}

UdpPort::~UdpPort() {
    if (fd_ >= 0) ::close(fd_);
}

std::error_code UdpPort::bind(const asio::ip::udp::endpoint& local) noexcept {
    if (::bind(fd_, local.data(), static_cast<::socklen_t>(local.size())) != 0)
        return {errno, std::system_category()};
    return {};
}

// endpoint::resize() throws only for a length above capacity(), which is checked first.
// NOLINTNEXTLINE(bugprone-exception-escape)
asio::ip::udp::endpoint UdpPort::local_endpoint() const noexcept {
    asio::ip::udp::endpoint local;
    auto length = static_cast<::socklen_t>(local.capacity());
    if (::getsockname(fd_, local.data(), &length) != 0 || length > local.capacity()) return {};
    local.resize(length);  // cannot throw: checked against capacity() above
    return local;
}

void UdpPort::set_buffer_sizes(int bytes) noexcept {
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
}

void UdpPort::set_dont_fragment(bool ipv6) noexcept {
    if (ipv6) {
        const int value = 1;
        ::setsockopt(fd_, IPPROTO_IPV6, IPV6_DONTFRAG, &value, sizeof value);
    } else {
        const int value = IP_PMTUDISC_DO;
        ::setsockopt(fd_, IPPROTO_IP, IP_MTU_DISCOVER, &value, sizeof value);
    }
}

bool UdpPort::send_to(Bytes datagram, const asio::ip::udp::endpoint& destination) noexcept {
    return ::sendto(fd_, datagram.data(), datagram.size(), MSG_DONTWAIT | MSG_NOSIGNAL, destination.data(),
                    static_cast<::socklen_t>(destination.size())) >= 0;
}

}  // namespace sg::turn

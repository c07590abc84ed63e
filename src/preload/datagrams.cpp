// Interposed datagram I/O: sends to proxied destinations are encapsulated for the association's relay, and
// what arrives from the relay is decapsulated with its real source (RFC 1928 section 7). Descriptors the
// library never associated go straight to the C library after one atomic flag test.

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <new>
#include <optional>

#include "preload/export.hpp"
#include "preload/real.hpp"
#include "preload/state.hpp"
#include "preload/udp_association.hpp"

namespace sg::preload {
namespace {

struct Diverted {
    IpEndpoint app;  // the destination as the program wrote it
    socks::Address target;
};

enum class Verdict : std::uint8_t { kernel, relay, refuse };

// Decides where one outgoing datagram goes. A null destination means the connected peer.
Verdict route_datagram(int fd, const sockaddr* destination, socklen_t length, Diverted& diverted) {
    const auto flags = fd_flags(fd);
    if (destination == nullptr) {
        if ((flags & k_flag_udp) == 0) return Verdict::kernel;
        Lock lock;
        const auto it = state().fds.find(fd);
        if (it == state().fds.end() || it->second.type != SOCK_DGRAM || !it->second.has_peer)
            return Verdict::kernel;
        diverted = {it->second.peer, it->second.peer_target};
        return Verdict::relay;
    }
    const auto endpoint = from_sockaddr(destination, length);
    if (!endpoint) return Verdict::kernel;
    auto route = classify(*endpoint);
    if (route.route == Route::direct) return Verdict::kernel;
    if ((flags & k_flag_udp) == 0) {
        int type = 0;
        socklen_t len = sizeof type;
        // Stream sockets (sendto with MSG_FASTOPEN) are left to the kernel.
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_DGRAM)
            return Verdict::kernel;
    }
    if (route.route == Route::unknown_fake) return Verdict::refuse;
    diverted = {*endpoint, std::move(route.target)};
    return Verdict::relay;
}

// A direct destination on a socket the library moved to the other family: rewrite the address to match.
const sockaddr* kernel_destination(int fd, const sockaddr* destination, socklen_t& length,
                                   sockaddr_storage& storage) {
    if (destination == nullptr || (fd_flags(fd) & k_flag_udp) == 0) return destination;
    int kernel_family = 0;
    {
        Lock lock;
        if (const auto it = state().fds.find(fd); it != state().fds.end())
            kernel_family = it->second.kernel_family;
    }
    if (kernel_family == 0 || destination->sa_family == kernel_family) return destination;
    const auto endpoint = from_sockaddr(destination, length);
    if (!endpoint) return destination;
    const socklen_t converted = to_sockaddr(*endpoint, kernel_family, storage);
    if (converted == 0) return destination;
    length = converted;
    return reinterpret_cast<const sockaddr*>(&storage);
}

ssize_t send_common(int fd, const msghdr& message, int flags) {
    Diverted diverted;
    switch (
        route_datagram(fd, static_cast<const sockaddr*>(message.msg_name), message.msg_namelen, diverted)) {
        case Verdict::refuse:
            errno = EHOSTUNREACH;
            return -1;
        case Verdict::relay:
            return send_through_relay(fd, message, flags, diverted.app, diverted.target);
        case Verdict::kernel:
            break;
    }
    sockaddr_storage storage{};
    msghdr out = message;
    socklen_t length = message.msg_namelen;
    out.msg_name = const_cast<sockaddr*>(
        kernel_destination(fd, static_cast<const sockaddr*>(message.msg_name), length, storage));
    out.msg_namelen = length;
    return real().sendmsg(fd, &out, flags);
}

bool is_connected_udp(int fd) {
    Lock lock;
    const auto it = state().fds.find(fd);
    return it != state().fds.end() && it->second.has_peer;
}

}  // namespace
}  // namespace sg::preload

using namespace sg::preload;

SG_EXPORT ssize_t sendto(int fd, const void* buffer, size_t length, int flags, const sockaddr* destination,
                         socklen_t destination_length) {
    if (destination == nullptr && (fd_flags(fd) & k_flag_udp) == 0)
        return real().sendto(fd, buffer, length, flags, destination, destination_length);
    try {
        iovec iov{const_cast<void*>(buffer), length};
        msghdr message{};
        message.msg_name = const_cast<sockaddr*>(destination);
        message.msg_namelen = destination_length;
        message.msg_iov = &iov;
        message.msg_iovlen = 1;
        return send_common(fd, message, flags);
    } catch (const std::bad_alloc&) {
        errno = ENOMEM;
        return -1;
    }
}

SG_EXPORT ssize_t sendmsg(int fd, const msghdr* message, int flags) {
    if (message == nullptr || (message->msg_name == nullptr && (fd_flags(fd) & k_flag_udp) == 0))
        return real().sendmsg(fd, message, flags);
    try {
        return send_common(fd, *message, flags);
    } catch (const std::bad_alloc&) {
        errno = ENOMEM;
        return -1;
    }
}

SG_EXPORT ssize_t send(int fd, const void* buffer, size_t length, int flags) {
    if ((fd_flags(fd) & k_flag_udp) == 0) return real().send(fd, buffer, length, flags);
    return sendto(fd, buffer, length, flags, nullptr, 0);
}

SG_EXPORT ssize_t write(int fd, const void* buffer, size_t length) {
    if ((fd_flags(fd) & k_flag_udp) == 0) return real().write(fd, buffer, length);
    return sendto(fd, buffer, length, 0, nullptr, 0);
}

SG_EXPORT ssize_t recvmsg(int fd, msghdr* message, int flags) {
    if (message == nullptr || (fd_flags(fd) & k_flag_udp) == 0) return real().recvmsg(fd, message, flags);
    try {
        return receive_from_relay(fd, *message, flags, false);
    } catch (const std::bad_alloc&) {
        errno = ENOMEM;
        return -1;
    }
}

SG_EXPORT ssize_t recvfrom(int fd, void* buffer, size_t length, int flags, sockaddr* source,
                           socklen_t* source_length) {
    if ((fd_flags(fd) & k_flag_udp) == 0)
        return real().recvfrom(fd, buffer, length, flags, source, source_length);
    try {
        iovec iov{buffer, length};
        msghdr message{};
        message.msg_name = source_length != nullptr ? source : nullptr;
        message.msg_namelen = source_length != nullptr ? *source_length : 0;
        message.msg_iov = &iov;
        message.msg_iovlen = 1;
        const auto received =
            receive_from_relay(fd, message, flags, source == nullptr && is_connected_udp(fd));
        if (received >= 0 && source_length != nullptr && source != nullptr)
            *source_length = message.msg_namelen;
        return received;
    } catch (const std::bad_alloc&) {
        errno = ENOMEM;
        return -1;
    }
}

SG_EXPORT ssize_t recv(int fd, void* buffer, size_t length, int flags) {
    if ((fd_flags(fd) & k_flag_udp) == 0) return real().recv(fd, buffer, length, flags);
    return recvfrom(fd, buffer, length, flags, nullptr, nullptr);
}

SG_EXPORT ssize_t read(int fd, void* buffer, size_t length) {
    if ((fd_flags(fd) & k_flag_udp) == 0) return real().read(fd, buffer, length);
    return recvfrom(fd, buffer, length, 0, nullptr, nullptr);
}

// SOCKS5 UDP associations for datagram sockets (see udp_association.hpp).

#include "preload/udp_association.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "preload/proxy_client.hpp"
#include "preload/real.hpp"

namespace sg::preload {
namespace {

constexpr int k_associate_timeout_ms = 10000;
constexpr std::size_t k_max_peers = 64;
// RSV(2) FRAG ATYP, a 255-byte domain with its length byte, PORT: the largest UDP request header.
constexpr std::size_t k_max_header = 4 + 1 + 255 + 2;
constexpr std::size_t k_max_datagram = 65536 + k_max_header;

bool alive(const UdpAssociation& association) {
    if (association.control_fd < 0) return false;
    // The gateway says nothing on the control connection after its reply: anything readable is its end.
    pollfd p{association.control_fd, POLLIN, 0};
    return ::poll(&p, 1, 0) == 0;
}

IpEndpoint local_endpoint(int fd, int family) {
    sockaddr_storage storage{};
    socklen_t len = sizeof storage;
    if (real().getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &len) == 0) {
        if (auto endpoint = from_sockaddr(reinterpret_cast<const sockaddr*>(&storage), len)) return *endpoint;
    }
    return IpEndpoint{IpAddress{family, {}}, 0};
}

// Gives the program's socket the proxy's family (keeping its port, flags and close-on-exec) and makes sure
// it has a port. Returns the kernel family, or 0 with errno set.
int prepare_socket(int fd, int app_family, int proxy_family) {
    const auto local = local_endpoint(fd, app_family);
    if (app_family == proxy_family) {
        if (local.port != 0) return proxy_family;
        sockaddr_storage any{};
        const socklen_t len = to_sockaddr(IpEndpoint{IpAddress{proxy_family, {}}, 0}, proxy_family, any);
        if (bind(fd, reinterpret_cast<const sockaddr*>(&any), len) != 0) return 0;
        return proxy_family;
    }
    const int replacement = socket(proxy_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (replacement < 0) return 0;
    if (proxy_family == AF_INET6) {
        const int off = 0;  // the program may still send to direct IPv4 destinations (as mapped addresses)
        (void)setsockopt(replacement, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    }
    const int status_flags = fcntl(fd, F_GETFL);
    const int descriptor_flags = fcntl(fd, F_GETFD);
    if ((status_flags >= 0 && fcntl(replacement, F_SETFL, status_flags) != 0) ||
        real().dup3(replacement, fd, (descriptor_flags & FD_CLOEXEC) != 0 ? O_CLOEXEC : 0) < 0) {
        const int saved = errno;
        real().close(replacement);
        errno = saved;
        return 0;
    }
    real().close(replacement);
    // Bound only now that the original socket is gone: a dual-stack IPv6 socket holds its port for IPv4 too.
    // Should the port have been taken in between, any port will do (the program's sends still work).
    sockaddr_storage any{};
    socklen_t len = to_sockaddr(IpEndpoint{IpAddress{proxy_family, {}}, local.port}, proxy_family, any);
    if (local.port != 0 && bind(fd, reinterpret_cast<const sockaddr*>(&any), len) == 0) return proxy_family;
    len = to_sockaddr(IpEndpoint{IpAddress{proxy_family, {}}, 0}, proxy_family, any);
    if (bind(fd, reinterpret_cast<const sockaddr*>(&any), len) != 0) return 0;
    return proxy_family;
}

std::vector<std::uint8_t>& scratch() {
    thread_local std::vector<std::uint8_t> buffer;
    return buffer;
}

std::size_t total_length(const msghdr& message) {
    std::size_t total = 0;
    for (std::size_t i = 0; i < message.msg_iovlen; ++i)
        total += message.msg_iov[i].iov_len;
    return total;
}

std::size_t scatter(const std::uint8_t* data, std::size_t size, const msghdr& message) {
    std::size_t copied = 0;
    for (std::size_t i = 0; i < message.msg_iovlen && copied < size; ++i) {
        const std::size_t n = std::min(size - copied, message.msg_iov[i].iov_len);
        std::memcpy(message.msg_iov[i].iov_base, data + copied, n);
        copied += n;
    }
    return copied;
}

// What source the program sees for a datagram the relay delivered from `source`.
IpEndpoint program_view(const UdpAssociation& association, const socks::Address& source) {
    for (auto it = association.peers.rbegin(); it != association.peers.rend(); ++it)
        if (it->target == source) return it->app;
    if (!source.is_domain()) {
        // Sent to a name, answered from the address the gateway resolved it to: same port, same peer.
        for (auto it = association.peers.rbegin(); it != association.peers.rend(); ++it)
            if (it->target.is_domain() && it->target.port() == source.port()) return it->app;
        IpEndpoint endpoint;
        endpoint.port = source.port();
        endpoint.address.family = source.is_ipv4() ? AF_INET : AF_INET6;
        if (source.is_ipv4()) {
            const auto v4 = source.ipv4();
            std::copy(v4.begin(), v4.end(), endpoint.address.bytes.begin());
        } else {
            endpoint.address.bytes = source.ipv6();
        }
        return endpoint;
    }
    return IpEndpoint{};
}

bool would_block(int fd, int flags) {
    if ((flags & MSG_DONTWAIT) != 0) return true;
    const int status = fcntl(fd, F_GETFL);
    return status >= 0 && (status & O_NONBLOCK) != 0;
}

}  // namespace

std::shared_ptr<UdpAssociation> ensure_association(int fd, int app_family) {
    State& s = state();
    int kernel_family = 0;
    std::shared_ptr<UdpAssociation> association;
    {
        Lock lock;
        if (const auto it = s.fds.find(fd); it != s.fds.end() && it->second.type == SOCK_DGRAM) {
            kernel_family = it->second.kernel_family;
            association = it->second.udp;
        }
    }
    if (association && alive(*association)) return association;

    const int proxy_family = s.config.proxy.address.family;
    if (kernel_family == 0) {
        kernel_family = prepare_socket(fd, app_family, proxy_family);
        if (kernel_family == 0) return nullptr;
    }
    const auto local = local_endpoint(fd, kernel_family);

    int control = socket(proxy_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (control < 0) return nullptr;
    // High numbers keep the hidden descriptor away from programs that assume small ones are theirs.
    if (const int moved = fcntl(control, F_DUPFD_CLOEXEC, 512); moved >= 0) {
        real().close(control);
        control = moved;
    }
    // DST.PORT is the port datagrams will come from, so the gateway admits them at once (RFC 1928 section
    // 4); DST.ADDR stays unspecified, the gateway takes the control connection's address.
    const auto request_address = to_socks_address(IpEndpoint{IpAddress{proxy_family, {}}, local.port});
    const auto result = proxy_request(control, s.config, socks::Command::udp_associate, request_address,
                                      k_associate_timeout_ms);
    if (result.error != 0) {
        real().close(control);
        if (result.proxy_unreachable) warn_proxy_unusable(result.why, result.error);
        errno = result.proxy_unreachable ? ECONNREFUSED : result.error;
        return nullptr;
    }
    auto fresh = std::make_shared<UdpAssociation>();
    fresh->control_fd = control;
    if (result.bound.is_domain()) {
        fresh->relay = s.config.proxy;  // no name resolution here; the proxy's own address is the best guess
    } else {
        fresh->relay.port = result.bound.port();
        fresh->relay.address.family = result.bound.is_ipv4() ? AF_INET : AF_INET6;
        if (result.bound.is_ipv4()) {
            const auto v4 = result.bound.ipv4();
            std::copy(v4.begin(), v4.end(), fresh->relay.address.bytes.begin());
        } else {
            fresh->relay.address.bytes = result.bound.ipv6();
        }
        // An unspecified BND.ADDR means "the address you reached me on" (common server practice).
        if (fresh->relay.address.bytes == std::array<std::uint8_t, 16>{})
            fresh->relay.address = s.config.proxy.address;
    }

    int stale_control = -1;
    std::shared_ptr<UdpAssociation> winner;
    {
        Lock lock;
        auto& fd_state = s.fds[fd];
        // Another thread associated the same socket meanwhile: keep its association, drop ours.
        if (fd_state.udp && fd_state.udp != association && fd_state.udp->control_fd >= 0) {
            winner = fd_state.udp;
        } else if (association) {
            fresh->peers = association->peers;
            if (association->control_fd >= 0) {
                stale_control = association->control_fd;
                s.controls.erase(stale_control);
                set_fd_flags(stale_control, 0);
                association->control_fd = -1;
            }
        }
        if (!winner) {
            fd_state.app_family = app_family;
            fd_state.kernel_family = kernel_family;
            fd_state.type = SOCK_DGRAM;
            // Duplicates of the descriptor share the association: point them all at the new one.
            for (auto& [other_fd, other] : s.fds)
                if (association && other.udp == association) other.udp = fresh;
            fd_state.udp = fresh;
            s.controls[control] = fresh;
            set_fd_flags(control, k_flag_control);
            set_fd_flags(fd, k_flag_tracked | k_flag_udp);
        }
    }
    if (stale_control >= 0) real().close(stale_control);
    if (winner) {
        real().close(control);
        return winner;
    }
    return fresh;
}

ssize_t send_through_relay(int fd, const msghdr& message, int flags, const IpEndpoint& app_destination,
                           const socks::Address& target) {
    int app_family = AF_INET;
    {
        Lock lock;
        if (const auto it = state().fds.find(fd); it != state().fds.end()) app_family = it->second.app_family;
    }
    if ((fd_flags(fd) & k_flag_tracked) == 0) {
        int domain = 0;
        socklen_t len = sizeof domain;
        if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0) app_family = domain;
    }
    const auto association = ensure_association(fd, app_family);
    if (!association) return -1;

    std::vector<std::uint8_t> header;
    socks::build_udp_datagram(header, socks::UdpHeader{0, target}, {});
    sockaddr_storage relay{};
    socklen_t relay_len = 0;
    int kernel_family = AF_INET;
    {
        Lock lock;
        if (const auto it = state().fds.find(fd); it != state().fds.end())
            kernel_family = it->second.kernel_family;
        auto& peers = association->peers;
        const auto known = std::find_if(peers.begin(), peers.end(), [&](const UdpAssociation::Peer& p) {
            return p.app == app_destination && p.target == target;
        });
        if (known != peers.end()) peers.erase(known);
        if (peers.size() >= k_max_peers) peers.erase(peers.begin());
        peers.push_back({app_destination, target});
        relay_len = to_sockaddr(association->relay, kernel_family, relay);
    }
    if (relay_len == 0) {
        errno = EAFNOSUPPORT;
        return -1;
    }
    std::vector<iovec> iov;
    iov.reserve(message.msg_iovlen + 1);
    iov.push_back({header.data(), header.size()});
    for (std::size_t i = 0; i < message.msg_iovlen; ++i)
        iov.push_back(message.msg_iov[i]);
    msghdr out{};
    out.msg_name = &relay;
    out.msg_namelen = relay_len;
    out.msg_iov = iov.data();
    out.msg_iovlen = iov.size();
    out.msg_control = message.msg_control;
    out.msg_controllen = message.msg_controllen;
    const auto sent = real().sendmsg(fd, &out, flags);
    if (sent < 0) return sent;
    return sent >= static_cast<ssize_t>(header.size()) ? sent - static_cast<ssize_t>(header.size()) : 0;
}

ssize_t receive_from_relay(int fd, msghdr& message, int flags, bool connected_only) {
    const std::size_t wanted = total_length(message);
    auto& buffer = scratch();
    buffer.resize(std::min(wanted + k_max_header, k_max_datagram));
    for (;;) {
        sockaddr_storage from{};
        iovec iov{buffer.data(), buffer.size()};
        msghdr in{};
        in.msg_name = &from;
        in.msg_namelen = sizeof from;
        in.msg_iov = &iov;
        in.msg_iovlen = 1;
        in.msg_control = message.msg_control;
        in.msg_controllen = message.msg_controllen;
        const auto received = real().recvmsg(fd, &in, flags);
        if (received < 0) return received;
        const std::size_t stored = std::min(static_cast<std::size_t>(received), buffer.size());

        const auto source = from_sockaddr(reinterpret_cast<const sockaddr*>(&from), in.msg_namelen);
        bool keep = true;
        const std::uint8_t* payload = buffer.data();
        std::size_t payload_size = stored;
        std::size_t full_size = static_cast<std::size_t>(received);
        IpEndpoint reported;
        int app_family = AF_INET;
        {
            Lock lock;
            const auto it = state().fds.find(fd);
            if (it == state().fds.end() || !it->second.udp) {
                // Not associated (yet): nothing comes from a relay, everything is as the kernel delivered it.
                if (source) reported = *source;
                if (it != state().fds.end()) app_family = it->second.app_family;
            } else {
                const FdState& fd_state = it->second;
                app_family = fd_state.app_family;
                if (source && *source == fd_state.udp->relay) {
                    const auto datagram = socks::parse_udp_datagram(Bytes(buffer.data(), stored));
                    if (!datagram || datagram->header.fragment != 0) {
                        keep = false;  // malformed, or a fragment we do not reassemble (section 7 allows
                                       // dropping)
                    } else {
                        const std::size_t header_size = stored - datagram->data.size();
                        payload = datagram->data.data();
                        payload_size = datagram->data.size();
                        full_size = static_cast<std::size_t>(received) - header_size;
                        reported = program_view(*fd_state.udp, datagram->header.destination);
                        if (connected_only && fd_state.has_peer && !(reported == fd_state.peer)) keep = false;
                    }
                } else {
                    // Not from the relay: delivered as it came, even on a connected socket, because the RTSP
                    // ALG sends RTP straight to the ports a player announced (see the header).
                    if (source) reported = *source;
                }
            }
        }
        if (!keep) {
            if ((flags & MSG_PEEK) != 0) {
                std::uint8_t discard = 0;
                (void)real().recv(fd, &discard, 1, MSG_DONTWAIT);
            }
            if (would_block(fd, flags)) {
                errno = EAGAIN;
                return -1;
            }
            continue;
        }
        message.msg_controllen = in.msg_controllen;
        message.msg_flags = in.msg_flags & ~MSG_TRUNC;
        const std::size_t copied = scatter(payload, payload_size, message);
        if (full_size > copied) message.msg_flags |= MSG_TRUNC;
        if (message.msg_name != nullptr) {
            sockaddr_storage storage{};
            socklen_t len = to_sockaddr(reported, app_family, storage);
            if (len == 0) {
                // An IPv6 source on an IPv4 socket: give it a fake IPv4 address naming the literal, so
                // replies sent to it reach the same peer through the gateway.
                const auto text = socks::Address::from_ipv6(reported.address.bytes, 0).host_string();
                std::optional<std::uint32_t> index;
                {
                    Lock lock;
                    index = state().names.intern(text);
                }
                if (index)
                    len = to_sockaddr(IpEndpoint{FakeNames::address(*index, AF_INET), reported.port}, AF_INET,
                                      storage);
            }
            std::memcpy(message.msg_name, &storage, std::min<socklen_t>(len, message.msg_namelen));
            message.msg_namelen = len;
        }
        return static_cast<ssize_t>((flags & MSG_TRUNC) != 0 ? full_size : copied);
    }
}

}  // namespace sg::preload

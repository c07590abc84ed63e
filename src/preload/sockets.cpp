// Interposed descriptor functions: connect (TCP through SOCKS5 CONNECT, UDP through an association),
// getpeername/getsockname (the program's view), close and dup* (the descriptor table follows).

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>

#include "preload/export.hpp"
#include "preload/proxy_client.hpp"
#include "preload/real.hpp"
#include "preload/state.hpp"
#include "preload/udp_association.hpp"

namespace sg::preload {
namespace {

// Covers connecting to the proxy, the handshake and the gateway's own attempts to reach the target.
constexpr int k_connect_timeout_ms = 30000;

int socket_option(int fd, int level, int name) {
    int value = 0;
    socklen_t len = sizeof value;
    if (getsockopt(fd, level, name, &value, &len) != 0) return -1;
    return value;
}

// Copies the program's view of an address into its sockaddr buffer, truncating like the kernel does.
void report_address(const IpEndpoint& endpoint, int family, sockaddr* out, socklen_t* out_len) {
    sockaddr_storage storage{};
    socklen_t len = to_sockaddr(endpoint, family, storage);
    if (len == 0) len = to_sockaddr(endpoint, endpoint.address.family, storage);
    if (out != nullptr && out_len != nullptr) {
        std::memcpy(out, &storage, std::min(len, *out_len));
        *out_len = len;
    }
}

int connect_stream(int fd, int app_family, const IpEndpoint& endpoint, const socks::Address& target) {
    const Config& config = state().config;
    const int proxy_family = config.proxy.address.family;
    int work = fd;
    int fd_flags_word = 0;
    if (proxy_family != app_family) {
        // An AF_INET socket cannot reach an IPv6 proxy (and vice versa): do the exchange on a socket of the
        // proxy's family and put it in the program's descriptor slot afterwards.
        fd_flags_word = fcntl(fd, F_GETFD);
        const int status_flags = fcntl(fd, F_GETFL);
        work = socket(proxy_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (work < 0) return -1;
        if (status_flags >= 0) (void)fcntl(work, F_SETFL, status_flags);
        for (const auto& [level, name] :
             {std::pair<int, int>{IPPROTO_TCP, TCP_NODELAY}, std::pair<int, int>{SOL_SOCKET, SO_KEEPALIVE}}) {
            const int value = socket_option(fd, level, name);
            if (value > 0) (void)setsockopt(work, level, name, &value, sizeof value);
        }
    }
    const auto result = proxy_request(work, config, socks::Command::connect, target, k_connect_timeout_ms);
    if (result.error != 0) {
        if (work != fd) real().close(work);
        if (result.proxy_unreachable) warn_proxy_unusable(result.why, result.error);
        errno = result.proxy_unreachable ? ECONNREFUSED : result.error;
        return -1;
    }
    if (work != fd) {
        const int replaced = real().dup3(work, fd, (fd_flags_word & FD_CLOEXEC) != 0 ? O_CLOEXEC : 0);
        const int saved = errno;
        real().close(work);
        if (replaced < 0) {
            errno = saved;
            return -1;
        }
    }
    Lock lock;
    State& s = state();
    FdState fd_state;
    fd_state.app_family = app_family;
    fd_state.kernel_family = proxy_family;
    fd_state.type = SOCK_STREAM;
    fd_state.has_peer = true;
    fd_state.peer = endpoint;
    fd_state.peer_target = target;
    s.fds[fd] = std::move(fd_state);
    set_fd_flags(fd, k_flag_tracked);
    return 0;
}

// Records the default destination only: the association waits for the first datagram sent, so a socket
// that is connected but only receives (RTP the RTSP ALG delivers) stays a plain socket.
int connect_datagram(int fd, int app_family, const IpEndpoint& endpoint, const socks::Address& target) {
    Lock lock;
    auto [it, inserted] = state().fds.try_emplace(fd);
    FdState& fd_state = it->second;
    if (inserted) {
        fd_state.type = SOCK_DGRAM;
        fd_state.app_family = app_family;
        fd_state.kernel_family = 0;  // not prepared for the relay yet (see ensure_association)
    }
    fd_state.has_peer = true;
    fd_state.peer = endpoint;
    fd_state.peer_target = target;
    set_fd_flags(fd, k_flag_tracked | k_flag_udp);
    return 0;
}

void forget_udp_peer(int fd) {
    if ((fd_flags(fd) & k_flag_tracked) == 0) return;
    Lock lock;
    if (auto it = state().fds.find(fd); it != state().fds.end() && it->second.type == SOCK_DGRAM)
        it->second.has_peer = false;
}

void close_control(int control) {
    if (control >= 0) real().close(control);
}

// Copies what the library knows about `from` to `to` after a successful dup.
void copy_state(int from, int to) {
    if ((fd_flags(from) & k_flag_tracked) == 0) return;
    Lock lock;
    State& s = state();
    const auto it = s.fds.find(from);
    if (it == s.fds.end()) return;
    s.fds[to] = it->second;
    set_fd_flags(to, fd_flags(from) & static_cast<std::uint8_t>(k_flag_tracked | k_flag_udp));
}

// A new descriptor from socket()/accept(): if the C library closed its number behind our back (fclose of
// an fdopen()ed socket, close_range), what we knew about the old one must not stick to the new one.
int fresh_descriptor(int fd) {
    if (fd >= 0 && fd_flags(fd) != 0) {
        int control = -1;
        {
            Lock lock;
            control = forget_fd(fd);
        }
        close_control(control);
    }
    return fd;
}

// Before `fd`'s number is taken over (dup2/dup3 target): drop its state, move our control out of the way.
int prepare_target(int fd) {
    if (fd_flags(fd) == 0) return -1;
    Lock lock;
    relocate_control(fd);
    return forget_fd(fd);
}

}  // namespace
}  // namespace sg::preload

using namespace sg::preload;

SG_EXPORT int socket(int domain, int type, int protocol) noexcept {
    try {
        return fresh_descriptor(real().socket(domain, type, protocol));
    } catch (const std::bad_alloc&) {
        return -1;  // unreachable in practice: forgetting allocates nothing
    }
}

SG_EXPORT int accept(int fd, sockaddr* address, socklen_t* length) {
    return fresh_descriptor(real().accept(fd, address, length));
}

SG_EXPORT int accept4(int fd, sockaddr* address, socklen_t* length, int flags) {
    return fresh_descriptor(real().accept4(fd, address, length, flags));
}

SG_EXPORT int connect(int fd, const sockaddr* address, socklen_t length) {
    try {
        const auto endpoint = from_sockaddr(address, length);
        if (!endpoint) {
            if (address != nullptr && address->sa_family == AF_UNSPEC) forget_udp_peer(fd);
            return real().connect(fd, address, length);
        }
        const int type = socket_option(fd, SOL_SOCKET, SO_TYPE);
        const int app_family = socket_option(fd, SOL_SOCKET, SO_DOMAIN);
        if ((type != SOCK_STREAM && type != SOCK_DGRAM) || (app_family != AF_INET && app_family != AF_INET6))
            return real().connect(fd, address, length);
        const auto destination = classify(*endpoint);
        switch (destination.route) {
            case Route::direct:
                if (type == SOCK_DGRAM) forget_udp_peer(fd);
                return real().connect(fd, address, length);
            case Route::unknown_fake:
                errno = EHOSTUNREACH;
                return -1;
            case Route::proxied:
                break;
        }
        if (type == SOCK_STREAM) return connect_stream(fd, app_family, *endpoint, destination.target);
        return connect_datagram(fd, app_family, *endpoint, destination.target);
    } catch (const std::bad_alloc&) {
        errno = ENOMEM;
        return -1;
    }
}

SG_EXPORT int getpeername(int fd, sockaddr* address, socklen_t* length) noexcept {
    if ((fd_flags(fd) & k_flag_tracked) != 0) {
        Lock lock;
        const auto it = state().fds.find(fd);
        if (it != state().fds.end() && it->second.has_peer) {
            report_address(it->second.peer, it->second.app_family, address, length);
            return 0;
        }
    }
    return real().getpeername(fd, address, length);
}

SG_EXPORT int getsockname(int fd, sockaddr* address, socklen_t* length) noexcept {
    int app_family = 0;
    if ((fd_flags(fd) & k_flag_tracked) != 0) {
        Lock lock;
        const auto it = state().fds.find(fd);
        if (it != state().fds.end() && it->second.kernel_family != 0 &&
            it->second.app_family != it->second.kernel_family)
            app_family = it->second.app_family;
    }
    if (app_family == 0) return real().getsockname(fd, address, length);
    // A replaced socket: report its port in the family the program expects (unspecified address when the
    // kernel's address has no equivalent there).
    sockaddr_storage storage{};
    socklen_t storage_len = sizeof storage;
    if (real().getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &storage_len) != 0) return -1;
    auto endpoint = from_sockaddr(reinterpret_cast<const sockaddr*>(&storage), storage_len);
    if (!endpoint) return real().getsockname(fd, address, length);
    if (app_family == AF_INET && endpoint->address.family != AF_INET)
        endpoint->address = IpAddress{AF_INET, {}};
    report_address(*endpoint, app_family, address, length);
    return 0;
}

SG_EXPORT int close(int fd) {
    int control = -1;
    if (fd_flags(fd) != 0) {
        Lock lock;
        control = forget_fd(fd);
    }
    close_control(control);
    return real().close(fd);
}

SG_EXPORT int dup(int fd) noexcept {
    const int copy = real().dup(fd);
    if (copy >= 0) {
        try {
            copy_state(fd, copy);
        } catch (const std::bad_alloc&) {
        }
    }
    return copy;
}

SG_EXPORT int dup2(int fd, int target) noexcept {
    if (fd == target) return real().dup2(fd, target);
    try {
        close_control(prepare_target(target));
        const int result = real().dup2(fd, target);
        if (result >= 0) copy_state(fd, target);
        return result;
    } catch (const std::bad_alloc&) {
        errno = ENOMEM;
        return -1;
    }
}

SG_EXPORT int dup3(int fd, int target, int flags) noexcept {
    if (fd == target) return real().dup3(fd, target, flags);
    try {
        close_control(prepare_target(target));
        const int result = real().dup3(fd, target, flags);
        if (result >= 0) copy_state(fd, target);
        return result;
    } catch (const std::bad_alloc&) {
        errno = ENOMEM;
        return -1;
    }
}

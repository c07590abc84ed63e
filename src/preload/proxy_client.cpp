// SOCKS5 client exchange with a deadline (see proxy_client.hpp).

#include "preload/proxy_client.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#include <cerrno>
#include <cstdint>
#include <vector>

#include "preload/real.hpp"

namespace sg::preload {
namespace {

std::int64_t now_ms() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// Waits for `events` until the deadline: 0 when ready, else an errno (ETIMEDOUT on expiry).
int wait_for(int fd, short events, std::int64_t deadline) {
    for (;;) {
        const auto left = deadline - now_ms();
        if (left <= 0) return ETIMEDOUT;
        pollfd p{fd, events, 0};
        const int n = ::poll(&p, 1, static_cast<int>(left));
        if (n > 0) return 0;
        if (n < 0 && errno != EINTR) return errno;
    }
}

int send_all(int fd, const std::vector<std::uint8_t>& data, std::int64_t deadline) {
    std::size_t sent = 0;
    while (sent < data.size()) {
        const auto n = real().send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            sent += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (const int e = wait_for(fd, POLLOUT, deadline); e != 0) return e;
            continue;
        }
        return n < 0 ? errno : EPIPE;
    }
    return 0;
}

// Reads exactly `size` more bytes into `buffer`.
int recv_exact(int fd, std::vector<std::uint8_t>& buffer, std::size_t size, std::int64_t deadline) {
    const std::size_t want = buffer.size() + size;
    while (buffer.size() < want) {
        std::uint8_t chunk[512];
        const std::size_t ask = std::min(sizeof chunk, want - buffer.size());
        const auto n = real().recv(fd, chunk, ask, MSG_DONTWAIT);
        if (n > 0) {
            buffer.insert(buffer.end(), chunk, chunk + n);
            continue;
        }
        if (n == 0) return ECONNRESET;  // the proxy closed mid-handshake
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (const int e = wait_for(fd, POLLIN, deadline); e != 0) return e;
            continue;
        }
        return errno;
    }
    return 0;
}

ProxyRequestResult failure(int error, std::string_view why, bool proxy_unreachable = false) {
    ProxyRequestResult result;
    result.error = error;
    result.why = why;
    result.proxy_unreachable = proxy_unreachable;
    return result;
}

ProxyRequestResult exchange(int fd, const Config& config, socks::Command command,
                            const socks::Address& destination, std::int64_t deadline) {
    sockaddr_storage proxy{};
    const socklen_t proxy_len = to_sockaddr(config.proxy, config.proxy.address.family, proxy);
    if (real().connect(fd, reinterpret_cast<const sockaddr*>(&proxy), proxy_len) != 0) {
        if (errno != EINPROGRESS && errno != EINTR)
            return failure(errno, "cannot connect to the proxy", true);
        if (const int e = wait_for(fd, POLLOUT, deadline); e != 0)
            return failure(e, "cannot connect to the proxy", true);
        int so_error = 0;
        socklen_t len = sizeof so_error;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) != 0) so_error = errno;
        if (so_error != 0) return failure(so_error, "cannot connect to the proxy", true);
    }

    const bool with_password = !config.username.empty();
    std::vector<std::uint8_t> out;
    const socks::Method offer_plain[] = {socks::Method::no_auth};
    const socks::Method offer_both[] = {socks::Method::no_auth, socks::Method::username_password};
    if (!socks::build_method_request(out, with_password ? std::span<const socks::Method>(offer_both)
                                                        : std::span<const socks::Method>(offer_plain)))
        return failure(EINVAL, "cannot build the method request");
    if (const int e = send_all(fd, out, deadline); e != 0) return failure(e, "proxy write failed", true);

    std::vector<std::uint8_t> in;
    if (const int e = recv_exact(fd, in, 2, deadline); e != 0) return failure(e, "no method selection", true);
    const auto method = socks::parse_method_selection(in);
    if (!method.done()) return failure(ECONNREFUSED, "the proxy does not speak SOCKS5", true);
    if (method.value == socks::Method::username_password && with_password) {
        out.clear();
        if (!socks::build_auth_request(out, config.username, config.password))
            return failure(EINVAL, "bad username or password length");
        if (const int e = send_all(fd, out, deadline); e != 0) return failure(e, "proxy write failed", true);
        in.clear();
        if (const int e = recv_exact(fd, in, 2, deadline); e != 0) return failure(e, "no auth reply", true);
        const auto auth = socks::parse_auth_reply(in);
        if (!auth.done() || !auth.value.success())
            return failure(ECONNREFUSED, "the proxy refused the username or password", true);
    } else if (method.value != socks::Method::no_auth) {
        return failure(ECONNREFUSED,
                       with_password ? "the proxy accepts no offered method"
                                     : "the proxy requires authentication (streamgate socksify --user)",
                       true);
    }

    out.clear();
    if (!socks::build_request(out, command, destination)) return failure(EINVAL, "cannot build the request");
    if (const int e = send_all(fd, out, deadline); e != 0) return failure(e, "proxy write failed", true);
    // VER REP RSV ATYP and the first address byte tell how long the rest is (domain: its length byte).
    in.clear();
    if (const int e = recv_exact(fd, in, 5, deadline); e != 0) {
        return failure(e == ETIMEDOUT ? ETIMEDOUT : ECONNREFUSED, "no reply from the proxy");
    }
    std::size_t rest = 0;
    switch (in[3]) {
        case 0x01:
            rest = 4 + 2 - 1;
            break;
        case 0x04:
            rest = 16 + 2 - 1;
            break;
        case 0x03:
            rest = static_cast<std::size_t>(in[4]) + 2;
            break;
        default:
            return failure(ECONNREFUSED, "malformed reply from the proxy");
    }
    if (const int e = recv_exact(fd, in, rest, deadline); e != 0)
        return failure(e, "short reply from the proxy");
    const auto reply = socks::parse_reply(in);
    if (!reply.done() || reply.consumed != in.size())
        return failure(ECONNREFUSED, "malformed reply from the proxy");
    ProxyRequestResult result;
    result.reply = reply.value.reply;
    result.bound = reply.value.bound;
    if (result.reply != socks::Reply::succeeded) {
        result.error = errno_for_reply(result.reply);
        result.why = "the proxy refused the request";
    }
    return result;
}

}  // namespace

ProxyRequestResult proxy_request(int fd, const Config& config, socks::Command command,
                                 const socks::Address& destination, int timeout_ms) {
    if (!config.error.empty()) return failure(ECONNREFUSED, "bad configuration", true);
    const int flags = fcntl(fd, F_GETFL);
    if (flags < 0) return failure(errno, "not a descriptor");
    // Non-blocking for the exchange, so every step obeys the deadline; the caller's mode comes back after.
    if ((flags & O_NONBLOCK) == 0) (void)fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    auto result = exchange(fd, config, command, destination, now_ms() + timeout_ms);
    if ((flags & O_NONBLOCK) == 0) (void)fcntl(fd, F_SETFL, flags);
    return result;
}

int errno_for_reply(socks::Reply reply) noexcept {
    switch (reply) {
        case socks::Reply::succeeded:
            return 0;
        case socks::Reply::network_unreachable:
            return ENETUNREACH;
        case socks::Reply::host_unreachable:
            return EHOSTUNREACH;
        case socks::Reply::connection_refused:
            return ECONNREFUSED;
        case socks::Reply::ttl_expired:
            return ETIMEDOUT;
        case socks::Reply::not_allowed:
            return EACCES;
        case socks::Reply::address_type_not_supported:
            return EAFNOSUPPORT;
        default:
            return ECONNREFUSED;
    }
}

}  // namespace sg::preload

#include "relay_io/media_sockets.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "relay_io/endpoint_conversion.hpp"
#include "relay_io/media_backends.hpp"

namespace sg::relay_io {

MediaSocketsIo::~MediaSocketsIo() {
    for (const auto& [id, fd] : sockets_)
        ::close(fd);
}

void MediaSocketsIo::unwatch_all() noexcept {
    for (const auto& [id, fd] : sockets_)
        unwatch(fd, id);
}

int MediaSocketsIo::descriptor(std::uint32_t socket_id) const noexcept {
    const auto it = sockets_.find(socket_id);
    return it == sockets_.end() ? -1 : it->second;
}

int MediaSocketsIo::bind(const relay::Address& local) {
    const auto endpoint = to_endpoint(local);
    const bool v6 = endpoint.address().is_v6();
    const int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    const int on = 1;
    if ((v6 && ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) != 0) ||
        ::bind(fd, endpoint.data(), static_cast<::socklen_t>(endpoint.size())) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

std::optional<relay::MediaSockets::Pair> MediaSocketsIo::open(const relay::Address& local) {
    const int rtp = bind(local);
    if (rtp < 0) return std::nullopt;
    relay::Address rtcp_address = local;
    rtcp_address.port = static_cast<std::uint16_t>(local.port + 1U);
    const int rtcp = bind(rtcp_address);
    if (rtcp < 0) {
        ::close(rtp);
        return std::nullopt;
    }
    const auto next = [this] {
        const std::uint32_t id = next_id_++;
        if (next_id_ == 0) next_id_ = 1;
        return id;
    };
    const Pair pair{next(), next()};
    if (!watch(rtp, pair.rtp)) {
        ::close(rtp);
        ::close(rtcp);
        return std::nullopt;
    }
    if (!watch(rtcp, pair.rtcp)) {
        unwatch(rtp, pair.rtp);
        ::close(rtp);
        ::close(rtcp);
        return std::nullopt;
    }
    sockets_[pair.rtp] = rtp;
    sockets_[pair.rtcp] = rtcp;
    return pair;
}

void MediaSocketsIo::close(std::uint32_t socket_id) {
    const auto it = sockets_.find(socket_id);
    if (it == sockets_.end()) return;
    unwatch(it->second, socket_id);
    ::close(it->second);
    sockets_.erase(it);
}

bool MediaSocketsIo::send(std::uint32_t socket_id, const relay::Address& destination, Bytes datagram) {
    const int fd = descriptor(socket_id);
    if (fd < 0) return false;
    const auto endpoint = to_endpoint(destination);
    const ::ssize_t sent = ::sendto(fd, datagram.data(), datagram.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                                    endpoint.data(), static_cast<::socklen_t>(endpoint.size()));
    if (sent < 0) ++counters_.send_failures;
    return sent >= 0;
}

std::unique_ptr<MediaSocketsIo> make_media_sockets(asio::io_context& io, MediaIo wanted, std::string& why) {
    why.clear();
    if (wanted != MediaIo::epoll) {
        auto uring = make_uring_media_sockets(io, why);
        if (uring || wanted == MediaIo::io_uring) return uring;
    }
    return make_epoll_media_sockets(io);
}

}  // namespace sg::relay_io

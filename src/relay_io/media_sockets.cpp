#include "relay_io/media_sockets.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "relay_io/endpoint_conversion.hpp"

namespace sg::relay_io {
namespace {

// Datagrams per system call, and the largest relayed: RTP on real networks stays under a 1,500-byte MTU.
// Longer datagrams are counted and dropped. One batch serves the whole shard, so a larger one costs nothing
// per socket.
constexpr std::size_t k_batch = 32;
constexpr std::size_t k_slot = 2048;

}  // namespace

struct UdpMediaSockets::Socket final : net::EdgeReactor::Reader {
    Socket(UdpMediaSockets& sockets, int descriptor, std::uint32_t socket_id)
        : owner(sockets), fd(descriptor), id(socket_id) {}
    ~Socket() { ::close(fd); }
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;

    bool on_readable() override { return owner.receive(*this); }

    UdpMediaSockets& owner;
    int fd;
    std::uint32_t id;
};

UdpMediaSockets::UdpMediaSockets(asio::io_context& io)
    : reactor_(io, net::Unhandled::relay_media), in_(k_batch, k_slot) {}

UdpMediaSockets::~UdpMediaSockets() {
    for (auto& [id, socket] : sockets_)
        reactor_.remove(socket->fd, *socket);
}

std::unique_ptr<UdpMediaSockets::Socket> UdpMediaSockets::bind(const relay::Address& local) {
    const auto endpoint = to_endpoint(local);
    const bool v6 = endpoint.address().is_v6();
    const int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return nullptr;
    auto socket = std::make_unique<Socket>(*this, fd, next_id_);
    const int on = 1;
    if (v6 && ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) != 0) return nullptr;
    if (::bind(fd, endpoint.data(), static_cast<::socklen_t>(endpoint.size())) != 0) return nullptr;
    ++next_id_;
    if (next_id_ == 0) next_id_ = 1;
    return socket;
}

std::optional<relay::MediaSockets::Pair> UdpMediaSockets::open(const relay::Address& local) {
    auto rtp = bind(local);
    if (!rtp) return std::nullopt;
    relay::Address rtcp_address = local;
    rtcp_address.port = static_cast<std::uint16_t>(local.port + 1U);
    auto rtcp = bind(rtcp_address);
    if (!rtcp) return std::nullopt;
    if (!reactor_.add(rtp->fd, *rtp)) return std::nullopt;
    if (!reactor_.add(rtcp->fd, *rtcp)) {
        reactor_.remove(rtp->fd, *rtp);
        return std::nullopt;
    }
    const Pair pair{rtp->id, rtcp->id};
    sockets_[pair.rtp] = std::move(rtp);
    sockets_[pair.rtcp] = std::move(rtcp);
    return pair;
}

void UdpMediaSockets::close(std::uint32_t socket_id) {
    const auto it = sockets_.find(socket_id);
    if (it == sockets_.end()) return;
    reactor_.remove(it->second->fd, *it->second);
    sockets_.erase(it);  // closes the descriptor
}

bool UdpMediaSockets::send(std::uint32_t socket_id, const relay::Address& destination, Bytes datagram) {
    const auto it = sockets_.find(socket_id);
    if (it == sockets_.end()) return false;
    const auto endpoint = to_endpoint(destination);
    const ::ssize_t sent =
        ::sendto(it->second->fd, datagram.data(), datagram.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                 endpoint.data(), static_cast<::socklen_t>(endpoint.size()));
    if (sent < 0) ++counters_.send_failures;
    return sent >= 0;
}

void UdpMediaSockets::flush(int fd) {
    if (out_.empty()) return;
    const auto result = net::send_batch_now(fd, out_);
    counters_.send_failures += result.failed;
    out_.clear();
}

bool UdpMediaSockets::receive(Socket& in) {
    const int got = in_.receive_now(in.fd);
    if (got <= 0) {
        // EAGAIN: a stale edge, nothing to read. Anything else concerned one datagram (unconnected sockets
        // get no ICMP errors, but be safe): ask to be called again rather than lose what may be queued.
        return got != -EAGAIN && got != -EWOULDBLOCK && got != -EBADF && got != -ENOTSOCK;
    }
    const auto now = std::chrono::steady_clock::now();
    int out_fd = -1;
    std::uint32_t out_id = 0;
    for (std::size_t i = 0; i < in_.size(); ++i) {
        if (in_.bad_source(i)) continue;
        if (in_.truncated(i)) {
            ++counters_.truncated;
            continue;
        }
        const auto forward = table_->on_packet(in.id, to_address(in_.source(i)), in_.data(i), now);
        if (!forward) continue;
        if (out_fd < 0 || out_id != forward->socket_id) {
            flush(out_fd);
            const auto it = sockets_.find(forward->socket_id);
            if (it == sockets_.end()) {
                out_fd = -1;
                continue;
            }
            out_fd = it->second->fd;
            out_id = forward->socket_id;
        }
        out_.add(to_endpoint(forward->destination), {}, in_.data(i));
    }
    flush(out_fd);
    return static_cast<std::size_t>(got) == in_.capacity();
}

}  // namespace sg::relay_io

#include "relay_io/media_sockets.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/ip/v6_only.hpp>

#include "net/udp_batch.hpp"
#include "net/unhandled.hpp"
#include "relay_io/endpoint_conversion.hpp"

namespace sg::relay_io {
namespace {

// Datagrams per system call, and the largest relayed: RTP on real networks stays under a 1,500-byte MTU,
// and a slot that small keeps thousands of sockets cheap. Longer datagrams are counted and dropped.
constexpr std::size_t k_batch = 16;
constexpr std::size_t k_slot = 2048;

}  // namespace

struct UdpMediaSockets::Socket {
    Socket(asio::io_context& io, std::uint32_t socket_id) : socket(io), id(socket_id) {}
    asio::ip::udp::socket socket;
    std::uint32_t id;
    bool closed = false;
};

UdpMediaSockets::~UdpMediaSockets() {
    for (auto& [id, socket] : sockets_) {
        socket->closed = true;
        std::error_code ignored;
        socket->socket.close(ignored);
    }
}

std::shared_ptr<UdpMediaSockets::Socket> UdpMediaSockets::bind(const relay::Address& local) {
    auto socket = std::make_shared<Socket>(io_, next_id_);
    const auto endpoint = to_endpoint(local);
    std::error_code ec;
    socket->socket.open(endpoint.protocol(), ec);
    if (ec) return nullptr;
    if (endpoint.address().is_v6()) socket->socket.set_option(asio::ip::v6_only(true), ec);
    socket->socket.bind(endpoint, ec);
    if (ec) return nullptr;
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
    sockets_[rtp->id] = rtp;
    sockets_[rtcp->id] = rtcp;
    start(rtp);
    start(rtcp);
    return Pair{rtp->id, rtcp->id};
}

void UdpMediaSockets::close(std::uint32_t socket_id) {
    const auto it = sockets_.find(socket_id);
    if (it == sockets_.end()) return;
    it->second->closed = true;
    std::error_code ignored;
    it->second->socket.close(ignored);  // the receive loop wakes with operation_aborted and ends
    sockets_.erase(it);
}

bool UdpMediaSockets::send(std::uint32_t socket_id, const relay::Address& destination, Bytes datagram) {
    const auto it = sockets_.find(socket_id);
    if (it == sockets_.end()) return false;
    std::error_code ec;
    it->second->socket.send_to(asio::buffer(datagram.data(), datagram.size()), to_endpoint(destination), 0,
                               ec);
    if (ec) ++counters_.send_failures;
    return !ec;
}

void UdpMediaSockets::start(const std::shared_ptr<Socket>& socket) {
    auto loop = [](UdpMediaSockets& self, std::shared_ptr<Socket> in) -> asio::awaitable<void> {
        net::UdpReceiveBatch batch(k_batch, k_slot);
        net::UdpSendBatch out;
        std::shared_ptr<Socket> out_socket;
        const auto flush = [&]() -> asio::awaitable<void> {
            if (!out.empty() && out_socket && !out_socket->closed) {
                const auto result = co_await net::send_batch(out_socket->socket, out);
                self.counters_.send_failures += result.failed;
            }
            out.clear();
        };
        for (;;) {
            if (co_await net::receive_batch(in->socket, batch) || in->closed) co_return;
            const auto now = std::chrono::steady_clock::now();
            for (std::size_t i = 0; i < batch.size(); ++i) {
                if (batch.bad_source(i)) continue;
                if (batch.truncated(i)) {
                    ++self.counters_.truncated;
                    continue;
                }
                const auto forward =
                    self.table_->on_packet(in->id, to_address(batch.source(i)), batch.data(i), now);
                if (!forward) continue;
                if (!out_socket || out_socket->id != forward->socket_id) {
                    co_await flush();
                    const auto it = self.sockets_.find(forward->socket_id);
                    if (it == self.sockets_.end()) continue;
                    out_socket = it->second;
                }
                out.add(to_endpoint(forward->destination), {}, batch.data(i));
            }
            co_await flush();
            if (in->closed) co_return;
        }
    };
    asio::co_spawn(io_, loop(*this, socket), net::log_unhandled(net::Unhandled::relay_media));
}

}  // namespace sg::relay_io

#include "proxy/fanout_port.hpp"

#include <asio/co_spawn.hpp>

#include "multicast/sender_options.hpp"
#include "net/unhandled.hpp"
#include "net/use_tuple.hpp"
#include "proxy/player_session.hpp"

namespace sg::proxy {
namespace {

// Room for a burst to every player of a popular mount (a key frame to thousands of players) before the
// kernel answers EAGAIN; the kernel caps it at net.core.wmem_max unless we are privileged.
constexpr int k_send_buffer = 4 * 1024 * 1024;

}  // namespace

std::shared_ptr<FanoutPort> FanoutPort::open(const asio::any_io_executor& executor, asio::ip::udp family,
                                             std::string& error) {
    auto pair = client::open_udp_port_pair(executor, family, error);
    if (!pair) return nullptr;
    asio::error_code ignored;
    // Sends never wait: a full socket buffer drops the datagram (charged to its player), it never stalls
    // the mount's loop.
    pair->rtp.non_blocking(true, ignored);
    pair->rtcp.non_blocking(true, ignored);
    pair->rtp.set_option(asio::socket_base::send_buffer_size(k_send_buffer), ignored);
    auto port = std::make_shared<FanoutPort>(std::move(*pair));
    port->batch_.set_segmentation(true);
    asio::co_spawn(executor, receive_rtcp(port), net::log_unhandled(net::Unhandled::player_rtcp));
    return port;
}

FanoutPort::FanoutPort(client::UdpPortPair pair) : pair_(std::move(pair)) {}

FanoutPort::~FanoutPort() {
    close();
}

void FanoutPort::close() {
    if (closed_) return;
    closed_ = true;
    asio::error_code ignored;
    pair_.rtp.close(ignored);
    pair_.rtcp.close(ignored);
}

FanoutPort::Lane FanoutPort::attach(const asio::ip::udp::endpoint& client_rtcp, PlayerSession* player) {
    players_.emplace(client_rtcp, player);
    if (!free_lanes_.empty()) {
        const Lane lane = free_lanes_.back();
        free_lanes_.pop_back();
        return lane;
    }
    lanes_.emplace_back();
    return static_cast<Lane>(lanes_.size() - 1);
}

void FanoutPort::detach(const asio::ip::udp::endpoint& client_rtcp, PlayerSession* player, Lane lane) {
    auto [first, last] = players_.equal_range(client_rtcp);
    for (auto it = first; it != last; ++it) {
        if (it->second != player) continue;
        players_.erase(it);
        break;
    }
    // A datagram still queued for this player must not report back to it (nor go out). The lane may be
    // handed to a new player before the flush: its datagrams then follow these skipped ones.
    for (auto& queued : queued_)
        if (queued.player == player) queued.player = nullptr;
    if (lane < lanes_.size()) free_lanes_.push_back(lane);
    if (players_.empty()) close();
}

void FanoutPort::queue(Lane lane, PlayerSession* player, const asio::ip::udp::endpoint& to, const Head& head,
                       Bytes body) {
    if (lane >= lanes_.size()) return;
    const auto index = static_cast<std::uint32_t>(queued_.size());
    queued_.push_back(Queued{player, to, head, body});
    auto& chain = lanes_[lane];
    if (chain.first == k_end) {
        chain.first = index;
        busy_lanes_.push_back(lane);
    } else {
        queued_[chain.last].next = index;
    }
    chain.last = index;
}

void FanoutPort::flush() {
    if (queued_.empty()) return;
    // The heads live in queued_, which no longer grows: the batch may point into it. Each lane's datagrams
    // go in one after the other, so the batch can send them as one segmented message.
    batch_.clear();
    sent_.clear();
    for (const Lane lane : busy_lanes_) {
        for (auto i = lanes_[lane].first; i != k_end; i = queued_[i].next) {
            const auto& queued = queued_[i];
            if (queued.player == nullptr) continue;
            batch_.add(queued.to, Bytes(queued.head.data(), queued.head.size()), queued.body);
            sent_.push_back(i);
        }
        lanes_[lane] = LaneQueue{};
    }
    busy_lanes_.clear();
    (void)net::send_batch_now(closed_ ? -1 : pair_.rtp.native_handle(), batch_, pool_);
    // Reporting may end a player (and detach it, which clears its entries): walk by index.
    for (std::size_t k = 0; k < sent_.size(); ++k) {
        const auto& queued = queued_[sent_[k]];
        auto* player = queued.player;
        if (player == nullptr) continue;
        if (batch_.failed(k)) {
            player->on_media_dropped();
        } else {
            player->on_media_sent(queued.head.size() + queued.body.size());
        }
    }
    queued_.clear();
    batch_.clear();
}

std::error_code FanoutPort::set_multicast_options(bool v6, const multicast::MulticastSettings& settings) {
    if (auto ec = multicast::set_sender_options(pair_.rtp, v6, settings)) return ec;
    return multicast::set_sender_options(pair_.rtcp, v6, settings);
}

void FanoutPort::send_rtcp(const asio::ip::udp::endpoint& to, std::span<const std::uint8_t> compound) {
    if (closed_) return;
    asio::error_code ignored;
    pair_.rtcp.send_to(asio::buffer(compound.data(), compound.size()), to, 0, ignored);
}

asio::awaitable<void> FanoutPort::receive_rtcp(std::shared_ptr<FanoutPort> self) {
    std::array<std::uint8_t, 1500> buffer{};
    for (;;) {
        if (self->closed_) co_return;
        asio::ip::udp::endpoint from;
        auto [ec, n] =
            co_await self->pair_.rtcp.async_receive_from(asio::buffer(buffer), from, net::k_use_tuple);
        if (self->closed_ || ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor)
            co_return;
        if (ec) continue;  // e.g. ICMP port unreachable reported on the socket
        // Receiver reports keep a player's session alive (RFC 2326 §12.37). A player normally reports from
        // the RTCP port it announced; one behind a NAT may report from another port of its address.
        auto [first, last] = self->players_.equal_range(from);
        if (first != last) {
            for (auto it = first; it != last; ++it)
                it->second->touch();
            continue;
        }
        for (auto& [endpoint, player] : self->players_)
            if (endpoint.address() == from.address()) player->touch();
    }
}

}  // namespace sg::proxy

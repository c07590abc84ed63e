#pragma once
// The server port pair one mount track shares among all its UDP players of one address family, so a packet
// from upstream reaches N players in one sendmmsg(2) instead of N sendto(2) calls. Each player keeps its own
// SSRC, sequence and timestamps: it gets its own rewritten 12-byte RTP header in front of the one shared
// payload (a gathered write; the payload is never copied per player). RTCP from the players arrives on the
// shared RTCP port and is told apart by the player's address and port.
//
// A UDP socket has no per-receiver queue on the sending side: a player whose receive buffer is full loses
// its own datagrams in its kernel, the other players' still go. A datagram the kernel refuses (EAGAIN when
// the socket's own buffer is full, or a per-destination error) is charged to the player it was for.

#include <array>
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/udp.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "client/udp_port_pair.hpp"
#include "common/byte_io.hpp"
#include "multicast/allocator.hpp"
#include "net/fork_join_pool.hpp"
#include "net/udp_batch.hpp"
#include "rtp/rtp_packet.hpp"

namespace sg::proxy {

class PlayerSession;

class FanoutPort {
public:
    using Head = std::array<std::uint8_t, rtp::k_fixed_header_size>;

    // Binds an even/odd port pair in `family` and starts receiving RTCP on it; nothing on failure, with
    // `error` naming the limit hit.
    static std::shared_ptr<FanoutPort> open(const asio::any_io_executor& executor, asio::ip::udp family,
                                            std::string& error);
    explicit FanoutPort(client::UdpPortPair pair);
    FanoutPort(const FanoutPort&) = delete;
    FanoutPort& operator=(const FanoutPort&) = delete;
    ~FanoutPort();

    std::uint16_t rtp_port() const noexcept { return pair_.rtp_port; }
    bool closed() const noexcept { return closed_; }

    // A player's place in the port's queue: its datagrams queued between two flushes are kept together.
    using Lane = std::uint32_t;

    // RTCP from `client_rtcp` keeps `player` alive; the player queues on the lane returned. The last detach
    // closes the port.
    Lane attach(const asio::ip::udp::endpoint& client_rtcp, PlayerSession* player);
    void detach(const asio::ip::udp::endpoint& client_rtcp, PlayerSession* player, Lane lane);

    // Queues one RTP datagram: `head` then `body`. `body` must stay valid until flush(), which the caller
    // runs once it has queued the packet, or a receive burst's packets, for every player.
    void queue(Lane lane, PlayerSession* player, const asio::ip::udp::endpoint& to, const Head& head,
               Bytes body);
    // Sends what is queued in as few system calls as the kernel allows, without waiting, and tells each
    // player what became of its datagrams. A player's datagrams leave together, in the order queued, so
    // several packets of one frame to one player are one segmented message (net::UdpSendBatch).
    void flush();
    // Lets flush() share a large fan-out with `pool`'s helpers: consecutive runs of players are sent at
    // once from several cores (net::send_batch_now). Every player's outcome is still reported by flush(),
    // on the port's own loop, so players never see another thread.
    void set_send_pool(net::ForkJoinPool* pool) noexcept { pool_ = pool; }

    // Lets the port send to a multicast group too (TTL, outgoing interface; unicast is not affected).
    std::error_code set_multicast_options(bool v6, const multicast::MulticastSettings& settings);

    // RTCP to one player (sender reports, BYE), without waiting.
    void send_rtcp(const asio::ip::udp::endpoint& to, std::span<const std::uint8_t> compound);

private:
    static asio::awaitable<void> receive_rtcp(std::shared_ptr<FanoutPort> self);
    void close();

    static constexpr std::uint32_t k_end = UINT32_MAX;
    struct Queued {
        PlayerSession* player;  // null once the player left
        asio::ip::udp::endpoint to;
        Head head;
        Bytes body;
        std::uint32_t next = k_end;  // the lane's next datagram in queued_
    };
    // A lane's datagrams in queued_, chained from `first` to `last`.
    struct LaneQueue {
        std::uint32_t first = k_end;
        std::uint32_t last = k_end;
    };

    client::UdpPortPair pair_;
    bool closed_ = false;
    std::multimap<asio::ip::udp::endpoint, PlayerSession*> players_;
    std::vector<Queued> queued_;
    std::vector<LaneQueue> lanes_;
    std::vector<Lane> free_lanes_;
    std::vector<Lane> busy_lanes_;     // lanes with datagrams queued, in the order they got their first
    std::vector<std::uint32_t> sent_;  // the queued_ index of each datagram in batch_
    net::UdpSendBatch batch_;
    net::ForkJoinPool* pool_ = nullptr;
};

}  // namespace sg::proxy

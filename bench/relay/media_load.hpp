#pragma once
// The media half of relay_load: G.711-sized RTP (172-byte datagrams, 50 per second) in both directions of
// every call, from ONE UDP socket per side. Each 20 ms tick sends one burst per socket (sendmmsg) holding a
// packet for every call; the relay latches each call's side to that socket, so everything relayed comes
// back to the two sockets, where it is received in batches (recvmmsg) and counted per call: loss,
// duplicates, reordering, and packets that arrived from the wrong relay port or carry another call's id.

#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <vector>

#include "ng_client.hpp"

namespace sg::bench {

inline constexpr std::size_t k_rtp_packet_size = 172;  // 12-byte RTP header + 20 ms of G.711
inline constexpr auto k_tick = std::chrono::milliseconds(20);

struct DirectionStats {
    std::uint64_t sent = 0;
    std::uint64_t received = 0;  // distinct packets of this direction that arrived where they should, in time
    std::uint64_t late = 0;      // arrived only after the drain (counted as lost: the relay fell behind)
    std::uint64_t duplicates = 0;  // the same packet again
    std::uint64_t reordered = 0;   // older than one already received for the same call
    std::uint64_t misrouted = 0;   // from another relay port than the call's, or the other direction's
    std::uint64_t foreign = 0;     // not a packet of this run (size, marker, call index)
    std::uint64_t lost() const noexcept { return sent > received ? sent - received : 0; }
};

struct MediaResult {
    DirectionStats a_to_b;
    DirectionStats b_to_a;
    double send_seconds = 0;  // first tick to last
    double max_tick_lag_ms =
        0;  // how late the generator's worst burst left (it is the generator's own limit)
};

// The two sides' sockets, bound on `address` (port 0) with buffers as large as the kernel lets us have.
struct MediaSides {
    explicit MediaSides(asio::io_context& io, const asio::ip::address& address);
    asio::ip::udp::socket a;
    asio::ip::udp::socket b;
};

struct MediaPlan {
    std::vector<RelayedCall> calls;
    std::chrono::seconds duration{10};
    std::chrono::milliseconds drain{1000};  // after the last burst, for the relay's queues to empty
    std::chrono::milliseconds late{2000};   // then packets are still received, and counted as late
};

// Runs the load on `io` until the drain after the last burst is over (then stops receiving);
// `progress` is called once a second from the event loop.
MediaResult run_media(asio::io_context& io, MediaSides& sides, const MediaPlan& plan,
                      const std::function<void(const MediaResult&, double elapsed)>& progress);

}  // namespace sg::bench

#pragma once
// The "GOP cache" of a live mount's track: the packets since the last key frame, so a player that joins now
// can be sent a decodable start at once instead of waiting up to a GOP for the next key frame (the trick
// RTMP servers use). For a video track (H.264/H.265) it holds the packets from the access unit of the last
// IDR/IRAP picture on (its SPS/PPS/SEI packets of the same timestamp included); a GOP larger than the
// limits is not held at all, and a joining player then waits for the next key frame as before. For any
// other track (audio), every packet is a sync point: it holds a short tail.
//
// Pure code, bounded by the limits (a video track's previous GOP is kept as well, so at most twice them):
// no I/O, no clock of its own (arrival times are passed in). Packets are copied into buffers that are
// reused, so the steady state allocates nothing per packet.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <vector>

#include "restream/key_frame.hpp"

namespace sg::proxy {

struct GopCacheLimits {
    std::size_t max_bytes = 4U << 20U;  // RTP bytes held per track; 0 turns the cache off
    std::size_t max_packets = 4096;     // packets held per track; 0 turns the cache off
    // Non-video tracks: how far back the tail reaches (arrival time).
    std::chrono::milliseconds tail{2000};

    bool operator==(const GopCacheLimits&) const = default;
};

class GopCache {
public:
    using Clock = std::chrono::steady_clock;

    struct Packet {
        std::vector<std::uint8_t> bytes;  // the RTP packet as the upstream sent it
        Clock::time_point arrival{};
        std::uint32_t timestamp = 0;
        bool non_vcl_only = false;  // may open the access unit of a key frame (key_frame.hpp)
        std::uint64_t serial = 0;   // the cache's count of packets stored before this one
    };

    GopCache(VideoCodec codec, GopCacheLimits limits) noexcept : codec_(codec), limits_(limits) {}

    // Takes one RTP packet of the track (not valid RTP: ignored). Returns its serial when the cache holds it.
    std::optional<std::uint64_t> add(std::span<const std::uint8_t> packet, Clock::time_point arrival);
    // Forgets everything (the upstream restarted).
    void clear() noexcept;

    // True when a joining player can be started from packets().front(): a video track holds a GOP from its
    // key frame, any other track holds at least one packet.
    bool ready() const noexcept;
    // In arrival order, oldest first; meaningful as a start only when ready().
    const std::deque<Packet>& packets() const noexcept { return packets_; }
    std::size_t bytes() const noexcept { return bytes_; }
    // The packet with `serial` if the cache still holds it. Serials grow by one per stored packet and are
    // never reused, so a reader (a player catching up at its own pace) can keep its place by serial while
    // the cache moves on. A video track's previous GOP stays readable here until the next key frame (not
    // in packets(): a joiner starts at the last key frame), so a reader that joined just before a key
    // frame goes on into the new GOP without a gap.
    const Packet* find(std::uint64_t serial) const noexcept;
    // The serial the next stored packet will get.
    std::uint64_t end_serial() const noexcept { return next_serial_; }
    VideoCodec codec() const noexcept { return codec_; }
    // GOPs not held because they outgrew the limits.
    std::uint64_t over_limit() const noexcept { return over_limit_; }

private:
    void push(std::span<const std::uint8_t> packet, Clock::time_point arrival, std::uint32_t timestamp,
              bool non_vcl_only);
    void pop_front() noexcept;
    void recycle(std::deque<Packet>& packets) noexcept;
    bool fits(std::size_t more) const noexcept {
        return packets_.size() + 1 <= limits_.max_packets && bytes_ + more <= limits_.max_bytes;
    }

    VideoCodec codec_;
    GopCacheLimits limits_;
    std::deque<Packet> packets_;
    std::deque<Packet> previous_;                   // video: the GOP before packets_' key frame, for find()
    std::vector<std::vector<std::uint8_t>> spare_;  // buffers of popped packets, reused by push()
    std::size_t bytes_ = 0;
    std::uint32_t ssrc_ = 0;
    bool have_gop_ = false;  // video: packets_ starts with a key frame's access unit
    bool skipping_ = false;  // video: the current GOP outgrew the limits; wait for the next key frame
    std::uint32_t gop_timestamp_ = 0;
    std::uint64_t over_limit_ = 0;
    std::uint64_t next_serial_ = 0;
};

}  // namespace sg::proxy

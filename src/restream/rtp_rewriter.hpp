#pragma once
// Per player and track, the mapping from the shared upstream RTP stream to the player's own stream: its own
// SSRC, a random initial sequence number and timestamp (RFC 3550 §5.1), kept continuous when the upstream
// restarts (reconnect, UDP-to-TCP rollover, new SSRC), so one upstream session can feed many players and
// each player sees one clean stream. Also derives the player's RTCP sender reports (RFC 3550 §6.4.1) from
// the upstream's, in the player's timestamp space. Pure code: packets are rewritten in place.

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>

#include "common/byte_io.hpp"
#include "rtp/rtcp.hpp"
#include "rtp/rtp_packet.hpp"

namespace sg::proxy {

struct PlayerStart {
    std::uint32_t ssrc = 0;
    std::uint16_t seq = 0;        // the player's first packet carries this (RTP-Info seq)
    std::uint32_t timestamp = 0;  // and this timestamp, or the anchored one (RTP-Info rtptime)
};

class RtpRewriter {
public:
    using Clock = std::chrono::steady_clock;

    RtpRewriter(PlayerStart start, std::uint32_t clock_rate) noexcept;

    // Makes `upstream_timestamp_now` (the upstream's timestamp estimated for this moment) map onto the
    // start timestamp, so every track of a player starts at the same instant (lip sync across tracks).
    // Without it, the first packet forwarded maps onto the start timestamp.
    void anchor(std::uint32_t upstream_timestamp_now) noexcept;

    // Rewrites SSRC, sequence number and timestamp of an RTP packet in place; false (packet untouched) when
    // it is not valid RTP. A new upstream SSRC, or resync(), re-bases the mapping so the player's numbers
    // stay continuous.
    bool rewrite(std::span<std::uint8_t> packet, Clock::time_point now) noexcept;

    // The same for a packet shared by many players: `head` (a copy of the packet's 12-byte fixed header) is
    // rewritten, `packet` is only read. A fan-out sends each player its own head in front of the one body.
    bool rewrite_head(Bytes packet, std::span<std::uint8_t, rtp::k_fixed_header_size> head,
                      Clock::time_point now) noexcept;

    // The upstream was restarted: the next packet continues the player's sequence and its timestamp
    // advances by the wall time elapsed since the last packet.
    void resync() noexcept { resync_ = true; }

    // The player's sender information for an SR: its own packet and octet counts, and an NTP/RTP pair.
    // With the upstream's last SR, that SR's NTP time and its RTP time mapped into the player's space;
    // without one, `ntp_now` and the player's timestamp advanced to `now` at the track's clock rate.
    rtp::SenderInfo sender_info(const std::optional<rtp::SenderInfo>& upstream_sr, Clock::time_point now,
                                std::uint64_t ntp_now) const noexcept;

    const PlayerStart& start() const noexcept { return start_; }
    std::uint32_t ssrc() const noexcept { return start_.ssrc; }
    bool started() const noexcept { return have_mapping_; }
    std::uint32_t packets() const noexcept { return packets_; }
    std::uint32_t payload_octets() const noexcept { return payload_octets_; }
    std::uint16_t last_seq() const noexcept { return last_seq_; }
    std::uint32_t last_timestamp() const noexcept { return last_timestamp_; }
    // Upstream timestamp to player timestamp (meaningful once started() or anchored).
    std::uint32_t map_timestamp(std::uint32_t upstream) const noexcept {
        return upstream + timestamp_offset_;
    }

private:
    std::uint32_t elapsed_ticks(Clock::time_point from, Clock::time_point to) const noexcept;

    PlayerStart start_;
    std::uint32_t clock_rate_;
    bool anchored_ = false;
    bool have_mapping_ = false;
    bool resync_ = false;
    std::uint32_t upstream_ssrc_ = 0;
    std::uint16_t seq_offset_ = 0;
    std::uint32_t timestamp_offset_ = 0;
    std::uint16_t last_seq_ = 0;
    std::uint32_t last_timestamp_ = 0;
    Clock::time_point last_time_{};
    std::uint32_t packets_ = 0;
    std::uint32_t payload_octets_ = 0;
};

}  // namespace sg::proxy

#pragma once
// RTP media as MSSR ADUs (`streamgate mssr send rtsp://...` / `mssr recv --serve rtsp://...`, docs/mssr.md):
// the origin's RTP packets are carried unchanged, grouped per frame, so the far end re-emits them with their
// payload types, sequence numbers, timestamps and marker bits as the origin sent them, and no codec needs to
// be depacketized or packetized again.
//
//   * ADU layout: records of a 16-bit length and one RTP packet, back to back. A video ADU holds the packets
//     of one access unit (cut at the marker bit or where the timestamp changes); an ADU of any other track
//     holds one packet. The ADU's RTP timestamp (MSSR header) is the packets' own.
//   * Streams: the first video track is stream 0 (key frames retransmitted first), the first audio track
//     stream 1 (its own deadline), the session description stream 2, any further track 3, 4, ...
//   * The session description ADU (stream 2): "MSSD", the track count, each track's stream, then the
//     origin's SDP. The sender repeats it, so a lost copy (or a receiver that missed the first) costs one
//     period, not the session.
// A partial ADU (given up at its deadline with fragments missing) yields the records that lie wholly in
// received fragments; after a hole the next record is found again by its RTP header (version 2 and the
// ADU's timestamp). Pure: no I/O, no clock.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/byte_io.hpp"
#include "common/result.hpp"
#include "mssr/sender.hpp"

namespace sg::mssr {

inline constexpr std::uint8_t k_rtp_video_stream = 0;
inline constexpr std::uint8_t k_rtp_audio_stream = 1;
inline constexpr std::uint8_t k_description_stream = 2;
inline constexpr std::uint8_t k_rtp_first_extra_stream = 3;
inline constexpr std::size_t k_max_description_bytes = std::size_t{32} * 1024;

// The stream of each track, from each track's media ("video", "audio", ...), at most k_max_session_streams
// streams in all; fails beyond that.
Result<std::vector<std::uint8_t>> assign_streams(const std::vector<std::string>& media);

struct SessionDescription {
    std::vector<std::uint8_t> track_streams;  // stream of track i
    std::string sdp;                          // the origin's, as its DESCRIBE answered
    friend bool operator==(const SessionDescription&, const SessionDescription&) = default;
};

std::vector<std::uint8_t> encode_session_description(const SessionDescription& description);
// Fails on a wrong magic, a truncated map, a stream out of range or an SDP over k_max_description_bytes.
Result<SessionDescription> parse_session_description(Bytes adu);

struct RtpGrouperStats {
    std::uint64_t packets = 0;
    std::uint64_t invalid = 0;  // not RTP, or longer than a record can say
    std::uint64_t adus = 0;
    std::uint64_t key_adus = 0;
    std::uint64_t disposable_adus = 0;
};

// Groups one track's RTP packets into ADUs.
class RtpAduGrouper {
public:
    // An ADU that grows past this is cut (the rest of the frame goes in the next); bounds memory.
    static constexpr std::size_t k_max_adu_bytes = 2u << 20;

    // `frames`: group packets per access unit (video); otherwise one packet per ADU.
    RtpAduGrouper(std::uint8_t stream, bool frames) : stream_(stream), frames_(frames) {}

    // One RTP packet; `starts_key` when it begins a key frame (or carries what a decoder starts from),
    // `non_reference` when it carries a picture no other picture refers to: an ADU with such a packet and no
    // key start is `disposable`, one with neither `reference`.
    void feed(Bytes packet, bool starts_key, bool non_reference = false);
    // Ends the open ADU (end of input).
    void flush();
    // Moves out the ADUs completed since the last call.
    std::vector<Adu> take();
    const RtpGrouperStats& stats() const noexcept { return stats_; }

private:
    void close();
    std::uint8_t stream_;
    bool frames_;
    bool open_ = false;
    Adu adu_;
    std::vector<Adu> ready_;
    RtpGrouperStats stats_;
};

// Calls `packet` for each RTP packet of an ADU. `received` (one flag per fragment of `fragment_size`
// octets) is empty for a complete ADU; for a partial one only records wholly within received fragments are
// used. Returns how many packets were handed out.
std::size_t for_each_rtp_packet(Bytes adu, std::uint32_t rtp_timestamp, const std::vector<bool>& received,
                                std::size_t fragment_size, const std::function<void(Bytes)>& packet);

}  // namespace sg::mssr

#pragma once
// MSSR-RTP wire format, version 2 (docs/mssr.md): an RTP packet (RFC 3550) whose payload starts with a
// 12-octet MSSR payload header (13 in version 3, which adds the ADU's parity count), and MSSR-RTCP feedback:
// an RTCP APP packet named "MSSR" carrying the receive window, a cumulative ack, received ranges above it
// (gap acks) and retransmission requests (RFC 4585 NACK layout), sent alone as a reduced-size RTCP packet
// (RFC 5506; the handshake's version announces it).
//
// Views check every length once (parse_* fail on anything malformed); fields are read explicitly.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/byte_io.hpp"
#include "common/result.hpp"
#include "rtp/rtcp.hpp"
#include "rtp/rtp_packet.hpp"

namespace sg::mssr {

inline constexpr std::uint8_t k_version = 2;
inline constexpr std::size_t k_payload_header_size = 12;
// Version 3 is version 2 plus a thirteenth octet: how many parity fragments protect the ADU (0 for an
// unprotected one), so that the sender can choose that count per ADU from the loss it measures. It is sent
// only to a receiver whose hello announces it (handshake.hpp, k_feature_parity_count).
inline constexpr std::uint8_t k_version_parity_count = 3;
constexpr std::size_t payload_header_size(std::uint8_t version) noexcept {
    return version == k_version_parity_count ? k_payload_header_size + 1 : k_payload_header_size;
}
inline constexpr std::uint32_t k_max_adu_size = 0xffffff;  // the ADU length is a 24-bit field
inline constexpr std::uint8_t k_max_stream = 15;           // the stream number is a 4-bit field
// The fragment index is a 13-bit field: an ADU spans at most 8,192 fragments, which is also the most the
// receiver reassembles (half its sequence window, sequence.hpp). It had 14 bits; the fourteenth could only
// number ADUs no receiver would take, and is now the P bit.
inline constexpr std::uint16_t k_max_fragment_index = 0x1fff;
inline constexpr std::size_t k_default_mss = 548;  // 576 (minimum IPv4 MTU) - 20 IPv4 - 8 UDP
inline constexpr std::uint8_t k_default_payload_type = 96;

// What a lost fragment is worth: decides retransmission order and, in key_only mode, whether at all.
enum class Priority : std::uint8_t {
    key = 0,         // an I/IDR frame (or anything a decoder cannot start without)
    reference = 1,   // a P frame or other frame later frames refer to
    disposable = 2,  // non-reference frames, audio frames in a lossy policy
};

struct FragmentHeader {
    Priority priority = Priority::key;
    bool retransmission = false;
    // The sender's window is full after this packet (or it is a tail-loss probe): it waits for feedback, so
    // the receiver should not let a lost feedback stall it (feedback_pacer.hpp).
    bool feedback_wanted = false;
    // The ADU is protected by parity fragments (set on all of its fragments), numbered and indexed right
    // after its last data fragment (fragmenter.hpp): with them the receiver rebuilds lost fragments without
    // a round trip.
    bool parity = false;
    // Version 3 only (k_version_parity_count): the ADU's parity fragments, 1-255 when `parity`, else 0. In
    // version 2 the receiver works the count out (fragmenter.hpp, parity_groups) and this stays 0.
    std::uint8_t parity_count = 0;
    std::uint8_t version = k_version;   // 2, or 3 with parity_count on the wire
    std::uint8_t stream = 0;            // 4 bits
    std::uint16_t sequence = 0;         // per-session fragment sequence number
    std::uint16_t stream_sequence = 0;  // per-stream ADU number, shared by all fragments of one ADU
    std::uint32_t adu_length = 0;       // 24 bits, at least 1
    // Where the fragment lies in its ADU, in fragments (13 bits): its offset is index x fragment_size(mss),
    // since every fragment but the last is exactly that long (fragmenter.hpp, fragment_offset). The parity
    // fragment's index is the data fragments' count.
    std::uint16_t fragment_index = 0;
    std::uint16_t adu_time_ms = 0;  // sender clock when the ADU was submitted, milliseconds (wraps in 65.5 s)
    friend bool operator==(const FragmentHeader&, const FragmentHeader&) = default;
};

// One MSSR data packet: the RTP view, the MSSR header and the fragment's bytes.
struct DataPacketView {
    rtp::RtpView rtp;
    FragmentHeader header;
    Bytes fragment;
};

// Parses a datagram as an MSSR data packet. Besides the RTP checks: MSSR version 2 or 3, priority 0-2, a
// non-zero ADU length, in version 3 a parity count that is non-zero exactly when P is set, and a non-empty
// fragment no longer than the ADU. Where the fragment lies needs the fragment size (the
// MSS): the receiver checks that (fragment_offset in fragmenter.hpp).
Result<DataPacketView> parse_data_packet(Bytes datagram) noexcept;
// The MSSR header alone (what follows the RTP header).
Result<FragmentHeader> parse_fragment_header(Bytes payload) noexcept;

struct RtpFields {
    std::uint8_t payload_type = k_default_payload_type;
    std::uint16_t rtp_sequence = 0;  // per-SSRC transmission counter, as RTP requires
    std::uint32_t rtp_timestamp = 0;
    std::uint32_t ssrc = 0;
    bool marker = false;  // set on an ADU's last fragment, as video payload formats do
};

// Appends RTP header + MSSR header (of header.version) + fragment. Fails (appending nothing) on an empty
// fragment or one longer than the ADU, fields too wide for the wire, an invalid priority or version, or in
// version 3 a parity count that does not match P.
Result<std::size_t> append_data_packet(std::vector<std::uint8_t>& out, const RtpFields& rtp,
                                       const FragmentHeader& header, Bytes fragment);

// ---- MSSR-RTCP feedback ----

inline constexpr std::string_view k_app_name = "MSSR";
inline constexpr std::uint8_t k_feedback_subtype = 0;
inline constexpr std::size_t k_max_feedback_blocks = 255;  // each count is one octet
// What our receiver puts in one feedback packet: 8 + 4 * (64 + 64) octets of body keep it under 1,100.
inline constexpr std::size_t k_feedback_block_budget = 64;

// Fragments start .. start + count - 1 (16-bit serial arithmetic) all arrived.
struct AckRange {
    std::uint16_t start = 0;
    std::uint16_t count = 0;  // >= 1
    friend bool operator==(const AckRange&, const AckRange&) = default;
};

// RFC 4585 §6.2.1 layout: fragment `pid` is missing, and so is pid + i + 1 for each bit i set in `blp`.
struct NackBlock {
    std::uint16_t pid = 0;
    std::uint16_t blp = 0;
    friend bool operator==(const NackBlock&, const NackBlock&) = default;
};

struct Feedback {
    std::uint32_t ssrc = 0;            // the receiver's SSRC
    std::uint32_t receive_window = 0;  // RWND: octets the receiver can still buffer
    std::uint16_t cumulative_ack = 0;  // every fragment before this one arrived or is no longer wanted
    std::vector<AckRange> acks;        // at most k_max_feedback_blocks
    std::vector<NackBlock> nacks;      // at most k_max_feedback_blocks
    friend bool operator==(const Feedback&, const Feedback&) = default;
};

// A validated view of the APP body; blocks are read on demand (no allocation).
class FeedbackView {
public:
    std::uint32_t ssrc() const noexcept { return ssrc_; }
    std::uint32_t receive_window() const noexcept { return receive_window_; }
    std::uint16_t cumulative_ack() const noexcept { return cumulative_ack_; }
    std::size_t ack_count() const noexcept { return ack_count_; }
    std::size_t nack_count() const noexcept { return nack_count_; }
    AckRange ack(std::size_t i) const noexcept;    // default when i >= ack_count()
    NackBlock nack(std::size_t i) const noexcept;  // default when i >= nack_count()
    Feedback to_feedback() const;

private:
    friend Result<FeedbackView> parse_feedback(const rtp::RtcpPacket& packet) noexcept;
    std::uint32_t ssrc_ = 0;
    std::uint32_t receive_window_ = 0;
    std::uint16_t cumulative_ack_ = 0;
    std::size_t ack_count_ = 0;
    std::size_t nack_count_ = 0;
    Bytes blocks_;
};

// Decodes one RTCP packet as MSSR feedback: APP, name "MSSR", subtype 0, block counts matching the length,
// every ack range non-empty.
Result<FeedbackView> parse_feedback(const rtp::RtcpPacket& packet) noexcept;
// Finds and decodes the MSSR feedback in a compound datagram (the first APP "MSSR" packet).
Result<FeedbackView> parse_feedback_datagram(Bytes datagram) noexcept;

// Appends the APP packet. Fails on more than k_max_feedback_blocks blocks of a kind or an empty range.
Result<std::size_t> append_feedback(std::vector<std::uint8_t>& out, const Feedback& feedback);
// Appends the feedback datagram: the APP packet alone, a reduced-size RTCP packet (RFC 5506). Version 1 put
// an empty RR in front of it (RFC 3550's compound rule), 8 octets that said nothing; both ends announce
// version 2 in the handshake, which is the signalling RFC 5506 asks for.
Result<std::size_t> append_feedback_datagram(std::vector<std::uint8_t>& out, const Feedback& feedback);

}  // namespace sg::mssr

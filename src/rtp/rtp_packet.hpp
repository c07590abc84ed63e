#pragma once
// RTP data packets (RFC 3550 §5.1 fixed header, §5.3.1 header extension, padding), a builder, in-place
// header rewriters for the gateway, and the RTP/RTCP demultiplexing test of RFC 5761 §4.
//
// RtpView is a validated, non-owning view: parse_rtp checks every length once, so the accessors cannot
// read out of bounds. Nothing here allocates except append_rtp (into the caller's buffer).

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/byte_io.hpp"
#include "common/result.hpp"

namespace sg::rtp {

inline constexpr std::uint8_t k_rtp_version = 2;
inline constexpr std::size_t k_fixed_header_size = 12;
inline constexpr std::size_t k_max_csrcs = 15;           // the CC field has 4 bits
inline constexpr std::uint8_t k_max_payload_type = 127;  // 7 bits

class RtpView {
public:
    bool has_padding() const noexcept { return (data_[0] & 0x20) != 0; }
    bool has_extension() const noexcept { return (data_[0] & 0x10) != 0; }
    std::uint8_t csrc_count() const noexcept { return data_[0] & 0x0f; }
    bool marker() const noexcept { return (data_[1] & 0x80) != 0; }
    std::uint8_t payload_type() const noexcept { return data_[1] & 0x7f; }
    std::uint16_t sequence() const noexcept { return load_be16(data_.data() + 2); }
    std::uint32_t timestamp() const noexcept { return load_be32(data_.data() + 4); }
    std::uint32_t ssrc() const noexcept { return load_be32(data_.data() + 8); }
    // Returns 0 when i >= csrc_count() (callers iterate up to csrc_count()).
    std::uint32_t csrc(std::size_t i) const noexcept;

    // Meaningful only when has_extension(); otherwise 0 and empty.
    std::uint16_t extension_profile() const noexcept { return extension_profile_; }
    Bytes extension_data() const noexcept { return extension_data_; }

    Bytes payload() const noexcept { return data_.subspan(header_size_, payload_size_); }
    std::size_t padding_size() const noexcept { return data_.size() - header_size_ - payload_size_; }
    // Fixed header + CSRC list + extension (if any): where the payload starts.
    std::size_t header_size() const noexcept { return header_size_; }
    Bytes data() const noexcept { return data_; }

private:
    friend Result<RtpView> parse_rtp(Bytes packet) noexcept;
    RtpView() = default;

    Bytes data_;
    std::size_t header_size_ = 0;
    std::size_t payload_size_ = 0;
    std::uint16_t extension_profile_ = 0;
    Bytes extension_data_;
};

// Validates and views one RTP packet (one UDP datagram or one interleaved frame).
Result<RtpView> parse_rtp(Bytes packet) noexcept;

struct RtpExtension {
    std::uint16_t profile = 0;  // "defined by profile" field, e.g. 0xBEDE for RFC 8285 one-byte elements
    Bytes data;                 // length must be a multiple of 4 octets (the wire length is in words)
};

struct RtpHeader {
    bool marker = false;
    std::uint8_t payload_type = 0;  // 0..127
    std::uint16_t sequence = 0;
    std::uint32_t timestamp = 0;
    std::uint32_t ssrc = 0;
    std::span<const std::uint32_t> csrcs;  // at most k_max_csrcs
    std::optional<RtpExtension> extension;
};

// Appends header + payload + `padding` octets of padding (0 = no P bit; otherwise the last padding octet
// carries the count, per §5.1). Returns the number of octets appended; on invalid input (payload type
// > 127, more than 15 CSRCs, extension not a whole number of words or too long) appends nothing.
Result<std::size_t> append_rtp(std::vector<std::uint8_t>& out, const RtpHeader& header, Bytes payload,
                               std::uint8_t padding = 0);

// In-place rewriters for a packet already accepted by parse_rtp (SSRC/sequence translation in the gateway).
// Each returns false, changing nothing, if the span is shorter than the fixed header or the value does not
// fit the field. set_payload_type keeps the marker bit.
bool set_sequence(std::span<std::uint8_t> packet, std::uint16_t sequence) noexcept;
bool set_timestamp(std::span<std::uint8_t> packet, std::uint32_t timestamp) noexcept;
bool set_ssrc(std::span<std::uint8_t> packet, std::uint32_t ssrc) noexcept;
bool set_payload_type(std::span<std::uint8_t> packet, std::uint8_t payload_type) noexcept;
bool set_marker(std::span<std::uint8_t> packet, bool marker) noexcept;

// RFC 5761 §4: with RTP and RTCP on one port, the octet holding M+PT in RTP holds the RTCP packet type.
// RTCP types 192..223 map onto PT 64..95 (with or without the marker bit), a range RTP must not use, so
// a version-2 packet whose PT bits fall in 64..95 is RTCP. Needs at least the 4-octet RTCP header.
bool looks_like_rtcp(Bytes packet) noexcept;

}  // namespace sg::rtp

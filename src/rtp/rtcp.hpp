#pragma once
// RTCP (RFC 3550 §6): compound packet splitting, the Appendix A.2 validity checks, typed views of SR/RR
// (§6.4), SDES (§6.5), BYE (§6.6) and APP (§6.7), builders for the same, and NTP timestamp helpers (§4).
//
// Views borrow the datagram and never allocate. Each typed parser checks the whole packet once, so
// iterating a view afterwards cannot fail or read out of bounds. Packet types this unit does not decode
// (RTPFB 205, PSFB 206, XR 207, ...) are still split out as a generic RtcpPacket (type + body).
// Builders append into a caller-owned buffer, so one buffer holds a whole compound packet.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "common/byte_io.hpp"
#include "common/result.hpp"

namespace sg::rtp {

enum class RtcpType : std::uint8_t {
    sr = 200,
    rr = 201,
    sdes = 202,
    bye = 203,
    app = 204,
    rtpfb = 205,  // RFC 4585 transport-layer feedback
    psfb = 206,   // RFC 4585 payload-specific feedback
    xr = 207,     // RFC 3611 extended reports
};

inline constexpr std::size_t k_rtcp_header_size = 4;
inline constexpr std::size_t k_max_report_blocks = 31;  // RC is 5 bits
inline constexpr std::size_t k_max_sdes_chunks = 31;    // SC is 5 bits
inline constexpr std::size_t k_max_bye_sources = 31;
inline constexpr std::size_t k_max_compound_packets = 32;  // our cap; real compounds hold a handful
inline constexpr std::size_t k_report_block_size = 24;

// One packet of a compound, header decoded. `count` is RC, SC, the APP subtype or the RFC 4585 FMT.
struct RtcpPacket {
    bool padding = false;
    std::uint8_t count = 0;
    RtcpType type{};
    Bytes body;  // after the 4-octet header, padding removed
    Bytes data;  // the whole packet as received (header, body, padding)
};

class RtcpCompound {
public:
    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    const RtcpPacket& operator[](std::size_t i) const noexcept { return packets_[i]; }
    const RtcpPacket* begin() const noexcept { return packets_.data(); }
    const RtcpPacket* end() const noexcept { return packets_.data() + size_; }

private:
    friend Result<RtcpCompound> parse_compound(Bytes datagram) noexcept;
    std::array<RtcpPacket, k_max_compound_packets> packets_{};
    std::size_t size_ = 0;
};

// Splits a datagram into RTCP packets. Checks every header (version 2, length within the datagram,
// padding count >= 1 and inside its packet) and that the packets cover the datagram exactly. Lenient on
// what A.2 adds (first packet type, padding position), so RFC 5506 reduced-size RTCP also splits.
Result<RtcpCompound> parse_compound(Bytes datagram) noexcept;

// parse_compound plus the RFC 3550 Appendix A.2 header validity checks: the first packet is an SR or RR,
// only the last packet may have the padding bit set, and the lengths add up to the datagram size.
Result<RtcpCompound> validate_compound(Bytes datagram) noexcept;

struct ReportBlock {
    std::uint32_t ssrc = 0;
    std::uint8_t fraction_lost = 0;         // fixed point, lost/expected * 256 over the last interval
    std::int32_t cumulative_lost = 0;       // 24-bit signed on the wire; builders clamp to that range
    std::uint32_t highest_sequence = 0;     // extended highest sequence number received
    std::uint32_t jitter = 0;               // interarrival jitter in RTP timestamp units
    std::uint32_t last_sr = 0;              // LSR: middle 32 bits of the last SR's NTP timestamp
    std::uint32_t delay_since_last_sr = 0;  // DLSR in units of 1/65536 s
    friend bool operator==(const ReportBlock&, const ReportBlock&) = default;
};

inline constexpr std::int32_t k_max_cumulative_lost = 0x7fffff;
inline constexpr std::int32_t k_min_cumulative_lost = -0x800000;

// View over the report blocks of an SR or RR (RC blocks of 24 octets, already bounds-checked).
class ReportBlockList {
public:
    ReportBlockList() = default;
    // Whole blocks only: a trailing partial block is ignored.
    explicit ReportBlockList(Bytes raw) noexcept
        : raw_(raw.first(raw.size() / k_report_block_size * k_report_block_size)) {}
    std::size_t size() const noexcept { return raw_.size() / k_report_block_size; }
    bool empty() const noexcept { return size() == 0; }
    ReportBlock operator[](std::size_t i) const noexcept;  // a default block when i >= size()

private:
    Bytes raw_;
};

struct SenderInfo {
    std::uint64_t ntp_timestamp = 0;
    std::uint32_t rtp_timestamp = 0;
    std::uint32_t packet_count = 0;
    std::uint32_t octet_count = 0;
    friend bool operator==(const SenderInfo&, const SenderInfo&) = default;
};

struct SenderReportView {
    std::uint32_t ssrc = 0;
    SenderInfo sender;
    ReportBlockList reports;
    Bytes profile_extension;
};

struct ReceiverReportView {
    std::uint32_t ssrc = 0;
    ReportBlockList reports;
    Bytes profile_extension;
};

enum class SdesType : std::uint8_t {
    end = 0,
    cname = 1,
    name = 2,
    email = 3,
    phone = 4,
    loc = 5,
    tool = 6,
    note = 7,
    priv = 8,  // text is the raw "prefix length, prefix, value" of §6.5.8
};

struct SdesItem {
    SdesType type{};
    std::string_view text;  // at most 255 octets (UTF-8 per the RFC, not checked)
};

// One SDES chunk: an SSRC/CSRC and its items (iterate with range-for).
class SdesChunk {
public:
    class Iterator {
    public:
        SdesItem operator*() const noexcept;
        Iterator& operator++() noexcept;
        friend bool operator==(const Iterator& a, const Iterator& b) noexcept {
            return a.rest_.data() == b.rest_.data() && a.rest_.size() == b.rest_.size();
        }

    private:
        friend class SdesChunk;
        explicit Iterator(Bytes rest) noexcept : rest_(rest) {}
        Bytes rest_;
    };

    SdesChunk() = default;
    // `items` are the encoded items without the terminating null; iteration stops at a truncated item.
    SdesChunk(std::uint32_t ssrc, Bytes items) noexcept : items_(items), ssrc_(ssrc) {}

    std::uint32_t ssrc() const noexcept { return ssrc_; }
    Iterator begin() const noexcept { return Iterator(items_); }
    Iterator end() const noexcept { return Iterator(items_.subspan(items_.size())); }
    // First item of `type`, if any (e.g. the CNAME).
    std::optional<std::string_view> find(SdesType type) const noexcept;

private:
    Bytes items_;  // the items only, without the terminating null octets
    std::uint32_t ssrc_ = 0;
};

class SdesView {
public:
    class Iterator {
    public:
        SdesChunk operator*() const noexcept;
        Iterator& operator++() noexcept;
        friend bool operator==(const Iterator& a, const Iterator& b) noexcept {
            return a.rest_.data() == b.rest_.data() && a.rest_.size() == b.rest_.size();
        }

    private:
        friend class SdesView;
        explicit Iterator(Bytes rest) noexcept : rest_(rest) {}
        Bytes rest_;
    };

    std::size_t chunk_count() const noexcept { return chunk_count_; }
    Iterator begin() const noexcept { return Iterator(chunks_); }
    Iterator end() const noexcept { return Iterator(chunks_.subspan(chunks_.size())); }

private:
    friend Result<SdesView> parse_sdes(const RtcpPacket& packet) noexcept;
    Bytes chunks_;
    std::size_t chunk_count_ = 0;
};

struct ByeView {
    std::size_t source_count() const noexcept { return sources.size() / 4; }
    std::uint32_t source(std::size_t i) const noexcept;  // 0 when i >= source_count()

    Bytes sources;                           // source_count() SSRC/CSRCs, 4 octets each
    std::optional<std::string_view> reason;  // "reason for leaving", when present
};

struct AppView {
    std::uint8_t subtype = 0;  // 5 bits
    std::uint32_t ssrc = 0;
    std::string_view name;  // always 4 octets (ASCII per the RFC, not checked)
    Bytes data;             // a whole number of 32-bit words
};

// Typed decoders. Each fails if `packet.type` is not its type or the body is malformed.
Result<SenderReportView> parse_sender_report(const RtcpPacket& packet) noexcept;
Result<ReceiverReportView> parse_receiver_report(const RtcpPacket& packet) noexcept;
Result<SdesView> parse_sdes(const RtcpPacket& packet) noexcept;
Result<ByeView> parse_bye(const RtcpPacket& packet) noexcept;
Result<AppView> parse_app(const RtcpPacket& packet) noexcept;

// Builders: each appends one RTCP packet (with its length field) to `out` and returns its size in
// octets; on invalid input it appends nothing. Call several to build a compound packet.
Result<std::size_t> append_sender_report(std::vector<std::uint8_t>& out, std::uint32_t ssrc,
                                         const SenderInfo& sender, std::span<const ReportBlock> reports = {},
                                         Bytes profile_extension = {});
Result<std::size_t> append_receiver_report(std::vector<std::uint8_t>& out, std::uint32_t ssrc,
                                           std::span<const ReportBlock> reports = {},
                                           Bytes profile_extension = {});

struct SdesChunkSpec {
    std::uint32_t ssrc = 0;
    std::span<const SdesItem> items;  // no item of type `end`; texts up to 255 octets
};
// Terminates every chunk with a null octet and pads it with nulls to a 32-bit boundary (§6.5).
Result<std::size_t> append_sdes(std::vector<std::uint8_t>& out, std::span<const SdesChunkSpec> chunks);
Result<std::size_t> append_sdes_cname(std::vector<std::uint8_t>& out, std::uint32_t ssrc,
                                      std::string_view cname);
// The reason, when given, is padded with nulls to a 32-bit boundary (§6.6).
Result<std::size_t> append_bye(std::vector<std::uint8_t>& out, std::span<const std::uint32_t> sources,
                               std::optional<std::string_view> reason = std::nullopt);
// `name` must be exactly 4 octets, `data` a whole number of words, `subtype` < 32.
Result<std::size_t> append_app(std::vector<std::uint8_t>& out, std::uint8_t subtype, std::uint32_t ssrc,
                               std::string_view name, Bytes data = {});

// NTP timestamps (§4): 32.32 fixed point seconds since 1900-01-01 UTC.
std::uint64_t to_ntp(std::chrono::system_clock::time_point time) noexcept;
// Inverse of to_ntp; seconds with the top bit clear are taken as era 1 (2036-2104), per RFC 4330 §3.
std::chrono::system_clock::time_point from_ntp(std::uint64_t ntp) noexcept;
// The middle 32 bits, as carried in LSR (§6.4.1).
constexpr std::uint32_t ntp_middle32(std::uint64_t ntp) noexcept {
    return static_cast<std::uint32_t>(ntp >> 16);
}
// A delay in DLSR units of 1/65536 s, rounded down and clamped to [0, 2^32 - 1].
std::uint32_t to_dlsr(std::chrono::nanoseconds delay) noexcept;
// Round-trip time in 1/65536 s from an RR block (§6.4.1: A - LSR - DLSR, with A the middle 32 bits of
// the NTP time the RR arrived). nullopt when the block carries no SR reference or the result is negative.
std::optional<std::uint32_t> round_trip_time(std::uint32_t arrival_middle32, std::uint32_t last_sr,
                                             std::uint32_t delay_since_last_sr) noexcept;

}  // namespace sg::rtp

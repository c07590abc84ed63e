#pragma once
// Typed views of the SDP attributes an RTSP gateway needs: attribute lookup (RFC 4566 §5.13),
// a=rtpmap and a=fmtp (§6), a=control and a=range (RFC 2326 C.1.1, C.1.5), the media kind and the
// RTP payload types of an m= line (§5.14), with RFC 3551 §6 static payload types as a fallback.
// Attribute names are compared ASCII case-insensitively: cameras write "a=Control:".

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "sdp/sdp.hpp"

namespace sg::sdp {

inline constexpr std::size_t k_max_fmtp_parameters = 64;

// The first attribute called `name`, or nullptr.
const Attribute* find_attribute(const std::vector<Attribute>& attributes, std::string_view name) noexcept;

// a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]
struct RtpMap {
    std::uint8_t payload_type = 0;  // 0..127
    std::string encoding;           // as written: "H264", "MPEG4-GENERIC", "h263-1998"
    std::uint32_t clock_rate = 0;
    std::optional<std::uint32_t> channels;  // audio channel count, absent means one
    bool operator==(const RtpMap&) const = default;
};

// Parses the attribute value (after "rtpmap:").
sg::Result<RtpMap> parse_rtpmap(std::string_view value);

// The media section's a=rtpmap for `payload_type`; without one, the RFC 3551 static assignment
// (0 PCMU/8000, 8 PCMA/8000, 26 JPEG/90000, 33 MP2T/90000, ...). Malformed rtpmaps are skipped.
std::optional<RtpMap> find_rtpmap(const MediaDescription& media, std::uint8_t payload_type);

// a=fmtp:<payload type> <name>=<value>;<name>=<value>;... Values may contain '=' (base64) and keep
// it; parameters without '=' (telephone-event's "0-15") have an empty value. Empty ones are skipped.
struct FmtpParameter {
    std::string name;
    std::string value;
    bool operator==(const FmtpParameter&) const = default;
};
struct Fmtp {
    std::uint8_t payload_type = 0;
    std::vector<FmtpParameter> parameters;  // in written order
    bool operator==(const Fmtp&) const = default;
};

sg::Result<Fmtp> parse_fmtp(std::string_view value);
std::optional<Fmtp> find_fmtp(const MediaDescription& media, std::uint8_t payload_type);
// Media type parameter names are case-insensitive (RFC 2045 §5.1); returns the first match.
std::optional<std::string_view> fmtp_parameter(const Fmtp& fmtp, std::string_view name) noexcept;

// a=control values, trimmed (absolute, relative or "*"); resolve them with the RTSP URL helpers.
std::optional<std::string_view> control_url(const SessionDescription& sd) noexcept;
std::optional<std::string_view> control_url(const MediaDescription& media) noexcept;

// Raw a=range values ("npt=0-10.000"); parse them with the RTSP Range helpers.
std::optional<std::string_view> range_value(const SessionDescription& sd) noexcept;
std::optional<std::string_view> range_value(const MediaDescription& media) noexcept;

enum class MediaKind : std::uint8_t { audio, video, application, other };
MediaKind media_kind(const MediaDescription& media) noexcept;

// The m= formats that are RTP payload types (decimal 0..127), in order; other formats are skipped.
std::vector<std::uint8_t> payload_types(const MediaDescription& media);

}  // namespace sg::sdp

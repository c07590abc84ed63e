#pragma once
// The RTSP RTP-Info header value (RFC 2326 §12.33, RFC 7826 §18.45): one entry per stream.
//   RFC 2326:  url=rtsp://foo.com/bar.avi/streamid=0;seq=45102;rtptime=12345678, url=...
//   RFC 7826:  url="rtsp://example.com/foo/audio";ssrc=0A13C760:seq=45102;rtptime=12345678
// In the RFC 2326 form the URL ends at the first ';' or ','; only the quoted RFC 7826 form may carry
// those characters. In the RFC 7826 form each "ssrc=" starts the parameters of one synchronization
// source; a URL with several SSRCs becomes several entries with the same URL.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace sg::rtsp {

struct RtpInfoEntry {
    std::string url;
    bool url_quoted = false;  // RFC 7826 syntax; the formatter also quotes URLs that need it
    std::optional<std::uint32_t> ssrc;
    std::optional<std::uint16_t> seq;
    std::optional<std::uint32_t> rtptime;

    friend bool operator==(const RtpInfoEntry&, const RtpInfoEntry&) = default;
};

inline constexpr std::size_t k_max_rtp_info_entries = 32;

// Unknown parameters (RFC 7826 generic-param) are validated and ignored.
Result<std::vector<RtpInfoEntry>> parse_rtp_info(std::string_view value);
std::string to_header_value(std::span<const RtpInfoEntry> entries);

}  // namespace sg::rtsp

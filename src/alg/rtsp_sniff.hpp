#pragma once
// Recognising RTSP on a freshly relayed TCP connection from the client's first bytes, so the gateway can put
// its RTSP application-level gateway (rtsp_alg.hpp) in the path. RTSP clients speak first with a request
// line (RFC 2326 section 6.1, RFC 7826 section 20.2.1):
//   Method SP Request-URI SP RTSP-Version CRLF
// where Method is one of RFC 2326's or RFC 7826's and the Request-URI is an absolute rtsp:// (or rtspu://)
// URL or "*". We decide on that line only, never on the port: a connection is RTSP when its first line has
// exactly that shape. The check is incremental
// and answers "other" at the first byte that cannot belong to such a line, so TLS (rtsps://, first byte
// 0x16), HTTP ("GET /") or anything binary is let go at once.
// Pure code: no I/O, no allocation, bounded by k_max_sniff_line.

#include <cstddef>
#include <cstdint>

#include "common/byte_io.hpp"

namespace sg::alg {

enum class SniffVerdict : std::uint8_t {
    need_more,  // a valid prefix of an RTSP request line: wait for more bytes
    rtsp,       // a complete RTSP request line
    other,      // not RTSP: relay the bytes untouched
};

// Longer first lines are not taken for RTSP (the framing parser's own start-line limit is 8 KiB; real
// request lines are far shorter).
inline constexpr std::size_t k_max_sniff_line = 4096;

SniffVerdict sniff_rtsp_request(Bytes input) noexcept;

}  // namespace sg::alg

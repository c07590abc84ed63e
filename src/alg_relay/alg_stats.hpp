#pragma once
// Process-wide counters of the RTSP application-level gateway, exported as Prometheus series by
// RtspAlg (rtsp_alg.hpp). Plain atomics: sessions and media relays update them, the scrape reads them.

#include <atomic>
#include <cstdint>

namespace sg::alg {

struct AlgStats {
    std::atomic<std::uint64_t> sessions{0};          // TCP connections taken for RTSP
    std::atomic<std::uint64_t> parse_fallbacks{0};   // directions that fell back to a byte relay
    std::atomic<std::uint64_t> media_relays{0};      // UDP SETUPs relayed
    std::atomic<std::uint64_t> port_exhausted{0};    // UDP SETUPs refused: no free port pair
    std::atomic<std::int64_t> port_pairs_in_use{0};  // RTP/RTCP pairs bound right now
    std::atomic<std::uint64_t> packets_to_client{0};
    std::atomic<std::uint64_t> packets_to_origin{0};
    std::atomic<std::uint64_t> bytes_to_client{0};
    std::atomic<std::uint64_t> bytes_to_origin{0};
    std::atomic<std::uint64_t> packets_dropped{0};  // wrong source, oversize, refused by the kernel
};

}  // namespace sg::alg

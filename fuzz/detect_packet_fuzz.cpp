// Fuzzes the detector's whole packet path: link-layer and IP decoding, TCP reassembly, RTSP and SIP
// signalling, the RTP heuristic, RTCP and the statistics. The input is a link type selector followed by
// frames, each prefixed with a 16-bit length and a time step, all fed to one Detector so that state built by
// earlier frames (flows, TCP streams, learned ports) meets later ones.

#include <array>
#include <cstddef>
#include <cstdint>

#include "detect/detector.hpp"

namespace {

constexpr std::array<int, 10> k_link_types{sg::detect::dlt::en10mb,       sg::detect::dlt::linux_sll,
                                           sg::detect::dlt::linux_sll2,   sg::detect::dlt::raw,
                                           sg::detect::dlt::linktype_raw, sg::detect::dlt::ipv4,
                                           sg::detect::dlt::ipv6,         sg::detect::dlt::null,
                                           sg::detect::dlt::loop,         147 /* unsupported */};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const int link_type = k_link_types[data[0] % k_link_types.size()];
    sg::detect::DetectorConfig config;
    config.min_packets = 2 + data[0] / k_link_types.size() % 4;
    config.max_flows = 64;
    config.max_streams = 64;
    config.flow_timeout_ns = 2'000'000'000;
    sg::detect::Detector detector(config);
    std::size_t at = 1;
    std::int64_t now = 0;
    while (at + 3 <= size) {
        const std::size_t length = (std::size_t{data[at]} << 8) | data[at + 1];
        now += std::int64_t{data[at + 2]} * 50'000'000;  // 0..12.75 s: exercises expiry
        at += 3;
        const std::size_t n = length < size - at ? length : size - at;
        detector.on_frame(link_type, now, sg::Bytes(data + at, n));
        at += n;
    }
    // Reading every statistic must be safe too.
    double sum = 0;
    for (const auto& s : detector.streams())
        sum += s.stats.mean_jitter_ms() + s.stats.bitrate_bps() + static_cast<double>(s.stats.lost());
    return sum < 0 ? 0 : 0;
}

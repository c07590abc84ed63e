#pragma once
// The passive RTP stream detector: fed captured frames in capture order, it finds RTP streams and keeps
// their statistics.
//   - Signalling: RTSP over TCP (both directions reassembled) teaches media addresses and ports from
//     SETUP / Transport and codecs from the DESCRIBE SDP; RTP and RTCP interleaved in RTSP ("$" frames) are
//     streams too. SIP over UDP and TCP teaches call media from the SDP bodies (c= and m= lines).
//   - Heuristic, for any other UDP flow: it becomes an RTP stream only after `min_packets` consecutive
//     packets share version 2, one payload type and one SSRC with sequence numbers that increase by small
//     steps and timestamps that do not go back by more than a plausible step. RTCP is recognised by the
//     RFC 3550 A.2 compound rules and, on a shared port, told from RTP by the RFC 5761 payload-type range.
// Memory is bounded: flows idle for `flow_timeout` of capture time are dropped, and the flow, stream and
// learned-endpoint tables have caps (what exceeds them is counted, not tracked).
//
// Pure code: no I/O, no clock (capture times come with the frames), no exceptions on the packet path.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/byte_io.hpp"
#include "detect/packet_decoder.hpp"
#include "detect/stream_stats.hpp"
#include "rtp/rtcp.hpp"

namespace sg::detect {

enum class FoundBy : std::uint8_t { heuristic, rtsp, rtsp_interleaved, sip };
const char* to_string(FoundBy found_by) noexcept;

struct Codec {
    std::string name;  // "H264", "PCMA"...
    std::uint32_t clock_rate = 0;
};

// Payload type to codec, from one SDP (a=rtpmap), shared by every flow it describes.
struct CodecMap {
    std::array<std::optional<Codec>, 128> by_payload_type;
};

struct StreamKey {
    IpAddress src;
    IpAddress dst;
    std::uint16_t src_port = 0;
    std::uint16_t dst_port = 0;
    std::uint32_t ssrc = 0;
    bool tcp = false;  // interleaved in an RTSP connection

    friend bool operator==(const StreamKey&, const StreamKey&) = default;
};

struct RtcpFigures {
    std::uint64_t packets = 0;         // RTCP compounds that mention this stream's SSRC
    std::uint64_t sender_reports = 0;  // SRs from this stream's source
    std::optional<rtp::SenderInfo> last_sender_info;
    std::uint64_t receiver_reports = 0;  // report blocks about this source (in SRs or RRs)
    std::optional<rtp::ReportBlock> last_report_block;
};

struct StreamInfo {
    StreamKey key;
    FoundBy found_by = FoundBy::heuristic;
    std::uint8_t payload_type = 0;  // of the first packet
    std::string codec;              // empty when neither the SDP nor the static table knows it
    std::uint32_t clock_rate = 0;   // 0 when unknown
    StreamStats stats;
    RtcpFigures rtcp;
};

struct DetectorConfig {
    unsigned min_packets = 4;        // consecutive packets before the heuristic calls a UDP flow RTP (1..32)
    std::size_t max_flows = 200000;  // UDP flows and TCP connections tracked at once
    std::size_t max_streams = 100000;               // streams reported
    std::size_t max_learned = 100000;               // media endpoints learned from signalling
    std::int64_t flow_timeout_ns = 60'000'000'000;  // idle time (capture clock) before a flow is dropped
};

inline constexpr unsigned k_max_min_packets = 32;

struct DetectorCounters {
    std::uint64_t frames = 0;
    std::array<std::uint64_t, 6> decode{};  // indexed by DecodeStatus
    std::uint64_t udp_packets = 0;
    std::uint64_t tcp_segments = 0;
    std::uint64_t rtp_packets = 0;   // counted into streams
    std::uint64_t rtcp_packets = 0;  // valid RTCP compounds on media flows
    std::uint64_t streams_heuristic = 0;
    std::uint64_t streams_rtsp = 0;
    std::uint64_t streams_rtsp_interleaved = 0;
    std::uint64_t streams_sip = 0;
    std::uint64_t rtsp_connections = 0;
    std::uint64_t rtsp_messages = 0;
    std::uint64_t rtsp_setups = 0;  // SETUP replies with a Transport we learned from
    std::uint64_t rtsp_resyncs = 0;
    std::uint64_t sip_messages = 0;
    std::uint64_t sdp_bodies = 0;
    std::uint64_t learned_endpoints = 0;
    std::uint64_t heuristic_rejects = 0;  // candidate runs broken before reaching min_packets
    std::uint64_t flows_expired = 0;
    std::uint64_t flows_over_cap = 0;    // packets of flows not tracked because the table was full
    std::uint64_t streams_over_cap = 0;  // packets of streams not reported because the table was full
    std::uint64_t tcp_bytes_skipped = 0;
};

class Detector {
public:
    explicit Detector(DetectorConfig config = {});
    ~Detector();
    Detector(const Detector&) = delete;
    Detector& operator=(const Detector&) = delete;

    // One captured frame with its link type (DLT) and capture time.
    void on_frame(int link_type, std::int64_t time_ns, Bytes frame);
    // A frame already decoded (tests and tools that build packets themselves).
    void on_packet(const DecodedPacket& packet, std::int64_t time_ns);

    const std::vector<StreamInfo>& streams() const noexcept { return streams_; }
    const DetectorCounters& counters() const noexcept { return counters_; }
    std::size_t tracked_flows() const noexcept;
    std::size_t learned_endpoint_count() const noexcept;
    const DetectorConfig& config() const noexcept { return config_; }

private:
    struct State;
    DetectorConfig config_;
    std::vector<StreamInfo> streams_;
    DetectorCounters counters_;
    std::unique_ptr<State> state_;
};

}  // namespace sg::detect

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
    // The same for a frame the caller decoded (with decode_frame) to look ahead: counted as on_frame does.
    void on_decoded_frame(DecodeStatus status, const DecodedPacket& packet, std::int64_t time_ns);
    // A hint before on_decoded_frame() of the packet after the current one: starts loading its flow's index
    // entry, the lookup's first cache miss (a third of on_udp's time without it).
    void prefetch(const DecodedPacket& packet) const noexcept;
    // A frame already decoded (tests and tools that build packets themselves).
    void on_packet(const DecodedPacket& packet, std::int64_t time_ns);

    const std::vector<StreamInfo>& streams() const noexcept { return streams_; }
    const DetectorCounters& counters() const noexcept { return counters_; }
    std::size_t tracked_flows() const noexcept;
    std::size_t learned_endpoint_count() const noexcept;
    const DetectorConfig& config() const noexcept { return config_; }

    // ----- partitioned runs (detect_capture/file_detect) -----
    // A capture split by flow across several detectors gives the single run's result when no partition's
    // state could have met another's: see merge_partitions(). Each partition gets its own frames in capture
    // order through on_partition_frame(), and the capture times at which the expiry clock of a single run
    // starts or sweeps through on_foreign_packet(), so its flows expire at the same capture times.
    // `frame_index` is the frame's position in the capture (0-based).
    void on_partition_frame(std::uint64_t frame_index, DecodeStatus status, const DecodedPacket& packet,
                            std::int64_t time_ns);
    void on_foreign_packet(std::int64_t time_ns);
    // How many times the expiry clock started or swept: a detector that sees every decoded packet (its own
    // and, through on_foreign_packet, the others') tells the partitions when to move their clocks.
    std::uint64_t clock_events() const noexcept;
    // True once signalling taught a media endpoint: learned endpoints apply to any flow, in any partition.
    bool learned_any() const noexcept;

private:
    struct State;
    friend bool merge_partitions(std::vector<std::unique_ptr<Detector>>& parts, Detector& into,
                                 std::string& why_not);
    DetectorConfig config_;
    std::vector<StreamInfo> streams_;
    std::vector<std::uint64_t> stream_first_frame_;  // per stream: the capture frame that created it
    std::uint64_t frame_index_ = 0;                  // of the frame being processed
    DetectorCounters counters_;
    std::unique_ptr<State> state_;
};

// The partition (0..parts-1) a decoded packet belongs to: by the unordered pair of its addresses, so both
// directions of a TCP connection, RTP and its RTCP, and the media between two hosts stay together.
std::size_t flow_partition(const DecodedPacket& packet, std::size_t parts) noexcept;

// Merges the partitions of one capture into `into` (a fresh detector with the same configuration): streams
// in the order a single run creates them, counters summed. False, with `why_not` and `into` untouched,
// when the partitions' results may differ from a single run's: an endpoint learned from signalling, RTCP
// naming an SSRC that another partition has a stream for, or flow or stream tables that together could
// have reached their caps. The caller then reads the capture again on one detector.
bool merge_partitions(std::vector<std::unique_ptr<Detector>>& parts, Detector& into, std::string& why_not);

}  // namespace sg::detect

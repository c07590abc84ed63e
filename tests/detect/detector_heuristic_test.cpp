// The heuristic path: UDP flows with no signalling become RTP streams only after N good packets in a row.

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "detect/detector.hpp"
#include "rtp/rtcp.hpp"
#include "rtp/rtp_packet.hpp"
#include "synthetic_capture.hpp"

namespace sg::detect {
namespace {

constexpr std::int64_t k_ms = 1'000'000;
const IpAddress k_src = synth::ipv4(10, 0, 0, 1);
const IpAddress k_dst = synth::ipv4(10, 0, 0, 2);

struct Feeder {
    Detector detector;
    std::vector<std::uint8_t> frame;
    std::vector<std::uint8_t> packet;
    std::int64_t now = 1'000 * k_ms;

    explicit Feeder(DetectorConfig config = {}) : detector(config) {}

    void udp(Bytes payload, std::uint16_t sport = 5004, std::uint16_t dport = 6004) {
        synth::build_udp_frame(frame, k_src, k_dst, sport, dport, payload);
        detector.on_frame(dlt::en10mb, now, frame);
        now += 20 * k_ms;
    }
    void rtp(std::uint16_t seq, std::uint32_t ts, std::uint32_t ssrc = 0x1234, std::uint8_t pt = 0,
             std::uint16_t sport = 5004, std::uint16_t dport = 6004) {
        packet.clear();
        rtp::RtpHeader h;
        h.sequence = seq;
        h.timestamp = ts;
        h.ssrc = ssrc;
        h.payload_type = pt;
        const std::vector<std::uint8_t> payload(160, 0xd5);
        ASSERT_TRUE(rtp::append_rtp(packet, h, payload).ok());
        udp(packet, sport, dport);
    }
};

TEST(DetectorHeuristic, FourConsecutivePacketsMakeAStream) {
    Feeder f;
    for (std::uint16_t i = 0; i < 3; ++i)
        f.rtp(100 + i, 160u * i);
    EXPECT_TRUE(f.detector.streams().empty());  // three are not enough
    f.rtp(103, 480);
    ASSERT_EQ(f.detector.streams().size(), 1u);
    const auto& s = f.detector.streams()[0];
    EXPECT_EQ(s.found_by, FoundBy::heuristic);
    EXPECT_EQ(s.stats.packets(), 4u);  // the packets held while on trial count too
    EXPECT_EQ(s.key.ssrc, 0x1234u);
    EXPECT_EQ(s.key.src_port, 5004);
    EXPECT_EQ(s.codec, "PCMU");  // RFC 3551 static payload type 0
    EXPECT_EQ(s.clock_rate, 8000u);
    f.rtp(104, 640);
    EXPECT_EQ(f.detector.streams()[0].stats.packets(), 5u);
    EXPECT_EQ(f.detector.counters().streams_heuristic, 1u);
}

TEST(DetectorHeuristic, MinPacketsIsConfigurable) {
    DetectorConfig config;
    config.min_packets = 8;
    Feeder f(config);
    for (std::uint16_t i = 0; i < 7; ++i)
        f.rtp(i, 160u * i);
    EXPECT_TRUE(f.detector.streams().empty());
    f.rtp(7, 160u * 7);
    ASSERT_EQ(f.detector.streams().size(), 1u);
    EXPECT_EQ(f.detector.streams()[0].stats.packets(), 8u);
}

TEST(DetectorHeuristic, EachBrokenFeatureRestartsTheRun) {
    {
        Feeder f;  // SSRC changes
        f.rtp(1, 0, 1);
        f.rtp(2, 160, 2);
        f.rtp(3, 320, 1);
        f.rtp(4, 480, 2);
        EXPECT_TRUE(f.detector.streams().empty());
    }
    {
        Feeder f;  // payload type changes
        f.rtp(1, 0, 1, 0);
        f.rtp(2, 160, 1, 8);
        f.rtp(3, 320, 1, 0);
        f.rtp(4, 480, 1, 8);
        EXPECT_TRUE(f.detector.streams().empty());
    }
    {
        Feeder f;  // sequence leaps
        f.rtp(1, 0);
        f.rtp(5000, 160);
        f.rtp(10000, 320);
        f.rtp(15000, 480);
        EXPECT_TRUE(f.detector.streams().empty());
    }
    {
        Feeder f;  // timestamps jump far ahead
        f.rtp(1, 0);
        f.rtp(2, 1'000'000);
        f.rtp(3, 2'000'000);
        f.rtp(4, 3'000'000);
        EXPECT_TRUE(f.detector.streams().empty());
    }
    {
        Feeder f;  // timestamps go back
        f.rtp(1, 100000);
        f.rtp(2, 90000);
        f.rtp(3, 80000);
        f.rtp(4, 70000);
        EXPECT_TRUE(f.detector.streams().empty());
    }
}

TEST(DetectorHeuristic, ADuplicateWhileOnTrialIsKeptButDoesNotCount) {
    Feeder f;
    f.rtp(1, 0);
    f.rtp(2, 160);
    f.rtp(2, 160);  // duplicate
    f.rtp(3, 320);
    EXPECT_TRUE(f.detector.streams().empty());
    f.rtp(4, 480);
    ASSERT_EQ(f.detector.streams().size(), 1u);
    EXPECT_EQ(f.detector.streams()[0].stats.packets(), 5u);
    EXPECT_EQ(f.detector.streams()[0].stats.duplicates(), 1u);
}

TEST(DetectorHeuristic, RandomDatagramsNeverMakeAStream) {
    Feeder f;
    std::mt19937 rng(7);
    std::vector<std::uint8_t> payload;
    for (int i = 0; i < 20000; ++i) {
        payload.resize(12 + rng() % 400);
        for (auto& b : payload)
            b = static_cast<std::uint8_t>(rng());
        payload[0] = static_cast<std::uint8_t>(0x80 | (payload[0] & 0x3f));  // always "version 2"
        // Half on one flow (per-flow state), half on random ports.
        const bool same_flow = i % 2 == 0;
        f.udp(payload, same_flow ? 7000 : static_cast<std::uint16_t>(1024 + rng() % 60000),
              same_flow ? 7002 : static_cast<std::uint16_t>(1024 + rng() % 60000));
    }
    EXPECT_TRUE(f.detector.streams().empty());
    EXPECT_EQ(f.detector.counters().rtp_packets, 0u);
}

TEST(DetectorHeuristic, RtcpOnTheSamePortIsToldApart) {
    Feeder f;
    for (std::uint16_t i = 0; i < 6; ++i) {
        f.rtp(i, 160u * i);
        if (i == 3) {
            // RFC 5761: an SR + SDES compound on the RTP port.
            f.packet.clear();
            ASSERT_TRUE(rtp::append_sender_report(f.packet, 0x1234, rtp::SenderInfo{1, 480, 4, 640}).ok());
            ASSERT_TRUE(rtp::append_sdes_cname(f.packet, 0x1234, "a@b").ok());
            f.udp(f.packet);
        }
    }
    ASSERT_EQ(f.detector.streams().size(), 1u);
    const auto& s = f.detector.streams()[0];
    EXPECT_EQ(s.stats.packets(), 6u);
    EXPECT_EQ(s.stats.lost(), 0);
    EXPECT_EQ(s.rtcp.sender_reports, 1u);
    ASSERT_TRUE(s.rtcp.last_sender_info.has_value());
    EXPECT_EQ(s.rtcp.last_sender_info->packet_count, 4u);
    EXPECT_EQ(f.detector.counters().rtcp_packets, 1u);
}

TEST(DetectorHeuristic, ReceiverReportsAttachToTheReportedStream) {
    Feeder f;
    for (std::uint16_t i = 0; i < 5; ++i)
        f.rtp(i, 160u * i);
    f.packet.clear();
    const rtp::ReportBlock block{0x1234, 12, 3, 5, 40, 0, 0};
    ASSERT_TRUE(rtp::append_receiver_report(f.packet, 0x9999, std::span(&block, 1)).ok());
    f.udp(f.packet, 6005, 5005);  // from the receiver's RTCP port
    const auto& s = f.detector.streams().at(0);
    EXPECT_EQ(s.rtcp.receiver_reports, 1u);
    ASSERT_TRUE(s.rtcp.last_report_block.has_value());
    EXPECT_EQ(s.rtcp.last_report_block->cumulative_lost, 3);
}

TEST(DetectorHeuristic, IdleFlowsExpireButStreamsStay) {
    DetectorConfig config;
    config.flow_timeout_ns = 1'000 * k_ms;
    Feeder f(config);
    for (std::uint16_t i = 0; i < 5; ++i)
        f.rtp(i, 160u * i);
    EXPECT_EQ(f.detector.tracked_flows(), 1u);
    f.now += 5'000 * k_ms;
    f.rtp(1, 0, 0x55, 0, 9000, 9002);  // another flow: its packet triggers the sweep
    EXPECT_EQ(f.detector.tracked_flows(), 1u);
    EXPECT_EQ(f.detector.counters().flows_expired, 1u);
    ASSERT_EQ(f.detector.streams().size(), 1u);
    // The stream comes back on the same record after a new trial.
    for (std::uint16_t i = 5; i < 9; ++i)
        f.rtp(i, 160u * i);
    ASSERT_EQ(f.detector.streams().size(), 1u);
    EXPECT_EQ(f.detector.streams()[0].stats.packets(), 9u);
}

TEST(DetectorHeuristic, FlowCapBoundsMemory) {
    DetectorConfig config;
    config.max_flows = 10;
    Feeder f(config);
    for (std::uint16_t port = 1000; port < 1100; ++port)
        f.rtp(1, 0, 1, 0, port, 2000);
    EXPECT_EQ(f.detector.tracked_flows(), 10u);
    EXPECT_EQ(f.detector.counters().flows_over_cap, 90u);
}

}  // namespace
}  // namespace sg::detect

// The signalling paths: RTSP (UDP media learned from SETUP, interleaved media) and SIP, and TCP
// reassembly under them.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "detect/detector.hpp"
#include "rtp/rtp_packet.hpp"
#include "rtsp/message.hpp"
#include "synthetic_capture.hpp"

namespace sg::detect {
namespace {

constexpr std::int64_t k_ms = 1'000'000;
const IpAddress k_client = synth::ipv4(10, 0, 0, 1);
const IpAddress k_server = synth::ipv4(10, 0, 0, 2);
constexpr std::uint16_t k_client_port = 45000;

const std::string k_sdp =
    "v=0\r\no=- 1 1 IN IP4 10.0.0.2\r\ns=test\r\nt=0 0\r\n"
    "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:stream=0\r\n";

std::string describe_reply() {
    return "RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Type: application/sdp\r\nContent-Length: " +
           std::to_string(k_sdp.size()) + "\r\n\r\n" + k_sdp;
}

struct Conversation {
    Detector detector;
    std::vector<std::uint8_t> frame;
    std::int64_t now = 1'000 * k_ms;
    std::uint32_t client_seq = 1000;
    std::uint32_t server_seq = 5000;
    bool v6 = false;

    IpAddress client() const { return v6 ? synth::ipv6(1, 1) : k_client; }
    IpAddress server() const { return v6 ? synth::ipv6(2, 2) : k_server; }

    void open() {
        tcp(true, {}, k_tcp_syn);
        tcp(false, {}, k_tcp_syn);
    }
    // Sends `data` in one segment (or as given pieces when `split` > 0).
    void tcp(bool from_client, const std::string& data, std::uint8_t flags = 0) {
        auto& seq = from_client ? client_seq : server_seq;
        const auto* bytes = reinterpret_cast<const std::uint8_t*>(data.data());
        if (from_client)
            synth::build_tcp_frame(frame, client(), server(), k_client_port, 554, seq, flags,
                                   Bytes(bytes, data.size()));
        else
            synth::build_tcp_frame(frame, server(), client(), 554, k_client_port, seq, flags,
                                   Bytes(bytes, data.size()));
        detector.on_frame(dlt::en10mb, now, frame);
        seq += static_cast<std::uint32_t>(data.size()) + ((flags & k_tcp_syn) != 0 ? 1 : 0);
        now += k_ms;
    }
    void udp(const IpAddress& src, std::uint16_t sport, const IpAddress& dst, std::uint16_t dport,
             Bytes payload) {
        synth::build_udp_frame(frame, src, dst, sport, dport, payload);
        detector.on_frame(dlt::en10mb, now, frame);
        now += 10 * k_ms;
    }
};

std::vector<std::uint8_t> rtp_packet(std::uint16_t seq, std::uint32_t ssrc, std::uint8_t pt = 96) {
    std::vector<std::uint8_t> out;
    rtp::RtpHeader h;
    h.sequence = seq;
    h.timestamp = 3000u * seq;
    h.ssrc = ssrc;
    h.payload_type = pt;
    const std::vector<std::uint8_t> payload(100, 7);
    (void)rtp::append_rtp(out, h, payload);
    return out;
}

TEST(DetectorSignalling, RtspSetupTeachesUdpPorts) {
    for (const bool v6 : {false, true}) {
        Conversation c;
        c.v6 = v6;
        c.open();
        c.tcp(true, "DESCRIBE rtsp://10.0.0.2/test RTSP/1.0\r\nCSeq: 2\r\n\r\n");
        c.tcp(false, describe_reply());
        c.tcp(true,
              "SETUP rtsp://10.0.0.2/test/stream=0 RTSP/1.0\r\nCSeq: 3\r\n"
              "Transport: RTP/AVP;unicast;client_port=50000-50001\r\n\r\n");
        c.tcp(false,
              "RTSP/1.0 200 OK\r\nCSeq: 3\r\nSession: 1\r\n"
              "Transport: RTP/AVP;unicast;client_port=50000-50001;server_port=7000-7001\r\n\r\n");
        EXPECT_EQ(c.detector.counters().rtsp_setups, 1u);
        EXPECT_EQ(c.detector.learned_endpoint_count(), 4u);
        // Two packets: far below the heuristic's four, but the signalling vouches for the flow.
        for (std::uint16_t i = 0; i < 2; ++i) {
            const auto p = rtp_packet(i, 0xabc);
            c.udp(c.server(), 7000, c.client(), 50000, p);
        }
        ASSERT_EQ(c.detector.streams().size(), 1u) << v6;
        const auto& s = c.detector.streams()[0];
        EXPECT_EQ(s.found_by, FoundBy::rtsp);
        EXPECT_EQ(s.codec, "H264");
        EXPECT_EQ(s.clock_rate, 90000u);
        EXPECT_EQ(s.stats.packets(), 2u);
        EXPECT_EQ(s.key.dst_port, 50000);
        EXPECT_EQ(c.detector.counters().streams_rtsp, 1u);
    }
}

TEST(DetectorSignalling, InterleavedFramesAcrossSegments) {
    Conversation c;
    c.open();
    c.tcp(true, "DESCRIBE rtsp://10.0.0.2/test RTSP/1.0\r\nCSeq: 2\r\n\r\n");
    c.tcp(false, describe_reply());
    c.tcp(true,
          "SETUP rtsp://10.0.0.2/test/stream=0 RTSP/1.0\r\nCSeq: 3\r\n"
          "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n");
    c.tcp(
        false,
        "RTSP/1.0 200 OK\r\nCSeq: 3\r\nSession: 1\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n");
    c.tcp(true, "PLAY rtsp://10.0.0.2/test RTSP/1.0\r\nCSeq: 4\r\nSession: 1\r\n\r\n");
    std::vector<std::uint8_t> wire;
    const std::string play_reply = "RTSP/1.0 200 OK\r\nCSeq: 4\r\nSession: 1\r\n\r\n";
    wire.insert(wire.end(), play_reply.begin(), play_reply.end());
    for (std::uint16_t i = 0; i < 10; ++i)
        ASSERT_TRUE(rtsp::append_interleaved(wire, 0, rtp_packet(i, 0x77)));
    // Cut the server's bytes into 97-octet segments and deliver them with two swapped.
    const std::string all(wire.begin(), wire.end());
    std::vector<std::pair<std::uint32_t, std::string>> segments;
    for (std::size_t at = 0; at < all.size(); at += 97) {
        segments.emplace_back(c.server_seq + static_cast<std::uint32_t>(at), all.substr(at, 97));
    }
    std::swap(segments[2], segments[3]);
    for (const auto& [seq, data] : segments) {
        c.server_seq = seq;
        c.tcp(false, data);
    }
    ASSERT_EQ(c.detector.streams().size(), 1u);
    const auto& s = c.detector.streams()[0];
    EXPECT_EQ(s.found_by, FoundBy::rtsp_interleaved);
    EXPECT_TRUE(s.key.tcp);
    EXPECT_EQ(s.stats.packets(), 10u);
    EXPECT_EQ(s.stats.lost(), 0);
    EXPECT_EQ(s.codec, "H264");
    EXPECT_EQ(s.key.src_port, 554);
}

TEST(DetectorSignalling, CaptureStartingMidConnectionResynchronises) {
    Conversation c;
    // No SYN, and the first segment starts inside a frame: the detector must find the next "$".
    std::vector<std::uint8_t> wire;
    for (std::uint16_t i = 0; i < 6; ++i)
        ASSERT_TRUE(rtsp::append_interleaved(wire, 0, rtp_packet(i, 0x88)));
    const std::string all(wire.begin() + 50, wire.end());  // cut into the first frame
    c.tcp(false, all);
    ASSERT_EQ(c.detector.streams().size(), 1u);
    EXPECT_EQ(c.detector.streams()[0].stats.packets(), 5u);
}

TEST(DetectorSignalling, UnrelatedTcpIsIgnored) {
    Conversation c;
    std::vector<std::uint8_t> wire;
    for (std::uint16_t i = 0; i < 6; ++i)
        ASSERT_TRUE(rtsp::append_interleaved(wire, 0, rtp_packet(i, 0x88)));
    const std::string http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n" + std::string(wire.begin(), wire.end());
    synth::build_tcp_frame(c.frame, k_client, k_server, 40000, 80, 1, 0,
                           Bytes(reinterpret_cast<const std::uint8_t*>(http.data()), http.size()));
    c.detector.on_frame(dlt::en10mb, c.now, c.frame);
    EXPECT_TRUE(c.detector.streams().empty());
}

const std::string k_sip_sdp =
    "v=0\r\no=- 1 1 IN IP4 10.0.0.9\r\ns=call\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\n"
    "m=audio 30000 RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\n";

TEST(DetectorSignalling, SipOverUdpTeachesCallMedia) {
    Conversation c;
    const std::string invite =
        "INVITE sip:bob@10.0.0.9 SIP/2.0\r\nContent-Type: application/sdp\r\nContent-Length: " +
        std::to_string(k_sip_sdp.size()) + "\r\n\r\n" + k_sip_sdp;
    c.udp(k_client, 5060, synth::ipv4(10, 0, 0, 9), 5060,
          Bytes(reinterpret_cast<const std::uint8_t*>(invite.data()), invite.size()));
    EXPECT_EQ(c.detector.counters().sip_messages, 1u);
    const auto p = rtp_packet(1, 0x5151, 8);
    c.udp(synth::ipv4(10, 0, 0, 77), 4000, synth::ipv4(10, 0, 0, 9), 30000, p);
    ASSERT_EQ(c.detector.streams().size(), 1u);
    EXPECT_EQ(c.detector.streams()[0].found_by, FoundBy::sip);
    EXPECT_EQ(c.detector.streams()[0].codec, "PCMA");
}

TEST(DetectorSignalling, SipOverTcpTeachesCallMedia) {
    Conversation c;
    const std::string invite =
        "INVITE sip:bob@10.0.0.9 SIP/2.0\r\nContent-Type: application/sdp\r\nContent-Length: " +
        std::to_string(k_sip_sdp.size()) + "\r\n\r\n" + k_sip_sdp;
    // Two segments, the split inside the body.
    const auto send = [&](std::uint32_t seq, const std::string& data) {
        synth::build_tcp_frame(c.frame, k_client, synth::ipv4(10, 0, 0, 9), 41000, 5060, seq, 0,
                               Bytes(reinterpret_cast<const std::uint8_t*>(data.data()), data.size()));
        c.detector.on_frame(dlt::en10mb, c.now, c.frame);
    };
    send(1, invite.substr(0, 100));
    send(101, invite.substr(100));
    EXPECT_EQ(c.detector.counters().sip_messages, 1u);
    const auto p = rtp_packet(1, 0x5152, 8);
    c.udp(synth::ipv4(10, 0, 0, 9), 30000, synth::ipv4(10, 0, 0, 77), 4000, p);
    ASSERT_EQ(c.detector.streams().size(), 1u);
    EXPECT_EQ(c.detector.streams()[0].found_by, FoundBy::sip);
}

}  // namespace
}  // namespace sg::detect

// Per-item cost of the protocol parsers on realistic inputs. These are regression baselines for the hot
// paths (every relayed RTSP message and RTP/RTCP packet goes through them); the comparisons against peers
// that the product's speed targets are stated in live in the gateway, server and detector benchmarks.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "rtp/receiver_stats.hpp"
#include "rtp/rtcp.hpp"
#include "rtp/rtp_packet.hpp"
#include "rtsp/message.hpp"
#include "sdp/sdp.hpp"
#include "socks5/socks5.hpp"

namespace {

constexpr std::string_view k_describe_reply =
    "RTSP/1.0 200 OK\r\n"
    "CSeq: 3\r\n"
    "Content-Base: rtsp://198.18.3.2:8554/test/\r\n"
    "Content-Type: application/sdp\r\n"
    "Server: GStreamer RTSP server\r\n"
    "Date: Sat, 21 Nov 2026 20:00:00 GMT\r\n"
    "Content-Length: 397\r\n"
    "\r\n"
    "v=0\r\n"
    "o=- 1188340656180883 1 IN IP4 198.18.3.2\r\n"
    "s=Session streamed with GStreamer\r\n"
    "i=rtsp-server\r\n"
    "t=0 0\r\n"
    "a=tool:GStreamer\r\n"
    "a=type:broadcast\r\n"
    "a=range:npt=now-\r\n"
    "a=control:rtsp://198.18.3.2:8554/test\r\n"
    "m=video 0 RTP/AVP 96\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=rtpmap:96 H264/90000\r\n"
    "a=framerate:25\r\n"
    "a=fmtp:96 packetization-mode=1;sprop-parameter-sets=Z2QADazZQUH7ARAAAAMAEAAAAwMg8UKZYA==,aOvjyyLA;"
    "profile-level-id=64000d\r\n"
    "a=control:rtsp://198.18.3.2:8554/test/stream=0\r\n"
    "a=ts-refclk:local\r\n"
    "a=mediaclk:sender\r\n";

std::string_view sdp_part() {
    return k_describe_reply.substr(k_describe_reply.find("v=0"));
}

void BM_RtspParseDescribeReply(benchmark::State& state) {
    for (auto _ : state) {
        auto item = sg::rtsp::parse_item(k_describe_reply);
        benchmark::DoNotOptimize(item);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * k_describe_reply.size()));
}
BENCHMARK(BM_RtspParseDescribeReply);

void BM_RtspParseInterleavedFrame(benchmark::State& state) {
    std::vector<std::uint8_t> stream;
    const std::vector<std::uint8_t> payload(1400, 0x55);
    (void)sg::rtsp::append_interleaved(stream, 0, payload);
    for (auto _ : state) {
        auto item = sg::rtsp::parse_item(sg::Bytes(stream));
        benchmark::DoNotOptimize(item);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * stream.size()));
}
BENCHMARK(BM_RtspParseInterleavedFrame);

void BM_SdpParse(benchmark::State& state) {
    const auto text = sdp_part();
    for (auto _ : state) {
        auto sd = sg::sdp::parse(text);
        benchmark::DoNotOptimize(sd);
    }
}
BENCHMARK(BM_SdpParse);

std::vector<std::uint8_t> rtp_packet(std::uint16_t seq) {
    std::vector<std::uint8_t> out;
    const std::vector<std::uint8_t> payload(1200, 0xab);
    sg::rtp::RtpHeader header;
    header.payload_type = 96;
    header.sequence = seq;
    header.timestamp = seq * 3600u;
    header.ssrc = 0x1234abcd;
    (void)sg::rtp::append_rtp(out, header, payload);
    return out;
}

void BM_RtpParse(benchmark::State& state) {
    const auto packet = rtp_packet(1);
    for (auto _ : state) {
        auto view = sg::rtp::parse_rtp(packet);
        benchmark::DoNotOptimize(view);
    }
}
BENCHMARK(BM_RtpParse);

void BM_RtpParseAndReceiverStats(benchmark::State& state) {
    std::vector<std::vector<std::uint8_t>> packets;
    for (std::uint16_t i = 0; i < 1024; ++i)
        packets.push_back(rtp_packet(i));
    sg::rtp::ReceiverStats stats(0x1234abcd);
    std::uint32_t arrival = 0;
    std::size_t i = 0;
    for (auto _ : state) {
        const auto view = sg::rtp::parse_rtp(packets[i++ % packets.size()]);
        if (view) stats.on_packet(view->sequence(), view->timestamp(), arrival += 3600);
    }
    benchmark::DoNotOptimize(stats.received());
}
BENCHMARK(BM_RtpParseAndReceiverStats);

void BM_RtcpValidateSrSdes(benchmark::State& state) {
    std::vector<std::uint8_t> compound;
    (void)sg::rtp::append_sender_report(compound, 0x1234abcd, sg::rtp::SenderInfo{1, 2, 3, 4});
    (void)sg::rtp::append_sdes_cname(compound, 0x1234abcd, "streamgate@198.18.3.2");
    for (auto _ : state) {
        auto parsed = sg::rtp::validate_compound(compound);
        benchmark::DoNotOptimize(parsed);
    }
}
BENCHMARK(BM_RtcpValidateSrSdes);

void BM_SocksParseRequestDomain(benchmark::State& state) {
    std::vector<std::uint8_t> request;
    const auto target = sg::socks::Address::from_domain("origin4.test", 8554);
    (void)sg::socks::build_request(request, sg::socks::Command::connect, *target);
    for (auto _ : state) {
        auto parsed = sg::socks::parse_request(request);
        benchmark::DoNotOptimize(parsed);
    }
}
BENCHMARK(BM_SocksParseRequestDomain);

}  // namespace

BENCHMARK_MAIN();

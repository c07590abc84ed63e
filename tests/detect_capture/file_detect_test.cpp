// A mapped capture file read on one thread and split by flow across several gives byte for byte the same
// table and JSON report, and the same as libpcap's reader (what `detect -r` used before); a capture whose
// signalling teaches endpoints falls back to one thread and still reports the same.

#include "detect_capture/file_detect.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "detect/report_table.hpp"
#include "detect_capture/mapped_file.hpp"
#include "detect_capture/pcap_source.hpp"
#include "detect_capture/report_json.hpp"
#include "rtp/rtp_packet.hpp"
#include "synthetic_capture.hpp"

namespace sg::detect {
namespace {

// A short flow timeout, so flows expire all through the capture: the partitions must sweep at the single
// run's capture times for the counts to agree.
DetectorConfig test_config() {
    DetectorConfig config;
    config.flow_timeout_ns = 2'000'000'000;
    return config;
}

struct TempFile {
    std::string path;
    TempFile() {
        char name[] = "/tmp/sg-file-detect-XXXXXX";
        const int fd = ::mkstemp(name);
        EXPECT_GE(fd, 0);
        ::close(fd);
        path = name;
    }
    ~TempFile() { std::remove(path.c_str()); }
};

// The whole report as `streamgate detect` prints it (wall-clock fields left out: they differ run to run).
std::string report(const Detector& detector, std::int64_t first_ns, std::int64_t last_ns,
                   const std::string& error) {
    RunSummary summary;
    summary.source = "capture";
    summary.link_type = "EN10MB";
    summary.first_time_ns = first_ns;
    summary.last_time_ns = last_ns;
    summary.error = error;
    return format_table(detector.streams(), first_ns) + to_json(detector, summary);
}

std::string mapped_report(const std::string& path, unsigned threads, unsigned* threads_used = nullptr,
                          std::string* why = nullptr) {
    std::string error;
    const auto mapped = MappedFile::open(path, error);
    EXPECT_NE(mapped, nullptr) << error;
    if (!mapped) return {};
    FileDetectOptions options;
    options.threads = threads;
    options.min_parallel_bytes = 0;
    const auto result = detect_file(mapped->bytes(), test_config(), options);
    if (threads_used != nullptr) *threads_used = result.threads;
    if (why != nullptr) *why = result.single_why;
    return report(*result.detector, result.first_time_ns, result.last_time_ns, result.error);
}

std::string libpcap_report(const std::string& path) {
    std::string error;
    auto source = PcapSource::open_file(path, error);
    EXPECT_NE(source, nullptr) << error;
    if (!source) return {};
    Detector detector(test_config());
    std::int64_t t = 0;
    std::int64_t first = 0;
    std::int64_t last = 0;
    bool have = false;
    Bytes frame;
    PcapSource::Next next{};
    while ((next = source->next(t, frame)) == PcapSource::Next::frame) {
        if (!have) first = t;
        have = true;
        last = t;
        detector.on_frame(source->link_type(), t, frame);
    }
    return report(detector, first, last, next == PcapSource::Next::error ? "error" : "");
}

void write_synthetic(const std::string& path, std::uint64_t seed) {
    synth::Options o;
    o.seed = seed;
    o.streams = 60;
    o.packets_per_stream = 300;
    o.noise_packets = 20000;
    o.dns_packets = 2000;
    o.duration_ns = 30'000'000'000;
    synth::Generator generator(o);
    synth::PcapWriter writer(path);
    ASSERT_TRUE(writer.ok());
    synth::Frame frame;
    while (generator.next(frame))
        writer.write(frame);
}

TEST(FileDetect, ThreadsGiveTheSingleRunsReport) {
    for (const std::uint64_t seed : {7u, 8u}) {
        TempFile file;
        write_synthetic(file.path, seed);
        const std::string one = mapped_report(file.path, 1);
        ASSERT_FALSE(one.empty());
        EXPECT_NE(one.find("\"heuristic\": 60"), std::string::npos) << "the capture's streams were found";
        EXPECT_EQ(one.find("\"flows_expired\": 0"), std::string::npos) << "flows expired during the capture";
        EXPECT_EQ(one, libpcap_report(file.path)) << "the mapped reader reads what libpcap reads";
        for (const unsigned threads : {2u, 3u, 8u}) {
            unsigned used = 0;
            std::string why;
            EXPECT_EQ(mapped_report(file.path, threads, &used, &why), one) << threads;
            EXPECT_EQ(used, threads) << "the split result was kept, not redone on one thread: " << why;
        }
    }
}

TEST(FileDetect, LearnedEndpointsFallBackToOneThread) {
    TempFile file;
    {
        synth::PcapWriter writer(file.path);
        synth::Frame frame;
        frame.time_ns = 1'000'000'000;
        const IpAddress client = synth::ipv4(10, 0, 0, 1);
        const IpAddress server = synth::ipv4(10, 0, 0, 2);
        std::uint32_t cseq = 1000;
        std::uint32_t sseq = 5000;
        const auto tcp = [&](bool from_client, const std::string& text) {
            const Bytes data(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
            if (from_client)
                synth::build_tcp_frame(frame.bytes, client, server, 45000, 554, cseq, 0, data);
            else
                synth::build_tcp_frame(frame.bytes, server, client, 554, 45000, sseq, 0, data);
            (from_client ? cseq : sseq) += static_cast<std::uint32_t>(text.size());
            writer.write(frame);
            frame.time_ns += 1'000'000;
        };
        tcp(true,
            "SETUP rtsp://10.0.0.2/a RTSP/1.0\r\nCSeq: 3\r\nTransport: "
            "RTP/AVP;unicast;client_port=50000-50001\r\n\r\n");
        tcp(false,
            "RTSP/1.0 200 OK\r\nCSeq: 3\r\nTransport: RTP/AVP;unicast;client_port=50000-50001;"
            "server_port=7000-7001\r\n\r\n");
        // Media to the learned client port from a third host (another address pair, so possibly another
        // partition): only the learned endpoint makes two packets a stream.
        for (std::uint16_t i = 0; i < 2; ++i) {
            std::vector<std::uint8_t> packet;
            rtp::RtpHeader h;
            h.sequence = i;
            h.timestamp = 3000u * i;
            h.ssrc = 0x1234;
            h.payload_type = 96;
            const std::vector<std::uint8_t> payload(100, 7);
            ASSERT_TRUE(rtp::append_rtp(packet, h, payload));
            synth::build_udp_frame(frame.bytes, synth::ipv4(10, 0, 0, 3), client, 7000, 50000, packet);
            writer.write(frame);
            frame.time_ns += 10'000'000;
        }
    }
    const std::string one = mapped_report(file.path, 1);
    EXPECT_NE(one.find("\"rtsp\": 1"), std::string::npos) << one;
    unsigned used = 0;
    std::string why;
    EXPECT_EQ(mapped_report(file.path, 4, &used, &why), one);
    EXPECT_EQ(used, 1u);
    EXPECT_FALSE(why.empty());
}

}  // namespace
}  // namespace sg::detect

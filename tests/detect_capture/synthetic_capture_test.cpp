// Precision and recall on synthetic captures with a known truth: every generated stream found with exact
// packet, loss, duplicate and reorder counts, and no stream made of DNS or random noise. Run both in memory
// and through a pcap file read by libpcap (the path `streamgate detect -r` takes).

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <string>
#include <tuple>

#include "detect/detector.hpp"
#include "detect_capture/pcap_source.hpp"
#include "synthetic_capture.hpp"

namespace sg::detect {
namespace {

using Key = std::tuple<std::string, std::uint16_t, std::string, std::uint16_t, std::uint32_t>;

synth::Options test_options(std::uint64_t seed) {
    synth::Options o;
    o.seed = seed;
    o.streams = 40;
    o.packets_per_stream = 400;
    o.loss = 0.02;
    o.duplicate = 0.01;
    o.reorder = 0.01;
    o.noise_packets = 30000;
    o.dns_packets = 2000;
    return o;
}

void check_against_truth(const Detector& detector, const std::vector<synth::StreamTruth>& truth) {
    std::map<Key, const StreamInfo*> found;
    for (const auto& s : detector.streams())
        found[{to_string(s.key.src), s.key.src_port, to_string(s.key.dst), s.key.dst_port, s.key.ssrc}] = &s;
    std::size_t true_positives = 0;
    std::uint64_t impairments = 0;
    for (const auto& t : truth) {
        const Key key{to_string(t.src), t.src_port, to_string(t.dst), t.dst_port, t.ssrc};
        const auto it = found.find(key);
        if (it == found.end()) {
            ADD_FAILURE() << "stream not found: " << std::get<0>(key) << ":" << t.src_port << " ssrc "
                          << t.ssrc;
            continue;
        }
        ++true_positives;
        const auto& st = it->second->stats;
        EXPECT_EQ(st.packets(), t.packets) << std::get<0>(key);
        EXPECT_EQ(st.expected(), t.expected) << std::get<0>(key);
        EXPECT_EQ(st.lost(), t.lost) << std::get<0>(key);
        EXPECT_EQ(st.duplicates(), t.duplicates) << std::get<0>(key);
        EXPECT_EQ(st.reordered(), t.reordered) << std::get<0>(key);
        EXPECT_EQ(it->second->found_by, FoundBy::heuristic);
        EXPECT_EQ(it->second->payload_type, t.payload_type);
        // Without signalling only RFC 3551's static payload types have a known clock rate.
        const std::uint32_t clock_rate = t.payload_type < 96 ? t.clock_rate : 0;
        EXPECT_EQ(it->second->clock_rate, clock_rate);
        if (t.sequence_wraps) {
            EXPECT_EQ(st.wraps(), 1u) << std::get<0>(key);
        }
        // Perfectly paced streams have no jitter; jittered ones do.
        if (clock_rate != 0 && !t.jittered && t.duplicates == 0 && t.reordered == 0) {
            EXPECT_LT(st.max_jitter_ms(), 1e-6) << std::get<0>(key);
        }
        if (clock_rate != 0 && t.jittered) {
            EXPECT_GT(st.max_jitter_ms(), 0.01) << std::get<0>(key);
        }
        // Every stream sent SRs from its RTCP port: they reach the stream by SSRC.
        EXPECT_GT(it->second->rtcp.sender_reports, 0u);
        impairments += t.dropped + t.duplicates + t.reordered;
    }
    // Precision and recall are both exactly 1: nothing made of noise, nothing missed.
    EXPECT_EQ(true_positives, truth.size());
    EXPECT_EQ(detector.streams().size(), truth.size()) << "false streams";
    EXPECT_GT(impairments, 0u) << "the generator must exercise loss, duplicates and reordering";
}

TEST(SyntheticCapture, InMemoryPrecisionAndRecall) {
    for (const std::uint64_t seed : {1u, 2u, 3u}) {
        synth::Generator generator(test_options(seed));
        Detector detector;
        synth::Frame frame;
        while (generator.next(frame))
            detector.on_frame(dlt::en10mb, frame.time_ns, frame.bytes);
        SCOPED_TRACE(seed);
        check_against_truth(detector, generator.truth());
        EXPECT_EQ(detector.counters().rtp_packets, [&] {
            std::uint64_t n = 0;
            for (const auto& t : generator.truth())
                n += t.packets;
            return n;
        }());
    }
}

TEST(SyntheticCapture, ThroughAPcapFile) {
    char path[] = "/tmp/sg-detect-test-XXXXXX";
    const int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    ::close(fd);
    synth::Generator generator(test_options(11));
    std::uint64_t written = 0;
    {
        synth::PcapWriter writer(path);
        ASSERT_TRUE(writer.ok());
        synth::Frame frame;
        while (generator.next(frame)) {
            writer.write(frame);
            ++written;
        }
    }
    std::string error;
    auto source = PcapSource::open_file(path, error);
    ASSERT_NE(source, nullptr) << error;
    EXPECT_EQ(source->link_type(), dlt::en10mb);
    Detector detector;
    std::int64_t t = 0;
    Bytes frame;
    while (source->next(t, frame) == PcapSource::Next::frame)
        detector.on_frame(source->link_type(), t, frame);
    EXPECT_EQ(detector.counters().frames, written);
    check_against_truth(detector, generator.truth());
    std::remove(path);
}

TEST(SyntheticCapture, TruncatedAndGarbageFilesAreErrors) {
    char path[] = "/tmp/sg-detect-test-XXXXXX";
    const int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    ::close(fd);
    synth::Options options = test_options(5);
    options.streams = 2;
    options.packets_per_stream = 50;
    options.noise_packets = 0;
    options.dns_packets = 0;
    {
        synth::PcapWriter writer(path);
        synth::Generator generator(options);
        synth::Frame frame;
        while (generator.next(frame))
            writer.write(frame);
    }
    // Cut the file in the middle of a record.
    std::FILE* f = std::fopen(path, "rb");
    ASSERT_NE(f, nullptr);
    std::fseek(f, 0, SEEK_END);
    const long size = std::ftell(f);
    std::fclose(f);
    ASSERT_EQ(::truncate(path, size - 37), 0);
    std::string error;
    auto source = PcapSource::open_file(path, error);
    ASSERT_NE(source, nullptr) << error;
    std::int64_t t = 0;
    Bytes frame;
    std::size_t frames = 0;
    PcapSource::Next next{};
    while ((next = source->next(t, frame)) == PcapSource::Next::frame)
        ++frames;
    EXPECT_EQ(next, PcapSource::Next::error);
    EXPECT_FALSE(source->error().empty());
    EXPECT_GT(frames, 50u);
    // Not a capture at all.
    f = std::fopen(path, "wb");
    ASSERT_NE(f, nullptr);
    std::fputs("this is not a capture file\n", f);
    std::fclose(f);
    EXPECT_EQ(PcapSource::open_file(path, error), nullptr);
    EXPECT_FALSE(error.empty());
    std::remove(path);
}

}  // namespace
}  // namespace sg::detect

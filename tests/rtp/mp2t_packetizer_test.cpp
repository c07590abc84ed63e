// MPEG-2 TS over RTP (RFC 2250 §2): whole 188-byte packets, at most seven per payload, no marker, resync.
#include "rtp/mp2t_packetizer.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace sg::rtp {
namespace {

// `count` TS packets, each starting with the sync byte and then its own number in every byte, so a
// reassembled stream shows which packets arrived in which order.
std::vector<std::uint8_t> ts_packets(std::size_t count, std::size_t first = 0) {
    std::vector<std::uint8_t> bytes;
    for (std::size_t i = first; i < first + count; ++i) {
        bytes.push_back(k_ts_sync_byte);
        bytes.insert(bytes.end(), k_ts_packet_size - 1, static_cast<std::uint8_t>(i));
    }
    return bytes;
}

std::vector<std::uint8_t> joined(const PayloadList& out) {
    std::vector<std::uint8_t> bytes;
    for (std::size_t i = 0; i < out.size(); ++i)
        bytes.insert(bytes.end(), out.payload(i).begin(), out.payload(i).end());
    return bytes;
}

TEST(Mp2tPacketizer, SevenPacketsPerPayloadNoMarker) {
    Mp2tPacketizer packetizer;  // 1400 B limit: 7 x 188 = 1316
    EXPECT_EQ(packetizer.packets_per_payload(), 7U);
    const auto stream = ts_packets(16);
    PayloadList out;
    ASSERT_TRUE(packetizer.packetize(stream, out));
    ASSERT_EQ(out.size(), 3U);  // 7 + 7 + 2
    EXPECT_EQ(out.payload(0).size(), 1316U);
    EXPECT_EQ(out.payload(1).size(), 1316U);
    EXPECT_EQ(out.payload(2).size(), 2 * k_ts_packet_size);
    for (std::size_t i = 0; i < out.size(); ++i) {
        EXPECT_FALSE(out.chunk(i).marker);
        EXPECT_EQ(out.chunk(i).timestamp_offset, 0U);
    }
    EXPECT_EQ(joined(out), stream);
    EXPECT_EQ(packetizer.pending_bytes(), 0U);
    EXPECT_EQ(packetizer.skipped_bytes(), 0U);
}

TEST(Mp2tPacketizer, PayloadLimitPicksPacketsPerPayload) {
    EXPECT_EQ(Mp2tPacketizer(188 * 3 + 187).packets_per_payload(), 3U);
    EXPECT_EQ(Mp2tPacketizer(100).packets_per_payload(), 1U);  // a TS packet is never split
    EXPECT_EQ(Mp2tPacketizer(65000).packets_per_payload(), 7U);
    Mp2tPacketizer packetizer(2 * k_ts_packet_size);
    PayloadList out;
    ASSERT_TRUE(packetizer.packetize(ts_packets(5), out));
    ASSERT_EQ(out.size(), 3U);
    EXPECT_EQ(out.payload(2).size(), k_ts_packet_size);
}

TEST(Mp2tPacketizer, CarriesAPartialPacketToTheNextCall) {
    Mp2tPacketizer packetizer;
    const auto stream = ts_packets(3);
    PayloadList out;
    ASSERT_TRUE(packetizer.packetize(Bytes(stream).first(300), out));
    ASSERT_EQ(out.size(), 1U);
    EXPECT_EQ(out.payload(0).size(), k_ts_packet_size);
    EXPECT_EQ(packetizer.pending_bytes(), 300 - k_ts_packet_size);
    std::vector<std::uint8_t> received = joined(out);
    ASSERT_TRUE(packetizer.packetize(Bytes(stream).subspan(300), out));
    ASSERT_EQ(out.size(), 1U);
    EXPECT_EQ(out.payload(0).size(), 2 * k_ts_packet_size);
    const auto rest = joined(out);
    received.insert(received.end(), rest.begin(), rest.end());
    EXPECT_EQ(received, stream);
    EXPECT_EQ(packetizer.pending_bytes(), 0U);
    ASSERT_TRUE(packetizer.packetize({}, out));
    EXPECT_TRUE(out.empty());
}

TEST(Mp2tPacketizer, ByteByByteInputGivesTheSameStream) {
    Mp2tPacketizer packetizer;
    const auto stream = ts_packets(9);
    std::vector<std::uint8_t> received;
    PayloadList out;
    for (const std::uint8_t byte : stream) {
        ASSERT_TRUE(packetizer.packetize(Bytes(&byte, 1), out));
        const auto bytes = joined(out);
        received.insert(received.end(), bytes.begin(), bytes.end());
    }
    EXPECT_EQ(received, stream);
}

TEST(Mp2tPacketizer, SkipsGarbageAndResynchronises) {
    Mp2tPacketizer packetizer;
    auto stream = ts_packets(2);
    // Garbage with a false sync byte in it (not followed by another one 188 bytes later), then packets.
    std::vector<std::uint8_t> garbage(50, 0x00);
    garbage[10] = k_ts_sync_byte;
    stream.insert(stream.end(), garbage.begin(), garbage.end());
    const auto tail = ts_packets(3, 2);
    stream.insert(stream.end(), tail.begin(), tail.end());
    PayloadList out;
    ASSERT_TRUE(packetizer.packetize(stream, out));
    EXPECT_EQ(joined(out), ts_packets(5));
    EXPECT_EQ(packetizer.skipped_bytes(), 50U);
    EXPECT_EQ(packetizer.resyncs(), 1U);
    EXPECT_EQ(packetizer.pending_bytes(), 0U);
}

TEST(Mp2tPacketizer, WaitsForConfirmationAfterLosingSync) {
    Mp2tPacketizer packetizer;
    std::vector<std::uint8_t> stream(7, 0xff);  // misaligned start
    const auto packets = ts_packets(2);
    stream.insert(stream.end(), packets.begin(), packets.end());
    PayloadList out;
    // Up to the first packet only: its sync byte cannot be confirmed yet, so nothing is sent.
    ASSERT_TRUE(packetizer.packetize(Bytes(stream).first(7 + k_ts_packet_size), out));
    EXPECT_TRUE(out.empty());
    EXPECT_EQ(packetizer.pending_bytes(), k_ts_packet_size);
    ASSERT_TRUE(packetizer.packetize(Bytes(stream).subspan(7 + k_ts_packet_size), out));
    EXPECT_EQ(joined(out), packets);
    EXPECT_EQ(packetizer.skipped_bytes(), 7U);
}

TEST(Mp2tPacketizer, NoSyncByteAtAllSendsNothingAndStaysBounded) {
    Mp2tPacketizer packetizer;
    const std::vector<std::uint8_t> noise(10000, 0x12);
    PayloadList out;
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(packetizer.packetize(noise, out));
        EXPECT_TRUE(out.empty());
        EXPECT_LT(packetizer.pending_bytes(), k_ts_packet_size);
    }
    packetizer.reset();
    EXPECT_EQ(packetizer.pending_bytes(), 0U);
    ASSERT_TRUE(packetizer.packetize(ts_packets(1), out));
    EXPECT_EQ(out.size(), 1U);  // after reset a stream starts on a packet boundary again
}

}  // namespace
}  // namespace sg::rtp

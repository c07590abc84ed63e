#include "mssr/rtp_adu.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace sg::mssr {
namespace {

// An RTP packet: version 2, payload type 96, `seq`, `ts`, SSRC 0x11223344, `payload_size` octets of `fill`.
std::vector<std::uint8_t> rtp(std::uint16_t seq, std::uint32_t ts, bool marker, std::size_t payload_size,
                              std::uint8_t fill = 0xab) {
    std::vector<std::uint8_t> p{0x80, static_cast<std::uint8_t>((marker ? 0x80 : 0) | 96)};
    ByteWriter w(p);
    w.put_u16(seq);
    w.put_u32(ts);
    w.put_u32(0x11223344);
    p.insert(p.end(), payload_size, fill);
    return p;
}

std::vector<std::vector<std::uint8_t>> unpack(const Adu& adu, const std::vector<bool>& received = {},
                                              std::size_t fragment_size = 0) {
    std::vector<std::vector<std::uint8_t>> out;
    for_each_rtp_packet(adu.data, adu.rtp_timestamp, received, fragment_size,
                        [&](Bytes p) { out.emplace_back(p.begin(), p.end()); });
    return out;
}

TEST(MssrRtpAdu, StreamsVideoFirstAudioSecondDescriptionApart) {
    const auto streams = assign_streams({"audio", "video", "application", "video"});
    ASSERT_TRUE(streams);
    EXPECT_EQ(*streams, (std::vector<std::uint8_t>{k_rtp_audio_stream, k_rtp_video_stream, 3, 4}));
    EXPECT_FALSE(assign_streams(std::vector<std::string>(14, "text")));
    EXPECT_TRUE(assign_streams(std::vector<std::string>(13, "text")));
}

TEST(MssrRtpAdu, SessionDescriptionRoundTripsAndRefusesGarbage) {
    const SessionDescription d{{0, 1}, "v=0\r\nm=video 0 RTP/AVP 96\r\n"};
    const auto bytes = encode_session_description(d);
    const auto parsed = parse_session_description(bytes);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(*parsed, d);
    auto wrong = bytes;
    wrong[0] = 'X';
    EXPECT_FALSE(parse_session_description(wrong));
    EXPECT_FALSE(parse_session_description(Bytes(bytes.data(), 6)));  // the map is cut short
    auto description_stream = bytes;
    description_stream[5] = k_description_stream;  // a track cannot ride on the description's stream
    EXPECT_FALSE(parse_session_description(description_stream));
    const SessionDescription huge{{0}, std::string(k_max_description_bytes + 1, 'a')};
    EXPECT_FALSE(parse_session_description(encode_session_description(huge)));
}

TEST(MssrRtpAdu, VideoPacketsOfOneAccessUnitMakeOneAduCutAtTheMarker) {
    RtpAduGrouper g(k_rtp_video_stream, true);
    const auto a = rtp(1, 9000, false, 100);
    const auto b = rtp(2, 9000, true, 50);
    const auto c = rtp(3, 12600, true, 70);
    g.feed(a, true);
    EXPECT_TRUE(g.take().empty());  // the access unit is still open
    g.feed(b, false);
    g.feed(c, false);
    const auto adus = g.take();
    ASSERT_EQ(adus.size(), 2u);
    EXPECT_EQ(adus[0].stream, k_rtp_video_stream);
    EXPECT_EQ(adus[0].priority, Priority::key);
    EXPECT_EQ(adus[0].rtp_timestamp, 9000u);
    EXPECT_EQ(adus[1].priority, Priority::reference);
    EXPECT_EQ(adus[1].rtp_timestamp, 12600u);
    EXPECT_EQ(unpack(adus[0]), (std::vector<std::vector<std::uint8_t>>{a, b}));
    EXPECT_EQ(unpack(adus[1]), (std::vector<std::vector<std::uint8_t>>{c}));
    EXPECT_EQ(g.stats().key_adus, 1u);
}

// A frame whose packets carry a picture no other refers to is `disposable`, unless it also starts a key
// frame; one with neither is `reference`.
TEST(MssrRtpAdu, AFrameNoOtherRefersToIsDisposable) {
    RtpAduGrouper grouper(k_rtp_video_stream, true);
    grouper.feed(rtp(1, 3000, false, 10), false, true);
    grouper.feed(rtp(2, 3000, true, 10), false, true);
    grouper.feed(rtp(3, 6000, true, 10), false, false);
    grouper.feed(rtp(4, 9000, false, 10), false, true);
    grouper.feed(rtp(5, 9000, true, 10), true, false);
    const auto adus = grouper.take();
    ASSERT_EQ(adus.size(), 3u);
    EXPECT_EQ(adus[0].priority, Priority::disposable);
    EXPECT_EQ(adus[1].priority, Priority::reference);
    EXPECT_EQ(adus[2].priority, Priority::key);
    EXPECT_EQ(grouper.stats().disposable_adus, 1u);
    EXPECT_EQ(grouper.stats().key_adus, 1u);
}

TEST(MssrRtpAdu, ATimestampChangeEndsAnAccessUnitWithoutMarker) {
    RtpAduGrouper g(k_rtp_video_stream, true);
    g.feed(rtp(1, 100, false, 10), false);
    g.feed(rtp(2, 200, false, 10), false);
    ASSERT_EQ(g.take().size(), 1u);
    g.flush();
    ASSERT_EQ(g.take().size(), 1u);
}

TEST(MssrRtpAdu, AudioPacketsAreAduOfTheirOwnAndGarbageIsCounted) {
    RtpAduGrouper g(k_rtp_audio_stream, false);
    g.feed(rtp(1, 100, false, 10), false);
    g.feed(rtp(2, 100, false, 10), false);
    const std::vector<std::uint8_t> junk{1, 2, 3};
    g.feed(junk, false);
    const auto adus = g.take();
    ASSERT_EQ(adus.size(), 2u);
    EXPECT_EQ(adus[1].stream, k_rtp_audio_stream);
    EXPECT_EQ(g.stats().invalid, 1u);
}

TEST(MssrRtpAdu, PartialAduYieldsOnlyPacketsWhollyReceivedAndResynchronises) {
    RtpAduGrouper g(k_rtp_video_stream, true);
    std::vector<std::vector<std::uint8_t>> packets;
    for (std::uint16_t i = 0; i < 6; ++i)
        packets.push_back(rtp(i, 4242, i == 5, 88, static_cast<std::uint8_t>(i)));  // 102-octet records
    for (const auto& p : packets)
        g.feed(p, false);
    auto adus = g.take();
    ASSERT_EQ(adus.size(), 1u);
    EXPECT_EQ(unpack(adus[0]), packets);  // complete: every record
    Adu adu = adus[0];
    ASSERT_EQ(adu.data.size(), 6u * 102);
    // Fragments of 100 octets; the second (bytes 100-199) is lost and zero-filled: records 0 (0-101) and 1
    // (102-203) touch it, record 2 (204-305) starts in the third fragment.
    constexpr std::size_t fragment = 100;
    std::vector<bool> received(7, true);
    received[1] = false;
    std::fill(adu.data.begin() + 100, adu.data.begin() + 200, 0);
    const auto out = unpack(adu, received, fragment);
    EXPECT_EQ(out, (std::vector<std::vector<std::uint8_t>>(packets.begin() + 2, packets.end())));
}

TEST(MssrRtpAdu, ResyncNeedsTheAdusTimestamp) {
    RtpAduGrouper g(k_rtp_video_stream, true);
    g.feed(rtp(1, 7, false, 20), false);
    g.feed(rtp(2, 7, true, 20), false);
    auto adu = g.take().at(0);
    adu.data[0] = 0xff;  // the first length is garbage; the second record still carries timestamp 7
    EXPECT_EQ(unpack(adu, {false, true, true}, 30).size(), 1u);
    adu.rtp_timestamp = 8;  // another frame's timestamp: nothing matches
    EXPECT_EQ(unpack(adu, {false, true, true}, 30).size(), 0u);
}

}  // namespace
}  // namespace sg::mssr

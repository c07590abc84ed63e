#include "mssr/wire.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace sg::mssr {
namespace {

FragmentHeader sample_header() {
    FragmentHeader h;
    h.priority = Priority::reference;
    h.retransmission = true;
    h.feedback_wanted = true;
    h.stream = 3;
    h.sequence = 0xfffe;
    h.stream_sequence = 0x1234;
    h.adu_length = 0xabcdef;
    h.fragment_index = 0x0123;
    h.adu_time_ms = 0xbeef;
    return h;
}

TEST(MssrWire, DataPacketRoundTripsWithExactLayout) {
    const std::vector<std::uint8_t> fragment(524, 0x5a);
    RtpFields rtp;
    rtp.rtp_sequence = 7;
    rtp.rtp_timestamp = 90000;
    rtp.ssrc = 0x11223344;
    rtp.marker = true;
    std::vector<std::uint8_t> out;
    const auto written = append_data_packet(out, rtp, sample_header(), fragment);
    ASSERT_TRUE(written.ok()) << written.error();
    EXPECT_EQ(*written, 12u + 12u + 524u);
    ASSERT_EQ(out.size(), 548u);  // the seed's MSS: fits a 576-octet IPv4 datagram
    // The MSSR header octets, as docs/mssr.md draws them: V=2 Pri=1 stream=3 | length | fragment sequence |
    // stream sequence | time | R W index.
    const std::vector<std::uint8_t> expected = {0x93, 0xab, 0xcd, 0xef, 0xff, 0xfe,
                                                0x12, 0x34, 0xbe, 0xef, 0xc1, 0x23};
    EXPECT_EQ(std::vector<std::uint8_t>(out.begin() + 12, out.begin() + 24), expected);

    const auto view = parse_data_packet(out);
    ASSERT_TRUE(view.ok()) << view.error();
    EXPECT_EQ(view->header, sample_header());
    EXPECT_EQ(view->fragment.size(), 524u);
    EXPECT_TRUE(view->rtp.marker());
    EXPECT_EQ(view->rtp.payload_type(), k_default_payload_type);
    EXPECT_EQ(view->rtp.ssrc(), 0x11223344u);
}

TEST(MssrWire, FlagsAndTheWidestFieldsRoundTrip) {
    FragmentHeader h;
    h.priority = Priority::disposable;
    h.stream = k_max_stream;
    h.adu_length = k_max_adu_size;
    h.fragment_index = k_max_fragment_index;
    h.adu_time_ms = 0xffff;
    h.sequence = 0xffff;
    h.stream_sequence = 0xffff;
    for (const bool r : {false, true}) {
        for (const bool w : {false, true}) {
            for (const bool p : {false, true}) {
                h.retransmission = r;
                h.feedback_wanted = w;
                h.parity = p;
                std::vector<std::uint8_t> out;
                ASSERT_TRUE(append_data_packet(out, {}, h, std::vector<std::uint8_t>(3, 1)).ok());
                const auto view = parse_data_packet(out);
                ASSERT_TRUE(view.ok()) << view.error();
                EXPECT_EQ(view->header, h);
                // Octets 10-11 of the MSSR header: R, W, P, then the 13-bit index.
                EXPECT_EQ(out[12 + 10], (r ? 0x80 : 0) | (w ? 0x40 : 0) | (p ? 0x20 : 0) | 0x1f);
            }
        }
    }
}

TEST(MssrWire, RejectsMalformedDataPackets) {
    std::vector<std::uint8_t> good;
    const std::vector<std::uint8_t> fragment(8, 1);
    FragmentHeader h = sample_header();
    h.adu_length = 16;
    h.fragment_index = 1;
    ASSERT_TRUE(append_data_packet(good, {}, h, fragment).ok());
    ASSERT_TRUE(parse_data_packet(good).ok());

    struct Case {
        const char* name;
        std::size_t at;
        std::uint8_t value;
    };
    // Octet 12 is V Pri stream (0x93 here); 13-15 the ADU length (16).
    for (const Case& c :
         {Case{"version 0", 12, 0x13}, Case{"version 1", 12, 0x53},
          Case{"version 3 whose count octet (a fragment octet, 1) says parity without P", 12, 0xd3},
          Case{"priority 3", 12, 0xb3}, Case{"length 0", 15, 0x00},
          Case{"fragment longer than its ADU", 15, 0x07}}) {
        std::vector<std::uint8_t> bad = good;
        bad[c.at] = c.value;
        EXPECT_FALSE(parse_data_packet(bad).ok()) << c.name;
    }
    for (std::size_t size = 0; size < good.size(); ++size) {
        // A cut inside the headers fails; a cut inside the fragment leaves a shorter fragment, still valid.
        const auto view = parse_data_packet(Bytes(good).first(size));
        if (size >= 25) {
            EXPECT_TRUE(view.ok()) << size;
        } else {
            EXPECT_FALSE(view.ok()) << size;
        }
    }
}

TEST(MssrWire, BuilderRefusesWhatTheParserWouldRefuse) {
    std::vector<std::uint8_t> out;
    FragmentHeader h = sample_header();
    h.adu_length = 4;
    h.fragment_index = 0;
    const std::vector<std::uint8_t> five(5, 0);
    EXPECT_FALSE(append_data_packet(out, {}, h, five).ok());
    EXPECT_FALSE(append_data_packet(out, {}, h, {}).ok());
    h.adu_length = k_max_adu_size + 1;
    EXPECT_FALSE(append_data_packet(out, {}, h, Bytes(five).first(1)).ok());
    h.adu_length = 0;
    EXPECT_FALSE(append_data_packet(out, {}, h, Bytes(five).first(1)).ok());
    h.adu_length = 4;
    h.stream = k_max_stream + 1;  // 4 bits
    EXPECT_FALSE(append_data_packet(out, {}, h, Bytes(five).first(1)).ok());
    h.stream = 0;
    h.fragment_index = k_max_fragment_index + 1;  // 13 bits
    EXPECT_FALSE(append_data_packet(out, {}, h, Bytes(five).first(1)).ok());
    h.fragment_index = 0;
    h.priority = static_cast<Priority>(3);
    EXPECT_FALSE(append_data_packet(out, {}, h, Bytes(five).first(1)).ok());
    EXPECT_TRUE(out.empty());
}

// Version 3 adds one octet, the ADU's parity count, after version 2's twelve; the fragment follows it.
TEST(MssrWire, VersionThreeCarriesTheParityCountInAThirteenthOctet) {
    FragmentHeader h = sample_header();
    h.version = k_version_parity_count;
    h.parity = true;
    h.parity_count = 200;
    const std::vector<std::uint8_t> fragment(523, 0x5a);
    std::vector<std::uint8_t> out;
    const auto written = append_data_packet(out, {}, h, fragment);
    ASSERT_TRUE(written.ok()) << written.error();
    EXPECT_EQ(*written, 12u + 13u + 523u);  // still the seed's 548 with a fragment one octet shorter
    EXPECT_EQ(out[12], 0xd3);               // V=3 Pri=1 stream=3
    EXPECT_EQ(out[12 + 10], 0xe1);          // R W P and the index's high bits
    EXPECT_EQ(out[12 + 12], 200);
    const auto view = parse_data_packet(out);
    ASSERT_TRUE(view.ok()) << view.error();
    EXPECT_EQ(view->header, h);
    EXPECT_EQ(view->fragment.size(), 523u);
    EXPECT_EQ(payload_header_size(k_version_parity_count), 13u);
    EXPECT_EQ(payload_header_size(k_version), 12u);

    // The count and P must agree, both ways, at either end; version 2 has no count to carry.
    std::vector<std::uint8_t> bad = out;
    bad[12 + 12] = 0;  // P without a count
    EXPECT_FALSE(parse_data_packet(bad).ok());
    bad = out;
    bad[12 + 10] = 0xc1;  // a count without P
    EXPECT_FALSE(parse_data_packet(bad).ok());
    EXPECT_FALSE(parse_data_packet(Bytes(out).first(24)).ok());  // cut before the count octet
    std::vector<std::uint8_t> refused;
    FragmentHeader no_count = h;
    no_count.parity_count = 0;
    EXPECT_FALSE(append_data_packet(refused, {}, no_count, fragment).ok());
    FragmentHeader count_without_p = h;
    count_without_p.parity = false;
    EXPECT_FALSE(append_data_packet(refused, {}, count_without_p, fragment).ok());
    FragmentHeader version_two_with_count = h;
    version_two_with_count.version = k_version;
    EXPECT_FALSE(append_data_packet(refused, {}, version_two_with_count, fragment).ok());
    FragmentHeader version_one = sample_header();
    version_one.version = 1;
    EXPECT_FALSE(append_data_packet(refused, {}, version_one, fragment).ok());
    EXPECT_TRUE(refused.empty());
    // An unprotected ADU's version 3 header says 0.
    FragmentHeader plain = sample_header();
    plain.version = k_version_parity_count;
    ASSERT_TRUE(append_data_packet(refused, {}, plain, fragment).ok());
    EXPECT_EQ(refused[12 + 12], 0);
    ASSERT_TRUE(parse_data_packet(refused).ok());
    EXPECT_EQ(parse_data_packet(refused)->header, plain);
}

TEST(MssrWire, FeedbackRoundTripsAsAReducedSizeRtcpPacket) {
    Feedback f;
    f.ssrc = 0xcafe;
    f.receive_window = 123456;
    f.cumulative_ack = 0xfff0;
    f.acks = {AckRange{0xfff2, 3}, AckRange{0x0002, 100}};
    f.nacks = {NackBlock{0xfff0, 0x0001}, NackBlock{0x0000, 0x8000}};
    std::vector<std::uint8_t> out;
    const auto written = append_feedback_datagram(out, f);
    ASSERT_TRUE(written.ok()) << written.error();
    EXPECT_EQ(*written, 12u + 8u + 16u);             // no RR in front (RFC 5506)
    ASSERT_FALSE(rtp::validate_compound(out).ok());  // not an RFC 3550 compound: the APP comes alone
    const auto packets = rtp::parse_compound(out);
    ASSERT_TRUE(packets.ok());
    ASSERT_EQ(packets->size(), 1u);
    EXPECT_EQ((*packets)[0].type, rtp::RtcpType::app);
    EXPECT_TRUE(rtp::looks_like_rtcp(out));  // one port demultiplexes it as RFC 5761 does
    const auto view = parse_feedback_datagram(out);
    ASSERT_TRUE(view.ok()) << view.error();
    EXPECT_EQ(view->to_feedback(), f);
}

TEST(MssrWire, FeedbackParserChecksCountsAndRanges) {
    Feedback f;
    f.acks = {AckRange{1, 1}};
    std::vector<std::uint8_t> out;
    ASSERT_TRUE(append_feedback(out, f).ok());
    // Body starts after the 12-octet APP header: RWND(4) cum(2) acks(1) nacks(1).
    std::vector<std::uint8_t> bad = out;
    bad[12 + 6] = 2;  // claims two ack ranges
    auto compound = rtp::parse_compound(bad);
    ASSERT_TRUE(compound.ok());
    EXPECT_FALSE(parse_feedback((*compound)[0]).ok());
    bad = out;
    bad[12 + 8 + 3] = 0;  // empty range
    compound = rtp::parse_compound(bad);
    ASSERT_TRUE(compound.ok());
    EXPECT_FALSE(parse_feedback((*compound)[0]).ok());

    std::vector<std::uint8_t> other;
    ASSERT_TRUE(rtp::append_app(other, 0, 1, "XXXX").ok());
    compound = rtp::parse_compound(other);
    EXPECT_FALSE(parse_feedback((*compound)[0]).ok());
    EXPECT_FALSE(parse_feedback_datagram(other).ok());

    f.acks.assign(256, AckRange{1, 1});
    EXPECT_FALSE(append_feedback(out, f).ok());
    f.acks = {AckRange{1, 0}};
    EXPECT_FALSE(append_feedback(out, f).ok());
}

}  // namespace
}  // namespace sg::mssr

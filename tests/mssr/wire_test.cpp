#include "mssr/wire.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace sg::mssr {
namespace {

FragmentHeader sample_header() {
    FragmentHeader h;
    h.priority = Priority::reference;
    h.retransmission = true;
    h.stream = 3;
    h.sequence = 0xfffe;
    h.stream_sequence = 0x1234;
    h.adu_length = 0xabcdef;
    h.adu_offset = 0x000208;
    h.adu_time_ms = 0xdeadbeef;
    return h;
}

TEST(MssrWire, DataPacketRoundTripsWithExactLayout) {
    const std::vector<std::uint8_t> fragment(520, 0x5a);
    RtpFields rtp;
    rtp.rtp_sequence = 7;
    rtp.rtp_timestamp = 90000;
    rtp.ssrc = 0x11223344;
    rtp.marker = true;
    std::vector<std::uint8_t> out;
    const auto written = append_data_packet(out, rtp, sample_header(), fragment);
    ASSERT_TRUE(written.ok()) << written.error();
    EXPECT_EQ(*written, 12u + 16u + 520u);
    ASSERT_EQ(out.size(), 548u);  // the seed's MSS: fits a 576-octet IPv4 datagram
    // The MSSR header octets, as docs/mssr.md draws them.
    const std::vector<std::uint8_t> expected = {0x58, 0x03, 0xff, 0xfe, 0x12, 0x34, 0xab, 0xcd,
                                                0xef, 0x00, 0x02, 0x08, 0xde, 0xad, 0xbe, 0xef};
    EXPECT_EQ(std::vector<std::uint8_t>(out.begin() + 12, out.begin() + 28), expected);

    const auto view = parse_data_packet(out);
    ASSERT_TRUE(view.ok()) << view.error();
    EXPECT_EQ(view->header, sample_header());
    EXPECT_EQ(view->fragment.size(), 520u);
    EXPECT_TRUE(view->rtp.marker());
    EXPECT_EQ(view->rtp.payload_type(), k_default_payload_type);
    EXPECT_EQ(view->rtp.ssrc(), 0x11223344u);
}

TEST(MssrWire, RejectsMalformedDataPackets) {
    std::vector<std::uint8_t> good;
    const std::vector<std::uint8_t> fragment(8, 1);
    FragmentHeader h = sample_header();
    h.adu_length = 16;
    h.adu_offset = 8;
    ASSERT_TRUE(append_data_packet(good, {}, h, fragment).ok());
    ASSERT_TRUE(parse_data_packet(good).ok());

    struct Case {
        const char* name;
        std::size_t at;
        std::uint8_t value;
    };
    for (const Case& c : {Case{"version 0", 12, 0x18}, Case{"version 2", 12, 0x98},
                          Case{"priority 3", 12, 0x78}, Case{"reserved bit", 12, 0x59},
                          Case{"offset past length", 23, 0x10}, Case{"fragment past length", 23, 0x09}}) {
        std::vector<std::uint8_t> bad = good;
        bad[c.at] = c.value;
        EXPECT_FALSE(parse_data_packet(bad).ok()) << c.name;
    }
    for (std::size_t size = 0; size < good.size(); ++size) {
        // A cut inside the headers fails; a cut inside the fragment leaves a shorter fragment, still valid.
        const auto view = parse_data_packet(Bytes(good).first(size));
        if (size >= 29) {
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
    h.adu_offset = 0;
    const std::vector<std::uint8_t> five(5, 0);
    EXPECT_FALSE(append_data_packet(out, {}, h, five).ok());
    EXPECT_FALSE(append_data_packet(out, {}, h, {}).ok());
    h.adu_length = k_max_adu_size + 1;
    EXPECT_FALSE(append_data_packet(out, {}, h, Bytes(five).first(1)).ok());
    h.adu_length = 4;
    h.priority = static_cast<Priority>(3);
    EXPECT_FALSE(append_data_packet(out, {}, h, Bytes(five).first(1)).ok());
    EXPECT_TRUE(out.empty());
}

TEST(MssrWire, FeedbackRoundTripsThroughACompound) {
    Feedback f;
    f.ssrc = 0xcafe;
    f.receive_window = 123456;
    f.cumulative_ack = 0xfff0;
    f.acks = {AckRange{0xfff2, 3}, AckRange{0x0002, 100}};
    f.nacks = {NackBlock{0xfff0, 0x0001}, NackBlock{0x0000, 0x8000}};
    std::vector<std::uint8_t> out;
    const auto written = append_feedback_compound(out, f);
    ASSERT_TRUE(written.ok()) << written.error();
    EXPECT_EQ(*written, 8u + 12u + 8u + 16u);
    ASSERT_TRUE(rtp::validate_compound(out).ok());  // a valid RFC 3550 compound: RR first
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

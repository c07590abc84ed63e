#include "mssr/handshake.hpp"

#include <gtest/gtest.h>

#include "mssr_test_util.hpp"
#include "rtp/rtcp.hpp"

namespace sg::mssr {
namespace {

using namespace std::chrono_literals;

Hello sample() {
    Hello h;
    h.kind = HelloKind::ack;
    h.ssrc = 0x1234;
    h.role = Role::receiver;
    h.mss = 1200;
    h.streams = {StreamPolicy{120ms, RetransmitMode::by_value, LatePolicy::drop},
                 StreamPolicy{30000ms, RetransmitMode::key_only, LatePolicy::partial}};
    return h;
}

TEST(MssrHandshake, RoundTripsAsAValidCompound) {
    std::vector<std::uint8_t> out;
    const auto written = append_hello(out, sample());
    ASSERT_TRUE(written.ok()) << written.error();
    EXPECT_EQ(*written, 8u + 12u + 8u + 8u);
    EXPECT_TRUE(rtp::validate_compound(out).ok());
    const auto hello = parse_hello_datagram(out);
    ASSERT_TRUE(hello.ok()) << hello.error();
    EXPECT_EQ(*hello, sample());
}

// Each kind is its own APP subtype; another subtype of the MSSR APP is no handshake message.
TEST(MssrHandshake, EachKindIsItsOwnSubtype) {
    for (const HelloKind kind : {HelloKind::hello, HelloKind::ack, HelloKind::confirm}) {
        Hello h = sample();
        h.kind = kind;
        std::vector<std::uint8_t> out;
        ASSERT_TRUE(append_hello(out, h).ok());
        EXPECT_EQ(out[8] & 0x1f, static_cast<int>(kind));  // the APP packet's subtype, after the 8-octet RR
        const auto parsed = parse_hello_datagram(out);
        ASSERT_TRUE(parsed.ok());
        EXPECT_EQ(parsed->kind, kind);
        out[8] = static_cast<std::uint8_t>((out[8] & 0xe0) | 4);
        EXPECT_FALSE(parse_hello_datagram(out).ok());
    }
}

// The features octet (the first of what was reserved): a receiver announces that it takes parity fragments;
// a hello without it, as an older peer sends, announces nothing.
TEST(MssrHandshake, CarriesTheFeatureBits) {
    Hello h = sample();
    h.features = k_feature_parity;
    std::vector<std::uint8_t> out;
    ASSERT_TRUE(append_hello(out, h).ok());
    EXPECT_EQ(out[20 + 5], k_feature_parity);  // version, role, MSS (2), stream count, features
    const auto parsed = parse_hello_datagram(out);
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(parsed->features, k_feature_parity);
    out[20 + 5] = 0;
    EXPECT_EQ(parse_hello_datagram(out)->features, 0u);
}

// The next octet: the sender's key parity group, for a receiver that announces k_feature_parity_groups.
TEST(MssrHandshake, CarriesTheKeyParityGroup) {
    Hello h = sample();
    h.key_parity_group = 8;
    std::vector<std::uint8_t> out;
    ASSERT_TRUE(append_hello(out, h).ok());
    EXPECT_EQ(out[20 + 6], 8u);
    EXPECT_EQ(out[20 + 7], 0u);  // still reserved
    const auto parsed = parse_hello_datagram(out);
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, h);
}

TEST(MssrHandshake, RefusesWhatItCannotCarry) {
    std::vector<std::uint8_t> out;
    Hello h = sample();
    h.streams.assign(17, StreamPolicy{});
    EXPECT_FALSE(append_hello(out, h).ok());
    h = sample();
    h.streams[0].latency = 30001ms;  // the data header's 16-bit ADU time could not tell its age
    EXPECT_FALSE(append_hello(out, h).ok());
    h = sample();
    h.mss = 20;
    EXPECT_FALSE(append_hello(out, h).ok());
    EXPECT_TRUE(out.empty());
}

TEST(MssrHandshake, ParserChecksEveryField) {
    std::vector<std::uint8_t> good;
    ASSERT_TRUE(append_hello(good, sample()).ok());
    // The APP body starts at 8 (RR) + 12 (APP header).
    struct Case {
        const char* name;
        std::size_t at;
        std::uint8_t value;
    };
    EXPECT_EQ(good[20], 2);  // version 2: the 12-octet data header, feedback without an RR
    for (const Case& c : {Case{"version 1", 20, 1}, Case{"version 3", 20, 3}, Case{"role", 21, 2},
                          Case{"mss", 22, 0}, Case{"count", 24, 3}, Case{"mode", 30, 3}, Case{"late", 31, 2},
                          Case{"latency 30,001 ms", 32, 0x75}}) {
        std::vector<std::uint8_t> bad = good;
        bad[c.at] = c.value;
        if (c.at == 22) bad[23] = 10;
        if (c.at == 32) bad[33] = 0x31;  // 0x7531 = 30,001
        EXPECT_FALSE(parse_hello_datagram(bad).ok()) << c.name;
    }
    // Feedback is not a hello.
    std::vector<std::uint8_t> feedback;
    ASSERT_TRUE(append_feedback_datagram(feedback, Feedback{}).ok());
    EXPECT_FALSE(parse_hello_datagram(feedback).ok());
}

// The connecting side's HELLO / HELLO-ACK round trip seeds the sender's RTT (RFC 6298 takes the SYN's); the
// hellos carry no nonce, so by Karn's rule only a single HELLO's exchange can be timed.
TEST(MssrHandshakeTimer, TimesTheExchangeOfASingleHello) {
    HandshakeTimer timer;
    EXPECT_FALSE(timer.on_ack(test::at_ms(5)));  // nothing sent yet
    timer.on_hello_sent(test::at_ms(1000));
    const auto rtt = timer.on_ack(test::at_ms(1042));
    ASSERT_TRUE(rtt);
    EXPECT_EQ(*rtt, std::chrono::microseconds(42ms));
}

TEST(MssrHandshakeTimer, ARepeatedHelloGivesNoSample) {
    // The first HELLO may have been lost, or its ACK may be slow: an ACK after the second one may answer
    // either, and 242 ms and 42 ms are both possible readings.
    HandshakeTimer timer;
    timer.on_hello_sent(test::at_ms(1000));
    timer.on_hello_sent(test::at_ms(1200));
    EXPECT_EQ(timer.hellos_sent(), 2u);
    EXPECT_FALSE(timer.on_ack(test::at_ms(1242)));
    // What it does give is a floor: the round trip is at least the time since the last HELLO.
    EXPECT_EQ(timer.round_trip_floor(test::at_ms(1242)), std::chrono::microseconds(42000));
    EXPECT_FALSE(HandshakeTimer{}.round_trip_floor(test::at_ms(1242)));
}

}  // namespace
}  // namespace sg::mssr

#include "mssr/handshake.hpp"

#include <gtest/gtest.h>

#include "rtp/rtcp.hpp"

namespace sg::mssr {
namespace {

using namespace std::chrono_literals;

Hello sample() {
    Hello h;
    h.ack = true;
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

}  // namespace
}  // namespace sg::mssr

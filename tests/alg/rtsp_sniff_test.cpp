#include "alg/rtsp_sniff.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace sg::alg {
namespace {

SniffVerdict sniff(std::string_view text) {
    return sniff_rtsp_request(Bytes(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

TEST(RtspSniff, CompleteRequestLinesAreRtsp) {
    EXPECT_EQ(sniff("OPTIONS rtsp://origin6.test:8554/test RTSP/1.0\r\nCSeq: 1\r\n"), SniffVerdict::rtsp);
    EXPECT_EQ(sniff("DESCRIBE rtsp://[2001:2:0:4::2]/a RTSP/1.0\r\n"), SniffVerdict::rtsp);
    EXPECT_EQ(sniff("OPTIONS * RTSP/2.0\r\n"), SniffVerdict::rtsp);
    EXPECT_EQ(sniff("SETUP RTSP://host/x/trackID=0 RTSP/1.0\n"), SniffVerdict::rtsp);  // scheme is caseless
    EXPECT_EQ(sniff("PLAY rtspu://host/x RTSP/1.0\r\n"), SniffVerdict::rtsp);
}

TEST(RtspSniff, EveryPrefixOfARequestLineWaitsForMore) {
    const std::string line = "DESCRIBE rtsp://h/a RTSP/1.0\r\n";
    for (std::size_t n = 0; n < line.size(); ++n)
        EXPECT_EQ(sniff(line.substr(0, n)), SniffVerdict::need_more) << n;
    EXPECT_EQ(sniff(line), SniffVerdict::rtsp);
}

TEST(RtspSniff, OtherProtocolsAreLetGoAtOnce) {
    EXPECT_EQ(sniff("GET / HTTP/1.1\r\n"), SniffVerdict::other);
    EXPECT_EQ(sniff("GET /"), SniffVerdict::other);  // decided before the line ends
    EXPECT_EQ(sniff("GET http://x/ HTTP/1.1\r\n"), SniffVerdict::other);
    EXPECT_EQ(sniff("\x16\x03\x01\x02\x00"), SniffVerdict::other);  // TLS ClientHello (rtsps)
    EXPECT_EQ(sniff("SSH-2.0-OpenSSH_9.2\r\n"), SniffVerdict::other);
    EXPECT_EQ(sniff(" OPTIONS rtsp://h/ RTSP/1.0\r\n"), SniffVerdict::other);
    EXPECT_EQ(sniff("OPTIONS rtsp://h/ HTTP/1.1\r\n"), SniffVerdict::other);  // RTSP URL, HTTP version
    EXPECT_EQ(sniff("OPTIONS rtsp://h/ RTSP/1.1\r\n"), SniffVerdict::other);
    EXPECT_EQ(sniff("OPTIONS rtsp:// RTSP/1.0\r\n"), SniffVerdict::other);  // no host
    EXPECT_EQ(sniff("OPTIONS rtsp://h/ RTSP/1.0\rX"), SniffVerdict::other);
    EXPECT_EQ(sniff("OPTIONS rtsp://h/ RTSP/1.0 \r\n"), SniffVerdict::other);
}

TEST(RtspSniff, OverlongLinesAreNotRtsp) {
    std::string line = "DESCRIBE rtsp://h/" + std::string(k_max_sniff_line, 'a');
    EXPECT_EQ(sniff(line), SniffVerdict::other);
    EXPECT_EQ(sniff(std::string(k_max_sniff_line + 1, 'A')), SniffVerdict::other);
}

TEST(RtspSniff, OnlyTheMethodsOfRtspWait) {
    // A short first write of another protocol is let go at once, not held for the sniff timeout.
    EXPECT_EQ(sniff("x"), SniffVerdict::other);
    EXPECT_EQ(sniff("HELO"), SniffVerdict::other);
    EXPECT_EQ(sniff("options"), SniffVerdict::other);  // methods are case-sensitive
    EXPECT_EQ(sniff("OPTIONSX"), SniffVerdict::other);
    EXPECT_EQ(sniff("FOO rtsp://h/ RTSP/1.0\r\n"), SniffVerdict::other);
    // Prefixes of a method still wait, and every method of RFC 2326 and RFC 7826 is taken.
    EXPECT_EQ(sniff("O"), SniffVerdict::need_more);
    EXPECT_EQ(sniff("GET_PARAM"), SniffVerdict::need_more);
    EXPECT_EQ(sniff("PLAY_"), SniffVerdict::need_more);
    for (const char* method : {"ANNOUNCE", "DESCRIBE", "GET_PARAMETER", "OPTIONS", "PAUSE", "PLAY",
                               "PLAY_NOTIFY", "RECORD", "REDIRECT", "SETUP", "SET_PARAMETER", "TEARDOWN"})
        EXPECT_EQ(sniff(std::string(method) + " rtsp://h/x RTSP/1.0\r\n"), SniffVerdict::rtsp) << method;
}

}  // namespace
}  // namespace sg::alg

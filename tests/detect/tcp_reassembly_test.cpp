#include "detect/tcp_reassembly.hpp"

#include <gtest/gtest.h>

#include <string>

namespace sg::detect {
namespace {

Bytes b(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

TEST(TcpReassembly, InOrderAfterSyn) {
    TcpReassembly r;
    EXPECT_FALSE(r.on_segment(1000, true, {}));
    const std::string a = "hello ";
    const std::string c = "world";
    EXPECT_TRUE(r.on_segment(1001, false, b(a)));
    EXPECT_TRUE(r.on_segment(1007, false, b(c)));
    EXPECT_EQ(r.data(), "hello world");
    r.consume(6);
    EXPECT_EQ(r.data(), "world");
}

TEST(TcpReassembly, EarlySegmentsWaitForTheHole) {
    TcpReassembly r;
    const std::string one = "one,";
    const std::string two = "two,";
    const std::string three = "three";
    EXPECT_TRUE(r.on_segment(0, false, b(one)));
    EXPECT_FALSE(r.on_segment(8, false, b(three)));
    EXPECT_EQ(r.data(), "one,");
    EXPECT_TRUE(r.on_segment(4, false, b(two)));
    EXPECT_EQ(r.data(), "one,two,three");
    EXPECT_FALSE(r.take_gap());
}

TEST(TcpReassembly, RetransmissionsAndOverlapsAreTrimmed) {
    TcpReassembly r;
    const std::string first = "abcdef";
    const std::string again = "abc";
    const std::string overlap = "defghi";
    EXPECT_TRUE(r.on_segment(100, false, b(first)));
    EXPECT_FALSE(r.on_segment(100, false, b(again)));
    EXPECT_TRUE(r.on_segment(103, false, b(overlap)));
    EXPECT_EQ(r.data(), "abcdefghi");
}

TEST(TcpReassembly, SequenceNumbersWrap) {
    TcpReassembly r;
    const std::string a = "ab";
    const std::string c = "cd";
    EXPECT_TRUE(r.on_segment(0xfffffffeu, false, b(a)));
    EXPECT_TRUE(r.on_segment(0, false, b(c)));
    EXPECT_EQ(r.data(), "abcd");
}

TEST(TcpReassembly, AHoleThatNeverFillsIsSkippedAtTheCap) {
    TcpReassembly r;
    const std::string start = "x";
    EXPECT_TRUE(r.on_segment(0, false, b(start)));
    const std::string chunk(100, 'y');
    std::uint32_t seq = 1 + 1000;  // 1000 octets never arrive
    bool jumped = false;
    for (std::size_t i = 0; i <= TcpReassembly::k_max_held_segments; ++i) {
        jumped = r.on_segment(seq, false, b(chunk));
        seq += 100;
    }
    EXPECT_TRUE(jumped);
    EXPECT_TRUE(r.take_gap());
    EXPECT_FALSE(r.take_gap());
    EXPECT_EQ(r.skipped_bytes(), 1000u);
    EXPECT_EQ(r.data().size(), (TcpReassembly::k_max_held_segments + 1) * 100);
    EXPECT_EQ(r.held_bytes(), 0u);
}

}  // namespace
}  // namespace sg::detect

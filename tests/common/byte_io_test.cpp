#include "common/byte_io.hpp"

#include <gtest/gtest.h>

#include <array>

namespace sg {
namespace {

TEST(ByteIo, ReaderReadsBigEndianAndStopsAtEnd) {
    const std::array<std::uint8_t, 10> data{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a};
    ByteReader r(data);
    std::uint8_t u8 = 0;
    std::uint16_t u16 = 0;
    std::uint32_t u32 = 0;
    ASSERT_TRUE(r.read_u8(u8));
    EXPECT_EQ(u8, 0x01);
    ASSERT_TRUE(r.read_u16(u16));
    EXPECT_EQ(u16, 0x0203);
    ASSERT_TRUE(r.read_u24(u32));
    EXPECT_EQ(u32, 0x040506u);
    ASSERT_TRUE(r.read_u32(u32));
    EXPECT_EQ(u32, 0x0708090au);
    EXPECT_TRUE(r.empty());
    EXPECT_FALSE(r.read_u8(u8));
    Bytes b;
    EXPECT_FALSE(r.read_bytes(1, b));
    EXPECT_FALSE(r.skip(1));
}

TEST(ByteIo, FailedReadConsumesNothing) {
    const std::array<std::uint8_t, 3> data{1, 2, 3};
    ByteReader r(data);
    std::uint32_t v = 0;
    EXPECT_FALSE(r.read_u32(v));
    EXPECT_EQ(r.position(), 0u);
    EXPECT_EQ(r.remaining(), 3u);
}

TEST(ByteIo, WriterRoundTrips) {
    std::vector<std::uint8_t> out;
    ByteWriter w(out);
    w.put_u8(0xab);
    w.put_u16(0);
    w.put_u24(0x123456);
    w.put_u32(0xdeadbeef);
    w.patch_u16(1, 0xcafe);
    ByteReader r(out);
    std::uint8_t a = 0;
    std::uint16_t b = 0;
    std::uint32_t c = 0;
    std::uint32_t d = 0;
    ASSERT_TRUE(r.read_u8(a) && r.read_u16(b) && r.read_u24(c) && r.read_u32(d));
    EXPECT_EQ(a, 0xab);
    EXPECT_EQ(b, 0xcafe);
    EXPECT_EQ(c, 0x123456u);
    EXPECT_EQ(d, 0xdeadbeefu);
}

}  // namespace
}  // namespace sg

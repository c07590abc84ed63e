#include "common/text.hpp"

#include <gtest/gtest.h>

#include <array>

#include "common/hex.hpp"

namespace sg {
namespace {

TEST(Text, IequalsIgnoresAsciiCaseOnly) {
    EXPECT_TRUE(iequals("Content-Length", "content-length"));
    EXPECT_FALSE(iequals("Content-Length", "Content-Lengt"));
    EXPECT_FALSE(iequals("a", "b"));
    EXPECT_TRUE(istarts_with("RTSP/1.0 200 OK", "rtsp/"));
    EXPECT_FALSE(istarts_with("RT", "rtsp/"));
}

TEST(Text, TrimRemovesSpacesAndTabs) {
    EXPECT_EQ(trim(" \t a b\t "), "a b");
    EXPECT_EQ(trim("   "), "");
    EXPECT_EQ(trim(""), "");
}

TEST(Text, PopTokenSplitsAndConsumes) {
    std::string_view s = "a;b;;c";
    EXPECT_EQ(pop_token(s, ';'), "a");
    EXPECT_EQ(pop_token(s, ';'), "b");
    EXPECT_EQ(pop_token(s, ';'), "");
    EXPECT_EQ(pop_token(s, ';'), "c");
    EXPECT_TRUE(s.empty());
}

struct UintCase {
    std::string_view text;
    std::optional<std::uint16_t> expected;
};

TEST(Text, ParseUintIsStrict) {
    const UintCase cases[] = {
        {"0", 0},
        {"65535", 65535},
        {"65536", std::nullopt},
        {"", std::nullopt},
        {"-1", std::nullopt},
        {"+1", std::nullopt},
        {" 1", std::nullopt},
        {"1 ", std::nullopt},
        {"00012", 12},
        {"999999999999", std::nullopt},
    };
    for (const auto& c : cases)
        EXPECT_EQ(parse_uint<std::uint16_t>(c.text), c.expected) << c.text;
}

TEST(Text, ParseHex) {
    EXPECT_EQ(parse_hex<std::uint32_t>("00000001"), 1u);
    EXPECT_EQ(parse_hex<std::uint32_t>("DEADbeef"), 0xdeadbeefu);
    EXPECT_EQ(parse_hex<std::uint32_t>("123456789"), std::nullopt);
    EXPECT_EQ(parse_hex<std::uint32_t>("xyz"), std::nullopt);
}

TEST(HexLower, TwoLowerCaseDigitsPerByte) {
    const std::array<std::uint8_t, 5> bytes{0x00, 0x0f, 0xa0, 0xff, 0x5c};
    EXPECT_EQ(hex_lower(bytes), "000fa0ff5c");
    EXPECT_EQ(hex_lower({}), "");
}

}  // namespace
}  // namespace sg

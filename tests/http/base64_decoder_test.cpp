#include "http/base64_decoder.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sg::http {
namespace {

using namespace std::string_view_literals;

std::string as_text(const std::vector<std::uint8_t>& bytes) {
    return {bytes.begin(), bytes.end()};
}

// What ffmpeg sends on a tunnel POST: each request encoded on its own, so padding comes mid-stream.
constexpr std::string_view k_two_requests =
    "T1BUSU9OUyAqIFJUU1AvMS4wDQpDU2VxOiAxDQoNCg=="   // "OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n"
    "T1BUSU9OUyAqIFJUU1AvMS4wDQpDU2VxOiAyDQoNCg==";  // the same with CSeq 2
constexpr std::string_view k_two_requests_decoded =
    "OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\nOPTIONS * RTSP/1.0\r\nCSeq: 2\r\n\r\n";

TEST(Base64Decoder, DecodesRfc4648Vectors) {
    const std::vector<std::pair<std::string_view, std::string_view>> vectors = {
        {"", ""},
        {"Zg==", "f"},
        {"Zm8=", "fo"},
        {"Zm9v", "foo"},
        {"Zm9vYg==", "foob"},
        {"Zm9vYmE=", "fooba"},
        {"Zm9vYmFy", "foobar"},
    };
    for (const auto& [encoded, decoded] : vectors) {
        Base64Decoder decoder;
        std::vector<std::uint8_t> out;
        EXPECT_TRUE(decoder.feed(encoded, out)) << encoded;
        EXPECT_EQ(as_text(out), decoded) << encoded;
        EXPECT_TRUE(decoder.at_boundary()) << encoded;
    }
}

TEST(Base64Decoder, DecodesTheSameWhereverTheInputIsSplit) {
    for (std::size_t first = 0; first <= k_two_requests.size(); ++first) {
        for (std::size_t second = first; second <= k_two_requests.size(); second += 7) {
            Base64Decoder decoder;
            std::vector<std::uint8_t> out;
            ASSERT_TRUE(decoder.feed(k_two_requests.substr(0, first), out));
            ASSERT_TRUE(decoder.feed(k_two_requests.substr(first, second - first), out));
            ASSERT_TRUE(decoder.feed(k_two_requests.substr(second), out));
            EXPECT_EQ(as_text(out), k_two_requests_decoded) << first << " " << second;
        }
    }
}

TEST(Base64Decoder, ByteByByteGivesEachByteAsSoonAsItsQuantumIsComplete) {
    Base64Decoder decoder;
    std::vector<std::uint8_t> out;
    ASSERT_TRUE(decoder.feed("Zm9", out));
    EXPECT_TRUE(out.empty());
    EXPECT_FALSE(decoder.at_boundary());
    ASSERT_TRUE(decoder.feed("v", out));
    EXPECT_EQ(as_text(out), "foo");
    EXPECT_TRUE(decoder.at_boundary());
}

TEST(Base64Decoder, SkipsLineBreaksAndBlanks) {
    Base64Decoder decoder;
    std::vector<std::uint8_t> out;
    ASSERT_TRUE(decoder.feed("Zm9v\r\nYm\tFy \n", out));
    EXPECT_EQ(as_text(out), "foobar");
}

TEST(Base64Decoder, RefusesGarbageAndKeepsRefusing) {
    for (const std::string_view bad : {"Zm9v!"sv, "="sv, "Z==="sv, "Zg=a"sv, "Zg==\0"sv, "Zm9v-"sv,
                                       "Zg=\x80"sv, "Zm9vY="sv, "\xff"sv, "Zm_v"sv}) {
        Base64Decoder decoder;
        std::vector<std::uint8_t> out;
        EXPECT_FALSE(decoder.feed(bad, out)) << bad;
        EXPECT_TRUE(decoder.failed()) << bad;
        EXPECT_FALSE(decoder.feed("Zm9v", out)) << bad;
    }
}

TEST(Base64Decoder, RefusesASecondPaddingRunOfThree) {
    Base64Decoder decoder;
    std::vector<std::uint8_t> out;
    ASSERT_TRUE(decoder.feed("Zg==", out));
    EXPECT_FALSE(decoder.feed("=", out));  // a quantum cannot start with '='
}

}  // namespace
}  // namespace sg::http

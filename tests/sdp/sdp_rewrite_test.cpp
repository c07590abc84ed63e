#include "sdp/sdp_rewrite.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "sdp/sdp_attributes.hpp"
#include "sdp_samples.hpp"

namespace sg::sdp {
namespace {

using samples::crlf;

SessionDescription parse_ok(std::string_view text) {
    auto r = parse(text);
    EXPECT_TRUE(r.ok()) << r.error();
    return r.ok() ? std::move(r).value() : SessionDescription{};
}

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
    for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
        s.replace(at, from.size(), to);
    }
    return s;
}

TEST(SdpRewrite, AddressesOfRfc4566ExampleToIpv6) {
    auto sd = parse_ok(crlf(samples::k_rfc4566));
    ASSERT_TRUE(rewrite_addresses(sd, "2001:db8::1", "IP6"));
    // Only o= and c= change; the multicast TTL goes with the old group.
    std::string expected = crlf(samples::k_rfc4566);
    expected = replace_all(expected, "IN IP4 10.47.16.5", "IN IP6 2001:db8::1");
    expected = replace_all(expected, "IN IP4 224.2.17.12/127", "IN IP6 2001:db8::1");
    EXPECT_EQ(to_string(sd), expected);
    EXPECT_EQ(parse_ok(expected), sd);
}

TEST(SdpRewrite, AddressesAtSessionAndMediaLevel) {
    auto sd = parse_ok(crlf(samples::k_gstreamer));
    ASSERT_TRUE(rewrite_addresses(sd, "::", "IP6"));
    std::string expected = crlf(samples::k_gstreamer);
    expected = replace_all(expected, "IN IP4 127.0.0.1", "IN IP6 ::");
    expected = replace_all(expected, "IN IP4 0.0.0.0", "IN IP6 ::");
    EXPECT_EQ(to_string(sd), expected);

    // And back, for a session-level c= (FFmpeg) and an IPv6 multicast count.
    auto ffmpeg = parse_ok(crlf(samples::k_ffmpeg));
    ASSERT_TRUE(rewrite_addresses(ffmpeg, "192.0.2.7", "IP4"));
    EXPECT_EQ(to_string(ffmpeg), replace_all(replace_all(crlf(samples::k_ffmpeg), "127.0.0.1", "192.0.2.7"),
                                             "0.0.0.0", "192.0.2.7"));
    auto v6 = parse_ok(crlf(samples::k_rfc4566_ipv6));
    ASSERT_TRUE(rewrite_addresses(v6, "192.0.2.7", "IP4"));
    EXPECT_EQ(v6.connection, (Connection{"IN", "IP4", "192.0.2.7", std::nullopt, std::nullopt}));
}

TEST(SdpRewrite, AddressesRefuseValuesThatWouldBreakTheLine) {
    const auto original = parse_ok(crlf(samples::k_live555));
    const std::pair<std::string_view, std::string_view> bad[] = {
        {"", "IP4"},           {"10.0.0.1", ""},
        {"10.0.0.1 5", "IP4"}, {"10.0.0.0/8", "IP4"},
        {"10.0.0.1", "IP 4"},  {"10.0.0.1\r\na=x", "IP4"},
        {"a\tb", "IP4"},       {std::string_view("a\0b", 3), "IP4"},
    };
    for (const auto& [address, addrtype] : bad) {
        auto sd = original;
        EXPECT_FALSE(rewrite_addresses(sd, address, addrtype)) << address << " " << addrtype;
        EXPECT_EQ(sd, original);
    }
}

TEST(SdpRewrite, MediaPort) {
    auto sd = parse_ok(crlf(samples::k_rfc4566));
    EXPECT_TRUE(set_media_port(sd, 1, 40000));
    EXPECT_FALSE(set_media_port(sd, 2, 1));
    EXPECT_EQ(to_string(sd), replace_all(crlf(samples::k_rfc4566), "m=video 51372", "m=video 40000"));
}

TEST(SdpRewrite, ControlUrlsOfCamera) {
    auto sd = parse_ok(crlf(samples::k_camera));
    std::vector<std::string> seen;
    const std::size_t n = rewrite_control_urls(sd, [&](std::string_view url) {
        seen.emplace_back(url);
        return replace_all(std::string(url), "rtsp://192.168.1.64:554/", "rtsp://[2001:db8::1]:8554/cam1/");
    });
    EXPECT_EQ(n, 2u);
    EXPECT_EQ(seen.size(), 2u);
    EXPECT_EQ(to_string(sd), replace_all(crlf(samples::k_camera), "a=control:rtsp://192.168.1.64:554/",
                                         "a=control:rtsp://[2001:db8::1]:8554/cam1/"));
}

TEST(SdpRewrite, ControlUrlsSeeStarAndRelativeValues) {
    auto sd = parse_ok(crlf(samples::k_live555));
    const std::size_t n = rewrite_control_urls(sd, [](std::string_view url) {
        return url == "*" ? std::string("rtsp://gw/cam/") : "rtsp://gw/cam/" + std::string(url);
    });
    EXPECT_EQ(n, 3u);
    EXPECT_EQ(control_url(sd), "rtsp://gw/cam/");
    EXPECT_EQ(control_url(sd.media[0]), "rtsp://gw/cam/track1");
    EXPECT_EQ(control_url(sd.media[1]), "rtsp://gw/cam/track2");
    EXPECT_EQ(parse_ok(to_string(sd)), sd);
}

TEST(SdpRewrite, ControlUrlsRefuseLineBreaksAndDropTrailingSpaces) {
    const auto original = parse_ok(crlf(samples::k_gstreamer));
    for (const std::string& bad : {std::string("x\r\na=evil"), std::string("x\n"), std::string("x\0", 2)}) {
        auto sd = original;
        EXPECT_EQ(rewrite_control_urls(sd, [&](std::string_view) { return bad; }), 0u);
        EXPECT_EQ(sd, original);
    }
    auto sd = original;
    EXPECT_EQ(rewrite_control_urls(sd, [](std::string_view) { return std::string("u "); }), 3u);
    EXPECT_EQ(control_url(sd), "u");
    EXPECT_EQ(parse_ok(to_string(sd)), sd);
    EXPECT_EQ(rewrite_control_urls(sd, UrlRewriter{}), 0u);
}

}  // namespace
}  // namespace sg::sdp

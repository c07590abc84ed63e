#include "sdp/sdp_attributes.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "sdp_samples.hpp"

namespace sg::sdp {
namespace {

using samples::crlf;

SessionDescription parse_ok(std::string_view text) {
    auto r = parse(text);
    EXPECT_TRUE(r.ok()) << r.error();
    return r.ok() ? std::move(r).value() : SessionDescription{};
}

MediaDescription media_with(std::vector<Attribute> attributes, std::vector<std::string> formats = {}) {
    MediaDescription m;
    m.media = "audio";
    m.proto = "RTP/AVP";
    m.formats = std::move(formats);
    m.attributes = std::move(attributes);
    return m;
}

TEST(SdpAttributes, FindAttributeIsCaseInsensitiveAndReturnsTheFirst) {
    const std::vector<Attribute> attributes = {
        {"recvonly", std::nullopt}, {"Control", "trackID=1"}, {"control", "trackID=2"}};
    const Attribute* control = find_attribute(attributes, "control");
    ASSERT_NE(control, nullptr);
    EXPECT_EQ(control->value, "trackID=1");
    const Attribute* recvonly = find_attribute(attributes, "RECVONLY");
    ASSERT_NE(recvonly, nullptr);
    EXPECT_FALSE(recvonly->value.has_value());
    EXPECT_EQ(find_attribute(attributes, "sendonly"), nullptr);
    EXPECT_EQ(find_attribute({}, "control"), nullptr);
}

struct RtpMapCase {
    std::string_view value;
    std::optional<RtpMap> expected;
};

TEST(SdpAttributes, ParseRtpMap) {
    const RtpMapCase cases[] = {
        {"96 H264/90000", RtpMap{96, "H264", 90000, std::nullopt}},
        {"97 MPEG4-GENERIC/48000/2", RtpMap{97, "MPEG4-GENERIC", 48000, 2}},
        {"99 h263-1998/90000", RtpMap{99, "h263-1998", 90000, std::nullopt}},  // RFC 4566 §5
        {"0 PCMU/8000", RtpMap{0, "PCMU", 8000, std::nullopt}},
        {"127 opus/48000/2", RtpMap{127, "opus", 48000, 2}},
        {" 96  H265/90000 ", RtpMap{96, "H265", 90000, std::nullopt}},
        {"128 H264/90000", std::nullopt},
        {"-1 H264/90000", std::nullopt},
        {"x H264/90000", std::nullopt},
        {"96 H264", std::nullopt},
        {"96 H264/", std::nullopt},
        {"96 /90000", std::nullopt},
        {"96 H264/fast", std::nullopt},
        {"96 H264/90000/two", std::nullopt},
        {"96 H264/90000/2/1", std::nullopt},
        {"96 H264/99999999999", std::nullopt},
        {"96", std::nullopt},
        {"", std::nullopt},
    };
    for (const auto& c : cases) {
        const auto r = parse_rtpmap(c.value);
        if (!c.expected) {
            EXPECT_FALSE(r.ok()) << c.value;
            continue;
        }
        ASSERT_TRUE(r.ok()) << c.value << ": " << r.error();
        EXPECT_EQ(*r, *c.expected) << c.value;
    }
}

TEST(SdpAttributes, FindRtpMapPrefersExplicitThenStaticTable) {
    const auto m = media_with({{"rtpmap", "bad"}, {"rtpmap", "96 H264/90000"}, {"rtpmap", "0 G711/16000"}},
                              {"96", "0", "8", "97"});
    EXPECT_EQ(find_rtpmap(m, 96), (RtpMap{96, "H264", 90000, std::nullopt}));
    EXPECT_EQ(find_rtpmap(m, 0), (RtpMap{0, "G711", 16000, std::nullopt}));  // explicit wins
    EXPECT_EQ(find_rtpmap(m, 8), (RtpMap{8, "PCMA", 8000, std::nullopt}));   // RFC 3551 table 4
    EXPECT_EQ(find_rtpmap(m, 10), (RtpMap{10, "L16", 44100, 2}));
    EXPECT_EQ(find_rtpmap(m, 26), (RtpMap{26, "JPEG", 90000, std::nullopt}));
    EXPECT_EQ(find_rtpmap(m, 33), (RtpMap{33, "MP2T", 90000, std::nullopt}));
    EXPECT_EQ(find_rtpmap(m, 97), std::nullopt);  // dynamic without a=rtpmap
    EXPECT_EQ(find_rtpmap(m, 2), std::nullopt);   // unassigned in RFC 3551
}

TEST(SdpAttributes, ParseFmtpKeepsOrderAndEqualsSignsInValues) {
    const auto r = parse_fmtp(
        "96 packetization-mode=1;sprop-parameter-sets=Z0IAH5WoFAFuQA==,aM48gA==;profile-level-id=42001f");
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->payload_type, 96);
    EXPECT_EQ(r->parameters,
              (std::vector<FmtpParameter>{{"packetization-mode", "1"},
                                          {"sprop-parameter-sets", "Z0IAH5WoFAFuQA==,aM48gA=="},
                                          {"profile-level-id", "42001f"}}));
    EXPECT_EQ(fmtp_parameter(*r, "Profile-Level-Id"), "42001f");
    EXPECT_EQ(fmtp_parameter(*r, "sprop-vps"), std::nullopt);
}

TEST(SdpAttributes, ParseFmtpToleratesSpacesAndEmptyItems) {
    // FFmpeg and cameras put a space after ';' and end with ';'.
    const auto r = parse_fmtp("97 streamtype=5; profile-level-id=15;; mode=AAC-hbr ; config=1408;");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->parameters,
              (std::vector<FmtpParameter>{
                  {"streamtype", "5"}, {"profile-level-id", "15"}, {"mode", "AAC-hbr"}, {"config", "1408"}}));
    const auto events = parse_fmtp("101 0-15");  // RFC 4733 telephone-event
    ASSERT_TRUE(events.ok());
    EXPECT_EQ(events->parameters, (std::vector<FmtpParameter>{{"0-15", ""}}));
    const auto bare = parse_fmtp("96");
    ASSERT_TRUE(bare.ok());
    EXPECT_TRUE(bare->parameters.empty());
}

TEST(SdpAttributes, ParseFmtpErrorsAndLimit) {
    EXPECT_FALSE(parse_fmtp("").ok());
    EXPECT_FALSE(parse_fmtp("x a=b").ok());
    EXPECT_FALSE(parse_fmtp("200 a=b").ok());
    std::string many = "96 ";
    for (std::size_t i = 0; i < k_max_fmtp_parameters; ++i)
        many += "a=b;";
    EXPECT_EQ(parse_fmtp(many)->parameters.size(), k_max_fmtp_parameters);
    EXPECT_FALSE(parse_fmtp(many + "c=d").ok());
}

TEST(SdpAttributes, FindFmtpByPayloadType) {
    const auto m = media_with({{"fmtp", "96 a=1"}, {"fmtp", "97 b=2"}});
    const auto f = find_fmtp(m, 97);
    ASSERT_TRUE(f.has_value());
    EXPECT_EQ(fmtp_parameter(*f, "b"), "2");
    EXPECT_EQ(find_fmtp(m, 98), std::nullopt);
}

TEST(SdpAttributes, ServerSamples) {
    struct Expect {
        std::string_view lf_text;
        std::string_view session_control;  // "" when absent
        std::string_view video_control;
        std::string_view audio_control;
    };
    const Expect cases[] = {
        {samples::k_live555, "*", "track1", "track2"},
        {samples::k_gstreamer, "*", "stream=0", "stream=1"},
        {samples::k_ffmpeg, "", "trackID=0", "trackID=1"},
    };
    for (const auto& c : cases) {
        const auto sd = parse_ok(crlf(c.lf_text));
        EXPECT_EQ(control_url(sd).value_or(""), c.session_control);
        EXPECT_EQ(range_value(sd), "npt=0-10.000");
        ASSERT_EQ(sd.media.size(), 2u);
        const auto& video = sd.media[0];
        const auto& audio = sd.media[1];
        EXPECT_EQ(media_kind(video), MediaKind::video);
        EXPECT_EQ(media_kind(audio), MediaKind::audio);
        EXPECT_EQ(control_url(video), c.video_control);
        EXPECT_EQ(control_url(audio), c.audio_control);
        EXPECT_EQ(range_value(video), std::nullopt);
        EXPECT_EQ(payload_types(video), (std::vector<std::uint8_t>{96}));
        EXPECT_EQ(find_rtpmap(video, 96)->encoding, "H264");
        EXPECT_EQ(find_rtpmap(audio, 97)->encoding, "MPEG4-GENERIC");
        EXPECT_EQ(find_rtpmap(audio, 97)->channels, 2u);
        const auto h264 = find_fmtp(video, 96);
        ASSERT_TRUE(h264.has_value());
        EXPECT_EQ(fmtp_parameter(*h264, "packetization-mode"), "1");
        EXPECT_TRUE(fmtp_parameter(*h264, "sprop-parameter-sets").has_value());
        const auto aac = find_fmtp(audio, 97);
        ASSERT_TRUE(aac.has_value());
        EXPECT_EQ(fmtp_parameter(*aac, "mode"), "AAC-hbr");
    }
}

TEST(SdpAttributes, CameraControlUrls) {
    const auto sd = parse_ok(crlf(samples::k_camera));
    EXPECT_EQ(control_url(sd), "rtsp://192.168.1.64:554/Streaming/Channels/101/?transportmode=unicast");
    EXPECT_EQ(control_url(sd.media[0]),
              "rtsp://192.168.1.64:554/Streaming/Channels/101/trackID=1?transportmode=unicast");
    EXPECT_EQ(range_value(sd), std::nullopt);
    EXPECT_EQ(fmtp_parameter(*find_fmtp(sd.media[0], 96), "sprop-parameter-sets"),
              "Z00AKp2oHgCJ+WbgICAgQA==,aO48gA==");
}

TEST(SdpAttributes, ControlAndRangeValuesAreTrimmedAndNeedAValue) {
    const auto m = media_with({{"control", std::nullopt}, {"range", "  npt=now- "}});
    EXPECT_EQ(control_url(m), std::nullopt);  // the first a=control has no value
    EXPECT_EQ(range_value(m), "npt=now-");
    const auto spaced = media_with({{"control", " rtsp://h/x "}});
    EXPECT_EQ(control_url(spaced), "rtsp://h/x");
}

TEST(SdpAttributes, MediaKindAndPayloadTypes) {
    MediaDescription m;
    for (const auto& [name, kind] :
         {std::pair{"audio", MediaKind::audio}, std::pair{"VIDEO", MediaKind::video},
          std::pair{"application", MediaKind::application}, std::pair{"text", MediaKind::other},
          std::pair{"", MediaKind::other}}) {
        m.media = name;
        EXPECT_EQ(media_kind(m), kind) << name;
    }
    m.formats = {"96", "97", "x", "200", "0", "-1", "+5", "08", "127", "128"};
    EXPECT_EQ(payload_types(m), (std::vector<std::uint8_t>{96, 97, 0, 8, 127}));
}

}  // namespace
}  // namespace sg::sdp

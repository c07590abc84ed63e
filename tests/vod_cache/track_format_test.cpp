// What the VOD cache can store, read from an upstream's SDP: codec, clock and the container's codec
// configuration per track, or the reason a presentation is not cached.
#include "vod_cache/track_format.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sg::vod {
namespace {

std::string sdp(const std::string& media) {
    return "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=clip\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n"
           "a=range:npt=0-4.000\r\n" +
           media;
}

const std::string k_h264 =
    "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
    "a=fmtp:96 packetization-mode=1;profile-level-id=42c01e;sprop-parameter-sets=Z0LAHtkA,aM4yyA==\r\n"
    "a=control:trackID=0\r\n";
const std::string k_aac =
    "m=audio 0 RTP/AVP 97\r\na=rtpmap:97 MPEG4-GENERIC/44100/2\r\n"
    "a=fmtp:97 streamtype=5;profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;"
    "indexdeltalength=3;config=1210\r\na=control:trackID=1\r\n";

TEST(TrackFormats, H264AndAacCarryTheirConfigurations) {
    const auto formats = track_formats(sdp(k_h264 + k_aac));
    ASSERT_TRUE(formats.ok()) << formats.error();
    ASSERT_EQ(formats->size(), 2U);
    const auto& video = (*formats)[0];
    EXPECT_EQ(video.codec, rtp::DepacketizedCodec::h264);
    EXPECT_EQ(video.clock_rate, 90000U);
    // Annex B: start code, SPS (0x67 ...), start code, PPS (0x68 ...).
    const std::vector<std::uint8_t> want = {0,    0, 0, 1, 0x67, 0x42, 0xc0, 0x1e, 0xd9,
                                            0x00, 0, 0, 0, 1,    0x68, 0xce, 0x32, 0xc8};
    EXPECT_EQ(video.extradata, want);
    const auto& audio = (*formats)[1];
    EXPECT_EQ(audio.codec, rtp::DepacketizedCodec::aac);
    EXPECT_EQ(audio.clock_rate, 44100U);
    EXPECT_EQ(audio.channels, 2);
    EXPECT_EQ(audio.extradata, (std::vector<std::uint8_t>{0x12, 0x10}));
    EXPECT_EQ(audio.size_length, 13U);
    EXPECT_EQ(audio.index_length, 3U);
}

TEST(TrackFormats, OpusGetsAnOpusHeadAndG711AndMp2tAreKnown) {
    const auto opus = track_formats(sdp("m=audio 0 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n"));
    ASSERT_TRUE(opus.ok());
    ASSERT_EQ((*opus)[0].extradata.size(), 19U);
    EXPECT_EQ(std::string((*opus)[0].extradata.begin(), (*opus)[0].extradata.begin() + 8), "OpusHead");
    EXPECT_EQ((*opus)[0].extradata[9], 2);                            // channels
    const auto pcmu = track_formats(sdp("m=audio 0 RTP/AVP 0\r\n"));  // the static payload type
    ASSERT_TRUE(pcmu.ok());
    EXPECT_EQ((*pcmu)[0].codec, rtp::DepacketizedCodec::pcmu);
    EXPECT_EQ((*pcmu)[0].clock_rate, 8000U);
    const auto ts = track_formats(sdp("m=video 0 RTP/AVP 33\r\n"));
    ASSERT_TRUE(ts.ok());
    EXPECT_EQ((*ts)[0].codec, rtp::DepacketizedCodec::mp2t);
}

TEST(TrackFormats, WhatCannotBeStoredSaysWhy) {
    const std::vector<std::pair<std::string, std::string_view>> cases = {
        {"m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1\r\n",
         "H.264 without sprop-parameter-sets"},
        {"m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 sprop-parameter-sets=!!!\r\n",
         "H.264 without sprop-parameter-sets"},
        {"m=video 0 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n", "a codec the cache cannot store"},
        {"m=video 0 RTP/AVP 33\r\n" + k_aac, "MP2T next to other tracks"},
        {"m=audio 0 RTP/AVP 97\r\na=rtpmap:97 MPEG4-GENERIC/44100\r\na=fmtp:97 mode=CELP-cbr;config=12\r\n",
         "mpeg4-generic that is not AAC with a config"},
        {"m=audio 0 RTP/AVP 97\r\na=rtpmap:97 MPEG4-GENERIC/44100\r\n"
         "a=fmtp:97 mode=AAC-hbr;config=1210;sizelength=13;indexlength=3;indexdeltalength=2\r\n",
         "AAC with AU headers we cannot read"},
        {"m=video 0 RTP/AVP 98\r\na=rtpmap:98 H265/90000\r\na=fmtp:98 sprop-sps=QgE=\r\n",
         "H.265 without sprop-vps, sprop-sps and sprop-pps"},
    };
    for (const auto& [media, why] : cases) {
        const auto formats = track_formats(sdp(media));
        ASSERT_FALSE(formats.ok()) << media;
        EXPECT_EQ(formats.error(), why) << media;
    }
    EXPECT_FALSE(track_formats("not an sdp").ok());
    EXPECT_EQ(track_formats(sdp("")).error(), "no track");
}

}  // namespace
}  // namespace sg::vod

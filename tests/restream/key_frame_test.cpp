#include "restream/key_frame.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <vector>

namespace sg::proxy {
namespace {

bool key(std::vector<std::uint8_t> payload) {
    return h264_starts_key_frame(payload);
}

TEST(KeyFrame, SingleNalUnits) {
    EXPECT_TRUE(key({0x65, 0x88}));   // IDR slice
    EXPECT_TRUE(key({0x67, 0x42}));   // SPS
    EXPECT_FALSE(key({0x41, 0x9a}));  // non-IDR slice
    EXPECT_FALSE(key({0x68, 0xce}));  // PPS alone
    EXPECT_FALSE(key({}));
}

TEST(KeyFrame, FragmentsStartOnlyWithTheStartBit) {
    EXPECT_TRUE(key({0x7c, 0x85, 0x00}));   // FU-A, S bit, IDR
    EXPECT_FALSE(key({0x7c, 0x05, 0x00}));  // FU-A continuation of an IDR
    EXPECT_FALSE(key({0x7c, 0x81, 0x00}));  // FU-A start of a non-IDR slice
    EXPECT_FALSE(key({0x7c}));              // truncated
}

TEST(KeyFrame, AggregatesAreWalkedWithTheirLengthsChecked) {
    EXPECT_TRUE(key({0x78, 0x00, 0x02, 0x68, 0xce, 0x00, 0x02, 0x65, 0x88}));  // STAP-A: PPS, IDR
    EXPECT_TRUE(key({0x78, 0x00, 0x02, 0x67, 0x42}));                          // STAP-A: SPS
    EXPECT_FALSE(key({0x78, 0x00, 0x02, 0x68, 0xce, 0x00, 0x02, 0x41, 0x9a}));
    EXPECT_FALSE(key({0x78, 0x00, 0x09, 0x65}));  // length beyond the payload
    EXPECT_FALSE(key({0x78, 0x00, 0x00, 0x65}));  // empty unit
}

TEST(KeyFrame, OnlyH264Waits) {
    EXPECT_TRUE(waits_for_key_frame("H264"));
    EXPECT_TRUE(waits_for_key_frame("h264"));
    EXPECT_FALSE(waits_for_key_frame("PCMA"));
    EXPECT_FALSE(waits_for_key_frame("MPEG4-GENERIC"));
}

struct SummaryCase {
    const char* name;
    VideoCodec codec;
    std::vector<std::uint8_t> payload;
    bool key_start;
    bool parameter_set;
    bool non_vcl_only;
};

class PayloadSummaryTest : public ::testing::TestWithParam<SummaryCase> {};

TEST_P(PayloadSummaryTest, Classifies) {
    const auto& c = GetParam();
    const auto s = summarize_payload(c.codec, c.payload);
    EXPECT_EQ(s.key_start, c.key_start) << c.name;
    EXPECT_EQ(s.parameter_set, c.parameter_set) << c.name;
    EXPECT_EQ(s.non_vcl_only, c.non_vcl_only) << c.name;
    EXPECT_EQ(starts_key_frame(c.codec, c.payload),
              c.codec == VideoCodec::none || c.key_start || c.parameter_set)
        << c.name;
}

// H.265 payload headers: type in bits 1-6 of the first byte (0x26 0x01 = IDR_W_RADL, 19).
INSTANTIATE_TEST_SUITE_P(
    Codecs, PayloadSummaryTest,
    ::testing::Values(
        SummaryCase{"h264 idr", VideoCodec::h264, {0x65, 0x88}, true, false, false},
        SummaryCase{"h264 sps", VideoCodec::h264, {0x67, 0x42}, false, true, true},
        SummaryCase{"h264 pps", VideoCodec::h264, {0x68, 0xce}, false, false, true},
        SummaryCase{"h264 sei", VideoCodec::h264, {0x06, 0x05}, false, false, true},
        SummaryCase{"h264 p slice", VideoCodec::h264, {0x41, 0x9a}, false, false, false},
        SummaryCase{"h264 stap-a sps pps",
                    VideoCodec::h264,
                    {0x78, 0, 2, 0x67, 0x42, 0, 2, 0x68, 0xce},
                    false,
                    true,
                    true},
        SummaryCase{"h264 stap-a pps idr",
                    VideoCodec::h264,
                    {0x78, 0, 2, 0x68, 0xce, 0, 2, 0x65, 0x88},
                    true,
                    false,
                    false},
        SummaryCase{"h264 fu-a idr start", VideoCodec::h264, {0x7c, 0x85, 0}, true, false, false},
        SummaryCase{"h264 fu-a idr middle", VideoCodec::h264, {0x7c, 0x05, 0}, false, false, false},
        SummaryCase{"h264 fu-a p start", VideoCodec::h264, {0x7c, 0x81, 0}, false, false, false},
        SummaryCase{"h264 stap-a overrun", VideoCodec::h264, {0x78, 0, 9, 0x65}, false, false, false},
        SummaryCase{"h265 idr_w_radl", VideoCodec::h265, {0x26, 0x01, 0xaf}, true, false, false},
        SummaryCase{"h265 idr_n_lp", VideoCodec::h265, {0x28, 0x01, 0xaf}, true, false, false},
        SummaryCase{"h265 cra", VideoCodec::h265, {0x2a, 0x01, 0xaf}, true, false, false},
        SummaryCase{"h265 bla_w_lp", VideoCodec::h265, {0x20, 0x01, 0xaf}, true, false, false},
        SummaryCase{"h265 trail_r", VideoCodec::h265, {0x02, 0x01, 0xaf}, false, false, false},
        SummaryCase{"h265 rsv_irap_22", VideoCodec::h265, {0x2c, 0x01, 0xaf}, false, false, false},
        SummaryCase{"h265 vps", VideoCodec::h265, {0x40, 0x01, 0x0c}, false, true, true},
        SummaryCase{"h265 sps", VideoCodec::h265, {0x42, 0x01, 0x01}, false, true, true},
        SummaryCase{"h265 pps", VideoCodec::h265, {0x44, 0x01, 0xc1}, false, false, true},
        SummaryCase{"h265 prefix sei", VideoCodec::h265, {0x4e, 0x01, 0x05}, false, false, true},
        SummaryCase{"h265 ap vps sps pps",
                    VideoCodec::h265,
                    {0x60, 0x01, 0, 3, 0x40, 0x01, 0x0c, 0, 3, 0x42, 0x01, 0x01, 0, 3, 0x44, 0x01, 0xc1},
                    false,
                    true,
                    true},
        SummaryCase{"h265 ap pps idr",
                    VideoCodec::h265,
                    {0x60, 0x01, 0, 3, 0x44, 0x01, 0xc1, 0, 3, 0x26, 0x01, 0xaf},
                    true,
                    false,
                    false},
        SummaryCase{"h265 ap overrun", VideoCodec::h265, {0x60, 0x01, 0, 9, 0x26, 0x01}, false, false, false},
        SummaryCase{"h265 fu idr start", VideoCodec::h265, {0x62, 0x01, 0x93, 0xaf}, true, false, false},
        SummaryCase{"h265 fu cra start", VideoCodec::h265, {0x62, 0x01, 0x95, 0xaf}, true, false, false},
        SummaryCase{"h265 fu idr middle", VideoCodec::h265, {0x62, 0x01, 0x13, 0xaf}, false, false, false},
        SummaryCase{"h265 fu trail start", VideoCodec::h265, {0x62, 0x01, 0x81, 0xaf}, false, false, false},
        SummaryCase{"h265 truncated fu", VideoCodec::h265, {0x62, 0x01}, false, false, false},
        SummaryCase{"h265 truncated", VideoCodec::h265, {0x26}, false, false, false},
        SummaryCase{"audio", VideoCodec::none, {0x65, 0x88}, false, false, false}),
    [](const ::testing::TestParamInfo<SummaryCase>& param_info) {
        std::string name = param_info.param.name;
        for (auto& c : name)
            if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
        return name;
    });

// Pictures no other picture refers to: H.264's nal_ref_idc 0 (in the unit header, or for FU-A in the FU
// indicator, start and continuation alike), H.265's sub-layer non-reference types (0-14, even).
TEST(KeyFrame, NonReferencePicturesAreToldApart) {
    const auto non_reference = [](VideoCodec codec, std::vector<std::uint8_t> payload) {
        return summarize_payload(codec, payload).non_reference;
    };
    EXPECT_TRUE(non_reference(VideoCodec::h264, {0x01, 0x9a}));      // non-IDR slice, nal_ref_idc 0
    EXPECT_FALSE(non_reference(VideoCodec::h264, {0x41, 0x9a}));     // nal_ref_idc 2
    EXPECT_FALSE(non_reference(VideoCodec::h264, {0x65, 0x88}));     // IDR
    EXPECT_FALSE(non_reference(VideoCodec::h264, {0x06, 0x05}));     // SEI: no picture at all
    EXPECT_TRUE(non_reference(VideoCodec::h264, {0x1c, 0x81, 0}));   // FU-A start, indicator's nri 0
    EXPECT_TRUE(non_reference(VideoCodec::h264, {0x1c, 0x01, 0}));   // its continuation
    EXPECT_FALSE(non_reference(VideoCodec::h264, {0x7c, 0x01, 0}));  // a reference slice's continuation
    EXPECT_TRUE(non_reference(VideoCodec::h264, {0x18, 0, 2, 0x06, 0x05, 0, 2, 0x01, 0x9a}));  // STAP-A
    EXPECT_FALSE(non_reference(VideoCodec::h264, {0x18, 0, 9, 0x01}));                         // overrun
    EXPECT_TRUE(non_reference(VideoCodec::h265, {0x00, 0x01, 0xaf}));                          // TRAIL_N
    EXPECT_FALSE(non_reference(VideoCodec::h265, {0x02, 0x01, 0xaf}));                         // TRAIL_R
    EXPECT_TRUE(non_reference(VideoCodec::h265, {0x10, 0x01, 0xaf}));                          // RASL_N
    EXPECT_FALSE(non_reference(VideoCodec::h265, {0x26, 0x01, 0xaf}));                         // IDR_W_RADL
    EXPECT_FALSE(non_reference(VideoCodec::h265, {0x40, 0x01, 0x0c}));                         // VPS
    EXPECT_TRUE(non_reference(VideoCodec::h265, {0x62, 0x01, 0x80, 0xaf}));   // FU start of a TRAIL_N
    EXPECT_TRUE(non_reference(VideoCodec::h265, {0x62, 0x01, 0x00, 0xaf}));   // its continuation
    EXPECT_FALSE(non_reference(VideoCodec::h265, {0x62, 0x01, 0x01, 0xaf}));  // a TRAIL_R's
}

TEST(KeyFrame, CodecsByEncodingName) {
    EXPECT_EQ(key_frame_codec("H264"), VideoCodec::h264);
    EXPECT_EQ(key_frame_codec("h265"), VideoCodec::h265);
    EXPECT_EQ(key_frame_codec("MPEG4-GENERIC"), VideoCodec::none);
    EXPECT_TRUE(starts_key_frame(VideoCodec::none, {}));  // audio: every packet is a sync point
}

}  // namespace
}  // namespace sg::proxy

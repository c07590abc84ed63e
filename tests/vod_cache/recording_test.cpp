// A recording round trip: H.264 with B-frames encoded here with libavcodec (libx264), packetized as serve
// sends it, fed to a Recording, and read back by serve's own MediaFile, which must find every frame with
// its presentation time and its key flag, and seek to a key frame exactly. A lost packet damages it.
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <libavutil/log.h>
}

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <vector>

#include "rtp/h264_packetizer.hpp"
#include "rtp/payload_list.hpp"
#include "rtp/rtp_packet.hpp"
#include "server/media_file.hpp"
#include "vod_cache/recording.hpp"

namespace sg::vod {
namespace {

namespace fs = std::filesystem;

constexpr int k_fps = 25;
constexpr int k_frames = 50;
constexpr std::uint32_t k_ticks_per_frame = 90000 / k_fps;

struct Encoded {
    std::vector<std::uint8_t> data;  // Annex B
    std::int64_t pts = 0;            // frames
    bool key = false;
};

// 2 s of 64x48 H.264 from libx264 with B-frames, in decoding order, SPS/PPS in band.
std::vector<Encoded> encode_h264() {
    std::vector<Encoded> out;
    av_log_set_level(AV_LOG_ERROR);  // libx264's statistics are not the test's output
    const AVCodec* codec = avcodec_find_encoder(AV_CODEC_ID_H264);
    if (codec == nullptr) return out;
    AVCodecContext* context = avcodec_alloc_context3(codec);
    context->width = 64;
    context->height = 48;
    context->pix_fmt = AV_PIX_FMT_YUV420P;
    context->time_base = AVRational{1, k_fps};
    context->gop_size = k_fps;
    context->max_b_frames = 2;
    if (avcodec_open2(context, codec, nullptr) < 0) {
        avcodec_free_context(&context);
        return out;
    }
    AVFrame* frame = av_frame_alloc();
    frame->format = context->pix_fmt;
    frame->width = context->width;
    frame->height = context->height;
    av_frame_get_buffer(frame, 0);
    AVPacket* packet = av_packet_alloc();
    const auto drain = [&] {
        while (avcodec_receive_packet(context, packet) >= 0) {
            out.push_back(Encoded{{packet->data, packet->data + packet->size},
                                  packet->pts,
                                  (packet->flags & AV_PKT_FLAG_KEY) != 0});
            av_packet_unref(packet);
        }
    };
    for (int i = 0; i < k_frames; ++i) {
        av_frame_make_writable(frame);
        for (int y = 0; y < frame->height; ++y)
            std::fill_n(frame->data[0] + y * frame->linesize[0], frame->width,
                        static_cast<std::uint8_t>(i * 5 + y));
        for (int plane = 1; plane < 3; ++plane)
            for (int y = 0; y < frame->height / 2; ++y)
                std::fill_n(frame->data[plane] + y * frame->linesize[plane], frame->width / 2,
                            std::uint8_t{128});
        frame->pts = i;
        avcodec_send_frame(context, frame);
        drain();
    }
    avcodec_send_frame(context, nullptr);
    drain();
    av_packet_free(&packet);
    av_frame_free(&frame);
    avcodec_free_context(&context);
    return out;
}

// The SPS and PPS of the first key frame, as Annex B extradata (what sprop-parameter-sets give).
std::vector<std::uint8_t> parameter_sets(const Encoded& key) {
    std::vector<Bytes> nals;
    EXPECT_TRUE(rtp::split_nal_units(Bytes(key.data.data(), key.data.size()), 0, nals));
    std::vector<std::uint8_t> out;
    for (const auto nal : nals) {
        const int type = nal[0] & 0x1f;
        if (type != 7 && type != 8) continue;
        out.insert(out.end(), {0, 0, 0, 1});
        out.insert(out.end(), nal.begin(), nal.end());
    }
    return out;
}

// serve's RTP for the frames, in sending (decoding) order.
std::vector<std::vector<std::uint8_t>> packetize(const std::vector<Encoded>& frames,
                                                 const std::vector<std::uint8_t>& extradata) {
    auto config = rtp::parse_h264_extradata(Bytes(extradata.data(), extradata.size()));
    EXPECT_TRUE(config.ok());
    rtp::H264Packetizer packetizer(*config, 400);
    std::vector<std::vector<std::uint8_t>> packets;
    std::uint16_t sequence = 100;
    for (const auto& frame : frames) {
        rtp::PayloadList payloads;
        EXPECT_TRUE(packetizer.packetize(Bytes(frame.data.data(), frame.data.size()), payloads).ok());
        for (std::size_t i = 0; i < payloads.size(); ++i) {
            rtp::RtpHeader header;
            header.marker = payloads.chunk(i).marker;
            header.payload_type = 96;
            header.sequence = sequence++;
            header.timestamp = 5000 + static_cast<std::uint32_t>(frame.pts) * k_ticks_per_frame;
            std::vector<std::uint8_t> packet;
            EXPECT_TRUE(rtp::append_rtp(packet, header, payloads.payload(i)).ok());
            packets.push_back(std::move(packet));
        }
    }
    return packets;
}

class RecordingTest : public ::testing::Test {
protected:
    void SetUp() override {
        file_ = fs::temp_directory_path() /
                ("sg_recording_" + std::to_string(::getpid()) + "_" +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".mkv");
        frames_ = encode_h264();
        ASSERT_EQ(frames_.size(), static_cast<std::size_t>(k_frames)) << "libx264 is needed";
        format_.codec = rtp::DepacketizedCodec::h264;
        format_.extradata = parameter_sets(frames_.front());
        ASSERT_FALSE(format_.extradata.empty());
        packets_ = packetize(frames_, format_.extradata);
    }
    void TearDown() override { fs::remove(file_); }

    fs::path file_;
    std::vector<Encoded> frames_;
    TrackFormat format_;
    std::vector<std::vector<std::uint8_t>> packets_;
};

TEST_F(RecordingTest, ServesMediaFileReadsBackEveryFrame) {
    std::string error;
    auto recording = Recording::start(file_, {format_}, error);
    ASSERT_NE(recording, nullptr) << error;
    recording->set_start_rtptime(0, 5000);  // RTP-Info: npt 0 is timestamp 5000
    const auto now = Recording::Clock::now();
    for (const auto& packet : packets_)
        recording->feed(0, Bytes(packet.data(), packet.size()), now);
    ASSERT_TRUE(recording->finish()) << recording->why();
    EXPECT_EQ(recording->units(), static_cast<std::uint64_t>(k_frames));

    auto media = server::MediaFile::open(file_, error);
    ASSERT_NE(media, nullptr) << error;
    ASSERT_EQ(media->tracks().size(), 1U);
    EXPECT_EQ(media->tracks()[0].codec, server::Codec::h264);
    std::set<std::int64_t> times;
    int keys = 0;
    server::MediaPacket packet;
    while (media->read(packet) == server::ReadResult::packet) {
        times.insert(packet.pts_clock);
        keys += packet.keyframe ? 1 : 0;
    }
    std::set<std::int64_t> want;
    for (int i = 0; i < k_frames; ++i)
        want.insert(std::int64_t{i} * k_ticks_per_frame);
    EXPECT_EQ(times, want);
    EXPECT_EQ(keys, std::count_if(frames_.begin(), frames_.end(), [](const Encoded& f) { return f.key; }));
    EXPECT_NEAR(media->duration_seconds(), 2.0, 0.1);
    // And it seeks: to the key frame at 1 s.
    ASSERT_TRUE(media->seek(1.0));
    ASSERT_EQ(media->read(packet), server::ReadResult::packet);
    EXPECT_TRUE(packet.keyframe);
    EXPECT_EQ(packet.pts_clock, std::int64_t{k_fps} * k_ticks_per_frame);
}

TEST_F(RecordingTest, ALostPacketDamagesTheRecording) {
    std::string error;
    auto recording = Recording::start(file_, {format_}, error);
    ASSERT_NE(recording, nullptr) << error;
    const auto now = Recording::Clock::now();
    for (std::size_t i = 0; i < packets_.size(); ++i) {
        if (i == packets_.size() / 2) continue;
        recording->feed(0, Bytes(packets_[i].data(), packets_[i].size()), now);
    }
    EXPECT_TRUE(recording->damaged());
    EXPECT_NE(recording->why().find("lost a packet"), std::string::npos) << recording->why();
    EXPECT_FALSE(recording->finish());
}

TEST(Recording, G711IsStoredAsItCame) {
    TrackFormat pcmu;
    pcmu.codec = rtp::DepacketizedCodec::pcmu;
    pcmu.clock_rate = 8000;
    const auto file =
        fs::temp_directory_path() / ("sg_recording_g711_" + std::to_string(::getpid()) + ".mkv");
    std::string error;
    auto recording = Recording::start(file, {pcmu}, error);
    ASSERT_NE(recording, nullptr) << error;
    const auto now = Recording::Clock::now();
    for (std::uint16_t i = 0; i < 50; ++i) {
        rtp::RtpHeader header;
        header.sequence = i;
        header.timestamp = 160U * i;
        const std::vector<std::uint8_t> payload(160, static_cast<std::uint8_t>(0x55 + i));
        std::vector<std::uint8_t> packet;
        ASSERT_TRUE(rtp::append_rtp(packet, header, Bytes(payload.data(), payload.size())).ok());
        recording->feed(0, Bytes(packet.data(), packet.size()), now);
    }
    ASSERT_TRUE(recording->finish()) << recording->why();
    auto media = server::MediaFile::open(file, error);
    ASSERT_NE(media, nullptr) << error;
    ASSERT_EQ(media->tracks().size(), 1U);
    EXPECT_EQ(media->tracks()[0].codec, server::Codec::pcmu);
    std::size_t bytes = 0;
    server::MediaPacket packet;
    while (media->read(packet) == server::ReadResult::packet)
        bytes += packet.data.size();
    EXPECT_EQ(bytes, 50U * 160U);
    fs::remove(file);
}

TEST(Recording, Mp2tIsWrittenAsItCame) {
    TrackFormat ts;
    ts.codec = rtp::DepacketizedCodec::mp2t;
    EXPECT_EQ(Recording::suffix({ts}), ".ts");
    const auto file = fs::temp_directory_path() / ("sg_recording_ts_" + std::to_string(::getpid()) + ".ts");
    std::string error;
    auto recording = Recording::start(file, {ts}, error);
    ASSERT_NE(recording, nullptr) << error;
    std::vector<std::uint8_t> written;
    for (std::uint16_t i = 0; i < 3; ++i) {
        rtp::RtpHeader header;
        header.payload_type = 33;
        header.sequence = i;
        header.timestamp = 3000U * i;
        std::vector<std::uint8_t> payload(188 * 7, static_cast<std::uint8_t>(i));
        for (std::size_t p = 0; p < 7; ++p)
            payload[188 * p] = 0x47;
        written.insert(written.end(), payload.begin(), payload.end());
        std::vector<std::uint8_t> packet;
        ASSERT_TRUE(rtp::append_rtp(packet, header, Bytes(payload.data(), payload.size())).ok());
        recording->feed(0, Bytes(packet.data(), packet.size()), Recording::Clock::now());
    }
    ASSERT_TRUE(recording->finish()) << recording->why();
    EXPECT_EQ(fs::file_size(file), written.size());
    fs::remove(file);
}

}  // namespace
}  // namespace sg::vod

// MediaFile's MP2T mode (Mp2tRemuxer): a file with codecs we have no packetizer for becomes one track of
// transport stream bytes. The input is encoded at test time with libavcodec's own MPEG-2 video and MP2
// encoders (always built in), so the test needs no media files and no ffmpeg binary.

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
}

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "rtp/mp2t_packetizer.hpp"
#include "server/media_file.hpp"

namespace sg::server {
namespace {

namespace fs = std::filesystem;

constexpr int k_fps = 25;
constexpr int k_seconds = 2;
constexpr int k_sample_rate = 44100;
constexpr int k_mp2_frame = 1152;

struct Encoded {
    AVCodecContext* codec = nullptr;
    AVStream* stream = nullptr;
    ~Encoded() { avcodec_free_context(&codec); }
};

// Sends `frame` (nullptr: flush) through the encoder and every packet out to the muxer.
bool encode(AVFormatContext* muxer, Encoded& e, AVFrame* frame) {
    if (avcodec_send_frame(e.codec, frame) < 0) return false;
    AVPacket* packet = av_packet_alloc();
    int rc = 0;
    while ((rc = avcodec_receive_packet(e.codec, packet)) >= 0) {
        av_packet_rescale_ts(packet, e.codec->time_base, e.stream->time_base);
        packet->stream_index = e.stream->index;
        if (av_interleaved_write_frame(muxer, packet) < 0) rc = AVERROR_EXTERNAL;
        if (rc < 0) break;
    }
    av_packet_free(&packet);
    return rc == AVERROR(EAGAIN) || rc == AVERROR_EOF;
}

bool open_encoder(AVFormatContext* muxer, Encoded& e, AVCodecID id) {
    const AVCodec* codec = avcodec_find_encoder(id);
    if (codec == nullptr) return false;
    e.codec = avcodec_alloc_context3(codec);
    if (id == AV_CODEC_ID_MPEG2VIDEO) {
        e.codec->width = 64;
        e.codec->height = 48;
        e.codec->pix_fmt = AV_PIX_FMT_YUV420P;
        e.codec->time_base = AVRational{1, k_fps};
        e.codec->framerate = AVRational{k_fps, 1};
        e.codec->gop_size = k_fps;  // a keyframe every second
        e.codec->max_b_frames = 0;
    } else {
        e.codec->sample_fmt = AV_SAMPLE_FMT_S16;
        e.codec->sample_rate = k_sample_rate;
        e.codec->bit_rate = 128000;
        av_channel_layout_default(&e.codec->ch_layout, 2);
        e.codec->time_base = AVRational{1, k_sample_rate};
    }
    if ((muxer->oformat->flags & AVFMT_GLOBALHEADER) != 0) e.codec->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (avcodec_open2(e.codec, codec, nullptr) < 0) return false;
    e.stream = avformat_new_stream(muxer, nullptr);
    return e.stream != nullptr && avcodec_parameters_from_context(e.stream->codecpar, e.codec) >= 0;
}

// A 2 s MKV of MPEG-2 video (64x48, 25 fps) and MP2 stereo audio.
bool write_clip(const fs::path& path) {
    AVFormatContext* muxer = nullptr;
    if (avformat_alloc_output_context2(&muxer, nullptr, "matroska", path.c_str()) < 0) return false;
    Encoded video;
    Encoded audio;
    bool ok = open_encoder(muxer, video, AV_CODEC_ID_MPEG2VIDEO) &&
              open_encoder(muxer, audio, AV_CODEC_ID_MP2) &&
              avio_open(&muxer->pb, path.c_str(), AVIO_FLAG_WRITE) >= 0 &&
              avformat_write_header(muxer, nullptr) >= 0;
    AVFrame* frame = av_frame_alloc();
    for (int i = 0; ok && i < k_fps * k_seconds; ++i) {
        av_frame_unref(frame);
        frame->format = AV_PIX_FMT_YUV420P;
        frame->width = 64;
        frame->height = 48;
        ok = av_frame_get_buffer(frame, 0) >= 0;
        for (int plane = 0; ok && plane < 3; ++plane) {
            const int rows = plane == 0 ? 48 : 24;
            for (int y = 0; y < rows; ++y) {
                for (int x = 0; x < frame->linesize[plane]; ++x)
                    frame->data[plane][y * frame->linesize[plane] + x] =
                        static_cast<std::uint8_t>(x + y + 3 * i);
            }
        }
        frame->pts = i;
        ok = ok && encode(muxer, video, frame);
    }
    for (int i = 0; ok && i * k_mp2_frame < k_sample_rate * k_seconds; ++i) {
        av_frame_unref(frame);
        frame->format = AV_SAMPLE_FMT_S16;
        frame->nb_samples = k_mp2_frame;
        frame->sample_rate = k_sample_rate;
        ok = av_channel_layout_copy(&frame->ch_layout, &audio.codec->ch_layout) >= 0 &&
             av_frame_get_buffer(frame, 0) >= 0;
        auto* samples = reinterpret_cast<std::int16_t*>(frame->data[0]);  // NOLINT: S16 is interleaved
        for (int s = 0; ok && s < 2 * k_mp2_frame; ++s)
            samples[s] = static_cast<std::int16_t>((s * 37 + i * 1000) % 20000);
        frame->pts = static_cast<std::int64_t>(i) * k_mp2_frame;
        ok = ok && encode(muxer, audio, frame);
    }
    av_frame_free(&frame);
    ok = ok && encode(muxer, video, nullptr) && encode(muxer, audio, nullptr) && av_write_trailer(muxer) >= 0;
    if (muxer->pb != nullptr) avio_closep(&muxer->pb);
    avformat_free_context(muxer);
    return ok;
}

struct Demuxed {
    std::map<std::string, int> packets;              // per codec name
    std::map<std::string, std::vector<double>> pts;  // seconds, in file order
};

// What libavformat's MPEG-TS demuxer finds in `bytes`.
Demuxed demux_ts(const fs::path& path, const std::vector<std::uint8_t>& bytes) {
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),  // NOLINT
               static_cast<std::streamsize>(bytes.size()));
    Demuxed result;
    AVFormatContext* format = nullptr;
    if (avformat_open_input(&format, path.c_str(), av_find_input_format("mpegts"), nullptr) < 0)
        return result;
    avformat_find_stream_info(format, nullptr);
    AVPacket* packet = av_packet_alloc();
    while (av_read_frame(format, packet) >= 0) {
        const AVStream& stream = *format->streams[packet->stream_index];
        const std::string name = avcodec_get_name(stream.codecpar->codec_id);
        ++result.packets[name];
        if (packet->pts != AV_NOPTS_VALUE)
            result.pts[name].push_back(static_cast<double>(packet->pts) * av_q2d(stream.time_base));
        av_packet_unref(packet);
    }
    av_packet_free(&packet);
    avformat_close_input(&format);
    return result;
}

class Mp2tMediaFile : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = fs::temp_directory_path() / ("sg_mp2t_media_test_" + std::to_string(getpid()));
        fs::create_directories(dir_);
        clip_ok_ = write_clip(dir_ / "clip.mkv");
    }
    static void TearDownTestSuite() { fs::remove_all(dir_); }
    void SetUp() override { ASSERT_TRUE(clip_ok_) << "cannot encode the test clip"; }

    // Reads the file to its end: the TS bytes, checking that every read is whole sync-checked TS packets
    // and that the times the session paces by never go back.
    static void read_to_end(MediaFile& file, std::vector<std::uint8_t>& ts, int& reads) {
        MediaPacket packet;
        double last_dts = -1.0;
        std::int64_t last_clock = -1;
        ReadResult r{};
        while ((r = file.read(packet)) == ReadResult::packet) {
            ++reads;
            EXPECT_EQ(packet.track, 0U);
            ASSERT_FALSE(packet.data.empty());
            ASSERT_EQ(packet.data.size() % rtp::k_ts_packet_size, 0U);
            for (std::size_t i = 0; i < packet.data.size(); i += rtp::k_ts_packet_size)
                ASSERT_EQ(packet.data[i], rtp::k_ts_sync_byte);
            EXPECT_GE(packet.dts_seconds, last_dts);
            EXPECT_GE(packet.pts_clock, last_clock);
            last_dts = packet.dts_seconds;
            last_clock = packet.pts_clock;
            ts.insert(ts.end(), packet.data.begin(), packet.data.end());
        }
        EXPECT_EQ(r, ReadResult::end_of_file);
    }

    static inline fs::path dir_;
    static inline bool clip_ok_ = false;
};

TEST_F(Mp2tMediaFile, UnsupportedCodecsBecomeOneMp2tTrackCarryingEveryPacket) {
    std::string error;
    auto file = MediaFile::open(dir_ / "clip.mkv", error);
    ASSERT_TRUE(file) << error;
    ASSERT_EQ(file->tracks().size(), 1U);
    EXPECT_EQ(file->tracks()[0].codec, Codec::mp2t);
    EXPECT_EQ(file->tracks()[0].clock_rate, 90000U);
    EXPECT_EQ(codec_name(Codec::mp2t), "MP2T");
    std::vector<std::uint8_t> ts;
    int reads = 0;
    read_to_end(*file, ts, reads);
    EXPECT_GT(reads, k_fps * k_seconds / 2);  // bytes go out packet by packet, not all at the end
    const auto demuxed = demux_ts(dir_ / "out.ts", ts);
    EXPECT_EQ(demuxed.packets.at("mpeg2video"), k_fps * k_seconds);
    EXPECT_EQ(demuxed.packets.at("mp2"), (k_sample_rate * k_seconds + k_mp2_frame - 1) / k_mp2_frame);
}

TEST_F(Mp2tMediaFile, LoopRewindContinuesTheTimeline) {
    std::string error;
    auto file = MediaFile::open(dir_ / "clip.mkv", error);
    ASSERT_TRUE(file) << error;
    std::vector<std::uint8_t> ts;
    int reads = 0;
    read_to_end(*file, ts, reads);
    ASSERT_TRUE(file->rewind_for_loop());
    std::vector<std::uint8_t> second;
    read_to_end(*file, second, reads);
    ts.insert(ts.end(), second.begin(), second.end());
    const auto demuxed = demux_ts(dir_ / "loop.ts", ts);
    EXPECT_EQ(demuxed.packets.at("mpeg2video"), 2 * k_fps * k_seconds);
    // One stream: every frame 1/25 s after the previous one, across the seam too (there, up to the video's
    // start delay in the MKV more: a pass lasts from the file's start to its last packet's end, as
    // for the RTP timestamps of native tracks).
    const auto& pts = demuxed.pts.at("mpeg2video");
    ASSERT_EQ(pts.size(), static_cast<std::size_t>(2 * k_fps * k_seconds));
    for (std::size_t i = 1; i < pts.size(); ++i)
        EXPECT_NEAR(pts[i] - pts[i - 1], 1.0 / k_fps, i == pts.size() / 2 ? 0.015 : 0.002) << "frame " << i;
}

TEST_F(Mp2tMediaFile, SeekRestartsTheStreamAtTheKeyframe) {
    std::string error;
    auto file = MediaFile::open(dir_ / "clip.mkv", error);
    ASSERT_TRUE(file) << error;
    MediaPacket packet;
    for (int i = 0; i < 20; ++i)
        ASSERT_EQ(file->read(packet), ReadResult::packet);
    // Keyframes are at 0.011 and 1.011 s (the MKV delays the video slightly): 1.5 s lands on the second.
    ASSERT_TRUE(file->seek(1.5));
    std::vector<std::uint8_t> ts;
    int reads = 0;
    read_to_end(*file, ts, reads);
    // A new muxer: its tables (SDT, PAT, PMT) come first, and the second second of video is there whole.
    ASSERT_GE(ts.size(), 3 * rtp::k_ts_packet_size);
    bool pat = false;
    for (std::size_t i = 0; i < 3 * rtp::k_ts_packet_size; i += rtp::k_ts_packet_size)
        pat = pat || (((ts[i + 1] & 0x1f) << 8) | ts[i + 2]) == 0;
    EXPECT_TRUE(pat);
    const auto demuxed = demux_ts(dir_ / "seek.ts", ts);
    EXPECT_EQ(demuxed.packets.at("mpeg2video"), k_fps * (k_seconds - 1));
    EXPECT_NEAR(demuxed.pts.at("mpeg2video").front(), 1.0, 0.05);
    // The discontinuity is flagged (continuity counters restart): adaptation field, indicator bit.
    EXPECT_TRUE((ts[3] & 0x20) != 0 && ts[4] > 0 && (ts[5] & 0x80) != 0);
}

TEST_F(Mp2tMediaFile, ForcedForAFileWeCouldPacketize) {
    // G.711 we packetize natively; --mp2t (force_mp2t) sends it as MP2T all the same.
    const fs::path wav = dir_ / "mulaw.wav";
    {
        AVFormatContext* muxer = nullptr;
        ASSERT_GE(avformat_alloc_output_context2(&muxer, nullptr, "wav", wav.c_str()), 0);
        AVStream* stream = avformat_new_stream(muxer, nullptr);
        stream->codecpar->codec_type = AVMEDIA_TYPE_AUDIO;
        stream->codecpar->codec_id = AV_CODEC_ID_PCM_MULAW;
        stream->codecpar->sample_rate = 8000;
        av_channel_layout_default(&stream->codecpar->ch_layout, 1);
        stream->time_base = AVRational{1, 8000};
        ASSERT_GE(avio_open(&muxer->pb, wav.c_str(), AVIO_FLAG_WRITE), 0);
        ASSERT_GE(avformat_write_header(muxer, nullptr), 0);
        AVPacket* packet = av_packet_alloc();
        for (int i = 0; i < 50; ++i) {
            ASSERT_GE(av_new_packet(packet, 160), 0);
            std::fill(packet->data, packet->data + 160, static_cast<std::uint8_t>(0x7f + i));
            packet->pts = packet->dts = static_cast<std::int64_t>(i) * 160;
            packet->duration = 160;
            packet->stream_index = 0;
            ASSERT_GE(av_write_frame(muxer, packet), 0);
            av_packet_unref(packet);  // av_write_frame does not take it
        }
        av_packet_free(&packet);
        ASSERT_GE(av_write_trailer(muxer), 0);
        avio_closep(&muxer->pb);
        avformat_free_context(muxer);
    }
    std::string error;
    auto native = MediaFile::open(wav, error);
    ASSERT_TRUE(native) << error;
    ASSERT_EQ(native->tracks().size(), 1U);
    EXPECT_EQ(native->tracks()[0].codec, Codec::pcmu);
    auto forced = MediaFile::open(wav, error, /*force_mp2t=*/true);
    ASSERT_TRUE(forced) << error;
    ASSERT_EQ(forced->tracks().size(), 1U);
    EXPECT_EQ(forced->tracks()[0].codec, Codec::mp2t);
    std::vector<std::uint8_t> ts;
    int reads = 0;
    read_to_end(*forced, ts, reads);
    EXPECT_GT(ts.size(), 50U * 160U);  // every sample went in
}

}  // namespace
}  // namespace sg::server

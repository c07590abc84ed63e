// The presentation cache probes a file once per version (mtime + size), caches failures too, serves many
// threads with one probe, and its layout lets a viewer's demuxer open without a probe yet read the same
// packets. The media is a G.711 mu-law WAV written here, so the test needs no tools and no fixtures.
#include "server/presentation_cache.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace sg::server {
namespace {

namespace fs = std::filesystem;

void put_le(std::string& out, std::uint32_t value, int bytes) {
    for (int i = 0; i < bytes; ++i)
        out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

// RIFF/WAVE, format 7 (mu-law), mono, 8 kHz: `samples` bytes of audio.
void write_mulaw_wav(const fs::path& path, std::uint32_t samples) {
    std::string fmt;
    put_le(fmt, 7, 2);     // WAVE_FORMAT_MULAW
    put_le(fmt, 1, 2);     // channels
    put_le(fmt, 8000, 4);  // sample rate
    put_le(fmt, 8000, 4);  // byte rate
    put_le(fmt, 1, 2);     // block align
    put_le(fmt, 8, 2);     // bits per sample
    put_le(fmt, 0, 2);     // cbSize
    std::string file = "RIFF";
    put_le(file, static_cast<std::uint32_t>(4 + 8 + fmt.size() + 8 + samples), 4);
    file += "WAVEfmt ";
    put_le(file, static_cast<std::uint32_t>(fmt.size()), 4);
    file += fmt;
    file += "data";
    put_le(file, samples, 4);
    for (std::uint32_t i = 0; i < samples; ++i)
        file.push_back(static_cast<char>(0xff - (i % 64)));
    std::ofstream(path, std::ios::binary | std::ios::trunc) << file;
}

struct ReadSummary {
    std::size_t packets = 0;
    std::size_t bytes = 0;
    std::int64_t last_pts = -1;
};

ReadSummary read_all(MediaFile& file) {
    ReadSummary summary;
    MediaPacket packet;
    while (file.read(packet) == ReadResult::packet) {
        ++summary.packets;
        summary.bytes += packet.data.size();
        summary.last_pts = packet.pts_clock;
    }
    return summary;
}

class PresentationCacheTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("sg-presentation-cache-" + std::to_string(::getpid()));
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        clip_ = dir_ / "clip.wav";
        write_mulaw_wav(clip_, 16000);  // 2 s
    }
    void TearDown() override { fs::remove_all(dir_); }

    fs::path dir_;
    fs::path clip_;
    PresentationCache cache_{1400};
};

TEST_F(PresentationCacheTest, ProbesOnceAndDescribesTheTracks) {
    std::string error;
    const auto first = cache_.get(clip_, error);
    ASSERT_TRUE(first) << error;
    EXPECT_EQ(cache_.probes(), 1U);
    ASSERT_EQ(first->layout.tracks.size(), 1U);
    EXPECT_EQ(first->layout.tracks[0].codec, Codec::pcmu);
    EXPECT_NEAR(first->layout.duration, 2.0, 0.01);
    EXPECT_NE(first->media_sdp.find("m=audio 0 RTP/AVP 0\r\n"), std::string::npos) << first->media_sdp;
    EXPECT_NE(first->media_sdp.find("a=control:trackID=0\r\n"), std::string::npos) << first->media_sdp;

    const auto second = cache_.get(clip_, error);
    EXPECT_EQ(second, first);  // the same cached object, no second probe
    EXPECT_EQ(cache_.probes(), 1U);
}

TEST_F(PresentationCacheTest, ProbesAgainWhenTheFileChanges) {
    std::string error;
    const auto before = cache_.get(clip_, error);
    ASSERT_TRUE(before) << error;
    write_mulaw_wav(clip_, 24000);  // 3 s: another size
    const auto after = cache_.get(clip_, error);
    ASSERT_TRUE(after) << error;
    EXPECT_EQ(cache_.probes(), 2U);
    EXPECT_NEAR(after->layout.duration, 3.0, 0.01);
    EXPECT_NEAR(before->layout.duration, 2.0, 0.01);  // holders of the old version keep it intact
}

TEST_F(PresentationCacheTest, CachesFailuresPerVersion) {
    const auto junk = dir_ / "junk.mp4";
    std::ofstream(junk) << "this is not a media file at all";
    std::string error;
    EXPECT_FALSE(cache_.get(junk, error));
    EXPECT_FALSE(error.empty());
    error.clear();
    EXPECT_FALSE(cache_.get(junk, error));
    EXPECT_FALSE(error.empty());
    EXPECT_EQ(cache_.probes(), 1U);

    // Replaced by a playable file: the next request sees it.
    write_mulaw_wav(junk, 8000);
    error.clear();
    EXPECT_TRUE(cache_.get(junk, error)) << error;
    EXPECT_EQ(cache_.probes(), 2U);
}

TEST_F(PresentationCacheTest, MissingFileIsAnError) {
    std::string error;
    EXPECT_FALSE(cache_.get(dir_ / "nothing.mp4", error));
    EXPECT_FALSE(error.empty());
    EXPECT_EQ(cache_.probes(), 0U);
}

TEST_F(PresentationCacheTest, ManyThreadsShareOneProbe) {
    std::atomic<int> found{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 20; ++i) {
                std::string error;
                if (cache_.get(clip_, error)) ++found;
            }
        });
    }
    for (auto& thread : threads)
        thread.join();
    EXPECT_EQ(found.load(), 160);
    EXPECT_EQ(cache_.probes(), 1U);
}

TEST_F(PresentationCacheTest, OpenWithTheLayoutSkipsTheProbeAndReadsTheSamePackets) {
    std::string error;
    const auto presentation = cache_.get(clip_, error);
    ASSERT_TRUE(presentation) << error;
    auto probed = MediaFile::open(clip_, error);
    ASSERT_TRUE(probed) << error;
    EXPECT_TRUE(probed->probed());
    auto quick = MediaFile::open(clip_, error, false, &presentation->layout);
    ASSERT_TRUE(quick) << error;
    EXPECT_FALSE(quick->probed());
    EXPECT_DOUBLE_EQ(quick->duration_seconds(), probed->duration_seconds());
    ASSERT_EQ(quick->tracks().size(), probed->tracks().size());

    const auto a = read_all(*probed);
    const auto b = read_all(*quick);
    EXPECT_GT(a.packets, 0U);
    EXPECT_EQ(a.bytes, 16000U);
    EXPECT_EQ(b.packets, a.packets);
    EXPECT_EQ(b.bytes, a.bytes);
    EXPECT_EQ(b.last_pts, a.last_pts);
}

TEST_F(PresentationCacheTest, LayoutThatDoesNotMatchTheHeaderFallsBackToAProbe) {
    std::string error;
    const auto presentation = cache_.get(clip_, error);
    ASSERT_TRUE(presentation) << error;
    ProbedLayout wrong = presentation->layout;
    wrong.tracks[0].codec = Codec::pcma;  // as if the file had been swapped for an A-law one
    auto file = MediaFile::open(clip_, error, false, &wrong);
    ASSERT_TRUE(file) << error;
    EXPECT_TRUE(file->probed());
    EXPECT_EQ(file->tracks()[0].codec, Codec::pcmu);

    wrong = presentation->layout;
    wrong.tracks[0].stream_index = 5;  // no such stream
    file = MediaFile::open(clip_, error, false, &wrong);
    ASSERT_TRUE(file) << error;
    EXPECT_TRUE(file->probed());
}

}  // namespace
}  // namespace sg::server

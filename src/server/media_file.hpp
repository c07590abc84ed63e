#pragma once
// One media file opened with FFmpeg's libavformat: the tracks we can packetize and their packets in
// decoding order, with timestamps converted for RTP. Each viewer opens its own MediaFile, so a file is read
// once per viewer and never per packet; reads are ordinary blocking file reads of one packet.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/byte_io.hpp"

struct AVFormatContext;
struct AVPacket;

namespace sg::server {

// mp2t: the whole file remuxed to an MPEG-2 transport stream, one track (RFC 2250; see Mp2tRemuxer).
enum class Codec : std::uint8_t { h264, aac, opus, pcmu, pcma, h265, mp2t };

std::string_view codec_name(Codec codec) noexcept;

struct TrackInfo {
    int stream_index = 0;  // in the container; -1 for mp2t (all of them)
    Codec codec = Codec::h264;
    std::uint32_t clock_rate = 90000;  // RTP clock
    int channels = 0;                  // audio
    int sample_rate = 0;               // audio
    std::vector<std::uint8_t> extradata;
};

struct MediaPacket {
    std::size_t track = 0;       // index into MediaFile::tracks()
    std::int64_t pts_clock = 0;  // presentation time in RTP clock units from the file's start
    double dts_seconds = 0.0;    // decoding time in seconds from the file's start (for pacing)
    double end_seconds = 0.0;    // presentation end (pts + duration) in seconds from the start
    bool keyframe = false;
    Bytes data;  // valid until the next read() or seek()
};

enum class ReadResult : std::uint8_t { packet, end_of_file, error };

class Mp2tRemuxer;

// What a full probe of a file found. Given to a later open() of the same unchanged file, it lets the open
// skip avformat_find_stream_info (which reads and decodes frames) when the container's header alone shows
// the same streams.
struct ProbedLayout {
    std::vector<TrackInfo> tracks;
    double duration = 0.0;
    std::int64_t start_time = 0;  // AV_TIME_BASE units
};

class MediaFile {
public:
    // Opens and probes the file; nullptr with `error` set when it cannot be read or has no track we can
    // send. When an audio or video stream has a codec we cannot packetize (or `force_mp2t`), the whole
    // file becomes one mp2t track: read() then returns transport stream bytes remuxed from all of them.
    // With `known`, the probe is skipped when the header matches it (see ProbedLayout).
    static std::unique_ptr<MediaFile> open(const std::filesystem::path& path, std::string& error,
                                           bool force_mp2t = false, const ProbedLayout* known = nullptr);
    ~MediaFile();
    MediaFile(const MediaFile&) = delete;
    MediaFile& operator=(const MediaFile&) = delete;

    const std::vector<TrackInfo>& tracks() const noexcept { return tracks_; }
    double duration_seconds() const noexcept { return duration_; }
    ProbedLayout layout() const { return {tracks_, duration_, start_time_}; }
    bool probed() const noexcept { return probed_; }  // false: opened from a ProbedLayout

    ReadResult read(MediaPacket& out);
    // Positions the demuxer at the last keyframe at or before `seconds` from the start.
    bool seek(double seconds);
    // Back to the start for --loop's next pass: like seek(0), but an mp2t stream's timeline runs on.
    bool rewind_for_loop();

private:
    MediaFile() = default;
    bool seek_demuxer(double seconds);
    bool start_mp2t(std::string& error);
    ReadResult read_mp2t(MediaPacket& out);
    bool adopt(const ProbedLayout& known);

    AVFormatContext* format_ = nullptr;
    AVPacket* packet_ = nullptr;
    std::vector<TrackInfo> tracks_;
    std::vector<int> track_of_stream_;  // container stream index -> track index or -1
    double duration_ = 0.0;
    std::int64_t start_time_ = 0;  // AV_TIME_BASE units
    bool at_start_ = true;         // nothing read since opening or rewinding
    // mp2t: the remuxer, whether the end of the file was flushed out, and the times of the last packet
    // sent (kept monotonic: the stream's bytes go out in order whatever the streams' interleaving).
    std::unique_ptr<Mp2tRemuxer> remux_;
    bool mp2t_flushed_ = false;
    MediaPacket mp2t_last_;
    bool probed_ = true;
};

}  // namespace sg::server

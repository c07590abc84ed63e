#pragma once
// One recording of a mount's upstream into the VOD cache: every track's RTP packets depacketized
// (rtp/depacketizer.hpp) and muxed into Matroska with FFmpeg's libavformat, a container whose cues index
// every key frame, so `serve`'s engine seeks in the recording exactly; an upstream that already sends MP2T
// is written as it comes (a .ts file). The Matroska header waits for each video track's first key frame,
// whose slice gives the picture size (FFmpeg's parser reads it); what arrives before is held, bounded.
// Tracks start in sync at the presentation's start: a track's first packet sits at the npt its RTP-Info
// rtptime gives (else at its arrival after the first packet of any track).
// A packet lost, a payload that does not parse or a failed write damages the recording: it is then never
// finished, because a cached copy with a hole would be served to every later player.
// File writes go through libavformat's buffer (32 KiB), so the event loop feeding packets writes to the page
// cache in large pieces.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/byte_io.hpp"
#include "rtp/depacketizer.hpp"
#include "vod_cache/track_format.hpp"

struct AVFormatContext;

namespace sg::vod {

class Recording {
public:
    using Clock = std::chrono::steady_clock;

    // The file name suffix of a recording of these tracks: ".ts" for MP2T, else ".mkv".
    static std::string_view suffix(const std::vector<TrackFormat>& formats);
    // Opens `file` for writing; nullptr with `error` set when the muxer cannot take these tracks.
    static std::unique_ptr<Recording> start(const std::filesystem::path& file,
                                            std::vector<TrackFormat> formats, std::string& error);
    ~Recording();
    Recording(const Recording&) = delete;
    Recording& operator=(const Recording&) = delete;

    // Track `track`'s RTP timestamp at the start of the presentation (the PLAY answer's RTP-Info).
    void set_start_rtptime(std::size_t track, std::uint32_t rtptime);
    // One RTP packet of `track`, arrived at `arrival`.
    void feed(std::size_t track, Bytes packet, Clock::time_point arrival);
    bool damaged() const noexcept { return !why_.empty(); }
    const std::string& why() const noexcept { return why_; }
    // The end of the presentation: the last units out and the file closed. False (why() says) when the
    // recording was damaged or the last writes failed.
    bool finish();
    std::uint64_t bytes() const noexcept { return bytes_; }
    std::uint64_t units() const noexcept { return units_; }

private:
    struct Track {
        TrackFormat format;
        rtp::Depacketizer depacketizer;
        std::optional<std::uint32_t> start_rtptime;
        std::optional<std::int64_t> offset;  // clock units added to the depacketizer's timestamps
        std::int64_t last_pts = -1;
        bool sized = false;  // video: the picture size is known (always true for audio)
    };
    struct Held {
        std::size_t track = 0;
        rtp::AccessUnit unit;
    };
    // What may wait for the header: a video track's key frame should come within the first GOP.
    static constexpr std::size_t k_max_held_units = 4096;
    static constexpr std::size_t k_max_held_bytes = std::size_t{32} << 20;

    Recording() = default;
    void take_units(std::size_t track);
    // Learns a video track's picture size from its first key frame; writes the header once all are known.
    void size_from(std::size_t track, const rtp::AccessUnit& unit);
    bool write_header();
    void write_unit(std::size_t track, const rtp::AccessUnit& unit);
    void fail(std::string why);

    AVFormatContext* format_ = nullptr;
    std::vector<Track> tracks_;
    std::FILE* raw_ = nullptr;  // MP2T upstreams: the payloads as they come
    bool header_written_ = false;
    std::vector<Held> held_;  // units before the header
    std::size_t held_bytes_ = 0;
    std::optional<Clock::time_point> first_arrival_;
    std::string why_;
    bool finished_ = false;
    std::uint64_t bytes_ = 0;
    std::uint64_t units_ = 0;
};

}  // namespace sg::vod

#pragma once
// Remuxes the audio and video streams of an opened file into an MPEG-2 transport stream in memory, with
// libavformat's "mpegts" muxer writing through a custom AVIOContext: `serve` sends files whose codecs have
// no RTP payload format of ours as one MP2T track (RFC 2250), and --mp2t forces it for any file. Packets go
// in in decoding order as the demuxer reads them; the TS bytes each one produces are taken right after it
// (the muxer may hold audio back to fill a PES packet, then nothing comes out).
//
// Timeline: a seek starts a fresh muxer on the file's own timestamps (PAT/PMT first, the discontinuity
// flagged), like a native track's RTP timestamps restarting at the seek point; a --loop rewind keeps the
// muxer and shifts the next pass to follow this one, so the transport stream runs on without a jump.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/byte_io.hpp"

struct AVBSFContext;
struct AVFormatContext;
struct AVIOContext;
struct AVPacket;

namespace sg::server {

// Where the muxer's AVIOContext writes (its opaque pointer): bytes since the last take.
struct TsOutput {
    std::vector<std::uint8_t> bytes;
    bool taken = false;  // the bytes were handed out; the next write starts afresh
};

class Mp2tRemuxer {
public:
    // Carries every audio and video stream of `input` (not cover art); nullptr with `error` set when there
    // is none or the muxer refuses them. `input` must outlive the remuxer.
    static std::unique_ptr<Mp2tRemuxer> create(AVFormatContext& input, std::string& error);
    ~Mp2tRemuxer();
    Mp2tRemuxer(const Mp2tRemuxer&) = delete;
    Mp2tRemuxer& operator=(const Mp2tRemuxer&) = delete;

    bool carries(int stream_index) const noexcept;
    // Muxes one packet of a carried stream (its timestamps are rewritten). False when the muxer refused
    // it (the packet is lost, the stream goes on). A decoding time that does not advance is moved one tick
    // after the previous one, since the muxer requires them increasing.
    bool write(AVPacket& packet);
    // Pushes out what the muxer holds back (the end of the file).
    bool flush();
    // The TS bytes produced since the last take(); valid until the next write, flush or restart.
    Bytes take() noexcept;
    // After a seek: a new muxer on the file's own timeline (nothing to do before the first packet).
    bool restart(std::string& error);
    // Before --loop's next pass over the file: later packets follow the end of this pass.
    void continue_timeline() noexcept;

    std::uint64_t dropped() const noexcept { return dropped_; }

private:
    Mp2tRemuxer() = default;
    bool open_muxer(bool discontinuity, std::string& error);
    void close_muxer() noexcept;
    std::int64_t start_90khz() const noexcept;  // the file's start time

    AVFormatContext* input_ = nullptr;
    AVFormatContext* output_ = nullptr;
    AVIOContext* io_ = nullptr;
    std::vector<int> output_of_input_;         // input stream index -> output stream index or -1
    std::vector<AVBSFContext*> in_band_;       // per input stream: "dump_extra" filter, or nullptr
    std::vector<std::int64_t> first_dts_;      // per output stream, this pass, 90 kHz, before the offset
    std::vector<std::int64_t> last_dts_;       // per output stream, as muxed (offset included)
    std::vector<std::int64_t> reorder_delay_;  // per output stream, pts - dts of the last packet with both
    std::int64_t offset_ = 0;                  // added to every timestamp, 90 kHz
    std::int64_t pass_end_ = 0;  // largest pts + duration in this pass, 90 kHz, before the offset
    TsOutput out_;
    bool written_ = false;  // anything muxed since the muxer was opened
    std::uint64_t dropped_ = 0;
};

}  // namespace sg::server

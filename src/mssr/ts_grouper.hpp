#pragma once
// Groups an MPEG-TS packet stream (as ffmpeg and srt-live-transmit send it over UDP: 188-octet packets, 7 per
// datagram) into MSSR ADUs without demuxing: one ADU per PES packet, i.e. per video access unit or per audio
// PES, cut where the next PES of the same PID starts (payload_unit_start_indicator). The TS bytes are carried
// unchanged, so the receiver writes them back out as they came and any TS reader decodes them.
//
//   * Streams: a PES whose stream_id is 0xE0-0xEF (video) goes to stream 0, any other PES (audio, private
//     data) to stream 1, so audio has its own deadline and never waits behind video.
//   * Priority: a video PES that carries the random_access_indicator (ffmpeg's muxer sets it on key frames)
//     is `key`; another video PES whose first picture no other picture refers to is `disposable` (H.264:
//     a slice with nal_ref_idc 0; H.265: a sub-layer non-reference slice, types 0-14 even), found in the
//     first octets of its elementary stream, whose codec the PID's access unit delimiters or parameter sets
//     tell; other video PES (and any whose first picture is not found there) `reference`, everything on
//     stream 1 `reference`.
//   * Tables (PAT, PMT, SDT: any PID whose units do not start with a PES start code) are held and sent at the
//     front of the next video PES, so a key frame arrives together with the tables a decoder needs first.
//   * Null packets (PID 0x1FFF) are dropped: they are padding.
// An ADU is only complete when the next one on its PID starts, which costs one frame interval of latency
// (40 ms at 25 fps); flush() ends every open ADU (at the end of the input). Pure: no I/O, no clock.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "common/byte_io.hpp"
#include "mssr/wire.hpp"

namespace sg::mssr {

inline constexpr std::size_t k_ts_packet_size = 188;
inline constexpr std::uint8_t k_ts_video_stream = 0;
inline constexpr std::uint8_t k_ts_other_stream = 1;

struct TsAdu {
    std::uint8_t stream = k_ts_video_stream;
    Priority priority = Priority::reference;
    std::vector<std::uint8_t> data;  // whole TS packets
};

struct TsGrouperStats {
    std::uint64_t packets = 0;
    std::uint64_t bad_packets = 0;  // no sync byte, or a datagram not a multiple of 188 octets (the tail)
    std::uint64_t null_packets = 0;
    std::uint64_t orphans = 0;  // continuation of a PES whose start we never saw
    std::uint64_t adus = 0;
    std::uint64_t key_adus = 0;
    std::uint64_t disposable_adus = 0;
};

class TsGrouper {
public:
    // An ADU that grows past this is cut (its bytes still go out in order); bounds memory on garbage.
    static constexpr std::size_t k_max_adu_bytes = 4u << 20;
    // Tables held for the next video PES at most; beyond, they go out as an ADU of their own.
    static constexpr std::size_t k_max_table_bytes = 64 * k_ts_packet_size;

    // One input datagram: whole TS packets.
    void feed(Bytes datagram);
    // Ends every open ADU (end of input, or the input paused).
    void flush();
    // Moves out the ADUs completed since the last call, in completion order.
    std::vector<TsAdu> take();

    const TsGrouperStats& stats() const noexcept { return stats_; }

private:
    // The codec of a video PID's elementary stream, as its Annex B units show it.
    enum class Codec : std::uint8_t { unknown, h264, h265 };
    struct Group {
        bool open = false;
        bool pes = false;  // this PID carries PES (learned at its first unit start)
        TsAdu adu;
        Codec codec = Codec::unknown;  // kept from one PES to the next
        // The first octets of an open video PES's elementary stream, until its first picture is found.
        std::vector<std::uint8_t> es_head;
        bool valued = false;  // the first picture was found (or given up on): priority settled
    };
    // How many octets of a PES's elementary stream are searched for its first picture: past the unit
    // delimiter, parameter sets and SEI a delta frame carries before its first slice.
    static constexpr std::size_t k_max_es_head = 1024;
    void packet(Bytes ts);
    // Feeds a video PES's elementary stream octets to the search for its first picture.
    void value_from_es(Group& group, Bytes es);
    void close(Group& group);
    void emit(TsAdu adu);

    std::array<Group, 8192> pids_{};
    std::vector<std::uint8_t> tables_;
    bool seen_video_ = false;
    std::vector<TsAdu> ready_;
    TsGrouperStats stats_;
};

}  // namespace sg::mssr

#pragma once
// The receiving half of the packetizers: one track's RTP packets back into the access units a container
// stores (the VOD cache records a mount's upstream this way, proxy/vod_cache.hpp).
//   * H.264 (RFC 6184): single NAL units, STAP-A, FU-A; an access unit is the NAL units of one timestamp,
//     written in Annex B form (start codes); key when it holds an IDR slice.
//   * H.265 (RFC 7798, without DONL): single NAL units, APs, FUs; key when it holds an IRAP picture.
//   * AAC (RFC 3640 mpeg4-generic): AU headers of `size_length` and `index_length` bits, one access unit
//     each, 1,024 samples apart; every unit is key.
//   * Opus, PCMU, PCMA, MP2T: one payload is one unit.
// Timestamps are extended to 64 bits across wraps. A sequence gap, a broken fragment run or a payload that
// does not parse marks the depacketizer `damaged`: a recording with a hole must not pass for the original.
// Pure: no I/O; bounded (an access unit over k_max_unit_bytes damages the track).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "common/byte_io.hpp"

namespace sg::rtp {

enum class DepacketizedCodec : std::uint8_t { h264, h265, aac, opus, pcmu, pcma, mp2t };

struct AccessUnit {
    std::int64_t timestamp = 0;  // RTP clock units, extended across wraps, from the track's first packet
    bool key = false;
    std::vector<std::uint8_t> data;
};

class Depacketizer {
public:
    static constexpr std::size_t k_max_unit_bytes = std::size_t{8} << 20;

    // `size_length`/`index_length`: AAC's AU-header fields (fmtp sizelength/indexlength; 13 and 3 for
    // AAC-hbr). Other codecs ignore them.
    explicit Depacketizer(DepacketizedCodec codec, unsigned size_length = 13,
                          unsigned index_length = 3) noexcept
        : codec_(codec), size_length_(size_length), index_length_(index_length) {}

    // One RTP packet as received (header included).
    void feed(Bytes packet);
    // End of the stream: the open access unit is complete.
    void flush();
    // The access units completed since the last call, in order.
    std::vector<AccessUnit> take();
    bool damaged() const noexcept { return damaged_; }
    std::uint64_t packets() const noexcept { return packets_; }

private:
    void close_unit();
    void append_nal(Bytes nal);
    void feed_h264(Bytes payload);
    void feed_h265(Bytes payload);
    void feed_aac(Bytes payload, std::int64_t timestamp);
    void feed_fragment(Bytes body, bool start, bool end, Bytes header);
    void damage() noexcept;

    DepacketizedCodec codec_;
    unsigned size_length_;
    unsigned index_length_;
    bool damaged_ = false;
    std::uint64_t packets_ = 0;
    std::optional<std::uint16_t> next_sequence_;
    std::optional<std::uint32_t> last_timestamp_;
    std::int64_t extended_ = 0;  // the last packet's timestamp, extended
    bool open_ = false;          // unit_ holds NAL units of unit_.timestamp
    bool in_fragment_ = false;
    AccessUnit unit_;
    std::vector<AccessUnit> ready_;
};

}  // namespace sg::rtp

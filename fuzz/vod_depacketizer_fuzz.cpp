// Fuzzes what the VOD cache reads from an upstream (rtp/depacketizer.hpp, vod_cache/track_format.hpp). The
// first byte picks the mode: below 7 a codec, and the rest is RTP packets, each behind a 16-bit length; 7 and
// above, the rest is an upstream's SDP. Checks that
//   - the depacketizer never gives a unit larger than its bound, never gives more than five times the bytes
//     it was fed (a start code per NAL unit at most), and gives nothing new once it is damaged;
//   - track_formats either fails with a reason or gives tracks with a clock and AU header widths that fit.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "rtp/depacketizer.hpp"
#include "vod_cache/track_format.hpp"

namespace {

using namespace sg;

void check_depacketizer(rtp::DepacketizedCodec codec, const std::uint8_t* data, std::size_t size) {
    // AAC's header widths come from the data too: 1-16 bits of size, 0-7 of index.
    unsigned size_length = 13;
    unsigned index_length = 3;
    if (codec == rtp::DepacketizedCodec::aac && size > 0) {
        size_length = 1U + (data[0] & 0x0f);
        index_length = (data[0] >> 4) & 0x07;
        ++data;
        --size;
    }
    rtp::Depacketizer depacketizer(codec, size_length, index_length);
    std::size_t fed = 0;
    std::size_t given = 0;
    bool was_damaged = false;
    const auto take = [&] {
        for (const auto& unit : depacketizer.take()) {
            if (unit.data.size() > rtp::Depacketizer::k_max_unit_bytes || unit.data.empty()) __builtin_trap();
            given += unit.data.size();
        }
    };
    std::size_t offset = 0;
    while (offset + 2 <= size) {
        const std::size_t length = (std::size_t{data[offset]} << 8) | data[offset + 1];
        offset += 2;
        const std::size_t n = length < size - offset ? length : size - offset;
        depacketizer.feed(Bytes(data + offset, n));
        fed += n;
        offset += n;
        if (was_damaged) {
            if (!depacketizer.take().empty()) __builtin_trap();
        } else {
            take();
        }
        was_damaged = depacketizer.damaged();
    }
    depacketizer.flush();
    if (was_damaged && !depacketizer.take().empty()) __builtin_trap();
    take();
    if (given > 5 * fed + 16) __builtin_trap();
}

void check_track_formats(std::string_view sdp) {
    const auto formats = vod::track_formats(sdp);
    if (!formats) {
        if (formats.error().empty()) __builtin_trap();
        return;
    }
    if (formats->empty()) __builtin_trap();
    for (const auto& format : *formats) {
        if (format.clock_rate == 0 || format.size_length > 32 || format.index_length > 32) __builtin_trap();
        if (format.extradata.size() > sdp.size()) __builtin_trap();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    constexpr std::uint8_t k_codecs = 7;
    if (data[0] < k_codecs) {
        check_depacketizer(static_cast<rtp::DepacketizedCodec>(data[0]), data + 1, size - 1);
    } else {
        check_track_formats(std::string_view(reinterpret_cast<const char*>(data + 1), size - 1));
    }
    return 0;
}

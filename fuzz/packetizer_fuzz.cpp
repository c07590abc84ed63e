// libFuzzer target for the `serve` packetizers (file contents are untrusted input too: a served file may
// come from anywhere). The first octet picks the input: H.264 extradata + access unit, AAC frame (raw or
// ADTS), G.711 samples or an Opus packet. Properties: no crash, every payload within the limit, the marker
// on the last payload only where the codec requires it, and for H.264 the NAL units rebuilt from the
// payloads equal the ones split from the input (plus repeated parameter sets). A first octet with the top
// bit set and a multiple of 4 picks H.265 (same checks, RFC 7798 AP/FU); older seeds keep their meaning.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "rtp/aac_packetizer.hpp"
#include "rtp/audio_packetizer.hpp"
#include "rtp/h264_packetizer.hpp"
#include "rtp/h265_packetizer.hpp"

namespace {

using namespace sg::rtp;

void check(bool property) {
    if (!property) __builtin_trap();
}

void check_limits(const PayloadList& out, std::size_t max_payload) {
    for (std::size_t i = 0; i < out.size(); ++i)
        check(out.payload(i).size() <= max_payload);
}

void fuzz_h264(sg::Bytes data, std::size_t max_payload) {
    if (data.size() < 2) return;
    const std::size_t extradata_size = std::min<std::size_t>(data[0], data.size() - 1);
    const auto config = parse_h264_extradata(data.subspan(1, extradata_size));
    if (!config) return;
    const sg::Bytes au = data.subspan(1 + extradata_size);
    H264Packetizer packetizer(*config, max_payload);
    PayloadList out;
    std::vector<sg::Bytes> nals;
    const bool splits = split_nal_units(au, config->length_size, nals);
    std::erase_if(nals, [](sg::Bytes nal) { return !is_sendable_nal_type(nal[0]); });
    const auto packets = packetizer.packetize(au, out);
    check(packets.ok() == splits);
    if (!packets) return;
    check_limits(out, max_payload);
    // Rebuild the NAL units: they end with the input's own, in order.
    std::vector<std::vector<std::uint8_t>> rebuilt;
    std::vector<std::uint8_t> fragment;
    for (std::size_t i = 0; i < out.size(); ++i) {
        const sg::Bytes p = out.payload(i);
        check(!p.empty());
        check(out.chunk(i).marker == (i + 1 == out.size()));
        const std::uint8_t type = p[0] & 0x1f;
        if (type == 28) {
            check(p.size() >= 2);
            if ((p[1] & 0x80) != 0)
                fragment.assign(1, static_cast<std::uint8_t>((p[0] & 0xe0) | (p[1] & 0x1f)));
            fragment.insert(fragment.end(), p.begin() + 2, p.end());
            if ((p[1] & 0x40) != 0) rebuilt.push_back(fragment);
        } else if (type != 24) {
            rebuilt.emplace_back(p.begin(), p.end());
        }
    }
    check(rebuilt.size() >= nals.size());
    const std::size_t skip = rebuilt.size() - nals.size();
    for (std::size_t i = 0; i < nals.size(); ++i) {
        check(std::vector<std::uint8_t>(nals[i].begin(), nals[i].end()) == rebuilt[skip + i]);
    }
}

void fuzz_h265(sg::Bytes data, std::size_t max_payload) {
    if (data.size() < 2) return;
    const std::size_t extradata_size = std::min<std::size_t>(data[0], data.size() - 1);
    const auto config = parse_h265_extradata(data.subspan(1, extradata_size));
    if (!config) return;
    const sg::Bytes au = data.subspan(1 + extradata_size);
    H265Packetizer packetizer(*config, max_payload);
    PayloadList out;
    std::vector<sg::Bytes> nals;
    const bool splits = split_nal_units(au, config->length_size, nals);
    std::erase_if(nals, [](sg::Bytes nal) { return !is_sendable_h265_nal(nal); });
    const auto packets = packetizer.packetize(au, out);
    check(packets.ok() == splits);
    if (!packets) return;
    check_limits(out, max_payload);
    std::vector<std::vector<std::uint8_t>> rebuilt;
    std::vector<std::uint8_t> fragment;
    for (std::size_t i = 0; i < out.size(); ++i) {
        const sg::Bytes p = out.payload(i);
        check(p.size() >= 2);
        check(out.chunk(i).marker == (i + 1 == out.size()));
        const std::uint8_t type = (p[0] >> 1) & 0x3f;
        if (type == 49) {
            check(p.size() >= 3);
            if ((p[2] & 0x80) != 0)
                fragment.assign({static_cast<std::uint8_t>((p[0] & 0x81) | ((p[2] & 0x3f) << 1)), p[1]});
            fragment.insert(fragment.end(), p.begin() + 3, p.end());
            if ((p[2] & 0x40) != 0) rebuilt.push_back(fragment);
        } else if (type != 48) {
            check(type < 48);
            rebuilt.emplace_back(p.begin(), p.end());
        }
    }
    check(rebuilt.size() >= nals.size());
    const std::size_t skip = rebuilt.size() - nals.size();
    for (std::size_t i = 0; i < nals.size(); ++i) {
        check(std::vector<std::uint8_t>(nals[i].begin(), nals[i].end()) == rebuilt[skip + i]);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const std::size_t max_payload = 16 + data[1] * 8U;
    const sg::Bytes rest(data + 2, size - 2);
    PayloadList out;
    switch (data[0] % 4) {
        case 0:
            if ((data[0] & 0x80) != 0) {
                fuzz_h265(rest, max_payload);
            } else {
                fuzz_h264(rest, max_payload);
            }
            break;
        case 1: {
            AacPacketizer packetizer(max_payload);
            if (packetizer.packetize(rest, out)) check_limits(out, max_payload);
            break;
        }
        case 2:
            if (packetize_g711(rest, 1 + data[1] % 2, out, 1 + data[1])) check_limits(out, 2 * (1 + data[1]));
            break;
        default:
            if (packetize_opus(rest, out, max_payload)) check_limits(out, max_payload);
            break;
    }
    return 0;
}

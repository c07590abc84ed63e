#include "restream/key_frame.hpp"

#include <cstdint>

#include "common/text.hpp"

namespace sg::proxy {
namespace {

// H.264 (RFC 6184) NAL unit types.
constexpr std::uint8_t k_h264_idr = 5;
constexpr std::uint8_t k_h264_sei = 6;
constexpr std::uint8_t k_h264_sps = 7;
constexpr std::uint8_t k_h264_aud = 9;
constexpr std::uint8_t k_h264_stap_a = 24;
constexpr std::uint8_t k_h264_fu_a = 28;

// H.265 (RFC 7798) NAL unit types.
constexpr std::uint8_t k_h265_irap_first = 16;  // BLA_W_LP
constexpr std::uint8_t k_h265_irap_last = 21;   // CRA_NUT
constexpr std::uint8_t k_h265_vps = 32;
constexpr std::uint8_t k_h265_sps = 33;
constexpr std::uint8_t k_h265_suffix_sei = 40;
constexpr std::uint8_t k_h265_ap = 48;
constexpr std::uint8_t k_h265_fu = 49;

// Whether a VCL unit of `type` (with H.264's nal_ref_idc `ref_idc`) belongs to a picture no other picture
// refers to; false for non-VCL units.
bool non_reference_unit(VideoCodec codec, std::uint8_t type, std::uint8_t ref_idc) noexcept {
    if (codec == VideoCodec::h264) return type >= 1 && type <= 5 && ref_idc == 0;
    return type <= 14 && type % 2 == 0;  // TRAIL_N, TSA_N, STSA_N, RADL_N, RASL_N, RSV_VCL_N10/12/14
}

// H.264's nal_ref_idc from a NAL unit header (or an FU indicator, which copies it).
std::uint8_t h264_ref_idc(std::uint8_t header) noexcept {
    return static_cast<std::uint8_t>((header >> 5) & 0x3);
}

// Folds one NAL unit type into the summary.
void add_unit(VideoCodec codec, std::uint8_t type, std::uint8_t ref_idc, PayloadSummary& s) noexcept {
    s.non_reference = s.non_reference || non_reference_unit(codec, type, ref_idc);
    bool key = false;
    bool parameter_set = false;
    bool non_vcl = false;
    if (codec == VideoCodec::h264) {
        key = type == k_h264_idr;
        parameter_set = type == k_h264_sps;
        non_vcl = type >= k_h264_sei && type <= k_h264_aud;  // SEI, SPS, PPS, AUD
    } else {
        key = type >= k_h265_irap_first && type <= k_h265_irap_last;
        parameter_set = type == k_h265_vps || type == k_h265_sps;
        non_vcl = type >= k_h265_vps && type <= k_h265_suffix_sei;  // VPS .. SEI
    }
    s.key_start = s.key_start || key;
    s.parameter_set = s.parameter_set || parameter_set;
    s.non_vcl_only = s.non_vcl_only && non_vcl;
}

// An aggregation packet: 16-bit sizes, each followed by a NAL unit, from `at`; every length is checked
// against what is left. False when malformed.
bool walk_aggregate(VideoCodec codec, Bytes payload, std::size_t at, PayloadSummary& s) noexcept {
    bool any = false;
    while (at < payload.size()) {
        if (payload.size() - at < 3) break;  // trailing bytes too short for a unit, as before: ignored
        const std::size_t size = (std::size_t{payload[at]} << 8) | payload[at + 1];
        at += 2;
        if (size == 0 || size > payload.size() - at) return false;
        const std::uint8_t type = codec == VideoCodec::h264
                                      ? payload[at] & 0x1f
                                      : static_cast<std::uint8_t>((payload[at] >> 1) & 0x3f);
        if (codec == VideoCodec::h265 && size < 2) return false;
        add_unit(codec, type, h264_ref_idc(payload[at]), s);
        any = true;
        at += size;
    }
    return any;
}

PayloadSummary summarize_h264(Bytes payload) noexcept {
    PayloadSummary s;
    s.non_vcl_only = true;
    const std::uint8_t type = payload[0] & 0x1f;
    if (type == k_h264_fu_a) {
        if (payload.size() < 2) return {};
        // FU header: S bit and the fragmented unit's type. A continuation fragment belongs to a VCL unit
        // or not, as its start did; we only need to know that it starts nothing.
        const std::uint8_t unit = payload[1] & 0x1f;
        const std::uint8_t ref_idc = h264_ref_idc(payload[0]);  // the FU indicator carries the unit's
        if ((payload[1] & 0x80) != 0) {
            add_unit(VideoCodec::h264, unit, ref_idc, s);
        } else {
            s.non_vcl_only = false;
            s.non_reference = non_reference_unit(VideoCodec::h264, unit, ref_idc);
        }
        return s;
    }
    if (type == k_h264_stap_a) return walk_aggregate(VideoCodec::h264, payload, 1, s) ? s : PayloadSummary{};
    add_unit(VideoCodec::h264, type, h264_ref_idc(payload[0]), s);
    return s;
}

PayloadSummary summarize_h265(Bytes payload) noexcept {
    if (payload.size() < 2) return {};
    PayloadSummary s;
    s.non_vcl_only = true;
    const auto type = static_cast<std::uint8_t>((payload[0] >> 1) & 0x3f);
    if (type == k_h265_fu) {
        if (payload.size() < 3) return {};
        const auto unit = static_cast<std::uint8_t>(payload[2] & 0x3f);
        if ((payload[2] & 0x80) != 0) {
            add_unit(VideoCodec::h265, unit, 0, s);
        } else {
            s.non_vcl_only = false;
            s.non_reference = non_reference_unit(VideoCodec::h265, unit, 0);
        }
        return s;
    }
    // Aggregation packets without DONL (sprop-max-don-diff absent, as every upstream we have seen sends).
    if (type == k_h265_ap) return walk_aggregate(VideoCodec::h265, payload, 2, s) ? s : PayloadSummary{};
    add_unit(VideoCodec::h265, type, 0, s);
    return s;
}

}  // namespace

VideoCodec key_frame_codec(std::string_view encoding) noexcept {
    if (iequals(encoding, "H264")) return VideoCodec::h264;
    if (iequals(encoding, "H265")) return VideoCodec::h265;
    return VideoCodec::none;
}

bool waits_for_key_frame(std::string_view encoding) noexcept {
    return iequals(encoding, "H264");
}

PayloadSummary summarize_payload(VideoCodec codec, Bytes payload) noexcept {
    if (payload.empty()) return {};
    switch (codec) {
        case VideoCodec::h264:
            return summarize_h264(payload);
        case VideoCodec::h265:
            return summarize_h265(payload);
        case VideoCodec::none:
            break;
    }
    return {};
}

bool starts_key_frame(VideoCodec codec, Bytes payload) noexcept {
    if (codec == VideoCodec::none) return true;
    const auto s = summarize_payload(codec, payload);
    return s.key_start || s.parameter_set;
}

bool h264_starts_key_frame(Bytes payload) noexcept {
    return starts_key_frame(VideoCodec::h264, payload);
}

}  // namespace sg::proxy

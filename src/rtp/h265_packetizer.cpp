#include "rtp/h265_packetizer.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace sg::rtp {
namespace {

constexpr std::uint8_t k_nal_first_irap = 16;  // BLA_W_LP
constexpr std::uint8_t k_nal_last_irap = 23;   // RSV_IRAP_VCL23
constexpr std::uint8_t k_nal_vps = 32;
constexpr std::uint8_t k_nal_sps = 33;
constexpr std::uint8_t k_nal_pps = 34;
constexpr std::uint8_t k_ap = 48;
constexpr std::uint8_t k_fu = 49;
constexpr std::uint8_t k_fu_start = 0x80;
constexpr std::uint8_t k_fu_end = 0x40;
constexpr std::size_t k_nal_header_size = 2;
// hvcC: configurationVersion through lengthSizeMinusOne is 22 octets, then numOfArrays.
constexpr std::size_t k_hvcc_fixed_size = 22;

// The first octet of a NAL unit header with its type field replaced (F bit and LayerId's top bit kept).
std::uint8_t with_type(std::uint8_t header0, std::uint8_t type) noexcept {
    return static_cast<std::uint8_t>((header0 & 0x81) | (type << 1));
}

std::vector<std::vector<std::uint8_t>>* sets_of_type(H265Config& config, std::uint8_t type) noexcept {
    switch (type) {
        case k_nal_vps:
            return &config.vps;
        case k_nal_sps:
            return &config.sps;
        case k_nal_pps:
            return &config.pps;
        default:
            return nullptr;
    }
}

Result<H265Config> parse_hvcc(Bytes extradata) {
    ByteReader reader(extradata);
    Bytes fixed;
    if (!reader.read_bytes(k_hvcc_fixed_size, fixed)) return fail("hvcC: truncated header");
    H265Config config;
    config.length_size = static_cast<std::size_t>(fixed[k_hvcc_fixed_size - 1] & 0x03) + 1;
    if (config.length_size == 3) return fail("hvcC: 3-byte NAL lengths are not allowed");
    std::uint8_t array_count = 0;
    if (!reader.read_u8(array_count)) return fail("hvcC: truncated header");
    for (std::size_t a = 0; a < array_count; ++a) {
        std::uint8_t array_type = 0;
        std::uint16_t nal_count = 0;
        if (!reader.read_u8(array_type) || !reader.read_u16(nal_count)) return fail("hvcC: truncated array");
        for (std::size_t i = 0; i < nal_count; ++i) {
            std::uint16_t size = 0;
            Bytes nal;
            if (!reader.read_u16(size) || !reader.read_bytes(size, nal))
                return fail("hvcC: truncated NAL unit");
            // Sets are filed by their own header, not the array's claim: repeating a NAL unit of another
            // type before IRAP pictures could send a type a receiver would misread.
            if (nal.size() < k_nal_header_size) continue;
            if (auto* sets = sets_of_type(config, h265_nal_type(nal)))
                sets->emplace_back(nal.begin(), nal.end());
        }
    }
    return config;
}

}  // namespace

std::uint8_t h265_nal_type(Bytes nal) noexcept {
    return static_cast<std::uint8_t>((nal[0] >> 1) & 0x3f);
}

bool is_sendable_h265_nal(Bytes nal) noexcept {
    return nal.size() >= k_nal_header_size && h265_nal_type(nal) < k_ap;
}

Result<H265Config> parse_h265_extradata(Bytes extradata) {
    if (!extradata.empty() && extradata[0] == 1) return parse_hvcc(extradata);
    H265Config config;  // Annex B (or nothing): parameter sets between start codes
    std::vector<Bytes> nals;
    split_nal_units(extradata, 0, nals);
    for (const Bytes nal : nals) {
        if (nal.size() < k_nal_header_size) continue;
        if (auto* sets = sets_of_type(config, h265_nal_type(nal))) sets->emplace_back(nal.begin(), nal.end());
    }
    return config;
}

H265Packetizer::H265Packetizer(H265Config config, std::size_t max_payload)
    : config_(std::move(config)), max_payload_(std::max<std::size_t>(max_payload, 16)) {}

void H265Packetizer::emit_nal(Bytes nal, PayloadList& out) {
    if (nal.size() <= max_payload_) {
        out.begin();
        out.append(nal);
        out.finish(false);
        return;
    }
    // FU: the payload header is the NAL header with type 49; the FU header carries the original type.
    const std::uint8_t header0 = with_type(nal[0], k_fu);
    const std::uint8_t header1 = nal[1];
    const std::uint8_t type = h265_nal_type(nal);
    Bytes rest = nal.subspan(k_nal_header_size);
    const std::size_t fragment_size = max_payload_ - 3;
    bool first = true;
    while (!rest.empty()) {
        const std::size_t n = std::min(fragment_size, rest.size());
        const bool last = n == rest.size();
        std::uint8_t fu_header = type;
        if (first) fu_header |= k_fu_start;
        if (last) fu_header |= k_fu_end;
        out.begin();
        out.append_u8(header0);
        out.append_u8(header1);
        out.append_u8(fu_header);
        out.append(rest.first(n));
        out.finish(false);
        rest = rest.subspan(n);
        first = false;
    }
}

void H265Packetizer::emit_parameter_sets(PayloadList& out) {
    if (config_.vps.empty() || config_.sps.empty() || config_.pps.empty()) return;
    const std::array<const std::vector<std::vector<std::uint8_t>>*, 3> all{&config_.vps, &config_.sps,
                                                                           &config_.pps};
    // §4.4.2: F is the OR of the aggregated F bits, LayerId and TID the lowest of theirs.
    std::size_t ap_size = k_nal_header_size;
    std::uint8_t forbidden = 0;
    std::uint8_t layer_id = 0x3f;
    std::uint8_t tid = 7;
    for (const auto* sets : all) {
        for (const auto& set : *sets) {
            ap_size += 2 + set.size();
            forbidden |= set[0] & 0x80;
            layer_id = std::min<std::uint8_t>(layer_id,
                                              static_cast<std::uint8_t>(((set[0] & 1) << 5) | (set[1] >> 3)));
            tid = std::min<std::uint8_t>(tid, set[1] & 0x07);
        }
    }
    if (ap_size > max_payload_) {  // unusually large sets: send them one by one
        for (const auto* sets : all) {
            for (const auto& set : *sets)
                emit_nal(set, out);
        }
        return;
    }
    out.begin();
    out.append_u8(static_cast<std::uint8_t>(forbidden | (k_ap << 1) | (layer_id >> 5)));
    out.append_u8(static_cast<std::uint8_t>(((layer_id & 0x1f) << 3) | tid));
    for (const auto* sets : all) {
        for (const auto& set : *sets) {
            out.append_u16(static_cast<std::uint16_t>(set.size()));
            out.append(set);
        }
    }
    out.finish(false);
}

Result<std::size_t> H265Packetizer::packetize(Bytes access_unit, PayloadList& out) {
    out.clear();
    if (!split_nal_units(access_unit, config_.length_size, nals_)) return fail("h265: malformed access unit");
    bool has_irap = false;
    bool has_sets = false;
    std::array<bool, 3> replaced{};  // VPS, SPS, PPS seen in this access unit
    for (const Bytes nal : nals_) {
        if (nal.size() < k_nal_header_size) continue;
        const std::uint8_t type = h265_nal_type(nal);
        has_irap = has_irap || (type >= k_nal_first_irap && type <= k_nal_last_irap);
        // In-band parameter sets (MPEG-TS, Annex B) replace the ones we repeat before IRAP pictures.
        auto* sets = sets_of_type(config_, type);
        if (sets == nullptr) continue;
        has_sets = true;
        if (!replaced[type - k_nal_vps]) sets->clear();
        replaced[type - k_nal_vps] = true;
        sets->emplace_back(nal.begin(), nal.end());
    }
    if (has_irap && !has_sets) emit_parameter_sets(out);
    for (const Bytes nal : nals_) {
        if (is_sendable_h265_nal(nal)) emit_nal(nal, out);
    }
    out.set_last_marker(true);
    return out.size();
}

}  // namespace sg::rtp

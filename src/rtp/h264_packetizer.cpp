#include "rtp/h264_packetizer.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace sg::rtp {
namespace {

constexpr std::uint8_t k_nal_type_mask = 0x1f;
constexpr std::uint8_t k_nal_idr = 5;
constexpr std::uint8_t k_nal_sps = 7;
constexpr std::uint8_t k_nal_pps = 8;
constexpr std::uint8_t k_stap_a = 24;
constexpr std::uint8_t k_fu_a = 28;
constexpr std::uint8_t k_fu_start = 0x80;
constexpr std::uint8_t k_fu_end = 0x40;

// Position of the next 00 00 01 start code at or after `from`, or data.size().
std::size_t find_start_code(Bytes data, std::size_t from) noexcept {
    for (std::size_t i = from; i + 3 <= data.size(); ++i) {
        if (data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1) return i;
    }
    return data.size();
}

void split_annex_b(Bytes data, std::vector<Bytes>& out) {
    std::size_t start = find_start_code(data, 0);
    while (start < data.size()) {
        const std::size_t nal_begin = start + 3;
        const std::size_t next = find_start_code(data, nal_begin);
        std::size_t nal_end = next;
        // Trailing zero octets belong to the next (4-byte) start code or are trailing_zero_8bits.
        while (nal_end > nal_begin && data[nal_end - 1] == 0)
            --nal_end;
        if (nal_end > nal_begin) out.push_back(data.subspan(nal_begin, nal_end - nal_begin));
        start = next;
    }
}

bool split_length_prefixed(Bytes data, std::size_t length_size, std::vector<Bytes>& out) {
    ByteReader reader(data);
    while (!reader.empty()) {
        std::size_t size = 0;
        for (std::size_t i = 0; i < length_size; ++i) {
            std::uint8_t b = 0;
            if (!reader.read_u8(b)) return false;
            size = (size << 8) | b;
        }
        Bytes nal;
        if (!reader.read_bytes(size, nal)) return false;
        if (!nal.empty()) out.push_back(nal);
    }
    return true;
}

Result<H264Config> parse_avcc(Bytes extradata) {
    ByteReader reader(extradata);
    std::uint8_t version = 0;
    std::uint8_t profile_compat_level[3] = {};
    std::uint8_t length_byte = 0;
    std::uint8_t sps_count = 0;
    if (!reader.read_u8(version) || version != 1) return fail("avcC: bad version");
    for (auto& b : profile_compat_level) {
        if (!reader.read_u8(b)) return fail("avcC: truncated header");
    }
    if (!reader.read_u8(length_byte) || !reader.read_u8(sps_count)) return fail("avcC: truncated header");
    H264Config config;
    config.length_size = static_cast<std::size_t>(length_byte & 0x03) + 1;
    if (config.length_size == 3) return fail("avcC: 3-byte NAL lengths are not allowed");
    // Sets of another NAL type than the record claims are dropped: repeating them before IDR pictures
    // could send a type a receiver would misread.
    const auto read_sets = [&reader](std::size_t count, std::uint8_t type,
                                     std::vector<std::vector<std::uint8_t>>& sets) {
        for (std::size_t i = 0; i < count; ++i) {
            std::uint16_t size = 0;
            Bytes set;
            if (!reader.read_u16(size) || !reader.read_bytes(size, set)) return false;
            if (!set.empty() && (set[0] & k_nal_type_mask) == type) sets.emplace_back(set.begin(), set.end());
        }
        return true;
    };
    if (!read_sets(sps_count & 0x1fU, k_nal_sps, config.sps)) return fail("avcC: truncated SPS");
    std::uint8_t pps_count = 0;
    if (!reader.read_u8(pps_count) || !read_sets(pps_count, k_nal_pps, config.pps))
        return fail("avcC: truncated PPS");
    return config;
}

}  // namespace

bool is_sendable_nal_type(std::uint8_t nal_header) noexcept {
    const auto type = static_cast<std::uint8_t>(nal_header & k_nal_type_mask);
    return type != 0 && type < k_stap_a;
}

Result<H264Config> parse_h264_extradata(Bytes extradata) {
    if (!extradata.empty() && extradata[0] == 1) return parse_avcc(extradata);
    H264Config config;  // Annex B (or nothing): parameter sets between start codes
    std::vector<Bytes> nals;
    split_annex_b(extradata, nals);
    for (const Bytes nal : nals) {
        const auto type = static_cast<std::uint8_t>(nal[0] & k_nal_type_mask);
        if (type == k_nal_sps) config.sps.emplace_back(nal.begin(), nal.end());
        if (type == k_nal_pps) config.pps.emplace_back(nal.begin(), nal.end());
    }
    return config;
}

bool split_nal_units(Bytes access_unit, std::size_t length_size, std::vector<Bytes>& out) {
    out.clear();
    if (length_size == 0) {
        split_annex_b(access_unit, out);
        return true;
    }
    if (length_size > 4) return false;
    return split_length_prefixed(access_unit, length_size, out);
}

std::string h264_profile_level_id(const H264Config& config) {
    if (config.sps.empty() || config.sps.front().size() < 4) return {};
    static constexpr std::array<char, 16> k_hex{'0', '1', '2', '3', '4', '5', '6', '7',
                                                '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};
    std::string text;
    for (std::size_t i = 1; i < 4; ++i) {
        const std::uint8_t b = config.sps.front()[i];
        text += k_hex[b >> 4];
        text += k_hex[b & 0x0f];
    }
    return text;
}

H264Packetizer::H264Packetizer(H264Config config, std::size_t max_payload)
    : config_(std::move(config)), max_payload_(std::max<std::size_t>(max_payload, 16)) {}

void H264Packetizer::emit_nal(Bytes nal, PayloadList& out) {
    if (nal.size() <= max_payload_) {
        out.begin();
        out.append(nal);
        out.finish(false);
        return;
    }
    // FU-A: the NAL header's F and NRI bits go into the FU indicator, its type into the FU header.
    const std::uint8_t indicator = static_cast<std::uint8_t>((nal[0] & 0xe0) | k_fu_a);
    const std::uint8_t type = nal[0] & k_nal_type_mask;
    Bytes rest = nal.subspan(1);
    const std::size_t fragment_size = max_payload_ - 2;
    bool first = true;
    while (!rest.empty()) {
        const std::size_t n = std::min(fragment_size, rest.size());
        const bool last = n == rest.size();
        std::uint8_t header = type;
        if (first) header |= k_fu_start;
        if (last) header |= k_fu_end;
        out.begin();
        out.append_u8(indicator);
        out.append_u8(header);
        out.append(rest.first(n));
        out.finish(false);
        rest = rest.subspan(n);
        first = false;
    }
}

void H264Packetizer::emit_parameter_sets(PayloadList& out) {
    if (config_.sps.empty() || config_.pps.empty()) return;
    std::size_t stap_size = 1;
    std::uint8_t nri = 0;
    for (const auto* sets : {&config_.sps, &config_.pps}) {
        for (const auto& set : *sets) {
            stap_size += 2 + set.size();
            nri = std::max<std::uint8_t>(nri, set[0] & 0x60);
        }
    }
    if (stap_size > max_payload_) {  // unusually large sets: send them one by one
        for (const auto* sets : {&config_.sps, &config_.pps}) {
            for (const auto& set : *sets)
                emit_nal(set, out);
        }
        return;
    }
    out.begin();
    out.append_u8(static_cast<std::uint8_t>(nri | k_stap_a));
    for (const auto* sets : {&config_.sps, &config_.pps}) {
        for (const auto& set : *sets) {
            out.append_u16(static_cast<std::uint16_t>(set.size()));
            out.append(set);
        }
    }
    out.finish(false);
}

Result<std::size_t> H264Packetizer::packetize(Bytes access_unit, PayloadList& out) {
    out.clear();
    if (!split_nal_units(access_unit, config_.length_size, nals_)) return fail("h264: malformed access unit");
    bool has_idr = false;
    bool has_sps = false;
    for (const Bytes nal : nals_) {
        const auto type = static_cast<std::uint8_t>(nal[0] & k_nal_type_mask);
        has_idr = has_idr || type == k_nal_idr;
        // In-band parameter sets (MPEG-TS) replace the ones we repeat before IDR pictures.
        if (type == k_nal_sps) {
            if (!has_sps) config_.sps.clear();
            has_sps = true;
            config_.sps.emplace_back(nal.begin(), nal.end());
        } else if (type == k_nal_pps) {
            config_.pps.assign(1, std::vector<std::uint8_t>(nal.begin(), nal.end()));
        }
    }
    if (has_idr && !has_sps) emit_parameter_sets(out);
    for (const Bytes nal : nals_) {
        if (is_sendable_nal_type(nal[0])) emit_nal(nal, out);
    }
    out.set_last_marker(true);
    return out.size();
}

}  // namespace sg::rtp

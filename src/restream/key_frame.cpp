#include "restream/key_frame.hpp"

#include <cstdint>

#include "common/text.hpp"

namespace sg::proxy {
namespace {

constexpr std::uint8_t k_nal_idr = 5;
constexpr std::uint8_t k_nal_sps = 7;
constexpr std::uint8_t k_nal_stap_a = 24;
constexpr std::uint8_t k_nal_fu_a = 28;

bool is_key(std::uint8_t nal_type) noexcept {
    return nal_type == k_nal_idr || nal_type == k_nal_sps;
}

}  // namespace

bool waits_for_key_frame(std::string_view encoding) noexcept {
    return iequals(encoding, "H264");
}

bool h264_starts_key_frame(Bytes payload) noexcept {
    if (payload.empty()) return false;
    const std::uint8_t type = payload[0] & 0x1f;
    if (type == k_nal_fu_a) {
        // FU header: S bit and the fragmented unit's type.
        return payload.size() >= 2 && (payload[1] & 0x80) != 0 && is_key(payload[1] & 0x1f);
    }
    if (type == k_nal_stap_a) {
        // 16-bit sizes, each followed by a NAL unit; every length is checked against what is left.
        std::size_t at = 1;
        while (at + 2 < payload.size()) {
            const std::size_t size = (std::size_t{payload[at]} << 8) | payload[at + 1];
            at += 2;
            if (size == 0 || size > payload.size() - at) return false;
            if (is_key(payload[at] & 0x1f)) return true;
            at += size;
        }
        return false;
    }
    return is_key(type);
}

}  // namespace sg::proxy

#pragma once
// Cuts an ADU (one video frame, one audio frame) into fragments. Every fragment but the last carries exactly
// fragment_size(mss) octets, so a receiver can tell from any one fragment which fragment sequence numbers
// its ADU spans (first = sequence - index, count from the length): that is what lets it name a lost first or
// last fragment. The same rule lets the header carry the index instead of a byte offset (version 2).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/result.hpp"
#include "mssr/cauchy_parity.hpp"
#include "mssr/wire.hpp"

namespace sg::mssr {

// RTP fixed header + MSSR header: what a datagram carries besides the fragment (version 2; version 3 has one
// octet more, packet_overhead).
inline constexpr std::size_t k_packet_overhead = rtp::k_fixed_header_size + k_payload_header_size;
constexpr std::size_t packet_overhead(std::uint8_t version) noexcept {
    return rtp::k_fixed_header_size + payload_header_size(version);
}
// Smallest MSS we accept: room for 35 octets of data per datagram.
inline constexpr std::size_t k_min_mss = 64;

// The MSS is the UDP payload size (the seed's 548 = 576 minimum IPv4 MTU - 20 IPv4 - 8 UDP): the whole
// RTP packet. Fragment data is what is left after the two headers of the session's header version. 0 for an
// MSS below k_min_mss.
constexpr std::size_t fragment_size(std::size_t mss, std::uint8_t version = k_version) noexcept {
    return mss < k_min_mss ? 0 : mss - packet_overhead(version);
}

constexpr std::size_t fragment_count(std::size_t adu_length, std::size_t fragment_size) noexcept {
    return fragment_size == 0 ? 0 : (adu_length + fragment_size - 1) / fragment_size;
}

// Where a fragment starts in its ADU, if it follows the geometry rule for this fragment size: its index
// lies in the ADU, it is exactly fragment_size long unless it is the last, and the last ends the ADU.
// nullopt otherwise (the receiver refuses such a fragment).
constexpr std::optional<std::uint32_t> fragment_offset(const FragmentHeader& h, std::size_t size,
                                                       std::size_t fragment_size) noexcept {
    if (fragment_size == 0 || size == 0 || size > fragment_size) return std::nullopt;
    const std::size_t offset = std::size_t{h.fragment_index} * fragment_size;
    if (offset >= h.adu_length) return std::nullopt;
    const std::size_t rest = h.adu_length - offset;
    const bool last = rest <= fragment_size;
    if (last ? size != rest : size != fragment_size) return std::nullopt;
    return static_cast<std::uint32_t>(offset);
}

// An ADU's parity fragments (FragmentHeader::parity) are as long as its first fragment, the longest. Parity
// fragment g is the XOR of the data fragments of group g, each padded with zeros to that length; any one lost
// data fragment of a group is then the XOR of the group's parity and its other members, cut to its own
// length.
constexpr std::size_t parity_fragment_size(std::size_t adu_length, std::size_t fragment_size) noexcept {
    return adu_length < fragment_size ? adu_length : fragment_size;
}

// How many parity groups a protected ADU of `count` data fragments has: one, or, for a key ADU in a session
// that agreed on a key parity group (handshake.hpp, Hello::key_parity_group), one per `key_group` data
// fragments. Data fragment i belongs to group i mod groups, so the members of a group lie `groups` apart and
// a burst of consecutive losses falls into different groups. The parity fragments follow the data fragments:
// group g's has the index count + g.
constexpr std::size_t parity_groups(std::size_t count, Priority priority, std::size_t key_group) noexcept {
    if (key_group == 0 || priority != Priority::key || count <= key_group) return 1;
    return (count + key_group - 1) / key_group;
}

// How many parity fragments protect the ADU of fragment `h`, whose data fragments number `count`: none
// without P; in version 3 the count the header carries, which the sender chose for the ADU; in version 2
// parity_groups's.
constexpr std::size_t parity_count_of(const FragmentHeader& h, std::size_t count,
                                      std::size_t key_group) noexcept {
    if (!h.parity) return 0;
    return h.parity_count != 0 ? h.parity_count : parity_groups(count, h.priority, key_group);
}

// The parity group of a fragment of a protected ADU whose data fragments number `count`: which one a data
// fragment belongs to, or which one a parity fragment protects.
constexpr std::size_t parity_group_of(std::size_t index, std::size_t count, std::size_t groups) noexcept {
    return index >= count ? index - count : index % groups;
}

// Whether a fragment is one of its ADU's parity fragments: P set, the index one of the parity_count_of past
// the data fragments, the parity length. (A P fragment that is neither this nor a data fragment by
// fragment_offset is refused.)
constexpr bool is_parity_fragment(const FragmentHeader& h, std::size_t size, std::size_t fragment_size,
                                  std::size_t key_group) noexcept {
    if (!h.parity || fragment_size == 0) return false;
    const std::size_t count = fragment_count(h.adu_length, fragment_size);
    return h.fragment_index >= count && h.fragment_index < count + parity_count_of(h, count, key_group) &&
           size == parity_fragment_size(h.adu_length, fragment_size);
}

// The code of a protected ADU's parity fragments. With XOR groups, parity fragment g rebuilds one lost data
// fragment of group g. With Cauchy parity (cauchy_parity.hpp), which both ends must have agreed on
// (handshake.hpp, k_feature_cauchy_parity), any `groups` parity fragments rebuild any as many lost data
// fragments. It is used only where an ADU has several parity fragments (a single XOR parity fragment is
// already the best one fragment can do) and where its data and parity fragments fit the code's field; an ADU
// of more fragments keeps the groups.
enum class ParityCode : std::uint8_t { xor_groups, cauchy };
constexpr ParityCode parity_code(std::size_t count, std::size_t groups, bool cauchy_agreed) noexcept {
    return cauchy_agreed && groups > 1 && count + groups <= k_cauchy_max_span ? ParityCode::cauchy
                                                                              : ParityCode::xor_groups;
}

// parity ^= fragment, octet by octet; `fragment` may be shorter (zero padding).
void xor_into(std::span<std::uint8_t> parity, Bytes fragment) noexcept;
// Parity fragment `group` of `groups` of a whole ADU cut into fragments of `fragment_size` octets, in
// `code` (the defaults: the one parity fragment of the whole ADU).
std::vector<std::uint8_t> parity_of(Bytes adu, std::size_t fragment_size, std::size_t groups = 1,
                                    std::size_t group = 0, ParityCode code = ParityCode::xor_groups);

struct AduInfo {
    std::uint8_t stream = 0;
    std::uint16_t stream_sequence = 0;
    Priority priority = Priority::key;
    std::uint16_t time_ms = 0;  // the low 16 bits of the sender's clock in ms (the wire's width)
    std::uint32_t length = 0;
    bool parity = false;  // protect it with parity fragments
    // The header version (k_version_parity_count: the parity count goes on the wire) and, with it, how many
    // parity fragments (1-255); 0: parity_groups's count.
    std::uint8_t version = k_version;
    std::size_t parity_count = 0;
};

// How many parity fragments plan_fragments gives `adu`, whose data fragments number `count`: the rule of
// parity_count_of above, for an ADU not yet cut.
constexpr std::size_t parity_count_of(const AduInfo& adu, std::size_t count, std::size_t key_group) noexcept {
    if (!adu.parity) return 0;
    return adu.parity_count != 0 ? adu.parity_count : parity_groups(count, adu.priority, key_group);
}

// Where fragment `index` of an ADU lies, and the header it carries (sequence = first_sequence + index).
struct FragmentPlan {
    FragmentHeader header;
    std::uint32_t offset = 0;  // 0 for the parity fragment, which is built, not cut from the ADU
    std::uint32_t size = 0;
    bool is_parity = false;
};

// The fragments of one ADU, in order, the parity fragments last when AduInfo::parity (AduInfo::parity_count
// of them, or as many as parity_groups says for `key_group`). Fails on an empty ADU, one longer than
// k_max_adu_size or of more fragments (parity included) than the index numbers, more parity fragments than
// data fragments or than version 3's octet counts, or an MSS below k_min_mss.
Result<std::vector<FragmentPlan>> plan_fragments(const AduInfo& adu, std::uint16_t first_sequence,
                                                 std::size_t mss, std::size_t key_group = 0);

}  // namespace sg::mssr

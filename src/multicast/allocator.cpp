#include "multicast/allocator.hpp"

#include <algorithm>
#include <charconv>

namespace sg::multicast {
namespace {

std::uint32_t range_size_capped(const MulticastRange& range) {
    const unsigned bits = (range.network.is_v6() ? 128U : 32U) - range.prefix;
    if (bits >= 17) return MulticastAllocator::k_max_groups_per_family + 1;
    return std::min<std::uint32_t>(1U << bits, MulticastAllocator::k_max_groups_per_family + 1);
}

bool host_bits_zero(const asio::ip::address& address, unsigned prefix) {
    if (address.is_v4()) {
        const auto value = address.to_v4().to_uint();
        const auto host_mask = prefix == 0 ? 0xffffffffU : (prefix >= 32 ? 0U : (0xffffffffU >> prefix));
        return (value & host_mask) == 0;
    }
    const auto bytes = address.to_v6().to_bytes();
    for (unsigned bit = prefix; bit < 128; ++bit) {
        if ((bytes[bit / 8] >> (7 - bit % 8)) & 1U) return false;
    }
    return true;
}

}  // namespace

std::string MulticastSettings::to_string() const {
    std::string out;
    for (const auto* range : {&v4, &v6})
        if (*range) out += (*range)->to_string() + " ";
    out += "ports " + std::to_string(port_first) + "-" + std::to_string(port_last) + " ttl " +
           std::to_string(ttl);
    if (!interface.empty()) out += " interface " + interface;
    return out;
}

Result<MulticastRange> MulticastRange::parse(std::string_view text) {
    const auto slash = text.find('/');
    const auto address_text = std::string(text.substr(0, slash));
    std::error_code ec;
    auto address = asio::ip::make_address(address_text, ec);
    if (ec) return fail("not an IP address");
    const unsigned max_prefix = address.is_v6() ? 128 : 32;
    unsigned prefix = max_prefix;
    if (slash != std::string_view::npos) {
        const auto digits = text.substr(slash + 1);
        const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
        if (error != std::errc{} || end != digits.data() + digits.size() || digits.empty())
            return fail("bad prefix length");
        if (prefix > max_prefix) return fail("prefix length too long");
    }
    if (!address.is_multicast()) return fail("not a multicast address");
    // The prefix must stay inside multicast space: 224.0.0.0/4, ff00::/8.
    if (prefix < (address.is_v6() ? 8U : 4U)) return fail("prefix wider than multicast space");
    if (!host_bits_zero(address, prefix)) return fail("host bits set below the prefix");
    return MulticastRange{address, prefix};
}

std::string MulticastRange::to_string() const {
    return network.to_string() + "/" + std::to_string(prefix);
}

bool MulticastRange::contains(const asio::ip::address& address) const noexcept {
    if (address.is_v4() != network.is_v4()) return false;
    if (address.is_v4()) {
        const auto mask = prefix == 0 ? 0U : (0xffffffffU << (32 - prefix));
        return (address.to_v4().to_uint() & mask) == (network.to_v4().to_uint() & mask);
    }
    const auto a = address.to_v6().to_bytes();
    const auto n = network.to_v6().to_bytes();
    for (unsigned bit = 0; bit < prefix; ++bit) {
        if (((a[bit / 8] ^ n[bit / 8]) >> (7 - bit % 8)) & 1U) return false;
    }
    return true;
}

asio::ip::address address_at(const MulticastRange& range, std::uint32_t offset) {
    if (range.network.is_v4()) return asio::ip::address_v4(range.network.to_v4().to_uint() + offset);
    auto bytes = range.network.to_v6().to_bytes();
    std::uint32_t carry = offset;
    for (std::size_t i = bytes.size(); i-- > 0 && carry != 0;) {
        const std::uint32_t sum = bytes[i] + (carry & 0xffU);
        bytes[i] = static_cast<unsigned char>(sum & 0xffU);
        carry = (carry >> 8) + (sum >> 8);
    }
    return asio::ip::address_v6(bytes);
}

MulticastAllocator::MulticastAllocator(MulticastSettings settings) : settings_(std::move(settings)) {}

std::optional<std::uint16_t> MulticastAllocator::free_ports(std::uint32_t count) const {
    std::uint32_t candidate = (settings_.port_first + 1U) & ~1U;
    for (const auto& [first, used] : used_ports_) {
        if (candidate + count <= first) break;  // fits before this block
        candidate = std::max<std::uint32_t>(candidate, (first + used + 1U) & ~1U);
    }
    if (candidate == 0 || candidate + count - 1 > settings_.port_last) return std::nullopt;
    return static_cast<std::uint16_t>(candidate);
}

std::optional<MulticastLease> MulticastAllocator::allocate(bool v6, std::size_t tracks) {
    const auto& range = v6 ? settings_.v6 : settings_.v4;
    if (!range || tracks == 0 || tracks > 64) return std::nullopt;
    auto& used = v6 ? used_v6_ : used_v4_;
    const std::uint32_t size = range_size_capped(*range);
    std::uint32_t offset = 1;
    for (const auto taken : used) {
        if (taken != offset) break;
        ++offset;
    }
    if (offset >= size) return std::nullopt;
    const auto count = static_cast<std::uint32_t>(2 * tracks);
    const auto ports = free_ports(count);
    if (!ports) return std::nullopt;
    used.insert(offset);
    used_ports_.emplace(*ports, static_cast<std::uint16_t>(count));
    return MulticastLease{address_at(*range, offset), *ports, static_cast<std::uint16_t>(count), offset};
}

void MulticastAllocator::release(const MulticastLease& lease) {
    used_ports_.erase({lease.port_first, lease.port_count});
    (lease.group.is_v6() ? used_v6_ : used_v4_).erase(lease.offset);
}

}  // namespace sg::multicast

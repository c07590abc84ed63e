// Fake address allocation for remotely resolved names (see fake_names.hpp).

#include "preload/fake_names.hpp"

#include <sys/socket.h>

namespace sg::preload {
namespace {

constexpr std::uint8_t k_v4_first_octet = 240;                                          // 240.0.0.0/4
constexpr std::array<std::uint8_t, 6> k_v6_prefix{0x00, 0x64, 0xff, 0x9b, 0x00, 0x01};  // 64:ff9b:1::/48

std::string normalise(std::string_view name) {
    if (name.size() > 1 && name.back() == '.') name.remove_suffix(1);
    std::string out(name);
    for (auto& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

}  // namespace

std::optional<std::uint32_t> FakeNames::intern(std::string_view name) {
    auto key = normalise(name);
    if (key.empty() || key.size() > 255 || key.find('\0') != std::string::npos) return std::nullopt;
    if (const auto it = index_.find(key); it != index_.end()) return it->second;
    // 2^28 - 1 is the largest index 240.0.0.0/4 can hold.
    if (names_.size() >= capacity_ || names_.size() >= (1U << 28) - 2) return std::nullopt;
    names_.push_back(key);
    const auto index = static_cast<std::uint32_t>(names_.size());
    index_.emplace(std::move(key), index);
    return index;
}

const std::string* FakeNames::name_of(std::uint32_t index) const {
    if (index == 0 || index > names_.size()) return nullptr;
    return &names_[index - 1];
}

IpAddress FakeNames::address(std::uint32_t index, int family) {
    IpAddress address;
    address.family = family;
    if (family == AF_INET) {
        address.bytes[0] = static_cast<std::uint8_t>(k_v4_first_octet | ((index >> 24) & 0x0F));
        address.bytes[1] = static_cast<std::uint8_t>(index >> 16);
        address.bytes[2] = static_cast<std::uint8_t>(index >> 8);
        address.bytes[3] = static_cast<std::uint8_t>(index);
    } else {
        for (std::size_t i = 0; i < k_v6_prefix.size(); ++i)
            address.bytes[i] = k_v6_prefix[i];
        address.bytes[12] = static_cast<std::uint8_t>(index >> 24);
        address.bytes[13] = static_cast<std::uint8_t>(index >> 16);
        address.bytes[14] = static_cast<std::uint8_t>(index >> 8);
        address.bytes[15] = static_cast<std::uint8_t>(index);
    }
    return address;
}

std::optional<std::uint32_t> FakeNames::index_of(const IpAddress& address) {
    const auto& b = address.bytes;
    std::uint32_t index = 0;
    if (address.family == AF_INET) {
        if ((b[0] & 0xF0) != k_v4_first_octet) return std::nullopt;
        index = (static_cast<std::uint32_t>(b[0] & 0x0F) << 24) | (static_cast<std::uint32_t>(b[1]) << 16) |
                (static_cast<std::uint32_t>(b[2]) << 8) | b[3];
    } else {
        for (std::size_t i = 0; i < k_v6_prefix.size(); ++i)
            if (b[i] != k_v6_prefix[i]) return std::nullopt;
        for (std::size_t i = k_v6_prefix.size(); i < 12; ++i)
            if (b[i] != 0) return std::nullopt;
        index = (static_cast<std::uint32_t>(b[12]) << 24) | (static_cast<std::uint32_t>(b[13]) << 16) |
                (static_cast<std::uint32_t>(b[14]) << 8) | b[15];
    }
    if (index == 0) return std::nullopt;
    return index;
}

}  // namespace sg::preload

#pragma once
// Fake addresses for names resolved by the proxy (RFC 3089 section 3.1): getaddrinfo hands the program an
// address from a reserved block, in the family it asked for, and connect() maps it back to the name, which
// goes to the gateway as ATYP 3 so the gateway resolves it. One index per name serves both families.
//   IPv4: 240.0.0.0/4 ("reserved for future use", RFC 1112 section 4): never routed, so a fake address that
//         leaks past the library fails fast instead of reaching a stranger. (100.64/10 is carrier NAT and
//         198.18/15 is the test network, so neither fits.)
//   IPv6: 64:ff9b:1::/48, the local-use NAT64 prefix (RFC 8215): the index sits in the last 32 bits.
// Pure code, not thread-safe: the library guards the table with its own lock.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "preload/config.hpp"

namespace sg::preload {

class FakeNames {
public:
    static constexpr std::size_t k_default_capacity = 65536;

    explicit FakeNames(std::size_t capacity = k_default_capacity) : capacity_(capacity) {}

    // The index of `name` (ASCII case-insensitive, one trailing dot ignored), allocating one the first time.
    // nullopt when the table is full or the name cannot be sent in a SOCKS5 request (empty, over 255
    // bytes, NUL inside).
    std::optional<std::uint32_t> intern(std::string_view name);
    // The name behind an index, nullptr for an index never handed out.
    const std::string* name_of(std::uint32_t index) const;
    std::size_t size() const noexcept { return names_.size(); }

    static IpAddress address(std::uint32_t index, int family);
    // The index an address encodes, when it lies in the fake block of its family.
    static std::optional<std::uint32_t> index_of(const IpAddress& address);

private:
    std::size_t capacity_;
    std::vector<std::string> names_;  // index i+1 -> names_[i]; index 0 is never used
    std::unordered_map<std::string, std::uint32_t> index_;
};

}  // namespace sg::preload

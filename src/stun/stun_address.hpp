#pragma once
// A transport address as STUN carries it (RFC 8489 §14.1): family, 4 or 16 address octets, port. Pure and
// comparable, so the TURN state machine can key allocations and permissions on it without Asio.

#include <array>
#include <compare>
#include <cstdint>
#include <string>

namespace sg::stun {

enum class Family : std::uint8_t { ipv4 = 0x01, ipv6 = 0x02 };

struct Address {
    Family family = Family::ipv4;
    std::array<std::uint8_t, 16> ip{};  // IPv4 in the first 4 octets, the rest zero
    std::uint16_t port = 0;

    std::size_t ip_size() const noexcept { return family == Family::ipv4 ? 4 : 16; }
    Address without_port() const noexcept {
        Address a = *this;
        a.port = 0;
        return a;
    }
    auto operator<=>(const Address&) const = default;
    bool operator==(const Address&) const = default;
};

Address make_ipv4(std::uint32_t ip, std::uint16_t port) noexcept;
Address make_ipv6(const std::array<std::uint8_t, 16>& ip, std::uint16_t port) noexcept;

// "192.0.2.1:3478" or "[2001:db8::1]:3478".
std::string to_string(const Address& a);

}  // namespace sg::stun

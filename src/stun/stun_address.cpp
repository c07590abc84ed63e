#include "stun/stun_address.hpp"

#include <arpa/inet.h>

namespace sg::stun {

Address make_ipv4(std::uint32_t ip, std::uint16_t port) noexcept {
    Address a;
    a.family = Family::ipv4;
    a.ip[0] = static_cast<std::uint8_t>(ip >> 24);
    a.ip[1] = static_cast<std::uint8_t>(ip >> 16);
    a.ip[2] = static_cast<std::uint8_t>(ip >> 8);
    a.ip[3] = static_cast<std::uint8_t>(ip);
    a.port = port;
    return a;
}

Address make_ipv6(const std::array<std::uint8_t, 16>& ip, std::uint16_t port) noexcept {
    Address a;
    a.family = Family::ipv6;
    a.ip = ip;
    a.port = port;
    return a;
}

std::string to_string(const Address& a) {
    char text[INET6_ADDRSTRLEN] = {};
    const int af = a.family == Family::ipv4 ? AF_INET : AF_INET6;
    if (inet_ntop(af, a.ip.data(), text, sizeof text) == nullptr) return "?";
    std::string out;
    if (a.family == Family::ipv6) out.push_back('[');
    out.append(text);
    if (a.family == Family::ipv6) out.push_back(']');
    out.push_back(':');
    out.append(std::to_string(a.port));
    return out;
}

}  // namespace sg::stun

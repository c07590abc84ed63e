#include "relay/address.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "common/text.hpp"

namespace sg::relay {

std::optional<Address> parse_ip(std::string_view text, std::uint16_t port) {
    if (text.empty() || text.size() > 45) return std::nullopt;  // INET6_ADDRSTRLEN - 1
    char buffer[46];
    std::memcpy(buffer, text.data(), text.size());
    buffer[text.size()] = '\0';
    Address address;
    address.port = port;
    if (::inet_pton(AF_INET, buffer, address.bytes.data()) == 1) {
        address.family = Family::ip4;
        return address;
    }
    if (::inet_pton(AF_INET6, buffer, address.bytes.data()) == 1) {
        address.family = Family::ip6;
        return address;
    }
    return std::nullopt;
}

std::optional<Family> parse_family(std::string_view text) {
    if (iequals(text, "IP4")) return Family::ip4;
    if (iequals(text, "IP6")) return Family::ip6;
    return std::nullopt;
}

std::string_view family_name(Family family) {
    switch (family) {
        case Family::ip4:
            return "IP4";
        case Family::ip6:
            return "IP6";
        case Family::unspecified:
            break;
    }
    return "";
}

std::string ip_to_string(const Address& address) {
    char buffer[46] = {};
    const int af = address.family == Family::ip6 ? AF_INET6 : AF_INET;
    if (address.family == Family::unspecified ||
        ::inet_ntop(af, address.bytes.data(), buffer, sizeof buffer) == nullptr)
        return "";
    return buffer;
}

std::string to_string(const Address& address) {
    const std::string ip = ip_to_string(address);
    if (address.family == Family::ip6) return "[" + ip + "]:" + std::to_string(address.port);
    return ip + ":" + std::to_string(address.port);
}

bool is_unspecified_ip(const Address& address) {
    const std::size_t n = address.family == Family::ip6 ? 16 : 4;
    return address.family != Family::unspecified &&
           std::all_of(address.bytes.begin(), address.bytes.begin() + static_cast<std::ptrdiff_t>(n),
                       [](std::uint8_t b) { return b == 0; });
}

}  // namespace sg::relay

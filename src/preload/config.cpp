// Parsing of the socksify environment (see config.hpp).

#include "preload/config.hpp"

#include <arpa/inet.h>

#include <cstring>

#include "common/text.hpp"

namespace sg::preload {

Result<IpAddress> parse_ip(std::string_view text) {
    // inet_pton needs a NUL-terminated string; the longest textual IPv6 address is 45 characters.
    char buffer[INET6_ADDRSTRLEN + 1];
    if (text.empty() || text.size() >= sizeof buffer) return fail("not an IP address");
    std::memcpy(buffer, text.data(), text.size());
    buffer[text.size()] = '\0';
    IpAddress address;
    if (inet_pton(AF_INET, buffer, address.bytes.data()) == 1) {
        address.family = AF_INET;
        return address;
    }
    if (inet_pton(AF_INET6, buffer, address.bytes.data()) == 1) {
        address.family = AF_INET6;
        return address;
    }
    return fail("not an IP address");
}

Result<IpEndpoint> parse_ip_endpoint(std::string_view text) {
    std::string_view host;
    std::string_view port_text;
    if (text.starts_with('[')) {
        const auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
            return fail("expected [IPV6]:PORT");
        host = text.substr(1, close - 1);
        port_text = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos) return fail("expected HOST:PORT");
        host = text.substr(0, colon);
        port_text = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos)
            return fail("IPv6 addresses need brackets: [IPV6]:PORT");
    }
    const auto address = parse_ip(host);
    if (!address) return fail("the proxy must be an IP address literal");
    if (text.starts_with('[') && address->family != AF_INET6) return fail("only IPv6 goes in brackets");
    const auto port = parse_uint<std::uint16_t>(port_text);
    if (!port || *port == 0) return fail("bad port (1-65535)");
    return IpEndpoint{*address, static_cast<std::uint16_t>(*port)};
}

std::optional<IpEndpoint> from_sockaddr(const sockaddr* sa, socklen_t len) {
    if (sa == nullptr) return std::nullopt;
    IpEndpoint endpoint;
    if (sa->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
        sockaddr_in in{};
        std::memcpy(&in, sa, sizeof in);
        endpoint.address.family = AF_INET;
        std::memcpy(endpoint.address.bytes.data(), &in.sin_addr, 4);
        endpoint.port = ntohs(in.sin_port);
        return endpoint;
    }
    if (sa->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
        sockaddr_in6 in6{};
        std::memcpy(&in6, sa, sizeof in6);
        endpoint.port = ntohs(in6.sin6_port);
        static constexpr std::uint8_t mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (std::memcmp(&in6.sin6_addr, mapped_prefix, sizeof mapped_prefix) == 0) {
            endpoint.address.family = AF_INET;
            std::memcpy(endpoint.address.bytes.data(),
                        reinterpret_cast<const std::uint8_t*>(&in6.sin6_addr) + 12, 4);
        } else {
            endpoint.address.family = AF_INET6;
            std::memcpy(endpoint.address.bytes.data(), &in6.sin6_addr, 16);
        }
        return endpoint;
    }
    return std::nullopt;
}

socklen_t to_sockaddr(const IpEndpoint& endpoint, int family, sockaddr_storage& out) {
    out = sockaddr_storage{};
    if (family == AF_INET) {
        if (endpoint.address.family != AF_INET) return 0;
        sockaddr_in in{};
        in.sin_family = AF_INET;
        in.sin_port = htons(endpoint.port);
        std::memcpy(&in.sin_addr, endpoint.address.bytes.data(), 4);
        std::memcpy(&out, &in, sizeof in);
        return sizeof in;
    }
    if (family == AF_INET6) {
        sockaddr_in6 in6{};
        in6.sin6_family = AF_INET6;
        in6.sin6_port = htons(endpoint.port);
        auto* bytes = reinterpret_cast<std::uint8_t*>(&in6.sin6_addr);
        if (endpoint.address.family == AF_INET) {
            bytes[10] = 0xff;
            bytes[11] = 0xff;
            std::memcpy(bytes + 12, endpoint.address.bytes.data(), 4);
        } else {
            std::memcpy(bytes, endpoint.address.bytes.data(), 16);
        }
        std::memcpy(&out, &in6, sizeof in6);
        return sizeof in6;
    }
    return 0;
}

bool Network::contains(const IpAddress& address) const noexcept {
    if (address.family != base.family) return false;
    const unsigned full_bytes = prefix_length / 8;
    if (std::memcmp(address.bytes.data(), base.bytes.data(), full_bytes) != 0) return false;
    const unsigned rest = prefix_length % 8;
    if (rest == 0) return true;
    const auto mask = static_cast<std::uint8_t>(0xFF << (8 - rest));
    return (address.bytes[full_bytes] & mask) == (base.bytes[full_bytes] & mask);
}

Result<Network> parse_network(std::string_view text) {
    const auto slash = text.find('/');
    const auto address = parse_ip(text.substr(0, slash));
    if (!address) return fail("not an IP address or CIDR");
    const unsigned max_length = address->family == AF_INET ? 32 : 128;
    unsigned length = max_length;
    if (slash != std::string_view::npos) {
        const auto parsed = parse_uint<unsigned>(text.substr(slash + 1));
        if (!parsed || *parsed > max_length) return fail("bad prefix length");
        length = static_cast<unsigned>(*parsed);
    }
    Network network{*address, length};
    // Host bits set usually means a typo (10.1.2.3/8 for 10.1.2.3/32); refuse instead of guessing.
    IpAddress masked = *address;
    for (unsigned bit = length; bit < max_length; ++bit)
        masked.bytes[bit / 8] = static_cast<std::uint8_t>(masked.bytes[bit / 8] & ~(0x80 >> (bit % 8)));
    if (!(masked == *address)) return fail("host bits set after the prefix length");
    return network;
}

Config config_from_environment(const char* proxy, const char* user, const char* direct) {
    Config config;
    const auto endpoint = parse_ip_endpoint(proxy != nullptr && *proxy != '\0' ? proxy : k_default_proxy);
    if (endpoint) {
        config.proxy = *endpoint;
    } else {
        config.error = std::string("STREAMGATE_PROXY: ") + std::string(endpoint.error());
    }
    if (user != nullptr && *user != '\0') {
        const std::string_view spec(user);
        const auto colon = spec.find(':');
        if (colon == std::string_view::npos || colon == 0 || colon + 1 == spec.size() || colon > 255 ||
            spec.size() - colon - 1 > 255) {
            config.error = "STREAMGATE_USER: expected NAME:PASSWORD, each 1-255 bytes";
        } else {
            config.username = spec.substr(0, colon);
            config.password = spec.substr(colon + 1);
        }
    }
    config.direct.push_back(*parse_network("127.0.0.0/8"));
    config.direct.push_back(*parse_network("::1/128"));
    std::string_view rest = direct != nullptr ? std::string_view(direct) : std::string_view();
    while (!rest.empty()) {
        const auto comma = rest.find(',');
        const auto item = trim(rest.substr(0, comma));
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        if (item.empty()) continue;
        const auto network = parse_network(item);
        if (!network) {
            config.error =
                std::string("STREAMGATE_DIRECT: ") + std::string(item) + ": " + std::string(network.error());
            continue;
        }
        config.direct.push_back(*network);
    }
    return config;
}

bool is_direct(const Config& config, const IpAddress& address) noexcept {
    for (const auto& network : config.direct)
        if (network.contains(address)) return true;
    return false;
}

}  // namespace sg::preload

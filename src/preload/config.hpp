#pragma once
// What the socksify library needs to know, parsed from the environment that `streamgate socksify` sets:
//   STREAMGATE_PROXY   HOST:PORT or [IPV6]:PORT, an address literal (the CLI resolves names before exec)
//   STREAMGATE_USER    NAME:PASSWORD for RFC 1929 (optional)
//   STREAMGATE_DIRECT  comma-separated CIDRs reached without the proxy, on top of loopback
// Pure code: no I/O, no allocation beyond the returned values, no exceptions other than std::bad_alloc.

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace sg::preload {

// An IPv4 or IPv6 address; IPv4 uses the first 4 bytes.
struct IpAddress {
    int family = AF_INET;  // AF_INET or AF_INET6
    std::array<std::uint8_t, 16> bytes{};
    friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

struct IpEndpoint {
    IpAddress address;
    std::uint16_t port = 0;
    friend bool operator==(const IpEndpoint&, const IpEndpoint&) = default;
};

// Parses a numeric IPv4 or IPv6 address (no brackets, no scope).
Result<IpAddress> parse_ip(std::string_view text);
// "1.2.3.4:1080" or "[2001:db8::1]:1080".
Result<IpEndpoint> parse_ip_endpoint(std::string_view text);

// Reads an AF_INET/AF_INET6 socket address. An IPv4-mapped IPv6 address (::ffff:a.b.c.d) becomes IPv4, so
// policy decisions see the address the packets really go to.
std::optional<IpEndpoint> from_sockaddr(const sockaddr* sa, socklen_t len);
// Writes `endpoint` as a sockaddr of `family`; an IPv4 address in an AF_INET6 sockaddr becomes
// IPv4-mapped. Returns the length written, 0 when the address cannot be expressed in that family.
socklen_t to_sockaddr(const IpEndpoint& endpoint, int family, sockaddr_storage& out);

struct Network {
    IpAddress base;
    unsigned prefix_length = 0;
    bool contains(const IpAddress& address) const noexcept;
    friend bool operator==(const Network&, const Network&) = default;
};

// "10.0.0.0/8", "2001:db8::/32"; a bare address is a host route. Host bits must be zero.
Result<Network> parse_network(std::string_view text);

struct Config {
    IpEndpoint proxy;
    std::string username;  // empty: offer no-authentication only
    std::string password;
    std::vector<Network> direct;  // loopback first, then STREAMGATE_DIRECT
    std::string error;            // non-empty: the environment was unusable; every proxied connect fails
};

inline constexpr std::string_view k_default_proxy = "127.0.0.1:1080";

// Null pointers mean "variable not set".
Config config_from_environment(const char* proxy, const char* user, const char* direct);

bool is_direct(const Config& config, const IpAddress& address) noexcept;

}  // namespace sg::preload

#include "net/endpoint.hpp"

#include "common/text.hpp"

namespace sg::net {

sg::Result<HostPort> parse_host_port(std::string_view text) {
    constexpr std::size_t k_max_host = 253;  // longest DNS name; IPv6 literals with a zone id are shorter
    std::string_view host;
    std::string_view port_text;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos) return sg::fail("unterminated '[' in address");
        host = text.substr(1, close - 1);
        if (host.find(':') == std::string_view::npos) return sg::fail("brackets are only for IPv6 addresses");
        const auto rest = text.substr(close + 1);
        if (rest.size() < 2 || rest.front() != ':') return sg::fail("expected ':PORT' after ']'");
        port_text = rest.substr(1);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos) return sg::fail("expected HOST:PORT");
        host = text.substr(0, colon);
        if (host.find(':') != std::string_view::npos)
            return sg::fail("IPv6 addresses need brackets: [ADDR]:PORT");
        port_text = text.substr(colon + 1);
    }
    if (host.empty()) return sg::fail("empty host");
    if (host.size() > k_max_host) return sg::fail("host too long");
    for (const char c : host) {
        if (c <= ' ' || c == '/' || c == '[' || c == ']' || c == 0x7f)
            return sg::fail("invalid character in host");
    }
    const auto port = sg::parse_uint<std::uint16_t>(port_text);
    if (!port) return sg::fail("port must be a number 0-65535");
    return HostPort{std::string(host), *port};
}

std::string to_string(const HostPort& hp) {
    std::string out;
    const bool bracket = hp.host.find(':') != std::string::npos;
    if (bracket) out += '[';
    out += hp.host;
    if (bracket) out += ']';
    out += ':';
    out += std::to_string(hp.port);
    return out;
}

}  // namespace sg::net

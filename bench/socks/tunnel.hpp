#pragma once
// The client side of one SOCKS5 CONNECT tunnel for the gateway benchmark (bench/socks/run.sh): RFC 1928
// sections 3, 4 and 6 with "no authentication", through the codec in src/socks, then a one-byte echo through
// the tunnel so that a counted tunnel is one that really carries data end to end.

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace sg::bench {

// Everything a tunnel needs, built once per run so that the load generator spends its CPU on sockets rather
// than on re-encoding the same request.
struct TunnelPlan {
    std::optional<asio::ip::tcp::endpoint> proxy;  // nullopt: connect straight to the target (the baseline)
    asio::ip::tcp::endpoint target;
    bool pipeline = true;                // send greeting and request in one write, before the method reply
    std::vector<std::uint8_t> greeting;  // VER NMETHODS METHODS = 05 01 00
    std::vector<std::uint8_t> request;   // VER CMD RSV ATYP DST.ADDR DST.PORT for the target
};

TunnelPlan make_plan(std::optional<asio::ip::tcp::endpoint> proxy, asio::ip::tcp::endpoint target,
                     bool pipeline);

// The echo sink echoes every byte; after echoing k_close_request it closes the connection itself.
inline constexpr std::uint8_t k_keep_open = 'x';
inline constexpr std::uint8_t k_close_request = 'q';

// Connects `socket` (closed on entry), opens the tunnel and sends `probe` through it, which must come back.
// Returns empty text on success, else a static reason ("proxy refused", ...). The caller bounds the time by
// closing the socket.
asio::awaitable<std::string_view> open_tunnel(asio::ip::tcp::socket& socket, const TunnelPlan& plan,
                                              std::uint8_t probe);

// Ends an open tunnel from the far side: asks the sink to close and waits for that EOF to come back through
// the proxy. The sink and the proxy then close first, so TIME_WAIT stays with the listening sides: a proxy
// that binds its outgoing address (Dante) would otherwise run out of ephemeral ports within a minute, and
// the rate would measure the port range instead of the proxy.
asio::awaitable<void> close_from_far_side(asio::ip::tcp::socket& socket, bool close_requested);

}  // namespace sg::bench

// UDP ASSOCIATE (RFC 1928 sections 4, 6, 7): opens the client-facing relay socket, answers with its address
// and relays until the control connection closes or the association idles out (see udp_relay.hpp).

#include <spdlog/spdlog.h>

#include <asio/ip/udp.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/this_coro.hpp>
#include <string>

#include "net/asio_endpoint.hpp"
#include "socks/commands.hpp"
#include "socks/session_io.hpp"
#include "socks/udp_relay.hpp"

namespace sg::socks {

asio::awaitable<void> run_udp_associate(SessionContext& ctx, const Request& request) {
    using asio::ip::udp;
    SessionRecord& record = ctx.record;
    // The limit check and the count that follows it are not separated by a co_await, so they agree.
    const auto snapshot = ctx.shared.options();
    const auto limit = snapshot->max_udp_associations;
    if (limit != 0 && live_udp_associations() >= limit) {
        record.end = "max_udp_associations reached";
        co_await send_reply(ctx.client, record, Reply::general_failure, Address{});
        co_return;
    }
    UdpAssociationCount counted;

    asio::error_code local_ec;
    asio::error_code peer_ec;
    const auto local = ctx.client.local_endpoint(local_ec);
    const auto peer = ctx.client.remote_endpoint(peer_ec);
    if (local_ec || peer_ec) {
        record.end = "client closed before reply";
        co_return;
    }

    // The relay faces the client on the address its control connection arrived on: that address is known
    // to reach the client, in the client's family.
    const auto local_address = net::unmap(local.address());
    const auto executor = co_await asio::this_coro::executor;
    udp::socket relay(executor);
    asio::error_code ec;
    relay.open(local_address.is_v4() ? udp::v4() : udp::v6(), ec);
    if (!ec && local_address.is_v6()) relay.set_option(asio::ip::v6_only(true), ec);
    if (!ec) relay.bind(udp::endpoint(local_address, 0), ec);
    const auto bound = ec ? udp::endpoint() : relay.local_endpoint(ec);
    if (ec) {
        record.end = "cannot open the UDP relay: " + ec.message();
        co_await send_reply(ctx.client, record, Reply::general_failure, Address{});
        co_return;
    }

    const Address bound_address = to_socks_address(bound);
    co_await send_reply(ctx.client, record, Reply::succeeded, bound_address);
    if (!record.replied) {
        record.end = "client closed before reply";
        co_return;
    }
    spdlog::debug("udp associate {}: relay {} for {}", record.client, net::to_string(bound),
                  request.destination.to_string());

    // DST.ADDR is only the client's guess of its own address (a NATed client names its private one), so
    // the source address filtered on is the control connection's peer; DST.PORT, when given, fixes the
    // source port at once instead of latching it from the first datagram.
    const ClientSourceFilter client(peer.address(), request.destination.port());
    UdpRelayOptions options;
    options.idle_timeout = snapshot->idle_timeout;
    if (!ctx.policy.empty()) {
        options.admit = [&policy = ctx.policy](const Address& destination, const asio::ip::address& address) {
            return policy.evaluate(destination, address).allowed;
        };
    }
    const auto result = co_await run_udp_relay(ctx.client, relay, client, options);

    record.up += result.counters.bytes_up;
    record.down += result.counters.bytes_down;
    record.resolved = result.resolved;
    record.end = std::string(result.end_reason) +
                 "; datagrams up=" + std::to_string(result.counters.datagrams_up) +
                 " down=" + std::to_string(result.counters.datagrams_down) +
                 " dropped=" + std::to_string(result.counters.dropped);
}

}  // namespace sg::socks

// SOCKS5 BIND (RFC 1928 section 4; replies section 6), across IPv4 and IPv6.
//
// The request's DST.ADDR/DST.PORT names the peer expected to connect back (DST.PORT 0: any port). The gateway
// listens on its own address in the peer's family, on the interface that routes to the peer, and sends it as
// BND in the first reply; the second reply carries the address and port of the peer that connected, after
// which the two connections are relayed like a CONNECT.
//
// Decisions where RFC 1928 is silent (documented for operators in the session-end line):
// - Only the named peer may connect. A connection from any other address (or port, when DST.PORT is set) is
//   closed at once and the wait goes on, as Dante's sockd does ("blocked: unexpected bindreply"). An
//   unspecified or multicast DST.ADDR names no peer and is refused with REP 0x02 (not allowed).
// - A DOMAINNAME is resolved on Asio's resolver thread. When it has addresses in both families, the first one
//   the gateway has a route to wins, IPv6 first as for CONNECT; every address of the name in that family is
//   then accepted as the peer.
// - ServerOptions::connect_timeout bounds the name resolution and, counted again from the first reply, the
//   wait for the peer: BIND's second leg is the connection CONNECT would have made, so the same setting
//   governs both. An active-FTP server connects back within a second or two of the client's command.
// - REP codes: no route to the peer's family or network -> 0x03 network unreachable; resolution failure or
//   timeout -> 0x04 host unreachable; the peer not connecting in time -> 0x04 host unreachable. Dante answers
//   ETIMEDOUT with 0x06 "TTL expired", but that code is about IP time-to-live, which no packet exceeded here;
//   0x04 is also what our CONNECT sends when its deadline passes, so clients see one code for "did not
//   happen in time".
// - If the client closes the control connection while we wait, the listener is closed at once (no reply).
//   Bytes the client sends while waiting are kept (up to k_max_early_bytes) and forwarded to the peer.

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/this_coro.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "common/units.hpp"
#include "net/asio_endpoint.hpp"
#include "net/relay.hpp"
#include "socks/commands.hpp"
#include "socks/connector.hpp"
#include "socks/session_io.hpp"

namespace sg::socks {
namespace {

using asio::ip::tcp;
using asio::ip::udp;
using Clock = std::chrono::steady_clock;

// The control connection carries nothing before the second reply in RFC 1928; a client that sends anyway is
// buffered this far (one relay buffer's worth, several times over) and then cut off.
constexpr std::size_t k_max_early_bytes = 64 * k_kib;
// A BIND expects one connection; a small backlog is plenty and bounds what a flood can queue.
constexpr int k_backlog = 8;
// connect(2) on a UDP socket needs a port but sends nothing: any non-zero value works.
constexpr std::uint16_t k_route_probe_port = 9;

// Who may connect: the peer's addresses and port (0 = any port).
struct ExpectedPeer {
    std::vector<asio::ip::address> addresses;
    std::uint16_t port = 0;

    bool matches(const tcp::endpoint& remote) const {
        if (port != 0 && remote.port() != port) return false;
        const auto addr = net::unmap(remote.address());
        return std::find(addresses.begin(), addresses.end(), addr) != addresses.end();
    }
    std::string to_string() const {
        std::string out;
        for (const auto& addr : addresses) {
            if (!out.empty()) out += ',';
            out += net::to_string(tcp::endpoint(addr, port));
        }
        return out.empty() ? "-" : out;
    }
};

// What resolution and the route lookup decided: where to listen and whom to accept, or why not.
struct Plan {
    Reply reply = Reply::general_failure;
    std::string error;
    ExpectedPeer peer;
    asio::ip::address local;  // the gateway's address on the way to the peer
};

bool names_a_single_host(const asio::ip::address& addr) {
    return !addr.is_unspecified() && !addr.is_multicast() &&
           !(addr.is_v4() && addr.to_v4() == asio::ip::address_v4::broadcast());
}

// The peer's candidate addresses, IPv6 first, duplicates and non-unicast addresses removed.
asio::awaitable<std::vector<asio::ip::address>> peer_addresses(const Address& destination,
                                                               Clock::time_point deadline,
                                                               asio::error_code& ec) {
    using namespace asio::experimental::awaitable_operators;
    std::vector<asio::ip::address> out;
    if (destination.is_ipv4()) {
        out.emplace_back(asio::ip::address_v4(destination.ipv4()));
        co_return out;
    }
    if (destination.is_ipv6()) {
        out.push_back(net::unmap(asio::ip::address_v6(destination.ipv6())));
        co_return out;
    }
    // Named locals, not temporaries: g++ 12 mishandles temporaries that live across a co_await.
    const auto executor = co_await asio::this_coro::executor;
    tcp::resolver resolver(executor);
    const std::string host(destination.domain());
    const std::string service = std::to_string(destination.port());
    auto result =
        co_await (resolver.async_resolve(host, service, tcp::resolver::numeric_service, k_use_tuple) ||
                  sleep_until(deadline));
    if (result.index() == 1) {
        ec = asio::error::timed_out;
        co_return out;
    }
    auto [resolve_ec, results] = std::get<0>(std::move(result));
    ec = resolve_ec;
    for (const auto& entry : results) {
        const auto addr = net::unmap(entry.endpoint().address());
        if (names_a_single_host(addr) && std::find(out.begin(), out.end(), addr) == out.end()) {
            out.push_back(addr);
        }
    }
    std::stable_partition(out.begin(), out.end(), [](const asio::ip::address& a) { return a.is_v6(); });
    co_return out;
}

// The gateway's own address on the route to `peer`. Connecting a UDP socket only consults the routing table
// (no packet leaves), so this is the source address the kernel would pick: the one the peer can reach us at.
asio::ip::address local_address_towards(const asio::any_io_executor& executor, const asio::ip::address& peer,
                                        asio::error_code& ec) {
    udp::socket probe(executor);
    probe.open(peer.is_v4() ? udp::v4() : udp::v6(), ec);
    if (!ec) probe.connect(udp::endpoint(peer, k_route_probe_port), ec);
    if (ec) return {};
    const auto local = probe.local_endpoint(ec);
    return ec ? asio::ip::address{} : net::unmap(local.address());
}

asio::awaitable<Plan> make_plan(const Address& destination, Clock::time_point deadline) {
    const auto executor = co_await asio::this_coro::executor;
    Plan plan;
    plan.peer.port = destination.port();
    if (!destination.is_domain()) {
        const auto addr = destination.is_ipv4() ? asio::ip::address(asio::ip::address_v4(destination.ipv4()))
                                                : net::unmap(asio::ip::address_v6(destination.ipv6()));
        if (!names_a_single_host(addr)) {
            plan.reply = Reply::not_allowed;
            plan.error = "bind: DST.ADDR names no single peer";
            co_return plan;
        }
    }
    asio::error_code ec;
    const auto candidates = co_await peer_addresses(destination, deadline, ec);
    if (candidates.empty()) {
        if (!ec) ec = asio::error::host_not_found;
        plan.reply = reply_for(ec);
        plan.error = "bind: resolve: " + ec.message();
        co_return plan;
    }
    for (const auto& candidate : candidates) {
        const auto local = local_address_towards(executor, candidate, ec);
        if (ec) {
            plan.error = "bind: no route to " + candidate.to_string() + ": " + ec.message();
            continue;
        }
        plan.local = local;
        for (const auto& addr : candidates) {
            if (addr.is_v4() == candidate.is_v4()) plan.peer.addresses.push_back(addr);
        }
        plan.reply = Reply::succeeded;
        plan.error.clear();
        co_return plan;
    }
    plan.reply = reply_for(ec);
    co_return plan;
}

bool open_listener(tcp::acceptor& acceptor, const asio::ip::address& local, asio::error_code& ec) {
    const tcp::endpoint endpoint(local, 0);
    acceptor.open(endpoint.protocol(), ec);
    if (!ec && local.is_v6()) acceptor.set_option(asio::ip::v6_only(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(k_backlog, ec);
    // Accepting only after a readiness wait, without blocking: a connection that vanished in between must not
    // park the session in accept(2), out of reach of its deadline and of the client's close.
    if (!ec) acceptor.non_blocking(true, ec);
    return !ec;
}

enum class WaitEnd { peer, client_closed, timeout, too_much_early_data, accept_failed };

struct WaitOutcome {
    WaitEnd end = WaitEnd::timeout;
    tcp::endpoint remote;
    unsigned refused = 0;  // connections from someone other than the expected peer
    std::string error;
};

// Waits for the expected peer while watching the control connection and the deadline. Readiness waits rather
// than accept/read operations are raced, so the race's loser never takes a connection or bytes with it.
asio::awaitable<WaitOutcome> wait_for_peer(tcp::acceptor& acceptor, tcp::socket& client,
                                           std::vector<std::uint8_t>& early, const ExpectedPeer& expected,
                                           Clock::time_point deadline, tcp::socket& peer) {
    using namespace asio::experimental::awaitable_operators;
    WaitOutcome out;
    std::array<std::uint8_t, 4096> chunk;
    for (;;) {
        auto ready =
            co_await (acceptor.async_wait(tcp::acceptor::wait_read, k_use_tuple) ||
                      client.async_wait(tcp::socket::wait_read, k_use_tuple) || sleep_until(deadline));
        if (ready.index() == 2) {
            out.end = WaitEnd::timeout;
            co_return out;
        }
        if (ready.index() == 1) {
            auto [wait_ec] = std::get<1>(ready);
            if (wait_ec) {  // the socket was closed under us (Server::close_sessions)
                out.end = WaitEnd::client_closed;
                co_return out;
            }
            // Readable: data or EOF is there, so this read completes at once.
            auto [read_ec, n] = co_await client.async_read_some(asio::buffer(chunk), k_use_tuple);
            if (read_ec) {
                out.end = WaitEnd::client_closed;
                co_return out;
            }
            early.insert(early.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n));
            if (early.size() > k_max_early_bytes) {
                out.end = WaitEnd::too_much_early_data;
                co_return out;
            }
            continue;
        }
        auto [wait_ec] = std::get<0>(ready);
        asio::error_code ec = wait_ec;
        tcp::endpoint remote;
        if (!ec) acceptor.accept(peer, remote, ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again ||
            ec == asio::error::connection_aborted) {
            continue;  // the connection went away before we took it
        }
        if (ec) {
            out.end = WaitEnd::accept_failed;
            out.error = "bind: accept: " + ec.message();
            co_return out;
        }
        if (expected.matches(remote)) {
            out.end = WaitEnd::peer;
            out.remote = remote;
            co_return out;
        }
        // A peer can repeat this at will: one line per session at info, the rest only at debug.
        ++out.refused;
        if (out.refused == 1) {
            spdlog::info("bind: closed connection from unexpected {} to {} (expecting {})",
                         net::to_string(remote), net::to_string(acceptor.local_endpoint(ec)),
                         expected.to_string());
        } else {
            spdlog::debug("bind: closed connection from unexpected {}", net::to_string(remote));
        }
        peer.close(ec);
    }
}

// close_sessions() may close the peer socket only while it exists.
class TargetRegistration {
public:
    TargetRegistration(LiveSession& live, tcp::socket& target) : live_(live) { live_.target = &target; }
    ~TargetRegistration() { live_.target = nullptr; }
    TargetRegistration(const TargetRegistration&) = delete;
    TargetRegistration& operator=(const TargetRegistration&) = delete;

private:
    LiveSession& live_;
};

std::string with_refusals(std::string end, unsigned refused) {
    if (refused > 0) end += " (" + std::to_string(refused) + " unexpected connection(s) closed)";
    return end;
}

}  // namespace

asio::awaitable<void> run_bind(SessionContext& ctx, const Request& request) {
    const auto snapshot = ctx.shared.options();  // held until the relay ends
    const ServerOptions& options = *snapshot;
    SessionRecord& record = ctx.record;
    const auto executor = co_await asio::this_coro::executor;

    const auto resolve_deadline = Clock::now() + options.connect_timeout;
    const Plan plan = co_await make_plan(request.destination, resolve_deadline);
    record.resolved = plan.peer.to_string();
    if (plan.reply != Reply::succeeded) {
        record.end = plan.error;
        co_await send_reply(ctx.client, record, plan.reply, Address{});
        co_return;
    }

    tcp::acceptor acceptor(executor);
    asio::error_code ec;
    if (!open_listener(acceptor, plan.local, ec)) {
        record.end = "bind: listen on " + plan.local.to_string() + ": " + ec.message();
        co_await send_reply(ctx.client, record, reply_for(ec), Address{});
        co_return;
    }
    const auto listening = acceptor.local_endpoint(ec);
    co_await send_reply(ctx.client, record, Reply::succeeded, to_socks_address(listening));
    if (!record.replied) {
        record.end = "client closed before reply";
        co_return;
    }

    tcp::socket peer(executor);
    const auto wait_deadline = Clock::now() + options.connect_timeout;
    const auto waited =
        co_await wait_for_peer(acceptor, ctx.client, ctx.pending, plan.peer, wait_deadline, peer);
    acceptor.close(ec);  // one peer per BIND: nobody else gets in from here on
    switch (waited.end) {
        case WaitEnd::peer:
            break;
        case WaitEnd::client_closed:
            record.end = with_refusals("client closed while waiting for the peer", waited.refused);
            co_return;
        case WaitEnd::timeout:
            record.end = with_refusals("bind: the peer did not connect in time", waited.refused);
            co_await send_reply(ctx.client, record, Reply::host_unreachable, Address{});
            co_return;
        case WaitEnd::too_much_early_data:
            record.end = "bind: client sent too much before the second reply";
            co_await send_reply(ctx.client, record, Reply::general_failure, Address{});
            co_return;
        case WaitEnd::accept_failed:
            record.end = waited.error;
            co_await send_reply(ctx.client, record, Reply::general_failure, Address{});
            co_return;
    }

    TargetRegistration registration(ctx.live, peer);
    record.resolved = net::to_string(waited.remote);
    peer.set_option(tcp::no_delay(true), ec);  // relayed RTSP/RTP must not be Nagle-delayed
    ctx.client.set_option(tcp::no_delay(true), ec);
    co_await send_reply(ctx.client, record, Reply::succeeded, to_socks_address(waited.remote));
    if (!record.replied) {
        record.end = "client closed before second reply";
        co_return;
    }
    // Bytes the client pipelined behind its request or sent while waiting belong to the peer.
    if (!ctx.pending.empty()) {
        if (!co_await send_all(peer, ctx.pending)) {
            record.end = "peer closed";
            co_return;
        }
        record.up += ctx.pending.size();
        ctx.pending.clear();
    }

    const auto result = co_await net::relay(ctx.client, peer, options.idle_timeout, &ctx.live.progress);
    ctx.live.progress = {};  // now in the record
    record.up += result.bytes_a_to_b;
    record.down += result.bytes_b_to_a;
    record.end = with_refusals(std::string(result.end_reason), waited.refused);
}

}  // namespace sg::socks

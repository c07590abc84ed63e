#include <fmt/format.h>

#include <asio/ip/tcp.hpp>

#include "alg_relay/rtsp_alg.hpp"
#include "net/relay.hpp"
#include "socks/commands.hpp"
#include "socks/connector.hpp"
#include "socks/session_io.hpp"

namespace sg::socks {

asio::awaitable<void> run_connect(SessionContext& ctx, const Request& request) {
    using asio::ip::tcp;
    const auto snapshot = ctx.shared.options();  // held until the relay ends
    const ServerOptions& options = *snapshot;
    SessionRecord& record = ctx.record;

    // A name may resolve into a network the rules deny: only admitted addresses are tried.
    AddressFilter admit;
    if (!ctx.policy.empty() && request.destination.is_domain()) {
        admit = [&policy = ctx.policy, &destination = request.destination](const asio::ip::address& address) {
            return policy.evaluate(destination, address).allowed;
        };
    }
    auto outcome = co_await connect_to(request.destination, options.connect_timeout, options.family_policy,
                                       std::move(admit));
    record.resolved = outcome.resolved.empty() ? "-" : outcome.resolved;
    if (outcome.reply != Reply::succeeded) {
        record.end = outcome.error;
        co_await send_reply(ctx.client, record, outcome.reply, Address{});
        co_return;
    }
    tcp::socket& target = outcome.socket;
    ctx.live.target = &target;

    asio::error_code ec;
    ctx.client.set_option(tcp::no_delay(true), ec);
    co_await send_reply(ctx.client, record, Reply::succeeded, to_socks_address(target.local_endpoint(ec)));
    if (!record.replied) {
        record.end = "client closed before reply";
        co_return;
    }
    // RTSP (recognised by the client's first request line, never by port) goes through the application-level
    // gateway, so that UDP media reaches the client; anything else is relayed untouched.
    if (const auto alg = options.rtsp_alg) {
        const auto verdict =
            co_await alg::sniff_client(ctx.client, target, ctx.pending, alg->options().sniff_timeout);
        if (verdict == alg::SniffVerdict::rtsp) {
            auto bytes = std::move(ctx.pending);
            ctx.pending.clear();
            const auto result =
                co_await alg::run_rtsp_alg(ctx.client, target, std::move(bytes), alg, options.idle_timeout);
            record.up += result.bytes_client_to_origin;
            record.down += result.bytes_origin_to_client;
            record.end = fmt::format(
                "{} (rtsp alg: {} udp media relays{}{})", result.end_reason, result.media_relays,
                result.refused_setups != 0 ? fmt::format(", {} setups refused", result.refused_setups)
                                           : std::string(),
                result.fell_back ? ", parse fallback" : "");
            ctx.live.target = nullptr;
            co_return;
        }
    }
    // Bytes the client pipelined behind its request belong to the target.
    if (!ctx.pending.empty()) {
        if (!co_await send_all(target, ctx.pending)) {
            record.end = "target closed";
            co_return;
        }
        record.up += ctx.pending.size();
        ctx.pending.clear();
    }

    const auto result = co_await net::relay(ctx.client, target, options.idle_timeout, &ctx.live.progress);
    ctx.live.progress = {};  // now in the record
    record.up += result.bytes_a_to_b;
    record.down += result.bytes_b_to_a;
    record.end = result.end_reason;
    ctx.live.target = nullptr;
}

}  // namespace sg::socks

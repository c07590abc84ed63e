#include "relay_io/relay_server.hpp"
#include "dashboard/dashboard.hpp"

#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <filesystem>
#include <memory>
#include <thread>

#include "metrics/admin_server.hpp"
#include "metrics/registry.hpp"
#include "net/accept_loop.hpp"
#include "net/asio_endpoint.hpp"
#include "net/unhandled.hpp"
#include "relay/address.hpp"
#include "relay/ng_codec.hpp"
#include "relay/ng_control.hpp"
#include "relay/rtpproxy_control.hpp"
#include "relay_io/control_front.hpp"
#include "relay_io/relay_api.hpp"
#include "relay_io/shard.hpp"

namespace sg::relay_io {
namespace {

// A control datagram: ng offers carry whole SDPs, so take anything UDP can carry.
constexpr std::size_t k_max_control_datagram = 65536;

asio::awaitable<void> control_loop(asio::ip::udp::socket& socket, const relay::ControlProtocol& protocol,
                                   ControlFront& front) {
    std::vector<char> buffer(k_max_control_datagram);
    asio::ip::udp::endpoint from;
    for (;;) {
        std::error_code ec;
        const std::size_t n = co_await socket.async_receive_from(
            asio::buffer(buffer), from, asio::redirect_error(asio::use_awaitable, ec));
        if (ec == asio::error::operation_aborted || !socket.is_open()) co_return;
        if (ec) continue;  // an ICMP error queued by an earlier reply: the next datagram is still good
        const std::string reply =
            co_await front.on_control(protocol, std::string(buffer.data(), n), net::to_string(from));
        if (reply.empty()) continue;
        co_await socket.async_send_to(asio::buffer(reply), from,
                                      asio::redirect_error(asio::use_awaitable, ec));
    }
}

// Reads what the peer sends, closing the socket when nothing comes within `limit`: a silent peer must not
// hold its connection forever. 0 when the connection ended (closed, reset, timed out).
template <class Socket>
asio::awaitable<std::size_t> read_within(Socket& socket, std::vector<char>& buffer,
                                         std::chrono::steady_clock::duration limit) {
    asio::steady_timer deadline(socket.get_executor());
    deadline.expires_after(limit);
    deadline.async_wait([&socket](const std::error_code& ec) {
        if (!ec) socket.close();
    });
    std::error_code ec;
    const std::size_t n =
        co_await socket.async_read_some(asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
    deadline.cancel();
    co_return ec ? 0 : n;
}

// rtpproxy over a unix stream socket (Kamailio's `unix:` sockets): each read is one command (Kamailio writes
// a command with one writev and waits for the answer); the connection may carry more until the peer closes
// it.
asio::awaitable<void> unix_connection(asio::local::stream_protocol::socket socket,
                                      const relay::ControlProtocol& protocol, ControlFront& front) {
    std::vector<char> buffer(k_max_control_datagram);
    for (;;) {
        const std::size_t n = co_await read_within(socket, buffer, std::chrono::seconds(10));
        if (n == 0) co_return;
        std::string_view command(buffer.data(), n);
        while (!command.empty() && (command.back() == '\n' || command.back() == '\r'))
            command.remove_suffix(1);
        const std::string reply = co_await front.on_control(protocol, std::string(command), "unix");
        if (reply.empty()) co_return;
        std::error_code ec;
        co_await asio::async_write(socket, asio::buffer(reply),
                                   asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
    }
}

asio::awaitable<void> unix_accept_loop(asio::local::stream_protocol::acceptor& acceptor,
                                       const relay::ControlProtocol& protocol, ControlFront& front) {
    for (;;) {
        std::error_code ec;
        auto socket = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
        if (ec) continue;
        asio::co_spawn(acceptor.get_executor(), unix_connection(std::move(socket), protocol, front),
                       net::log_unhandled(net::Unhandled::relay_control));
    }
}

// ng over TCP (rtpengine's --listen-tcp-ng): messages follow each other on the stream; each is answered
// in order. A stream that cannot be framed (not ng, or a message over the size limit) is closed.
asio::awaitable<void> tcp_ng_connection(asio::ip::tcp::socket socket, const relay::ControlProtocol& protocol,
                                        ControlFront& front) {
    std::string source;
    {
        std::error_code ec;
        const auto peer = socket.remote_endpoint(ec);
        source = ec ? "tcp" : net::to_string(peer);
    }
    std::string buffer;
    std::vector<char> chunk(16384);
    for (;;) {
        for (;;) {
            const auto frame = relay::frame_ng_stream(buffer);
            if (frame.need_more()) break;
            if (frame.failed()) {
                spdlog::warn("relay: ng over TCP from {}: {}; closing", source, frame.error);
                co_return;
            }
            const std::string reply = co_await front.on_control(
                protocol, buffer.substr(frame.value.skip, frame.value.length), source);
            buffer.erase(0, frame.consumed);
            if (reply.empty()) continue;
            std::error_code ec;
            co_await asio::async_write(socket, asio::buffer(reply),
                                       asio::redirect_error(asio::use_awaitable, ec));
            if (ec) co_return;
        }
        // A proxy keeps its control connection open; one that goes silent for long is gone.
        const std::size_t n = co_await read_within(socket, chunk, std::chrono::minutes(10));
        if (n == 0) co_return;
        buffer.append(chunk.data(), n);
    }
}

bool open_tcp(asio::io_context& io, const net::HostPort& where,
              std::vector<std::unique_ptr<asio::ip::tcp::acceptor>>& out) {
    const auto endpoint = net::to_tcp_endpoint(where);
    std::error_code ec;
    if (endpoint)
        out.push_back(std::make_unique<asio::ip::tcp::acceptor>(net::open_listener(io, *endpoint, ec)));
    if (!endpoint || ec) {
        spdlog::error("relay: --listen-tcp-ng {}: {}", net::to_string(where),
                      endpoint ? ec.message() : endpoint.error());
        return false;
    }
    return true;
}

bool open_unix(asio::io_context& io, const std::filesystem::path& path,
               std::vector<std::unique_ptr<asio::local::stream_protocol::acceptor>>& out) {
    std::error_code ec;
    // A socket file left by an earlier run would make bind fail; anything else at that path is kept.
    if (std::filesystem::is_socket(path, ec)) std::filesystem::remove(path, ec);
    auto acceptor = std::make_unique<asio::local::stream_protocol::acceptor>(io);
    const asio::local::stream_protocol::endpoint endpoint(path.string());
    acceptor->open(endpoint.protocol(), ec);
    if (!ec) acceptor->bind(endpoint, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        spdlog::error("relay: --listen-unix {}: {}", path.string(), ec.message());
        return false;
    }
    // Owner and group only: whoever can write here controls the relay.
    std::filesystem::permissions(path,
                                 std::filesystem::perms::owner_read | std::filesystem::perms::owner_write |
                                     std::filesystem::perms::group_read | std::filesystem::perms::group_write,
                                 ec);
    out.push_back(std::move(acceptor));
    return true;
}

bool open_control(asio::io_context& io, const net::HostPort& where,
                  std::vector<std::unique_ptr<asio::ip::udp::socket>>& out, std::string_view what) {
    const auto tcp = net::to_tcp_endpoint(where);
    if (!tcp) {
        spdlog::error("relay: {} {}: {}", what, net::to_string(where), tcp.error());
        return false;
    }
    const asio::ip::udp::endpoint endpoint(tcp->address(), tcp->port());
    auto socket = std::make_unique<asio::ip::udp::socket>(io);
    std::error_code ec;
    socket->open(endpoint.protocol(), ec);
    if (!ec) socket->bind(endpoint, ec);
    if (ec) {
        spdlog::error("relay: {} {}: {}", what, net::to_string(where), ec.message());
        return false;
    }
    out.push_back(std::move(socket));
    return true;
}

// Sums one published figure over the shards, for a scrape on the main loop.
template <class Field>
double sum_over(const std::vector<std::unique_ptr<Shard>>& shards, Field field) {
    std::uint64_t total = 0;
    for (const auto& shard : shards)
        total += (shard->published().*field).load(std::memory_order_relaxed);
    return static_cast<double>(total);
}

void register_metrics(metrics::Registry& registry, const std::vector<std::unique_ptr<Shard>>& shards,
                      const ControlFront& front) {
    const auto& s = shards;
    registry.gauge_callback("streamgate_relay_calls", "Calls the media relay holds now",
                            [&s] { return sum_over(s, &PublishedStatistics::calls); });
    registry.counter_callback("streamgate_relay_calls_total", "Calls the media relay has set up",
                              [&s] { return sum_over(s, &PublishedStatistics::total_calls); });
    const std::string ended = "Calls ended, by why";
    registry.counter_callback("streamgate_relay_calls_ended_total", ended,
                              [&s] { return sum_over(s, &PublishedStatistics::ended_deleted); },
                              {{"reason", "deleted"}});
    registry.counter_callback("streamgate_relay_calls_ended_total", ended,
                              [&s] { return sum_over(s, &PublishedStatistics::ended_timeout); },
                              {{"reason", "timeout"}});
    registry.counter_callback("streamgate_relay_calls_ended_total", ended,
                              [&s] { return sum_over(s, &PublishedStatistics::ended_other); },
                              {{"reason", "other"}});
    registry.counter_callback("streamgate_relay_packets_relayed_total", "Media packets relayed",
                              [&s] { return sum_over(s, &PublishedStatistics::relayed_packets); });
    registry.counter_callback("streamgate_relay_bytes_relayed_total", "Media bytes relayed",
                              [&s] { return sum_over(s, &PublishedStatistics::relayed_bytes); });
    registry.counter_callback(
        "streamgate_relay_packets_dropped_total",
        "Media packets dropped: from a source other than the latched one, or with nowhere to go",
        [&s] { return sum_over(s, &PublishedStatistics::dropped_packets); });
    registry.counter_callback("streamgate_relay_send_failures_total", "Relayed datagrams the kernel refused",
                              [&s] { return sum_over(s, &PublishedStatistics::send_failures); });
    registry.counter_callback("streamgate_relay_oversized_dropped_total",
                              "Datagrams longer than a receive buffer (2 KiB), dropped",
                              [&s] { return sum_over(s, &PublishedStatistics::oversized); });
    registry.counter_callback(
        "streamgate_relay_receive_buffer_shortages_total",
        "io_uring: times a socket's receive stopped because every receive buffer was in use (resumed when "
        "half came back)",
        [&s] { return sum_over(s, &PublishedStatistics::buffer_shortages); });
    registry.gauge_callback("streamgate_relay_kernel_flows",
                            "Directions of calls the kernel forwards now (--table)",
                            [&s] { return sum_over(s, &PublishedStatistics::kernel_flows); });
    registry.counter_callback("streamgate_relay_kernel_packets_total",
                              "Of the relayed packets, those the kernel forwarded (counted once a second)",
                              [&s] { return sum_over(s, &PublishedStatistics::kernel_packets); });
    registry.counter_callback("streamgate_relay_kernel_bytes_total",
                              "Of the relayed bytes, those the kernel forwarded",
                              [&s] { return sum_over(s, &PublishedStatistics::kernel_bytes); });
    registry.counter_callback("streamgate_relay_kernel_transactions_total",
                              "nftables transactions that added or removed kernel flows",
                              [&s] { return sum_over(s, &PublishedStatistics::kernel_transactions); });
    registry.gauge_callback(
        "streamgate_relay_kernel_failed_threads",
        "Event loops that went back to userspace forwarding because the kernel refused a change",
        [&s] { return sum_over(s, &PublishedStatistics::kernel_failed); });
    registry.gauge_callback("streamgate_relay_ports_in_use", "Media ports held by calls",
                            [&s] { return sum_over(s, &PublishedStatistics::ports_in_use); });
    registry.counter_callback(
        "streamgate_relay_control_requests_total", "Control requests acted on",
        [&front] { return static_cast<double>(front.counters().requests.load(std::memory_order_relaxed)); });
    registry.counter_callback(
        "streamgate_relay_control_errors_total", "Control requests answered with an error",
        [&front] { return static_cast<double>(front.counters().errors.load(std::memory_order_relaxed)); });
    registry.counter_callback(
        "streamgate_relay_control_retransmissions_total",
        "Retransmitted control requests answered from the reply cache", [&front] {
            return static_cast<double>(front.counters().retransmissions.load(std::memory_order_relaxed));
        });
}

}  // namespace

int run_relay(const RelayConfig& config) {
    asio::io_context io(1);  // control listeners, the admin listener, signals

    // One shard per event loop, each with its own share of the port range.
    const std::size_t loops = std::max<std::size_t>(1, config.threads);
    const auto ranges = split_port_range(config.settings.port_min, config.settings.port_max, loops);
    // Declared before the shards, so their flows go before the table does.
    std::unique_ptr<KernelTable> kernel;
    std::string kernel_note;
    if (config.table >= 0) {
        kernel = KernelTable::create(config.table, loops, config.settings.interfaces, kernel_note);
        if (!kernel)
            spdlog::warn("relay: kernel forwarding is off, userspace forwards every packet: {}", kernel_note);
    }
    std::vector<std::unique_ptr<Shard>> shards;
    for (const auto& [first, last] : ranges) {
        relay::RelaySettings settings = config.settings;
        settings.port_min = first;
        settings.port_max = last;
        shards.push_back(std::make_unique<Shard>(settings, config.recording_dir, config.prompt_dir,
                                                 config.media_io, kernel ? kernel->name() : std::string(),
                                                 shards.size()));
    }
    // Every shard chooses the same way on one kernel: the first speaks for all.
    if (!shards.front()->media_note().empty()) {
        if (config.media_io == MediaIo::io_uring) {
            spdlog::error("relay: --media-io io_uring: {}", shards.front()->media_note());
            return 2;
        }
        spdlog::warn("relay: media sockets on epoll, io_uring is not available here: {}",
                     shards.front()->media_note());
    }
    ControlFront front(shards);
    const auto ng = relay::make_ng_protocol();
    const auto rtpproxy = relay::make_rtpproxy_protocol(relay::RtpproxyTransport::udp);
    const auto rtpproxy_stream = relay::make_rtpproxy_protocol(relay::RtpproxyTransport::stream);

    std::vector<std::unique_ptr<asio::ip::udp::socket>> ng_sockets;
    std::vector<std::unique_ptr<asio::ip::udp::socket>> rtpproxy_sockets;
    std::vector<std::unique_ptr<asio::local::stream_protocol::acceptor>> unix_acceptors;
    for (const auto& where : config.listen_ng)
        if (!open_control(io, where, ng_sockets, "--listen-ng")) return 2;
    for (const auto& where : config.listen_rtpproxy)
        if (!open_control(io, where, rtpproxy_sockets, "--listen-udp")) return 2;
    for (const auto& path : config.listen_unix)
        if (!open_unix(io, path, unix_acceptors)) return 2;
    std::vector<std::unique_ptr<asio::ip::tcp::acceptor>> tcp_acceptors;
    for (const auto& where : config.listen_tcp_ng)
        if (!open_tcp(io, where, tcp_acceptors)) return 2;
    net::AcceptCounters tcp_accepts;
    for (auto& acceptor : tcp_acceptors) {
        auto on_accept = [&ng, &front](asio::ip::tcp::socket socket) {
            auto executor = socket.get_executor();
            asio::co_spawn(executor, tcp_ng_connection(std::move(socket), *ng, front),
                           net::log_unhandled(net::Unhandled::relay_control));
        };
        asio::co_spawn(io, net::accept_loop(*acceptor, on_accept, tcp_accepts),
                       net::log_unhandled(net::Unhandled::accept_loop));
    }
    for (auto& socket : ng_sockets)
        asio::co_spawn(io, control_loop(*socket, *ng, front),
                       net::log_unhandled(net::Unhandled::relay_control));
    for (auto& socket : rtpproxy_sockets)
        asio::co_spawn(io, control_loop(*socket, *rtpproxy, front),
                       net::log_unhandled(net::Unhandled::relay_control));
    for (auto& acceptor : unix_acceptors)
        asio::co_spawn(io, unix_accept_loop(*acceptor, *rtpproxy_stream, front),
                       net::log_unhandled(net::Unhandled::relay_control));

    metrics::Registry registry;
    register_metrics(registry, shards, front);
    metrics::AdminOptions admin_options;
    admin_options.token = config.admin_token;
    metrics::AdminServer admin(io, registry, admin_options);
    dashboard::add_dashboard(admin);  // the web page at /
    ApiContext api;
    api.kernel_table = kernel ? kernel->name() : std::string();
    api.kernel_note = kernel_note;
    api.version = config.version;
    api.started = std::chrono::steady_clock::now();
    api.shards = &shards;
    for (const auto& interface : config.settings.interfaces)
        api.interfaces.push_back((interface.name.empty() ? "" : interface.name + "/") +
                                 relay::ip_to_string(interface.address));
    for (const auto& where : config.listen_ng)
        api.listeners.push_back("ng udp " + net::to_string(where));
    for (const auto& where : config.listen_tcp_ng)
        api.listeners.push_back("ng tcp " + net::to_string(where));
    for (const auto& where : config.listen_rtpproxy)
        api.listeners.push_back("rtpproxy udp " + net::to_string(where));
    for (const auto& path : config.listen_unix)
        api.listeners.push_back("rtpproxy unix " + path.string());
    add_relay_api(admin, api);
    if (config.admin) {
        const auto endpoint = net::to_tcp_endpoint(*config.admin);
        std::string error;
        if (!endpoint || !admin.listen(*endpoint, error)) {
            spdlog::error("relay: admin {}: {}", net::to_string(*config.admin),
                          endpoint ? error : endpoint.error());
            return 2;
        }
    }

    // Each shard's loop runs until shutdown: the work guard keeps a loop with no calls alive.
    std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
    std::vector<std::thread> threads;
    for (auto& shard : shards) {
        shard->start();
        guards.push_back(asio::make_work_guard(shard->io()));
        threads.emplace_back([&io = shard->io()] { io.run(); });
    }

    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const std::error_code&, int signal) {
        spdlog::info("relay: signal {}, ending every call", signal);
        for (auto& socket : ng_sockets)
            socket->close();
        for (auto& socket : rtpproxy_sockets)
            socket->close();
        for (auto& acceptor : unix_acceptors)
            acceptor->close();
        admin.stop();
        for (auto& shard : shards)
            asio::post(shard->io(), [&shard = *shard] { shard.shutdown(); });
        guards.clear();
        for (auto& shard : shards)
            asio::post(shard->io(), [&io = shard->io()] { io.stop(); });
        io.stop();
    });
    std::string interfaces;
    for (const auto& interface : config.settings.interfaces) {
        if (!interfaces.empty()) interfaces += ", ";
        if (!interface.name.empty()) interfaces += interface.name + "/";
        interfaces += relay::ip_to_string(interface.address);
    }
    spdlog::info(
        "relay: media on {} ports {}-{} over {} event loops ({}{}); ng on {} UDP and {} TCP socket(s), "
        "rtpproxy protocol on {} UDP and {} unix socket(s)",
        interfaces, config.settings.port_min, config.settings.port_max, shards.size(),
        shards.front()->media_backend(),
        kernel ? ", latched media forwarded in the kernel, nftables table inet " + kernel->name() : "",
        ng_sockets.size(), tcp_acceptors.size(), rtpproxy_sockets.size(), unix_acceptors.size());
    io.run();
    for (auto& thread : threads)
        thread.join();
    return 0;
}

}  // namespace sg::relay_io

#include "turn/turn_server.hpp"
#include "dashboard/dashboard.hpp"

#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/redirect_error.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <optional>

#include <asio/experimental/awaitable_operators.hpp>
#include <asio/write.hpp>
#include <deque>
#include <list>

#include "metrics/admin_server.hpp"
#include "metrics/registry.hpp"
#include "net/accept_loop.hpp"
#include "net/asio_endpoint.hpp"
#include "net/edge_reactor.hpp"
#include "net/rate_limited_log.hpp"
#include "net/udp_batch.hpp"
#include "net/use_tuple.hpp"
#include "stun/stream_framing.hpp"
#include "tls/maybe_tls_stream.hpp"
#include "tls/tls_context.hpp"
#include "turn/datagram_queue.hpp"
#include "turn/relay_sockets.hpp"
#include "turn/turn_api.hpp"

namespace sg::turn {
namespace {

// Datagrams per recvmmsg. One batch serves every UDP socket of the server (only one is read at a time); its
// slots hold any UDP datagram, and pages are committed only as far as datagrams fill them.
constexpr std::size_t k_batch = 64;
constexpr std::size_t k_slot_size = 65536;
constexpr int k_listener_buffer = 4 * 1024 * 1024;
// What one TCP client may have queued towards it; past this, relayed data is dropped as UDP would drop it.
constexpr std::size_t k_max_tcp_queue = std::size_t{256} * 1024;
// A TLS client has this long to finish its handshake.
constexpr auto k_tls_handshake_wait = std::chrono::seconds(10);

// A client connected over TCP (RFC 8656 §3.1: TCP between client and server, UDP on the relayed side).
struct TcpClient {
    explicit TcpClient(asio::ip::tcp::socket s) : socket(std::move(s)) {}
    asio::ip::tcp::socket socket;
    tls::MaybeTlsStream stream{socket};  // TLS on the TLS listeners, else the socket as it is
    std::chrono::steady_clock::time_point connected = std::chrono::steady_clock::now();
    FiveTuple tuple;
    std::deque<std::vector<std::uint8_t>> queue;
    std::size_t queued_bytes = 0;
    bool writing = false;
};
using TcpClientPtr = std::shared_ptr<TcpClient>;

// A coroutine that ends with an exception is a bug: say so instead of dropping it.
void log_escaped(const std::exception_ptr& e) {
    if (!e) return;
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        spdlog::error("turn: unhandled exception: {}", ex.what());
    }
}

// "192.0.2.1:50000", or both addresses of a dual allocation: "192.0.2.1:50000,[2001:db8::1]:50001".
std::string relayed_text(const AllocationEnd& end) {
    std::string text = stun::to_string(end.relayed);
    if (end.relayed_other) {
        text.push_back(',');
        text.append(stun::to_string(*end.relayed_other));
    }
    return text;
}

double seconds(std::chrono::steady_clock::duration d) {
    return std::chrono::duration<double>(d).count();
}

// The UDP data path: the listeners and the relayed sockets all sit in one edge-triggered epoll set
// (net/edge_reactor.hpp) behind a single Asio wait. A wakeup reads each ready socket once with one recvmmsg
// (a short batch means its queue is empty: no call to find EAGAIN), the TURN machine decides, and what is to
// be sent is queued and leaves after the turn with one sendmmsg per sending socket (datagram_queue.hpp).
// Answers to requests (rare, and some from another listener for RFC 5780) are sent at once.
class Server final : RelaySockets::Receiver {
public:
    Server(asio::io_context& io, const TurnServerConfig& config, const TurnOptions& options,
           std::vector<asio::ip::address> relay_ips)
        : io_(io),
          reactor_(io, net::Unhandled::turn_data),
          relays_(reactor_, std::move(relay_ips), config.min_port, config.max_port, *this),
          machine_(options, relays_),
          max_tcp_clients_(config.max_tcp_connections),
          tls_(config.tls),
          allocate_timeout_(config.max_allocate_timeout),
          in_(k_batch, k_slot_size) {
        if (config.rendezvous) rendezvous_.emplace(config.rendezvous_options);
        reactor_.set_after_turn([this] { flush(); });
    }
    ~Server() {
        for (auto& [address, listener] : listeners_)
            reactor_.remove(listener->port.fd(), *listener);
    }
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    bool listen(const asio::ip::address& ip, std::uint16_t port, bool tcp) {
        const asio::ip::udp::endpoint endpoint(ip, port);
        auto listener = std::make_unique<Listener>(*this, ip.is_v6());
        std::error_code ec = listener->port.valid() ? listener->port.bind(endpoint)
                                                    : std::error_code(EMFILE, std::system_category());
        // Every client's datagrams arrive at this one socket, and clients send in bursts (all their 20 ms
        // packets at once): the default 208 KiB buffers lost 9 % of 400 clients' packets in
        // bench/turn/run.sh.
        if (!ec) listener->port.set_buffer_sizes(k_listener_buffer);
        if (!ec && !reactor_.add(listener->port.fd(), *listener))
            ec = std::error_code(errno, std::system_category());
        if (ec) {
            spdlog::error("turn: listen {}: {}", net::to_string(endpoint), ec.message());
            return false;
        }
        const auto local = to_stun(listener->port.local_endpoint());
        listener->local = local;
        listeners_[local] = std::move(listener);
        spdlog::info("turn: STUN/TURN on udp {}", stun::to_string(local));
        if (!tcp) return true;
        const asio::ip::tcp::endpoint tcp_endpoint(ip, local.port);
        auto& acceptor = acceptors_.emplace_back(net::open_listener(io_, tcp_endpoint, ec));
        if (ec) {
            spdlog::error("turn: listen tcp {}: {}", net::to_string(tcp_endpoint), ec.message());
            return false;
        }
        spdlog::info("turn: STUN/TURN on tcp {}", stun::to_string(local));
        asio::co_spawn(
            io_,
            net::accept_loop(
                acceptor, [this, local](asio::ip::tcp::socket s) { start_tcp(std::move(s), local); },
                accepted_),
            [](const std::exception_ptr& e) { log_escaped(e); });
        return true;
    }

    // TURN over TLS on `ip`: the same STUN/TURN over TCP inside TLS (needs the config's TLS context).
    bool listen_tls(const asio::ip::address& ip, std::uint16_t port) {
        std::error_code ec;
        const asio::ip::tcp::endpoint endpoint(ip, port);
        auto& acceptor = acceptors_.emplace_back(net::open_listener(io_, endpoint, ec));
        if (ec) {
            spdlog::error("turn: listen tls {}: {}", net::to_string(endpoint), ec.message());
            return false;
        }
        const auto local = to_stun(asio::ip::udp::endpoint(ip, acceptor.local_endpoint().port()));
        spdlog::info("turn: STUN/TURN on tls {}", stun::to_string(local));
        asio::co_spawn(
            io_,
            net::accept_loop(
                acceptor, [this, local](asio::ip::tcp::socket s) { start_tcp(std::move(s), local, true); },
                accepted_),
            [](const std::exception_ptr& e) { log_escaped(e); });
        return true;
    }

    void start_expiry() {
        asio::co_spawn(io_, expiry_loop(), [](const std::exception_ptr& e) { log_escaped(e); });
    }

    void stop() {
        stopping_ = true;
        machine_.end_all(std::chrono::steady_clock::now(), "server stopped");
        log_ended();
        std::error_code ec;
        for (auto& [address, listener] : listeners_)
            reactor_.remove(listener->port.fd(), *listener);
        listeners_.clear();
        for (auto& acceptor : acceptors_)
            acceptor.close(ec);
        for (auto& [tuple, client] : tcp_clients_)
            client->socket.close(ec);
        expiry_timer_.cancel();
    }

    const TurnStats& stats() const noexcept { return machine_.stats(); }
    std::uint64_t tcp_refused() const noexcept { return tcp_refused_; }
    std::uint64_t tls_failed() const noexcept { return tls_failed_; }
    std::uint64_t tcp_idle_closed() const noexcept { return tcp_idle_closed_; }
    std::uint64_t tcp_dropped() const noexcept { return tcp_dropped_; }
    std::uint64_t send_failures() const noexcept { return send_failures_; }
    std::size_t tcp_clients() const noexcept { return tcp_clients_.size(); }
    std::size_t allocations() const noexcept { return machine_.allocation_count(); }
    const punch::Rendezvous* rendezvous() const noexcept { return rendezvous_ ? &*rendezvous_ : nullptr; }
    // The admin API (turn_api.hpp), on the event loop.
    std::vector<AllocationInfo> allocation_list() const {
        return machine_.allocations(std::chrono::steady_clock::now());
    }
    void set_credentials(TurnCredentials credentials) { machine_.set_credentials(std::move(credentials)); }
    bool end_allocation(const stun::Address& relayed) {
        const bool ended =
            machine_.end_allocation(std::chrono::steady_clock::now(), relayed, "ended by operator");
        log_ended();
        return ended;
    }

private:
    // A UDP listener, read by the reactor.
    struct Listener final : net::EdgeReactor::Reader {
        Listener(Server& s, bool ipv6) : server(s), port(ipv6) {}
        bool on_readable() override { return server.read_listener(*this); }
        Server& server;
        UdpPort port;
        stun::Address local;
    };

    // After a receive that got nothing (-errno): whether to read the socket again in the next turn. EAGAIN
    // is a stale edge; anything else but a dead socket concerned one datagram (an ICMP error), and what may
    // be queued behind it must not wait for an edge that already came.
    static bool read_again(int failed) noexcept {
        return failed != -EAGAIN && failed != -EWOULDBLOCK && failed != -EBADF && failed != -ENOTSOCK;
    }
    bool full() const noexcept { return in_.size() == in_.capacity(); }

    bool read_listener(Listener& listener) {
        const int got = in_.receive_now(listener.port.fd());
        if (got <= 0) return read_again(got);
        const auto now = std::chrono::steady_clock::now();
        for (std::size_t i = 0; i < in_.size(); ++i) {
            if (in_.truncated(i) || in_.bad_source(i)) continue;
            const auto& source = in_.source(i);
            if (rendezvous_ && punch::is_register_request(in_.data(i))) {
                answer_rendezvous(listener.port, now, source, in_.data(i));
                continue;
            }
            const auto out =
                machine_.on_client_datagram(now, FiveTuple{to_stun(source), listener.local}, in_.data(i));
            if (!out.reply.empty()) {
                // RFC 5780: CHANGE-REQUEST answers from another listener, RESPONSE-PORT to another port.
                auto* from = &listener.port;
                if (out.reply_from)
                    if (const auto other = listeners_.find(*out.reply_from); other != listeners_.end())
                        from = &other->second->port;
                if (!from->send_to(out.reply, out.reply_to ? to_endpoint(*out.reply_to) : source))
                    ++send_failures_;
            }
            if (out.to_peer)
                if (auto* relay = relays_.find(out.to_peer->relayed))
                    queue_.add(relay->fd(), to_endpoint(out.to_peer->peer), out.to_peer->data);
            log_ended();
        }
        return full();
    }

    void answer_rendezvous(UdpPort& port, std::chrono::steady_clock::time_point now,
                           const asio::ip::udp::endpoint& source, Bytes datagram) {
        const auto answer = rendezvous_->on_datagram(now, to_stun(source), datagram);
        if (answer.paired)
            pairing_log_.info("rendezvous: paired {} and {} (latest from {})", answer.paired->first,
                              answer.paired->second, net::to_string(source));
        if (!answer.unauthorized.empty())
            refusal_log_.info("rendezvous: refused a registration from {}: {} (401)", net::to_string(source),
                              answer.unauthorized);
        if (answer.reply.empty()) return;
        if (!port.send_to(answer.reply, source)) ++send_failures_;
    }

    bool on_relay_readable(UdpPort& port, const stun::Address& relayed) override {
        const int got = in_.receive_now(port.fd());
        if (got <= 0) return read_again(got);
        const auto now = std::chrono::steady_clock::now();
        for (std::size_t i = 0; i < in_.size(); ++i) {
            if (in_.truncated(i) || in_.bad_source(i)) continue;
            const auto delivery =
                machine_.on_peer_datagram(now, relayed, to_stun(in_.source(i)), in_.data(i));
            if (!delivery) continue;
            if (delivery->tuple.transport != Transport::udp) {
                if (const auto client = tcp_clients_.find(delivery->tuple); client != tcp_clients_.end())
                    enqueue(client->second, delivery->data);
                continue;
            }
            const auto listener = listeners_.find(delivery->tuple.server);
            if (listener == listeners_.end()) continue;
            queue_.add(listener->second->port.fd(), to_endpoint(delivery->tuple.client), delivery->data);
        }
        return full();
    }

    void on_relay_closing(UdpPort& port) override { queue_.discard(port.fd()); }

    // After each reactor turn: what the turn's reads produced leaves, one sendmmsg per sending socket.
    void flush() noexcept { send_failures_ += queue_.flush().failed; }

    void start_tcp(asio::ip::tcp::socket socket, const stun::Address& local, bool tls = false) {
        std::error_code ec;
        const auto peer = socket.remote_endpoint(ec);
        if (ec) return;
        if (tcp_clients_.size() >= max_tcp_clients_) {
            ++tcp_refused_;
            return;  // closed with this scope
        }
        socket.set_option(asio::ip::tcp::no_delay(true), ec);
        auto client = std::make_shared<TcpClient>(std::move(socket));
        if (tls) client->stream.enable(*tls_);
        client->tuple = FiveTuple{to_stun(asio::ip::udp::endpoint(peer.address(), peer.port())), local,
                                  tls ? Transport::tls : Transport::tcp};
        tcp_clients_[client->tuple] = client;
        asio::co_spawn(io_, tcp_session(client), [](const std::exception_ptr& e) { log_escaped(e); });
    }

    // Reads STUN messages and ChannelData from one TCP client until it closes or sends what cannot be framed;
    // its allocation ends with the connection.
    asio::awaitable<void> tcp_session(TcpClientPtr client) {
        std::vector<std::uint8_t> buffer(4096);
        std::size_t filled = 0;
        bool handshaken = true;
        if (client->stream.is_tls()) handshaken = co_await tls_handshake(*client);
        while (handshaken) {
            if (filled == buffer.size()) {
                if (buffer.size() >= stun::k_max_message_size)
                    break;  // cannot happen: the framer bounds items
                buffer.resize(std::min(buffer.size() * 2, stun::k_max_message_size));
            }
            const auto [ec, n] = co_await client->stream.async_read_some(
                asio::buffer(buffer.data() + filled, buffer.size() - filled), net::k_use_tuple);
            if (ec) break;
            filled += n;
            std::size_t start = 0;
            bool bad = false;
            for (;;) {
                const Bytes rest(buffer.data() + start, filled - start);
                const auto item = stun::frame_stream_item(rest);
                if (item.failed()) bad = true;
                if (!item.done()) break;
                handle_tcp_item(client, rest.first(item.consumed));
                start += item.consumed;
            }
            if (bad || !client->socket.is_open()) break;
            std::memmove(buffer.data(), buffer.data() + start, filled - start);
            filled -= start;
        }
        std::error_code ignored;
        client->socket.close(ignored);
        tcp_clients_.erase(client->tuple);
        machine_.on_connection_closed(std::chrono::steady_clock::now(), client->tuple);
        log_ended();
    }

    // The server side of the TLS handshake, within k_tls_handshake_wait: a client that connects and says
    // nothing (or speaks plain STUN to the TLS port) holds a slot no longer than that.
    asio::awaitable<bool> tls_handshake(TcpClient& client) {
        using namespace asio::experimental::awaitable_operators;
        asio::steady_timer deadline(io_);
        deadline.expires_after(k_tls_handshake_wait);
        const auto result =
            co_await (client.stream.tls().async_handshake(asio::ssl::stream_base::server, net::k_use_tuple) ||
                      deadline.async_wait(net::k_use_tuple));
        if (result.index() == 0 && !std::get<0>(std::get<0>(result))) co_return true;
        ++tls_failed_;
        tls_log_.info("turn: tls handshake with {} failed: {}", stun::to_string(client.tuple.client),
                      result.index() == 1 ? std::string("timeout")
                                          : tls::openssl_error(std::get<0>(std::get<0>(result)).message()));
        co_return false;
    }

    void handle_tcp_item(const TcpClientPtr& client, Bytes item) {
        const auto out = machine_.on_client_datagram(std::chrono::steady_clock::now(), client->tuple, item);
        if (!out.reply.empty()) enqueue(client, out.reply);
        if (out.to_peer)
            if (auto* relay = relays_.find(out.to_peer->relayed))
                if (!relay->send_to(out.to_peer->data, to_endpoint(out.to_peer->peer))) ++send_failures_;
        log_ended();
    }

    void enqueue(const TcpClientPtr& client, Bytes data) {
        if (!client->socket.is_open()) return;
        if (client->queued_bytes + data.size() > k_max_tcp_queue) {
            ++tcp_dropped_;
            return;
        }
        client->queue.emplace_back(data.begin(), data.end());
        client->queued_bytes += data.size();
        if (client->writing) return;
        client->writing = true;
        asio::co_spawn(io_, tcp_writer(client), [](const std::exception_ptr& e) { log_escaped(e); });
    }

    // Each write is awaited before the next: a slow client fills its queue, and only its own data is dropped.
    static asio::awaitable<void> tcp_writer(TcpClientPtr client) {
        while (!client->queue.empty()) {
            const auto [ec, n] =
                co_await client->stream.async_write(asio::buffer(client->queue.front()), net::k_use_tuple);
            client->queued_bytes -= client->queue.front().size();
            client->queue.pop_front();
            if (ec) {
                std::error_code ignored;
                client->socket.close(ignored);  // the reader ends and so does the allocation
                client->queue.clear();
                client->queued_bytes = 0;
                break;
            }
        }
        client->writing = false;
    }

    asio::awaitable<void> expiry_loop() {
        while (!stopping_) {
            expiry_timer_.expires_after(std::chrono::seconds{1});
            std::error_code ec;
            co_await expiry_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            if (stopping_) co_return;
            machine_.expire(std::chrono::steady_clock::now());
            if (rendezvous_) rendezvous_->expire(std::chrono::steady_clock::now());
            close_idle_tcp_clients(std::chrono::steady_clock::now());
            log_ended();
        }
    }

    // A TCP or TLS client without an allocation --max-allocate-timeout after connecting is closed: otherwise
    // one that connects and idles holds a --max-tcp-connections slot as long as it likes. Closing the socket
    // ends the client's reader, which cleans up after it.
    void close_idle_tcp_clients(std::chrono::steady_clock::time_point now) {
        for (const auto& [tuple, client] : tcp_clients_) {
            if (now - client->connected < allocate_timeout_ || machine_.has_allocation(tuple)) continue;
            if (!client->socket.is_open()) continue;
            ++tcp_idle_closed_;
            std::error_code ignored;
            client->socket.close(ignored);
        }
    }

    void log_ended() {
        for (const auto& end : machine_.take_ended())
            spdlog::info(
                "turn-allocation-end user={} client={} transport={} relayed={} to_peer_bytes={} "
                "to_peer_packets={} "
                "to_client_bytes={} to_client_packets={} duration={:.3f}s reason=\"{}\"",
                end.user, stun::to_string(end.client), transport_name(end.transport), relayed_text(end),
                end.to_peer.bytes, end.to_peer.packets, end.to_client.bytes, end.to_client.packets,
                seconds(end.duration), end.reason);
    }

    asio::io_context& io_;
    net::EdgeReactor reactor_;  // before the sockets it watches, which leave it as they close
    RelaySockets relays_;
    TurnMachine machine_;
    std::size_t max_tcp_clients_;
    std::shared_ptr<asio::ssl::context> tls_;
    std::uint64_t tls_failed_ = 0;  // TLS handshakes that failed or timed out
    std::chrono::seconds allocate_timeout_;
    std::uint64_t tcp_idle_closed_ = 0;  // TCP/TLS clients closed for having no allocation in time
    net::RateLimitedLog tls_log_{"turn tls"};
    std::uint64_t tcp_refused_ = 0;    // over max_tcp_connections
    std::uint64_t tcp_dropped_ = 0;    // relayed data dropped for a full TCP queue
    std::uint64_t send_failures_ = 0;  // UDP datagrams the kernel refused or had no buffer room for
    net::UdpReceiveBatch in_;          // shared: one socket is read at a time
    DatagramQueue queue_;
    std::map<stun::Address, std::unique_ptr<Listener>> listeners_;
    std::list<asio::ip::tcp::acceptor> acceptors_;
    net::AcceptCounters accepted_;
    std::map<FiveTuple, TcpClientPtr> tcp_clients_;
    asio::steady_timer expiry_timer_{io_};
    bool stopping_ = false;
    std::optional<punch::Rendezvous> rendezvous_;
    net::RateLimitedLog pairing_log_{"rendezvous pairings"};
    net::RateLimitedLog refusal_log_{"rendezvous refusals"};
};

void register_metrics(metrics::Registry& registry, const Server& server) {
    const auto counter = [&registry](std::string_view name, std::string_view help, auto read) {
        registry.counter_callback(name, help, [read] { return static_cast<double>(read()); });
    };
    const TurnStats& s = server.stats();
    counter("streamgate_turn_bindings_total", "STUN Binding requests answered", [&s] { return s.bindings; });
    counter("streamgate_turn_allocations_created_total", "TURN allocations created",
            [&s] { return s.allocations_created; });
    counter("streamgate_turn_allocations_ended_total", "TURN allocations ended",
            [&s] { return s.allocations_ended; });
    counter("streamgate_turn_unauthorized_total", "Requests answered 401 or 438",
            [&s] { return s.unauthorized; });
    counter("streamgate_turn_authenticated_total", "Requests whose long-term credentials passed",
            [&s] { return s.authenticated; });
    counter("streamgate_turn_authenticated_sha256_total",
            "Authenticated requests that chose the SHA-256 password algorithm (the rest used MD5)",
            [&s] { return s.authenticated_sha256; });
    counter("streamgate_turn_authenticated_userhash_total",
            "Authenticated requests that named their user by USERHASH instead of USERNAME",
            [&s] { return s.authenticated_userhash; });
    counter("streamgate_turn_auth_throttled_total",
            "Authenticated requests not answered: too many failed authentications from the address",
            [&s] { return s.auth_throttled; });
    counter("streamgate_turn_forbidden_peers_total", "Permissions refused for a denied peer (403)",
            [&s] { return s.forbidden_peers; });
    counter("streamgate_turn_quota_refused_total", "Allocations or permissions refused by a quota (486, 508)",
            [&s] { return s.quota_refused; });
    counter("streamgate_turn_malformed_total", "Datagrams dropped as malformed",
            [&s] { return s.malformed; });
    counter("streamgate_turn_no_permission_total", "Datagrams dropped for want of a permission or channel",
            [&s] { return s.dropped_no_permission; });
    counter("streamgate_turn_to_peer_packets_total", "Datagrams relayed to peers",
            [&s] { return s.to_peer.packets; });
    counter("streamgate_turn_to_peer_bytes_total", "Octets relayed to peers",
            [&s] { return s.to_peer.bytes; });
    counter("streamgate_turn_to_client_packets_total", "Datagrams relayed to clients",
            [&s] { return s.to_client.packets; });
    counter("streamgate_turn_to_client_bytes_total", "Octets relayed to clients",
            [&s] { return s.to_client.bytes; });
    counter("streamgate_turn_tcp_idle_closed_total",
            "TCP and TLS clients closed for having no allocation --max-allocate-timeout after connecting",
            [&server] { return server.tcp_idle_closed(); });
    counter("streamgate_turn_tls_handshakes_failed_total",
            "TLS connections closed before their handshake finished (failed or not within 10 s)",
            [&server] { return server.tls_failed(); });
    counter("streamgate_turn_tcp_refused_total", "TCP connections closed at once: over max_tcp_connections",
            [&server] { return server.tcp_refused(); });
    counter("streamgate_turn_send_failures_total",
            "UDP datagrams not sent: refused by the kernel or no room in the socket buffer",
            [&server] { return server.send_failures(); });
    counter("streamgate_turn_tcp_dropped_total", "Datagrams not relayed to a TCP client whose queue was full",
            [&server] { return server.tcp_dropped(); });
    registry.gauge_callback("streamgate_turn_tcp_connections", "Open TCP client connections",
                            [&server] { return static_cast<double>(server.tcp_clients()); });
    registry.gauge_callback("streamgate_turn_allocations", "Live TURN allocations",
                            [&server] { return static_cast<double>(server.allocations()); });
    if (const auto* r = server.rendezvous()) {
        const punch::RendezvousStats& rs = r->stats();
        counter("streamgate_turn_rendezvous_registrations_total", "Rendezvous Register requests answered",
                [&rs] { return rs.registrations; });
        counter("streamgate_turn_rendezvous_pairings_total", "Rendezvous clients paired with their peer",
                [&rs] { return rs.pairings; });
        counter("streamgate_turn_rendezvous_refused_total", "Rendezvous registrations refused (400, 508)",
                [&rs] { return rs.refused; });
        counter("streamgate_turn_rendezvous_unauthorized_total",
                "Rendezvous registrations refused for a missing or wrong --rendezvous-secret (401)",
                [&rs] { return rs.unauthorized; });
        registry.gauge_callback("streamgate_turn_rendezvous_entries", "Live rendezvous registrations",
                                [r] { return static_cast<double>(r->size()); });
    }
    metrics::register_process_metrics(registry);
}

}  // namespace

int run_turn(const TurnServerConfig& config) {
    std::vector<asio::ip::address> listen_ips;
    for (const auto& text : config.listening_ips) {
        std::error_code ec;
        const auto ip = asio::ip::make_address(text, ec);
        if (ec) {
            spdlog::error("turn: --listening-ip {}: not an IP address", text);
            return 2;
        }
        listen_ips.push_back(ip);
    }
    std::vector<asio::ip::address> relay_ips;
    for (const auto& text : config.relay_ips) {
        std::error_code ec;
        const auto ip = asio::ip::make_address(text, ec);
        if (ec || ip.is_unspecified()) {
            spdlog::error("turn: --relay-ip {}: not a specific IP address", text);
            return 2;
        }
        relay_ips.push_back(ip);
    }
    if (relay_ips.empty()) {
        for (const auto& ip : listen_ips)
            if (!ip.is_unspecified()) relay_ips.push_back(ip);
        if (relay_ips.empty()) {
            spdlog::error("turn: a wildcard --listening-ip needs --relay-ip (the address peers see)");
            return 2;
        }
    }
    // RFC 5780 needs two addresses of one family: the first two listening IPs of a family, each on the
    // listening port and the alternate port, make the four addresses of NAT behaviour discovery.
    TurnOptions options = config.options;
    std::vector<asio::ip::address> alternate_listeners;
    if (config.alt_listening_port != 0 && config.alt_listening_port != config.listening_port) {
        for (const bool v4 : {true, false}) {
            std::vector<asio::ip::address> family;
            for (const auto& ip : listen_ips)
                if (ip.is_v4() == v4 && !ip.is_unspecified()) family.push_back(ip);
            if (family.size() < 2) continue;
            options.discovery.push_back(
                DiscoveryAddresses{{to_stun(asio::ip::udp::endpoint(family[0], 0)),
                                    to_stun(asio::ip::udp::endpoint(family[1], 0))},
                                   {config.listening_port, config.alt_listening_port}});
            alternate_listeners.push_back(family[0]);
            alternate_listeners.push_back(family[1]);
        }
    }
    asio::io_context io;
    Server server(io, config, options, relay_ips);
    for (const auto& ip : listen_ips)
        if (!server.listen(ip, config.listening_port, config.tcp)) return 2;
    for (const auto& ip : alternate_listeners)
        if (!server.listen(ip, config.alt_listening_port, false)) return 2;
    if (config.tls)
        for (const auto& ip : listen_ips)
            if (!server.listen_tls(ip, config.tls_listening_port)) return 2;
    if (config.rendezvous)
        spdlog::info("turn: rendezvous for streamgate punch on the UDP listeners ({})",
                     config.rendezvous_options.secret.empty() ? "not authenticated: no --rendezvous-secret"
                                                              : "registrations signed with the secret only");
    if (!options.discovery.empty())
        spdlog::info("turn: RFC 5780 NAT behaviour discovery on ports {} and {}", config.listening_port,
                     config.alt_listening_port);
    server.start_expiry();
    metrics::Registry registry;
    register_metrics(registry, server);
    metrics::AdminOptions admin_options;
    admin_options.token = config.admin_token;
    metrics::AdminServer admin(io, registry, admin_options);
    TurnApiContext api;
    api.version = config.version;
    for (const auto& ip : listen_ips)
        api.listeners.push_back(
            fmt::format("turn {}", net::to_string(asio::ip::udp::endpoint(ip, config.listening_port))));
    api.allocations = [&server] { return server.allocation_list(); };
    api.end = [&server](const stun::Address& relayed) { return server.end_allocation(relayed); };
    add_turn_api(admin, api);
    dashboard::add_dashboard(admin);  // the web page at /
    if (config.admin) {
        const auto endpoint = net::to_tcp_endpoint(*config.admin);
        std::string error;
        if (!endpoint || !admin.listen(*endpoint, error)) {
            spdlog::error("turn: admin {}: {}", net::to_string(*config.admin),
                          endpoint ? error : endpoint.error());
            return 2;
        }
    }
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const std::error_code&, int signal) {
        spdlog::info("turn: signal {}, stopping", signal);
        server.stop();
        admin.stop();
        io.stop();
    });
    asio::signal_set reload_signal(io, SIGHUP);
    std::function<void(const std::error_code&, int)> on_reload = [&](const std::error_code& ec, int) {
        if (ec) return;
        if (!config.reload_credentials) {
            spdlog::warn("turn: SIGHUP: no configuration file to read again; nothing changed");
        } else if (std::string error; auto credentials = config.reload_credentials(error)) {
            spdlog::info("turn: SIGHUP: credentials reloaded ({} users, {} short-term users)",
                         credentials->users.size(), credentials->short_term_users.size());
            server.set_credentials(std::move(*credentials));
        } else {
            spdlog::error("turn: SIGHUP: kept the old credentials: {}", error);
        }
        reload_signal.async_wait(on_reload);
    };
    reload_signal.async_wait(on_reload);
    io.run();
    return 0;
}

}  // namespace sg::turn

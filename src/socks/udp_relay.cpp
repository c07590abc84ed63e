#include "socks/udp_relay.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <cctype>
#include <utility>
#include <vector>

#include "net/asio_endpoint.hpp"
#include "net/clock.hpp"
#include "net/rate_limited_log.hpp"
#include "net/udp_batch.hpp"
#include "net/use_tuple.hpp"

namespace sg::socks {
namespace {

using asio::ip::tcp;
using asio::ip::udp;
using net::Clock;  // idle deadlines; a test may run them on manual time
using namespace std::chrono_literals;

constexpr std::size_t k_batch = 16;         // datagrams per system call
constexpr std::size_t k_slot_size = 65536;  // any UDP datagram fits (IPv6 payload maximum is 65527)
constexpr std::size_t k_max_peers = 1024;
constexpr std::size_t k_max_names = 64;
constexpr std::size_t k_max_listed = 8;  // targets named in the session-end line
constexpr auto k_resolved_ttl = 5min;    // getaddrinfo gives no TTL: re-resolve now and then
constexpr auto k_unresolved_ttl = 10s;   // a failure may be transient; retry soon but not per datagram
// Bad datagrams are peer-triggered: one log line per association per interval, then a summary.
constexpr net::LogBudget k_bad_datagram_log{1, 10s};

UdpRelayStats g_stats;

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
    return out;
}

udp::endpoint unmapped(const udp::endpoint& e) {
    return {net::unmap(e.address()), e.port()};
}

class Association {
public:
    Association(tcp::socket& control, udp::socket& client_facing, ClientSourceFilter client,
                UdpRelayOptions options, const asio::any_io_executor& executor)
        : control_(control),
          client_facing_(client_facing),
          client_(std::move(client)),
          options_(std::move(options)),
          executor_(executor),
          opened_{asio::steady_timer(executor, Clock::time_point::max()),
                  asio::steady_timer(executor, Clock::time_point::max())} {}

    asio::awaitable<void> run() {
        using namespace asio::experimental::awaitable_operators;
        co_await (watch_control() || idle_watchdog() || client_loop() || target_loop(0) || target_loop(1));
        for (auto& target : targets_) {
            asio::error_code ignored;
            if (target) target->close(ignored);
        }
    }

    UdpRelayResult result() const {
        UdpRelayResult r{counters_, resolved_.empty() ? std::string("-") : resolved_, end_};
        if (unlisted_ > 0) r.resolved += ",+" + std::to_string(unlisted_);
        if (r.end_reason.empty()) r.end_reason = "closed";
        return r;
    }

private:
    static int family_index(const udp::endpoint& e) { return e.address().is_v4() ? 0 : 1; }

    // The first reason wins: the branches cancelled after it finish with errors of their own.
    void end(std::string_view why) {
        if (end_.empty()) end_ = why;
    }

    // Every drop counts twice: in the association's total (session-end line) and by reason, process-wide.
    void drop(std::atomic<std::uint64_t> UdpRelayStats::*reason) {
        ++counters_.dropped;
        (g_stats.*reason).fetch_add(1, std::memory_order_relaxed);
    }

    void log_bad_datagram(const udp::endpoint& from, std::string_view why) {
        bad_log_.debug("udp associate {}: dropped datagram from {}: {}",
                       net::to_string(client_facing_endpoint_), net::to_string(from), why);
    }

    void note_target(const udp::endpoint& target) {
        if (!peers_.add(target)) return;
        if (listed_ >= k_max_listed) {
            ++unlisted_;
            return;
        }
        if (!resolved_.empty()) resolved_ += ',';
        resolved_ += net::to_string(target);
        ++listed_;
    }

    // Opens the target-facing socket of a family on first use and wakes its receive loop.
    bool open_target(int family) {
        if (targets_[family]) return true;
        udp::socket socket(executor_);
        asio::error_code ec;
        socket.open(family == 0 ? udp::v4() : udp::v6(), ec);
        if (!ec && family == 1) socket.set_option(asio::ip::v6_only(true), ec);
        if (!ec) socket.bind(udp::endpoint(family == 0 ? udp::v4() : udp::v6(), 0), ec);
        if (ec) {
            if (!target_open_failed_[family]) {
                spdlog::debug("udp associate: cannot open an IPv{} target socket: {}", family == 0 ? 4 : 6,
                              ec.message());
            }
            target_open_failed_[family] = true;
            return false;
        }
        targets_[family].emplace(std::move(socket));
        opened_[family].cancel();
        return true;
    }

    // Port 0 cannot be sent to, and the unspecified address means this host to Linux: neither is a target.
    static std::optional<udp::endpoint> usable(const asio::ip::address& address, std::uint16_t port) {
        if (port == 0 || address.is_unspecified()) return std::nullopt;
        return udp::endpoint(address, port);
    }

    static std::optional<udp::endpoint> literal_target(const Address& destination) {
        if (destination.is_ipv4())
            return usable(asio::ip::address_v4(destination.ipv4()), destination.port());
        return usable(net::unmap(asio::ip::address_v6(destination.ipv6())), destination.port());
    }

    // Where a datagram for a DOMAINNAME goes; nothing when the name does not resolve. `name` by value: a
    // coroutine must not rely on its caller's objects across a suspension.
    asio::awaitable<std::optional<udp::endpoint>> resolve(std::string name, std::uint16_t port) {
        if (const NameCache::Entry* hit = names_.find(name, Clock::now())) {
            if (!hit->address) co_return std::nullopt;
            co_return usable(*hit->address, port);
        }
        // getaddrinfo runs on Asio's resolver thread, never on the event loop.
        udp::resolver resolver(executor_);
        const std::string service = "0";
        auto [ec, results] = co_await resolver.async_resolve(
            name, service, udp::resolver::numeric_service | udp::resolver::address_configured,
            net::k_use_tuple);
        std::optional<asio::ip::address> answer;
        // glibc has already ordered the answers (RFC 6724, unreachable destinations last): for UDP, which
        // cannot try one address after another, the first one is the best guess.
        if (!ec && !results.empty()) answer = net::unmap(results.begin()->endpoint().address());
        names_.put(name, answer, Clock::now() + (answer ? k_resolved_ttl : k_unresolved_ttl));
        if (!answer) co_return std::nullopt;
        co_return usable(*answer, port);
    }

    // The batch calls complete at once while datagrams keep coming, so a loop fed faster than it relays would
    // never suspend and would starve every other session on the thread: it gives the others a turn per batch
    // here, and learns whether the association is ending (the loop then stops, without waiting any more).
    asio::awaitable<bool> still_running() {
        const auto state = co_await asio::this_coro::cancellation_state;
        if (state.cancelled() != asio::cancellation_type::none) co_return false;
        co_await asio::post(executor_, asio::use_awaitable);
        co_return true;
    }

    asio::awaitable<void> watch_control() {
        std::array<std::uint8_t, 512> scratch;
        for (;;) {
            auto [ec, n] = co_await control_.async_read_some(asio::buffer(scratch), net::k_use_tuple);
            if (ec == asio::error::eof) {
                end("closed");
                co_return;
            }
            if (ec) {
                end("reset");
                co_return;
            }
            // RFC 1928 gives bytes on the control connection no meaning after the reply: ignore them.
        }
    }

    asio::awaitable<void> idle_watchdog() {
        net::Timer timer(executor_);
        for (;;) {
            const auto deadline = last_activity_ + options_.idle_timeout;
            if (Clock::now() >= deadline) {
                end("idle timeout");
                co_return;
            }
            timer.expires_at(deadline);
            auto [ec] = co_await timer.async_wait(net::k_use_tuple);
            if (ec) co_return;  // cancelled: the association is ending for another reason
        }
    }

    // Client -> targets.
    asio::awaitable<void> client_loop() {
        asio::error_code ec;
        client_facing_endpoint_ = client_facing_.local_endpoint(ec);
        net::UdpReceiveBatch batch(k_batch, k_slot_size);
        std::array<net::UdpSendBatch, 2> out;
        for (;;) {
            if (!co_await still_running()) co_return;
            ec = co_await net::receive_batch(client_facing_, batch);
            if (ec) {
                end("relay socket error");
                co_return;
            }
            out[0].clear();
            out[1].clear();
            for (std::size_t i = 0; i < batch.size(); ++i) {
                if (batch.bad_source(i)) {
                    drop(&UdpRelayStats::dropped_source);
                    continue;
                }
                const udp::endpoint source = unmapped(batch.source(i));
                if (!client_.accepts(source)) {
                    drop(&UdpRelayStats::dropped_source);
                    continue;
                }
                if (batch.truncated(i)) {
                    drop(&UdpRelayStats::dropped_oversize);
                    continue;
                }
                const auto datagram = parse_udp_datagram(batch.data(i));
                if (!datagram) {
                    drop(&UdpRelayStats::dropped_bad_header);
                    log_bad_datagram(source, datagram.error());
                    continue;
                }
                if (datagram->header.fragment != 0) {
                    drop(&UdpRelayStats::dropped_fragment);
                    log_bad_datagram(source, "fragment (FRAG != 0), no reassembly");
                    continue;
                }
                client_.latch(source.port());
                const Address& destination = datagram->header.destination;
                std::optional<udp::endpoint> target;
                if (destination.is_domain()) {
                    std::string name(destination.domain());
                    target = co_await resolve(std::move(name), destination.port());
                } else {
                    target = literal_target(destination);
                }
                if (!target) {
                    drop(destination.is_domain() ? &UdpRelayStats::dropped_unresolved
                                                 : &UdpRelayStats::dropped_bad_header);
                    continue;
                }
                if (options_.admit && !options_.admit(destination, target->address())) {
                    drop(&UdpRelayStats::dropped_denied);
                    continue;
                }
                const int family = family_index(*target);
                if (!open_target(family)) {
                    drop(&UdpRelayStats::dropped_send_failed);
                    continue;
                }
                note_target(*target);
                out[family].add(*target, {}, datagram->data);
            }
            for (int family = 0; family < 2; ++family) {
                if (out[family].empty()) continue;
                const auto sent = co_await net::send_batch(*targets_[family], out[family]);
                account(sent, counters_.datagrams_up, counters_.bytes_up, g_stats.datagrams_up);
                if (sent.error) {
                    end("relay socket error");
                    co_return;
                }
            }
        }
    }

    // Targets of one family -> client.
    asio::awaitable<void> target_loop(int family) {
        while (!targets_[family]) {
            co_await opened_[family].async_wait(net::k_use_tuple);  // cancelled by open_target()
            const auto state = co_await asio::this_coro::cancellation_state;
            if (state.cancelled() != asio::cancellation_type::none) co_return;
        }
        udp::socket& socket = *targets_[family];
        net::UdpReceiveBatch batch(k_batch, k_slot_size);
        net::UdpSendBatch out;
        std::array<std::vector<std::uint8_t>, k_batch> heads;
        for (;;) {
            if (!co_await still_running()) co_return;
            const auto ec = co_await net::receive_batch(socket, batch);
            if (ec) {
                end("relay socket error");
                co_return;
            }
            out.clear();
            const auto client = client_.endpoint();
            for (std::size_t i = 0; i < batch.size(); ++i) {
                if (batch.bad_source(i) || !client || !peers_.contains(batch.source(i))) {
                    drop(&UdpRelayStats::dropped_unknown_peer);
                    continue;
                }
                if (batch.truncated(i)) {
                    drop(&UdpRelayStats::dropped_oversize);
                    continue;
                }
                // RFC 1928 section 7: the reply carries the same header, naming the host it came from.
                heads[i].clear();
                build_udp_datagram(heads[i], UdpHeader{0, to_socks_address(batch.source(i))}, Bytes{});
                out.add(*client, heads[i], batch.data(i));
            }
            if (out.empty()) continue;
            const auto sent = co_await net::send_batch(client_facing_, out);
            account(sent, counters_.datagrams_down, counters_.bytes_down, g_stats.datagrams_down);
            if (sent.error) {
                end("relay socket error");
                co_return;
            }
        }
    }

    void account(const net::UdpSendResult& sent, std::uint64_t& datagrams, std::uint64_t& bytes,
                 std::atomic<std::uint64_t>& global) {
        datagrams += sent.sent;
        bytes += sent.body_bytes;
        global.fetch_add(sent.sent, std::memory_order_relaxed);
        for (std::size_t i = 0; i < sent.failed; ++i)
            drop(&UdpRelayStats::dropped_send_failed);
        if (sent.sent > 0) last_activity_ = Clock::now();
    }

    tcp::socket& control_;
    udp::socket& client_facing_;
    udp::endpoint client_facing_endpoint_;
    ClientSourceFilter client_;
    UdpRelayOptions options_;
    asio::any_io_executor executor_;
    std::array<std::optional<udp::socket>, 2> targets_;  // [0] IPv4, [1] IPv6
    std::array<asio::steady_timer, 2> opened_;           // "socket opened" signals for target_loop()
    std::array<bool, 2> target_open_failed_{};
    PeerSet peers_{k_max_peers};
    NameCache names_{k_max_names};
    UdpCounters counters_;
    Clock::time_point last_activity_ = Clock::now();
    net::RateLimitedLog bad_log_{"udp associate: dropped datagrams", k_bad_datagram_log};
    std::string resolved_;
    std::size_t listed_ = 0;
    std::size_t unlisted_ = 0;
    std::string_view end_;
};

}  // namespace

const UdpRelayStats& udp_relay_stats() noexcept {
    return g_stats;
}

std::uint64_t live_udp_associations() noexcept {
    return g_stats.live.load(std::memory_order_relaxed);
}

UdpAssociationCount::UdpAssociationCount() noexcept {
    g_stats.live.fetch_add(1, std::memory_order_relaxed);
    g_stats.started.fetch_add(1, std::memory_order_relaxed);
}

UdpAssociationCount::~UdpAssociationCount() {
    g_stats.live.fetch_sub(1, std::memory_order_relaxed);
}

// --- ClientSourceFilter -----------------------------------------------------------------------------------

ClientSourceFilter::ClientSourceFilter(const asio::ip::address& client, std::uint16_t port)
    : address_(net::unmap(client)), port_(port) {}

bool ClientSourceFilter::accepts(const udp::endpoint& source) const noexcept {
    if (net::unmap(source.address()) != address_) return false;
    return port_ == 0 || source.port() == port_;
}

void ClientSourceFilter::latch(std::uint16_t port) noexcept {
    if (port_ == 0) port_ = port;
}

std::optional<udp::endpoint> ClientSourceFilter::endpoint() const {
    if (port_ == 0) return std::nullopt;
    return udp::endpoint(address_, port_);
}

// --- PeerSet ----------------------------------------------------------------------------------------------

bool PeerSet::add(const udp::endpoint& peer) {
    if (limit_ == 0 || !set_.insert(peer).second) return false;
    order_.push_back(peer);
    if (order_.size() > limit_) {
        set_.erase(order_.front());
        order_.pop_front();
    }
    return true;
}

// --- NameCache --------------------------------------------------------------------------------------------

const NameCache::Entry* NameCache::find(std::string_view name, Clock::time_point now) const {
    const auto it = entries_.find(lower(name));
    if (it == entries_.end() || now >= it->second.expires) return nullptr;
    return &it->second;
}

void NameCache::put(std::string_view name, std::optional<asio::ip::address> address,
                    Clock::time_point expires) {
    if (limit_ == 0) return;
    std::string key = lower(name);
    const auto [it, inserted] = entries_.insert_or_assign(key, Entry{std::move(address), expires});
    if (!inserted) return;  // refreshed in place: keeps its age rank, the bound still holds
    order_.push_back(std::move(key));
    if (order_.size() > limit_) {
        entries_.erase(order_.front());
        order_.pop_front();
    }
}

// --- the relay --------------------------------------------------------------------------------------------

Address to_socks_address(const udp::endpoint& endpoint) {
    const auto addr = net::unmap(endpoint.address());
    if (addr.is_v4()) return Address::from_ipv4(addr.to_v4().to_bytes(), endpoint.port());
    return Address::from_ipv6(addr.to_v6().to_bytes(), endpoint.port());
}

asio::awaitable<UdpRelayResult> run_udp_relay(tcp::socket& control, udp::socket& client_facing,
                                              ClientSourceFilter client, UdpRelayOptions options) {
    const auto executor = co_await asio::this_coro::executor;
    Association association(control, client_facing, client, std::move(options), executor);
    co_await association.run();
    co_return association.result();
}

}  // namespace sg::socks

#include "relay_io/shard.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <functional>

#include "net/unhandled.hpp"
#include "relay/address.hpp"
#include "relay/prompt.hpp"
#include "relay/rtpproxy_codec.hpp"
#include "relay_io/prompt_file.hpp"

namespace sg::relay_io {
namespace {

std::string describe_leg(const relay::LegReport& leg) {
    std::uint64_t packets = 0;
    std::uint64_t bytes = 0;
    std::uint64_t dropped = 0;
    std::string where = "-";
    std::string family = "-";
    for (const auto& stream : leg.streams) {
        packets += stream.received.packets;
        bytes += stream.received.bytes;
        dropped += stream.received.errors;
        if (where == "-" && stream.latched) where = relay::to_string(*stream.latched);
        family = std::string(relay::family_name(stream.local.family));
    }
    return fmt::format("{} {} from {} sent {} packets {} bytes (dropped {})", leg.tag, family, where, packets,
                       bytes, dropped);
}

}  // namespace

std::int64_t wall_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::vector<std::pair<std::uint16_t, std::uint16_t>> split_port_range(std::uint16_t port_min,
                                                                      std::uint16_t port_max,
                                                                      std::size_t count) {
    const std::uint32_t first = port_min + (port_min & 1U);
    const std::uint32_t pairs = port_max >= first + 1 ? (port_max - first + 1) / 2 : 0;
    std::vector<std::pair<std::uint16_t, std::uint16_t>> out;
    std::uint32_t next = first;
    for (std::size_t i = 0; i < count; ++i) {
        const std::uint32_t share = pairs / count + (i < pairs % count ? 1 : 0);
        const std::uint32_t last = share == 0 ? next : next + 2 * share - 1;
        out.emplace_back(static_cast<std::uint16_t>(next),
                         static_cast<std::uint16_t>(share == 0 ? next : last));
        next += 2 * share;
    }
    return out;
}

std::size_t shard_of(std::string_view call_id, std::size_t shards) noexcept {
    return shards <= 1 ? 0 : std::hash<std::string_view>{}(call_id) % shards;
}

namespace {

// The media sockets the shard was asked for; epoll when io_uring was demanded and refused (the note says
// why, and run_relay refuses to start).
std::unique_ptr<MediaSocketsIo> media_sockets(asio::io_context& io, MediaIo wanted, std::string& note) {
    auto sockets = make_media_sockets(io, wanted, note);
    if (sockets) return sockets;
    std::string ignored;
    return make_media_sockets(io, MediaIo::epoll, ignored);
}

}  // namespace

Shard::Shard(relay::RelaySettings settings, const std::filesystem::path& recording_dir,
             std::filesystem::path prompt_dir, MediaIo media_io, const std::string& kernel_table,
             std::size_t index)
    : sockets_(media_sockets(io_, media_io, media_note_)),
      recorder_(recording_dir.empty() ? nullptr : std::make_unique<PcapRecorder>(recording_dir)),
      kernel_(kernel_table.empty() ? nullptr : std::make_unique<NftForwarder>(io_, kernel_table, index)),
      table_(std::move(settings), *sockets_, recorder_.get(), kernel_.get()),
      expire_timer_(io_),
      prompt_dir_(std::move(prompt_dir)),
      random_(std::random_device{}()) {
    sockets_->attach(table_);
}

relay::Outcome Shard::play(const relay::Request& request) {
    std::string detail;
    auto prompt = load_prompt(prompt_dir_, request.file, detail);
    if (!prompt) {
        relay::Outcome outcome;
        outcome.error = std::string(prompt.error()) + (detail.empty() ? "" : ": " + detail);
        outcome.rtpproxy_error = relay::k_rtpp_e_play_failed;
        return outcome;
    }
    std::uint64_t generation = 0;
    relay::Outcome outcome = table_.start_playback(request, generation);
    if (outcome.error) return outcome;
    relay::PromptPlayer player(std::move(*prompt), request.repeat_times,
                               static_cast<std::uint32_t>(random_()), static_cast<std::uint16_t>(random_()),
                               static_cast<std::uint32_t>(random_()));
    spdlog::info(
        "relay: call {}: playing {} to {} ({} times)", request.call_id, request.file, request.speaker_tag,
        request.repeat_times == 0 ? std::string("until stopped") : std::to_string(request.repeat_times));
    auto pace = [](Shard& self, relay::PromptPlayer p, std::string call_id, std::string tag,
                   std::uint64_t gen) -> asio::awaitable<void> {
        asio::steady_timer timer(self.io_);
        auto next = std::chrono::steady_clock::now();
        for (;;) {
            const auto target = self.table_.playback_target(call_id, tag, gen);
            if (!target) co_return;  // stopped, replaced, or the call ended
            const auto packet = p.next();
            if (!packet) {
                self.table_.end_playback(call_id, tag, gen);
                spdlog::info("relay: call {}: prompt to {} ended after {} packets", call_id, tag,
                             p.packets_sent());
                co_return;
            }
            if (target->destination.family != relay::Family::unspecified)
                self.sockets_->send(target->socket_id, target->destination, *packet);
            // An absolute schedule: 50 packets a second however late a wakeup was.
            next += std::chrono::milliseconds(20);
            timer.expires_at(next);
            std::error_code ec;
            co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            if (ec) co_return;
        }
    };
    asio::co_spawn(io_, pace(*this, std::move(player), request.call_id, request.speaker_tag, generation),
                   net::log_unhandled(net::Unhandled::relay_media));
    return outcome;
}

relay::Outcome Shard::handle(const relay::Request& request) {
    if (request.op == relay::Op::play_media) return play(request);
    if (request.op == relay::Op::stop_media) return table_.stop_playback(request);
    std::vector<relay::EndedCall> ended;
    relay::Outcome outcome = table_.handle(request, std::chrono::steady_clock::now(), wall_seconds(), ended);
    log_ended(ended);
    publish();
    return outcome;
}

std::vector<std::string> Shard::call_ids() const {
    return table_.call_ids();
}

std::optional<relay::CallReport> Shard::report(const std::string& call_id) const {
    return table_.report(call_id, std::chrono::steady_clock::now(), wall_seconds());
}

bool Shard::terminate(const std::string& call_id) {
    std::vector<relay::EndedCall> ended;
    const bool found = table_.terminate(call_id, "ended by operator", std::chrono::steady_clock::now(),
                                        wall_seconds(), ended);
    log_ended(ended);
    publish();
    return found;
}

relay::GlobalStatistics Shard::statistics() const {
    return table_.statistics();
}

void Shard::start() {
    auto loop = [](Shard& self) -> asio::awaitable<void> {
        for (;;) {
            self.expire_timer_.expires_after(std::chrono::seconds(1));
            std::error_code ec;
            co_await self.expire_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            if (ec) co_return;
            std::vector<relay::EndedCall> ended;
            self.count_kernel();  // before expire: what the kernel forwarded keeps its calls alive
            self.table_.expire(std::chrono::steady_clock::now(), wall_seconds(), ended);
            self.log_ended(ended);
            self.publish();
        }
    };
    asio::co_spawn(io_, loop(*this), net::log_unhandled(net::Unhandled::relay_control));
}

void Shard::shutdown() {
    std::vector<relay::EndedCall> ended;
    table_.clear(std::chrono::steady_clock::now(), wall_seconds(), ended, "relay stopped");
    log_ended(ended);
    publish();
    expire_timer_.cancel();
}

void Shard::count_kernel() {
    if (!kernel_) return;
    const auto now = std::chrono::steady_clock::now();
    for (const auto& count : kernel_->poll())
        table_.kernel_counted(count.socket_id, count.packets, count.bytes, now);
}

void Shard::publish() {
    const auto s = table_.statistics();
    published_.calls.store(s.current_calls, std::memory_order_relaxed);
    published_.total_calls.store(s.total_calls, std::memory_order_relaxed);
    published_.relayed_packets.store(s.relayed_packets, std::memory_order_relaxed);
    published_.relayed_bytes.store(s.relayed_bytes, std::memory_order_relaxed);
    published_.dropped_packets.store(s.dropped_packets, std::memory_order_relaxed);
    published_.ports_in_use.store(s.ports_in_use, std::memory_order_relaxed);
    const MediaCounters media = sockets_->counters();
    published_.send_failures.store(media.send_failures, std::memory_order_relaxed);
    published_.oversized.store(media.truncated, std::memory_order_relaxed);
    published_.buffer_shortages.store(media.buffer_shortages, std::memory_order_relaxed);
    published_.kernel_packets.store(s.kernel_packets, std::memory_order_relaxed);
    published_.kernel_bytes.store(s.kernel_bytes, std::memory_order_relaxed);
    if (kernel_) {
        published_.kernel_flows.store(kernel_->flows_in_kernel(), std::memory_order_relaxed);
        published_.kernel_transactions.store(kernel_->transactions(), std::memory_order_relaxed);
        published_.kernel_failed.store(kernel_->failed() ? 1 : 0, std::memory_order_relaxed);
    }
}

void Shard::log_ended(std::vector<relay::EndedCall>& ended) {
    for (const auto& call : ended) {
        if (call.reason == "deleted") {
            published_.ended_deleted.fetch_add(1, std::memory_order_relaxed);
        } else if (call.reason.find("timeout") != std::string::npos) {
            published_.ended_timeout.fetch_add(1, std::memory_order_relaxed);
        } else {
            published_.ended_other.fetch_add(1, std::memory_order_relaxed);
        }
        std::string legs;
        for (const auto& leg : call.report.legs) {
            if (!legs.empty()) legs += "; ";
            legs += describe_leg(leg);
        }
        spdlog::info("relay: call {} ended ({}) after {:.1f} s: {}", call.report.call_id, call.reason,
                     static_cast<double>(call.duration.count()) / 1000.0, legs.empty() ? "no media" : legs);
    }
    ended.clear();
}

}  // namespace sg::relay_io

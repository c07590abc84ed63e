#pragma once
// One event loop of the relay (one per core): its own call table, media sockets, port sub-range, recordings
// and expiry timer, run by one thread. Calls are spread over shards by Call-ID, so a call's control requests
// and all its packets stay on one thread and the per-packet path takes no lock.
//
// Threading: handle(), call_ids() and the rest run on the shard's own thread (the control front posts them
// there); published() may be read from any thread.

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "relay/call_table.hpp"
#include "relay_io/media_sockets.hpp"
#include "relay_io/nft_forwarder.hpp"
#include "relay_io/pcap_recorder.hpp"

namespace sg::relay_io {

// What a shard publishes for the metrics, refreshed after each request and once a second.
struct PublishedStatistics {
    std::atomic<std::uint64_t> calls{0};
    std::atomic<std::uint64_t> total_calls{0};
    std::atomic<std::uint64_t> relayed_packets{0};
    std::atomic<std::uint64_t> relayed_bytes{0};
    std::atomic<std::uint64_t> dropped_packets{0};
    std::atomic<std::uint64_t> ports_in_use{0};
    std::atomic<std::uint64_t> send_failures{0};
    std::atomic<std::uint64_t> oversized{0};
    std::atomic<std::uint64_t> buffer_shortages{0};
    std::atomic<std::uint64_t> ended_deleted{0};
    std::atomic<std::uint64_t> ended_timeout{0};
    std::atomic<std::uint64_t> ended_other{0};
    std::atomic<std::uint64_t> kernel_flows{0};
    std::atomic<std::uint64_t> kernel_packets{0};
    std::atomic<std::uint64_t> kernel_bytes{0};
    std::atomic<std::uint64_t> kernel_transactions{0};
    std::atomic<std::uint64_t> kernel_failed{0};  // 1: the kernel refused a change, userspace forwards
};

class Shard {
public:
    // `kernel_table` non-empty: latched media is forwarded in the kernel, in that nftables table (made by
    // KernelTable), in the maps of shard number `index`.
    Shard(relay::RelaySettings settings, const std::filesystem::path& recording_dir,
          std::filesystem::path prompt_dir, MediaIo media_io = MediaIo::automatic,
          const std::string& kernel_table = {}, std::size_t index = 0);
    Shard(const Shard&) = delete;
    Shard& operator=(const Shard&) = delete;

    asio::io_context& io() noexcept { return io_; }

    // On the shard's thread:
    relay::Outcome handle(const relay::Request& request);
    std::vector<std::string> call_ids() const;
    std::optional<relay::CallReport> report(const std::string& call_id) const;
    // Ends a call at an operator's request (logged "ended by operator"); false when there is no such call.
    bool terminate(const std::string& call_id);
    relay::GlobalStatistics statistics() const;
    void start();     // the expiry timer
    void shutdown();  // ends every call (logged), stops the timer; the loop then runs out of work

    const PublishedStatistics& published() const noexcept { return published_; }
    // How the media sockets wait and move datagrams ("io_uring" or "epoll"), and why not io_uring when it
    // was wanted and refused (empty otherwise).
    std::string_view media_backend() const noexcept { return sockets_->backend(); }
    const std::string& media_note() const noexcept { return media_note_; }

private:
    void log_ended(std::vector<relay::EndedCall>& ended);
    void publish();
    void count_kernel();
    relay::Outcome play(const relay::Request& request);

    asio::io_context io_{1};
    std::string media_note_;
    std::unique_ptr<MediaSocketsIo> sockets_;
    std::unique_ptr<PcapRecorder> recorder_;
    std::unique_ptr<NftForwarder> kernel_;  // outlives table_, whose ended calls remove their flows
    relay::CallTable table_;
    asio::steady_timer expire_timer_;
    PublishedStatistics published_;
    std::filesystem::path prompt_dir_;
    std::mt19937 random_;
};

// Splits [port_min, port_max] into `count` disjoint ranges of whole pairs, one per shard.
std::vector<std::pair<std::uint16_t, std::uint16_t>> split_port_range(std::uint16_t port_min,
                                                                      std::uint16_t port_max,
                                                                      std::size_t count);

// The shard that owns a call.
std::size_t shard_of(std::string_view call_id, std::size_t shards) noexcept;

std::int64_t wall_seconds();

}  // namespace sg::relay_io

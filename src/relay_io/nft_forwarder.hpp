#pragma once
// Kernel forwarding through nftables (the ruleset: relay/nft_ruleset.hpp). KernelTable makes the relay's
// table when the relay starts and deletes it when it stops; an NftForwarder per shard adds and removes that
// shard's flows as its call table asks, batched into one transaction per turn of the shard's loop, and reads
// their counters. Both talk to the kernel through libnftables (netlink), never per packet.
//
// If the kernel refuses a change, the shard's maps are emptied and it forwards in userspace from then on (its
// sockets still receive everything the kernel no longer matches); the refusal is logged once.

#include <asio/io_context.hpp>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "relay/call_table.hpp"
#include "relay/kernel_flow.hpp"

struct nft_ctx;

namespace sg::relay_io {

// One libnftables context (not thread-safe: one per thread that uses it).
class NftSession {
public:
    NftSession();
    ~NftSession();
    NftSession(const NftSession&) = delete;
    NftSession& operator=(const NftSession&) = delete;

    // Runs `commands` as one transaction. `output` is then nft's output (listings), or on failure its error.
    bool run(const std::string& commands, std::string& output);

private:
    nft_ctx* ctx_;
};

class KernelTable {
public:
    // The table `streamgate_<number>` with maps for `shards` shards. nullptr, with `why`, when this host
    // cannot forward for the relay: no nftables permission, or an interface that is not loopback while the
    // kernel does not forward that family (net.ipv4.ip_forward, net.ipv6.conf.all.forwarding).
    static std::unique_ptr<KernelTable> create(int number, std::size_t shards,
                                               const std::vector<relay::Interface>& interfaces,
                                               std::string& why);
    ~KernelTable();
    KernelTable(const KernelTable&) = delete;
    KernelTable& operator=(const KernelTable&) = delete;

    const std::string& name() const noexcept { return name_; }

private:
    explicit KernelTable(std::string name) : name_(std::move(name)) {}
    std::string name_;
};

class NftForwarder : public relay::KernelForwarder {
public:
    NftForwarder(asio::io_context& io, std::string table, std::size_t shard);
    ~NftForwarder() override;

    void install(const relay::KernelFlow& flow) override;
    void remove(std::uint32_t socket_id) override;
    std::vector<relay::KernelCount> read(std::span<const std::uint32_t> socket_ids) override;

    // Applies queued changes: all of them, or (`all` false: the posted flush) at most
    // k_flows_per_transaction, posting itself again for the rest, so that no transaction holds the loop
    // long while packets queue up behind it.
    void flush(bool all = true);
    // The counters of every flow in the kernel.
    std::vector<relay::KernelCount> poll();

    std::size_t flows_in_kernel() const noexcept { return applied_.size(); }
    std::uint64_t transactions() const noexcept { return transactions_; }
    bool failed() const noexcept { return failed_; }

private:
    struct Applied {
        relay::KernelFlow flow;
        std::uint32_t mark = 0;
    };
    void change(std::uint32_t socket_id);
    void post_flush();
    std::vector<relay::KernelCount> counts(std::string_view listing) const;
    std::vector<relay::KernelCount> list_all();
    // Runs `commands` (listings) and appends the counters they show to `out`; on failure `out` is emptied
    // and the loop goes back to userspace (fail(), with `what`).
    bool read_counts(const std::string& commands, const char* what, std::vector<relay::KernelCount>& out);
    void fail(const std::string& what, const std::string& error);

    asio::io_context& io_;
    std::string table_;
    std::size_t shard_;
    NftSession session_;
    std::unordered_map<std::uint32_t, relay::KernelFlow> wanted_;  // socket id -> flow
    std::unordered_map<std::uint32_t, Applied> applied_;           // what the kernel has
    std::unordered_map<std::uint32_t, std::uint32_t> by_mark_;     // mark -> socket id
    std::vector<std::uint32_t> dirty_;                             // socket ids changed since the last flush
    std::vector<std::uint32_t> free_indexes_;
    std::uint32_t next_index_ = 1;
    bool flush_posted_ = false;
    bool failed_ = false;
    std::uint64_t transactions_ = 0;
};

}  // namespace sg::relay_io

#pragma once
// The nftables ruleset that forwards a relay's media in the kernel, and the commands that add, remove and
// count its flows (KernelFlow, kernel_flow.hpp). Text only: relay_io hands it to libnftables.
//
// How a datagram is forwarded, in one table `streamgate_<number>` (rtpengine's `--table` number):
//   prerouting (raw priority): its 4-tuple (source, relay port) is looked up in the shard's flow map, which
//     counts it and gives the flow's mark; the datagram is taken out of connection tracking and its
//     destination becomes the other side (address and port).
//   input (local delivery: the other side is on this host) or postrouting (it leaves): a datagram carrying
//     one of the shard's marks gets the relay's outgoing address and port as its source, and mark 0.
// Rewriting the source only after routing keeps the kernel's martian check (a local address arriving from
// outside) and reverse-path filter out of the way. The kernel updates the IP and UDP checksums.
//
// A flow's mark is 0x5 in the top four bits, the shard in the next eight and an index in the low twenty: each
// shard has its own maps and rules and never touches another's. Marks are the relay's between the two hooks
// only: a forwarded datagram leaves with mark 0.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "relay/kernel_flow.hpp"

namespace sg::relay::nft {

inline constexpr std::size_t k_max_shards = 256;
inline constexpr std::uint32_t k_max_flows_per_shard = (1U << 20U) - 1;  // index 0 is never used

std::string table_name(int number);
std::uint32_t flow_mark(std::size_t shard, std::uint32_t index) noexcept;

// The whole table for `shards` shards, created afresh: whatever an earlier process of the same table number
// left behind (a crash) is deleted in the same transaction.
std::string create_table(std::string_view table, std::size_t shards);
std::string delete_table(std::string_view table);

// One transaction's lines for a flow of `shard` with mark `mark`.
std::string add_flow(std::string_view table, std::size_t shard, std::uint32_t mark, const KernelFlow& flow);
std::string delete_flow(std::string_view table, std::size_t shard, std::uint32_t mark,
                        const KernelFlow& flow);
// Gets the elements of `flows` (all of one family) with their counters, in one command (for
// parse_counters).
std::string get_flows(std::string_view table, std::size_t shard, std::span<const KernelFlow> flows);
// Lists the shard's flow map of one family with its counters (for parse_counters). One listing per
// transaction: nft 1.0.6 fills its cache for the last listing of a transaction only.
std::string list_flows(std::string_view table, std::size_t shard, Family family);
// Empties the shard's maps (after a refused transaction: the kernel's state is then unknown).
std::string flush_flows(std::string_view table, std::size_t shard);

struct MarkCount {
    std::uint32_t mark = 0;
    std::uint64_t packets = 0;
    std::uint64_t bytes = 0;
};
// Reads every "counter packets P bytes B : MARK" element of nft's text listing of flow maps.
std::vector<MarkCount> parse_counters(std::string_view listing);

}  // namespace sg::relay::nft

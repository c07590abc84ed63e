#include "relay_io/nft_forwarder.hpp"

#include <spdlog/spdlog.h>

#include <nftables/libnftables.h>
#include <algorithm>
#include <asio/post.hpp>
#include <fstream>

#include "relay/address.hpp"
#include "relay/nft_ruleset.hpp"

namespace sg::relay_io {
namespace {

bool is_loopback(const relay::Address& address) {
    if (address.family == relay::Family::ip4) return address.bytes[0] == 127;
    static constexpr std::array<std::uint8_t, 16> k_loopback6{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    return address.bytes == k_loopback6;
}

bool sysctl_on(const char* path) {
    std::ifstream in(path);
    int value = 0;
    return static_cast<bool>(in >> value) && value != 0;
}

// Changes per transaction of the posted flush: a transaction of a few thousand elements holds the loop for
// tens of milliseconds, and the packets that queue up meanwhile reach the other side after newer ones the
// kernel forwarded at once.
constexpr std::size_t k_flows_per_transaction = 128;

// Keys per "get element": nft 1.0.6 builds the request in one fixed-size netlink buffer and overran it (a
// crash) with the 1,500 keys a loop read when 1,500 calls ended at once. More flows than this are read from
// a listing of the whole map instead.
constexpr std::size_t k_keys_per_get = 32;

std::string trimmed(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
        text.pop_back();
    return text;
}

}  // namespace

NftSession::NftSession() : ctx_(nft_ctx_new(NFT_CTX_DEFAULT)) {
    if (ctx_ != nullptr) {
        nft_ctx_buffer_output(ctx_);
        nft_ctx_buffer_error(ctx_);
    }
}

NftSession::~NftSession() {
    if (ctx_ != nullptr) nft_ctx_free(ctx_);
}

bool NftSession::run(const std::string& commands, std::string& output) {
    if (ctx_ == nullptr) {
        output = "libnftables cannot make a context";
        return false;
    }
    const int rc = nft_run_cmd_from_buffer(ctx_, commands.c_str());
    if (rc != 0) {
        output = trimmed(nft_ctx_get_error_buffer(ctx_));
        if (output.empty()) output = "nft failed";
        return false;
    }
    output = nft_ctx_get_output_buffer(ctx_);
    return true;
}

std::unique_ptr<KernelTable> KernelTable::create(int number, std::size_t shards,
                                                 const std::vector<relay::Interface>& interfaces,
                                                 std::string& why) {
    if (shards > relay::nft::k_max_shards) {
        why = "kernel forwarding takes at most 256 threads";
        return nullptr;
    }
    for (const auto& interface : interfaces) {
        if (is_loopback(interface.address)) continue;
        const bool v6 = interface.address.family == relay::Family::ip6;
        const char* sysctl = v6 ? "/proc/sys/net/ipv6/conf/all/forwarding" : "/proc/sys/net/ipv4/ip_forward";
        if (!sysctl_on(sysctl)) {
            why = std::string("the kernel does not forward ") + (v6 ? "IPv6" : "IPv4") + " (" +
                  (v6 ? "net.ipv6.conf.all.forwarding" : "net.ipv4.ip_forward") + " is 0), and interface " +
                  relay::ip_to_string(interface.address) + " is not loopback";
            return nullptr;
        }
    }
    std::unique_ptr<KernelTable> table(new KernelTable(relay::nft::table_name(number)));
    NftSession session;
    std::string output;
    if (!session.run(relay::nft::create_table(table->name_, shards), output)) {
        why = "cannot make nftables table " + table->name_ + ": " + output;
        table->name_.clear();  // nothing to delete
        return nullptr;
    }
    return table;
}

KernelTable::~KernelTable() {
    if (name_.empty()) return;
    NftSession session;
    std::string output;
    if (!session.run(relay::nft::delete_table(name_), output))
        spdlog::warn("relay: cannot delete nftables table {}: {}", name_, output);
}

NftForwarder::NftForwarder(asio::io_context& io, std::string table, std::size_t shard)
    : io_(io), table_(std::move(table)), shard_(shard) {}

NftForwarder::~NftForwarder() = default;  // the table goes with KernelTable, its maps with it

void NftForwarder::change(std::uint32_t socket_id) {
    dirty_.push_back(socket_id);
    post_flush();
}

void NftForwarder::post_flush() {
    if (flush_posted_) return;
    flush_posted_ = true;
    asio::post(io_, [this] {
        flush_posted_ = false;
        flush(false);
    });
}

void NftForwarder::install(const relay::KernelFlow& flow) {
    wanted_[flow.socket_id] = flow;
    change(flow.socket_id);
}

void NftForwarder::remove(std::uint32_t socket_id) {
    if (wanted_.erase(socket_id) != 0) change(socket_id);
}

void NftForwarder::fail(const std::string& what, const std::string& error) {
    spdlog::error(
        "relay: kernel forwarding stops on this thread (shard {}), userspace forwards from now on: "
        "{}: {}",
        shard_, what, error);
    failed_ = true;
    std::string ignored;  // the table may be gone: nothing then to flush
    (void)session_.run(relay::nft::flush_flows(table_, shard_), ignored);
    applied_.clear();
    by_mark_.clear();
}

void NftForwarder::flush(bool all) {
    if (dirty_.empty()) return;
    if (failed_) {
        dirty_.clear();
        return;
    }
    std::sort(dirty_.begin(), dirty_.end());
    dirty_.erase(std::unique(dirty_.begin(), dirty_.end()), dirty_.end());
    // The posted flush takes a share and leaves the rest for the next turn of the loop.
    std::vector<std::uint32_t> now;
    if (all || dirty_.size() <= k_flows_per_transaction) {
        now.swap(dirty_);
    } else {
        now.assign(dirty_.end() - static_cast<std::ptrdiff_t>(k_flows_per_transaction), dirty_.end());
        dirty_.resize(dirty_.size() - k_flows_per_transaction);
        post_flush();
    }
    std::string commands;
    std::vector<std::uint32_t> freed;
    std::vector<std::pair<std::uint32_t, Applied>> added;
    for (const std::uint32_t socket_id : now) {
        const auto want = wanted_.find(socket_id);
        const auto have = applied_.find(socket_id);
        const bool same =
            want != wanted_.end() && have != applied_.end() && have->second.flow == want->second;
        if (same) continue;
        if (have != applied_.end()) {
            commands += relay::nft::delete_flow(table_, shard_, have->second.mark, have->second.flow);
            freed.push_back(have->second.mark);
        }
        if (want == wanted_.end()) continue;
        std::uint32_t index = 0;
        if (!free_indexes_.empty()) {
            index = free_indexes_.back();
            free_indexes_.pop_back();
        } else if (next_index_ <= relay::nft::k_max_flows_per_shard) {
            index = next_index_++;
        } else {
            continue;  // a million flows on one thread: the rest stay in userspace
        }
        const std::uint32_t mark = relay::nft::flow_mark(shard_, index);
        commands += relay::nft::add_flow(table_, shard_, mark, want->second);
        added.emplace_back(socket_id, Applied{want->second, mark});
    }
    if (commands.empty()) return;
    ++transactions_;
    if (std::string error; !session_.run(commands, error)) {
        fail("a change of " + std::to_string(added.size() + freed.size()) + " flows", error);
        return;
    }
    for (const std::uint32_t mark : freed) {
        const auto it = by_mark_.find(mark);
        if (it != by_mark_.end()) {
            const auto have = applied_.find(it->second);
            if (have != applied_.end() && have->second.mark == mark) applied_.erase(have);
            by_mark_.erase(it);
        }
        free_indexes_.push_back(mark & relay::nft::k_max_flows_per_shard);
    }
    for (const auto& [socket_id, applied] : added) {
        by_mark_[applied.mark] = socket_id;
        applied_[socket_id] = applied;
    }
}

std::vector<relay::KernelCount> NftForwarder::counts(std::string_view listing) const {
    std::vector<relay::KernelCount> out;
    for (const auto& count : relay::nft::parse_counters(listing)) {
        const auto it = by_mark_.find(count.mark);
        if (it == by_mark_.end()) continue;
        // The kernel counts whole IP packets; the relay counts UDP payload.
        const auto applied = applied_.find(it->second);
        const std::uint64_t headers =
            applied != applied_.end() && applied->second.flow.source.family == relay::Family::ip6 ? 48 : 28;
        const std::uint64_t payload = count.bytes - std::min(count.bytes, count.packets * headers);
        out.push_back(relay::KernelCount{it->second, count.packets, payload});
    }
    return out;
}

bool NftForwarder::read_counts(const std::string& commands, const char* what,
                               std::vector<relay::KernelCount>& out) {
    std::string listing;
    if (!session_.run(commands, listing)) {
        fail(what, listing);
        out.clear();
        return false;
    }
    auto some = counts(listing);
    out.insert(out.end(), some.begin(), some.end());
    return true;
}

std::vector<relay::KernelCount> NftForwarder::list_all() {
    std::vector<relay::KernelCount> out;
    for (const auto family : {relay::Family::ip4, relay::Family::ip6})
        if (!read_counts(relay::nft::list_flows(table_, shard_, family), "reading the counters", out)) break;
    return out;
}

std::vector<relay::KernelCount> NftForwarder::poll() {
    flush();  // every change applied: a count is then always the flow's the table knows
    if (failed_ || applied_.empty()) return {};
    return list_all();
}

std::vector<relay::KernelCount> NftForwarder::read(std::span<const std::uint32_t> socket_ids) {
    flush();
    if (failed_) return {};
    std::vector<relay::KernelFlow> flows[2];  // by family
    for (const std::uint32_t socket_id : socket_ids) {
        const auto it = applied_.find(socket_id);
        if (it != applied_.end())
            flows[it->second.flow.source.family == relay::Family::ip6 ? 1 : 0].push_back(it->second.flow);
    }
    if (flows[0].size() > k_keys_per_get || flows[1].size() > k_keys_per_get) {
        // Many calls end at once (timeouts, shutdown): one listing, the wanted flows picked from it.
        std::vector<std::uint32_t> wanted(socket_ids.begin(), socket_ids.end());
        std::sort(wanted.begin(), wanted.end());
        auto all = list_all();
        std::erase_if(all, [&](const relay::KernelCount& count) {
            return !std::binary_search(wanted.begin(), wanted.end(), count.socket_id);
        });
        return all;
    }
    std::vector<relay::KernelCount> out;
    for (const auto& some : flows)
        if (!some.empty() &&
            !read_counts(relay::nft::get_flows(table_, shard_, some), "reading a call's counters", out))
            break;
    return out;
}

}  // namespace sg::relay_io

#include "relay/nft_ruleset.hpp"

#include <charconv>

#include "relay/address.hpp"

namespace sg::relay::nft {
namespace {

constexpr std::uint32_t k_mark_tag = 0x50000000U;
constexpr std::uint32_t k_shard_mask = 0xfff00000U;  // the tag and the shard

std::uint32_t shard_tag(std::size_t shard) noexcept {
    return k_mark_tag | (static_cast<std::uint32_t>(shard & 0xffU) << 20U);
}

std::string hex(std::uint32_t value) {
    char digits[8];
    const auto end = std::to_chars(digits, digits + sizeof digits, value, 16).ptr;
    return "0x" + std::string(digits, end);
}

// Replaces each {S} with the shard number, {T} with the table and {F} with the family digit: the rule and
// element templates below stay readable as nft syntax.
std::string fill(std::string_view text, std::string_view table, std::size_t shard, char family = '4') {
    std::string out;
    out.reserve(text.size() + 64);
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '{' && i + 2 < text.size() && text[i + 2] == '}') {
            const char what = text[i + 1];
            if (what == 'S' || what == 'T' || what == 'F') {
                if (what == 'S') out += std::to_string(shard);
                if (what == 'T') out += table;
                if (what == 'F') out += family;
                i += 2;
                continue;
            }
        }
        out += text[i];
    }
    return out;
}

// The maps of a shard: flow (4-tuple -> mark, counted), to (mark -> destination address), from (mark -> the
// relay's outgoing address), one of each per family; the two port maps serve both families.
constexpr std::string_view k_maps =
    "  map flow4_{S} { type ipv4_addr . inet_service . ipv4_addr . inet_service : mark; counter; }\n"
    "  map flow6_{S} { type ipv6_addr . inet_service . ipv6_addr . inet_service : mark; counter; }\n"
    "  map to4_{S} { type mark : ipv4_addr; }\n"
    "  map to6_{S} { type mark : ipv6_addr; }\n"
    "  map from4_{S} { type mark : ipv4_addr; }\n"
    "  map from6_{S} { type mark : ipv6_addr; }\n"
    "  map toport_{S} { type mark : inet_service; }\n"
    "  map fromport_{S} { type mark : inet_service; }\n";

constexpr std::string_view k_arrive =
    "    meta nfproto ipv4 meta l4proto udp meta mark set ip saddr . udp sport . ip daddr . udp dport map "
    "@flow4_{S} notrack ip daddr set meta mark map @to4_{S} udp dport set meta mark map @toport_{S}\n"
    "    meta nfproto ipv6 meta l4proto udp meta mark set ip6 saddr . udp sport . ip6 daddr . udp dport map "
    "@flow6_{S} notrack ip6 daddr set meta mark map @to6_{S} udp dport set meta mark map @toport_{S}\n";

std::string leave_rules(std::size_t shard) {
    const std::string match = "    meta mark & " + hex(k_shard_mask) + " == " + hex(shard_tag(shard));
    return fill(match +
                    " meta nfproto ipv4 ip saddr set meta mark map @from4_{S} udp sport set meta mark map "
                    "@fromport_{S} meta mark set 0\n" +
                    match +
                    " meta nfproto ipv6 ip6 saddr set meta mark map @from6_{S} udp sport set meta mark map "
                    "@fromport_{S} meta mark set 0\n",
                "", shard);
}

char family_digit(const Address& address) {
    return address.family == Family::ip6 ? '6' : '4';
}

std::string key(const KernelFlow& flow) {
    return ip_to_string(flow.source) + " . " + std::to_string(flow.source.port) + " . " +
           ip_to_string(flow.local) + " . " + std::to_string(flow.local.port);
}

}  // namespace

std::string table_name(int number) {
    return "streamgate_" + std::to_string(number);
}

std::uint32_t flow_mark(std::size_t shard, std::uint32_t index) noexcept {
    return shard_tag(shard) | (index & k_max_flows_per_shard);
}

std::string create_table(std::string_view table, std::size_t shards) {
    std::string body;
    std::string arrive;
    std::string leave;
    for (std::size_t s = 0; s < shards; ++s) {
        body += fill(k_maps, table, s);
        arrive += fill(k_arrive, table, s);
        leave += leave_rules(s);
    }
    // "add" then "delete" removes a leftover table and cannot fail when there is none.
    const std::string name(table);
    return "add table inet " + name + "\ndelete table inet " + name + "\ntable inet " + name + " {\n" + body +
           "  chain arrive {\n    type filter hook prerouting priority raw; policy accept;\n" + arrive +
           "  }\n  chain deliver {\n    type filter hook input priority -300; policy accept;\n" + leave +
           "  }\n  chain leave {\n    type filter hook postrouting priority srcnat; policy accept;\n" +
           leave + "  }\n}\n";
}

std::string delete_table(std::string_view table) {
    return "delete table inet " + std::string(table) + "\n";
}

std::string add_flow(std::string_view table, std::size_t shard, std::uint32_t mark, const KernelFlow& flow) {
    const std::string m = hex(mark);
    return fill("add element inet {T} to{F}_{S} { " + m + " : " + ip_to_string(flow.destination) +
                    " }\nadd element inet {T} toport_{S} { " + m + " : " +
                    std::to_string(flow.destination.port) + " }\nadd element inet {T} from{F}_{S} { " + m +
                    " : " + ip_to_string(flow.out_local) + " }\nadd element inet {T} fromport_{S} { " + m +
                    " : " + std::to_string(flow.out_local.port) + " }\nadd element inet {T} flow{F}_{S} { " +
                    key(flow) + " : " + m + " }\n",
                table, shard, family_digit(flow.source));
}

std::string delete_flow(std::string_view table, std::size_t shard, std::uint32_t mark,
                        const KernelFlow& flow) {
    const std::string m = hex(mark);
    // The lookup goes first, so no datagram finds a mark without its rewrites.
    return fill("delete element inet {T} flow{F}_{S} { " + key(flow) +
                    " }\ndelete element inet {T} to{F}_{S} { " + m +
                    " }\ndelete element inet {T} toport_{S} { " + m +
                    " }\ndelete element inet {T} from{F}_{S} { " + m +
                    " }\ndelete element inet {T} fromport_{S} { " + m + " }\n",
                table, shard, family_digit(flow.source));
}

std::string get_flows(std::string_view table, std::size_t shard, std::span<const KernelFlow> flows) {
    if (flows.empty()) return {};
    std::string keys;
    for (const auto& flow : flows)
        keys += (keys.empty() ? "" : ", ") + key(flow);
    return fill("get element inet {T} flow{F}_{S} { ", table, shard, family_digit(flows.front().source)) +
           keys + " }\n";
}

std::string list_flows(std::string_view table, std::size_t shard, Family family) {
    return fill("list map inet {T} flow{F}_{S}\n", table, shard, family == Family::ip6 ? '6' : '4');
}

std::string flush_flows(std::string_view table, std::size_t shard) {
    std::string out;
    for (const char* map : {"flow4", "flow6", "to4", "to6", "from4", "from6", "toport", "fromport"})
        out += fill("flush map inet {T} ", table, shard) + map + "_" + std::to_string(shard) + "\n";
    return out;
}

std::vector<MarkCount> parse_counters(std::string_view listing) {
    std::vector<MarkCount> out;
    constexpr std::string_view k_counter = "counter packets ";
    std::size_t at = 0;
    const auto number = [&](std::uint64_t& value, int base) {
        while (at < listing.size() && listing[at] == ' ')
            ++at;
        if (base == 16 && listing.substr(at, 2) == "0x") at += 2;
        const auto [end, ec] =
            std::from_chars(listing.data() + at, listing.data() + listing.size(), value, base);
        if (ec != std::errc{}) return false;
        at = static_cast<std::size_t>(end - listing.data());
        return true;
    };
    const auto word = [&](std::string_view expected) {
        while (at < listing.size() && listing[at] == ' ')
            ++at;
        if (listing.substr(at, expected.size()) != expected) return false;
        at += expected.size();
        return true;
    };
    while ((at = listing.find(k_counter, at)) != std::string_view::npos) {
        at += k_counter.size();
        MarkCount count;
        std::uint64_t mark = 0;
        if (!number(count.packets, 10) || !word("bytes") || !number(count.bytes, 10) || !word(":")) continue;
        // nft prints a mark in hex (0x...), or in decimal when it is small
        const bool hex = listing.substr(at, 2) == "0x" || listing.substr(at + 1, 2) == "0x";
        if (!number(mark, hex ? 16 : 10) || mark > 0xffffffffU) continue;
        count.mark = static_cast<std::uint32_t>(mark);
        out.push_back(count);
    }
    return out;
}

}  // namespace sg::relay::nft

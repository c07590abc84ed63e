// libFuzzer target for the media relay's call table, driven the way the network drives it: the input is a
// script of control messages (ng datagrams and rtpproxy commands, decoded by the real codecs) and media
// packets from arbitrary sources, with the clock moving forward. Invariants: every socket the table opened
// is closed once its call ends, no two open sockets share a port, packets are only ever sent out of open
// sockets, and clearing the table closes everything. With a kernel forwarder (odd-sized inputs): a flow
// handed to the kernel arrives on an open socket at that socket's address and leaves from another open
// socket's address, no flow is removed that was not installed, and none outlives its call.

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "relay/address.hpp"
#include "relay/call_table.hpp"
#include "relay/control.hpp"
#include "relay/ng_control.hpp"
#include "relay/rtpproxy_control.hpp"

namespace {

using namespace sg;
using namespace std::chrono_literals;

class Sockets : public relay::MediaSockets {
public:
    std::optional<Pair> open(const relay::Address& local) override {
        if (local.port % 7 == 3) return std::nullopt;  // some ports are held by another program
        for (const std::uint16_t port : {local.port, static_cast<std::uint16_t>(local.port + 1U)}) {
            const auto key = std::make_pair(relay::ip_to_string(local), port);
            if (!bound.insert(key).second) __builtin_trap();  // bound twice
        }
        const Pair pair{next, next + 1};
        open_ids[next] = local;
        relay::Address rtcp = local;
        rtcp.port = static_cast<std::uint16_t>(local.port + 1U);
        open_ids[next + 1] = rtcp;
        next += 2;
        return pair;
    }
    void close(std::uint32_t id) override {
        const auto it = open_ids.find(id);
        if (it == open_ids.end()) __builtin_trap();  // closed twice, or never opened
        bound.erase(std::make_pair(relay::ip_to_string(it->second), it->second.port));
        open_ids.erase(it);
    }
    std::map<std::uint32_t, relay::Address> open_ids;
    std::set<std::pair<std::string, std::uint16_t>> bound;
    std::uint32_t next = 1;
};

class Kernel : public relay::KernelForwarder {
public:
    explicit Kernel(const Sockets& sockets) : sockets_(sockets) {}
    void install(const relay::KernelFlow& flow) override {
        const auto in = sockets_.open_ids.find(flow.socket_id);
        if (in == sockets_.open_ids.end() || !(in->second == flow.local)) __builtin_trap();
        bool out_open = false;
        for (const auto& [id, address] : sockets_.open_ids)
            out_open = out_open || (id != flow.socket_id && address == flow.out_local);
        if (!out_open || flow.source.family != flow.local.family ||
            flow.destination.family != flow.out_local.family)
            __builtin_trap();
        flows[flow.socket_id] = flow;
    }
    void remove(std::uint32_t socket_id) override {
        if (flows.erase(socket_id) != 1) __builtin_trap();
    }
    std::vector<relay::KernelCount> read(std::span<const std::uint32_t> socket_ids) override {
        std::vector<relay::KernelCount> out;
        for (const auto id : socket_ids)
            if (flows.count(id) == 0)
                __builtin_trap();  // the table asked for a flow it never installed
            else
                out.push_back({id, counted += 3, counted * 100});
        return out;
    }
    std::map<std::uint32_t, relay::KernelFlow> flows;
    std::uint64_t counted = 0;

private:
    const Sockets& sockets_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    relay::RelaySettings settings;
    settings.interfaces = {{"", *relay::parse_ip("203.0.113.1")},
                           {"", *relay::parse_ip("2001:db8::1")},
                           {"internal", *relay::parse_ip("10.9.9.9")}};
    settings.port_min = 30000;
    settings.port_max = 30063;
    settings.timeout = 5s;
    settings.silent_timeout = 9s;
    settings.delete_delay = std::chrono::seconds(size % 3);
    Sockets sockets;
    Kernel kernel(sockets);
    const auto ng = relay::make_ng_protocol();
    const auto rtpproxy = relay::make_rtpproxy_protocol(relay::RtpproxyTransport::udp);
    {
        relay::CallTable table(settings, sockets, nullptr, size % 2 == 1 ? &kernel : nullptr);
        auto now = relay::SteadyTime{} + 1000s;
        std::vector<relay::EndedCall> ended;
        // Records are separated by a 0xff byte; the first byte of each says what it is.
        std::string_view input(reinterpret_cast<const char*>(data), size);
        while (!input.empty()) {
            const auto end = input.find('\xff');
            std::string_view record = input.substr(0, end);
            input = end == std::string_view::npos ? std::string_view{} : input.substr(end + 1);
            if (record.empty()) continue;
            const char kind = record[0];
            record.remove_prefix(1);
            if (kind == 'n' || kind == 'r') {
                const auto decoded = (kind == 'n' ? *ng : *rtpproxy).decode(record);
                if (decoded.request) {
                    const auto outcome = table.handle(*decoded.request, now, 0, ended);
                    (void)(kind == 'n' ? *ng : *rtpproxy).encode(decoded.cookie, *decoded.request, outcome);
                }
            } else if (kind == 'p' && record.size() >= 3) {
                // socket id, source host selector, source port; the rest is the packet
                const std::uint32_t id = static_cast<std::uint8_t>(record[0]);
                relay::Address source = *relay::parse_ip(record[1] & 1 ? "198.51.100.7" : "fd00::5");
                source.port = static_cast<std::uint8_t>(record[2]);
                const auto packet = record.substr(3);
                const auto forward = table.on_packet(
                    id, source, Bytes(reinterpret_cast<const std::uint8_t*>(packet.data()), packet.size()),
                    now);
                if (forward && sockets.open_ids.count(forward->socket_id) == 0) __builtin_trap();
            } else if (kind == 'y') {
                // play media to the tag named by the record (call "c"), then where its packets go
                relay::Request play;
                play.op = relay::Op::play_media;
                play.call_id = "c";
                play.speaker_tag = std::string(record);
                std::uint64_t generation = 0;
                if (!table.start_playback(play, generation).error) {
                    const auto target = table.playback_target(play.call_id, play.speaker_tag, generation);
                    if (!target || sockets.open_ids.count(target->socket_id) == 0) __builtin_trap();
                    if (record.size() % 2 == 0)
                        table.end_playback(play.call_id, play.speaker_tag, generation);
                }
            } else if (kind == 'k' && record.size() >= 2) {
                // the kernel reports counts for a socket (cumulative; any value)
                const std::uint32_t id = static_cast<std::uint8_t>(record[0]);
                const std::uint64_t packets = static_cast<std::uint8_t>(record[1]);
                table.kernel_counted(id, packets, packets * 172, now);
            } else if (kind == 't') {
                now += std::chrono::seconds(record.empty() ? 1 : static_cast<std::uint8_t>(record[0]) % 16);
                table.expire(now, 0, ended);
            }
            ended.clear();
        }
        const auto stats = table.statistics();
        if (stats.ports_in_use != sockets.open_ids.size()) __builtin_trap();
        if (table.kernel_flows() != kernel.flows.size()) __builtin_trap();
        table.clear(now, 0, ended, "fuzz");
        if (!sockets.open_ids.empty() || table.calls() != 0 || !kernel.flows.empty()) __builtin_trap();
    }
    if (!sockets.open_ids.empty()) __builtin_trap();
    return 0;
}

// libFuzzer target for TURN's data path: ChannelData framing and the allocation machine fed hostile
// datagrams from the client's 5-tuple and from peers.
//  1. The whole input is parsed as ChannelData; one that parses is written again and must give the same
//     channel and data, and the same octets up to the padding.
//  2. A TurnMachine with one authenticated allocation (Allocate, CreatePermission and ChannelBind 0x4000
//     done with real credentials) is then fed records [kind u8][length u8][octets]: kind selects a client
//     datagram, a peer datagram (from the permitted peer or another), a clock step or an expiry run.
//     What it sends to a peer must be a view into the record; what it delivers to the client must be
//     ChannelData or a Data indication carrying exactly the peer's octets; counters never go backwards.

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "stun/channel_data.hpp"
#include "stun/stun_message.hpp"
#include "turn/turn_machine.hpp"

namespace {

using namespace sg;

void check(bool property) {
    if (!property) __builtin_trap();
}

bool same(Bytes a, Bytes b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

class Ports : public turn::RelayPorts {
public:
    bool supports(stun::Family) const override { return true; }
    std::optional<stun::Address> open(const turn::RelayRequest& request) override {
        auto a = request.family == stun::Family::ipv4 ? stun::make_ipv4(0xC0000263, next++)
                                                      : stun::make_ipv6({0x20, 1}, next++);
        open_ports.insert(a);
        return a;
    }
    bool claim(const stun::Address&) override { return false; }
    void close(const stun::Address& relayed) override { check(open_ports.erase(relayed) == 1); }
    std::uint16_t next = 50000;
    std::set<stun::Address> open_ports;
};

const stun::Address k_client = stun::make_ipv4(0xC6120101, 40000);
const stun::Address k_server = stun::make_ipv4(0xC0000201, 3478);
const stun::Address k_peer = stun::make_ipv4(0xC6130202, 5000);
const stun::Address k_stranger = stun::make_ipv4(0xC6130203, 5000);

void round_trip(Bytes input) {
    const auto cd = stun::parse_channel_data(input);
    if (!cd) return;
    check(stun::valid_channel(cd->channel) && cd->data.size() + 4 <= input.size() &&
          input.size() - 4 - cd->data.size() <= 3);
    std::vector<std::uint8_t> out;
    check(stun::append_channel_data(out, cd->channel, cd->data, false).ok());
    check(same(out, input.first(out.size())));
}

struct Session {
    Ports ports;
    turn::TurnMachine machine;
    turn::Time now = turn::Time{} + std::chrono::hours{100};
    std::string nonce;
    std::uint8_t tid_counter = 0;
    stun::Address relayed;

    static turn::TurnOptions options() {
        turn::TurnOptions o;
        o.realm = "fuzz";
        o.credentials.users["u"] = turn::make_user_keys("u", "fuzz", "p");
        o.credentials.short_term_users["s"] = {'p'};
        return o;
    }
    Session() : machine(options(), ports) {}

    template <class F>
    turn::ClientOutput request(std::uint16_t method, F&& attributes) {
        stun::TransactionId tid{};
        tid[0] = ++tid_counter;
        std::vector<std::uint8_t> out;
        stun::MessageBuilder b(out, stun::Class::request, method, tid);
        attributes(b);
        b.add_text(stun::attr::username, "u");
        b.add_text(stun::attr::realm, "fuzz");
        b.add_text(stun::attr::nonce, nonce);
        b.add_message_integrity(stun::long_term_key("u", "fuzz", "p"));
        request_bytes = std::move(out);
        return machine.on_client_datagram(now, {k_client, k_server}, request_bytes);
    }

    void set_up() {
        auto out = request(stun::method::allocate, [](auto& b) { b.add_requested_transport(17); });
        auto m = stun::parse_message(out.reply);
        check(m.ok());
        nonce = std::string(*stun::read_text(*m->find(stun::attr::nonce)));
        out = request(stun::method::allocate, [](auto& b) { b.add_requested_transport(17); });
        m = stun::parse_message(out.reply);
        check(m.ok() && m->message_class() == stun::Class::success);
        relayed = *stun::read_xor_address(*m->find(stun::attr::xor_relayed_address), m->transaction_id());
        out = request(stun::method::channel_bind, [](auto& b) {
            b.add_channel_number(0x4000);
            b.add_xor_address(stun::attr::xor_peer_address, k_peer);
        });
        check(stun::parse_message(out.reply)->message_class() == stun::Class::success);
    }

    std::vector<std::uint8_t> request_bytes;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const Bytes input(data, size);
    round_trip(input);

    Session s;
    s.set_up();
    std::size_t pos = 0;
    std::uint64_t last_to_peer = 0;
    std::uint64_t last_to_client = 0;
    while (size - pos >= 2) {
        const std::uint8_t kind = data[pos];
        const std::size_t length = std::min<std::size_t>(data[pos + 1], size - pos - 2);
        const Bytes record = input.subspan(pos + 2, length);
        pos += 2 + length;
        switch (kind % 5) {
            case 0: {
                round_trip(record);
                const auto out = s.machine.on_client_datagram(s.now, {k_client, k_server}, record);
                if (out.to_peer) {
                    check(out.to_peer->data.data() >= record.data() &&
                          out.to_peer->data.data() + out.to_peer->data.size() <=
                              record.data() + record.size());
                    check(out.to_peer->relayed == s.relayed);
                }
                if (!out.reply.empty()) check(stun::parse_message(out.reply).ok());
                break;
            }
            case 1:
            case 2: {
                const auto& from = kind % 5 == 1 ? k_peer : k_stranger;
                const auto delivery = s.machine.on_peer_datagram(s.now, s.relayed, from, record);
                if (!delivery) break;
                check(from == k_peer);  // the stranger has no permission
                check(delivery->tuple.client == k_client && delivery->tuple.server == k_server);
                if (const auto cd = stun::parse_channel_data(delivery->data)) {
                    check(cd->channel == 0x4000 && same(cd->data, record));
                } else {
                    const auto m = stun::parse_message(delivery->data);
                    check(m.ok() && m->method() == stun::method::data &&
                          m->message_class() == stun::Class::indication);
                    check(same(m->find(stun::attr::data)->value, record));
                }
                break;
            }
            case 3:
                s.now += std::chrono::seconds{kind};
                break;
            default:
                s.machine.expire(s.now);
                break;
        }
        const auto& stats = s.machine.stats();
        check(stats.to_peer.packets >= last_to_peer && stats.to_client.packets >= last_to_client);
        last_to_peer = stats.to_peer.packets;
        last_to_client = stats.to_client.packets;
        check(s.machine.allocation_count() == s.ports.open_ports.size());
    }
    return 0;
}

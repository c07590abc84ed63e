// RFC 5780 classification through simulated NATs against the real TURN machine with two addresses.

#include "punch/nat_classifier.hpp"

#include <gtest/gtest.h>

#include "sim_nat.hpp"
#include "turn/turn_machine.hpp"

namespace sg::punch {
namespace {

using namespace std::chrono_literals;
using Clock = NatClassifier::Clock;

const stun::Address k_primary = stun::make_ipv4(0xC6120001, 3478);  // 198.18.0.1
const std::uint32_t k_secondary_ip = 0xC6120002;

class NoRelays : public turn::RelayPorts {
public:
    bool supports(stun::Family) const override { return false; }
    std::optional<stun::Address> open(const turn::RelayRequest&) override { return std::nullopt; }
    bool claim(const stun::Address&) override { return false; }
    void close(const stun::Address&) override {}
};

turn::TurnOptions server_options(bool two_addresses) {
    turn::TurnOptions o;
    if (two_addresses)
        o.discovery.push_back(turn::DiscoveryAddresses{
            {stun::make_ipv4(0xC6120001, 0), stun::make_ipv4(k_secondary_ip, 0)}, {3478, 3479}});
    return o;
}

bool is_server(const stun::Address& a) {
    return a.without_port() == k_primary.without_port() ||
           a.without_port() == stun::make_ipv4(k_secondary_ip, 0);
}

NatClass classify(Nat& nat, bool two_addresses = true, std::optional<int>* step = nullptr) {
    NoRelays relays;
    turn::TurnMachine server(server_options(two_addresses), relays);
    NatClassifier classifier(k_primary, 7);
    auto now = Clock::time_point{} + 1h;
    std::vector<Datagram> out;
    classifier.start(now, out);
    for (int i = 0; i < 100 && !classifier.done(); ++i) {
        while (!out.empty()) {
            auto sent = std::move(out);
            out.clear();
            for (const auto& d : sent) {
                EXPECT_TRUE(is_server(d.to));
                const auto source = nat.outbound(d.to);
                const auto answer = server.on_client_datagram(now, turn::FiveTuple{source, d.to}, d.bytes);
                if (answer.reply.empty()) continue;
                const auto from = answer.reply_from.value_or(d.to);
                const auto to = answer.reply_to.value_or(source);
                if (!nat.inbound_allowed(to, from)) continue;
                const std::vector<std::uint8_t> reply(answer.reply.begin(), answer.reply.end());
                const auto m = stun::parse_message(reply);
                EXPECT_TRUE(m);
                EXPECT_TRUE(classifier.on_message(now, *m, out));
            }
        }
        now += 100ms;
        classifier.tick(now, out);
    }
    EXPECT_TRUE(classifier.done());
    if (step != nullptr) *step = classifier.port_step();
    return classifier.result();
}

TEST(NatClassifier, LinuxMasqueradeIsAPortRestrictedCone) {
    Nat nat(0xC6120B02, false);
    const auto c = classify(nat);
    EXPECT_EQ(c.mapping, Behaviour::endpoint_independent);
    EXPECT_EQ(c.filtering, Behaviour::address_and_port_dependent);
    EXPECT_EQ(nat_name(c), "port-restricted cone");
}

TEST(NatClassifier, AddressFilteringIsARestrictedCone) {
    Nat nat(0xC6120B02, false, SimFiltering::address);
    EXPECT_EQ(nat_name(classify(nat)), "restricted cone");
}

TEST(NatClassifier, NoFilteringIsAFullCone) {
    Nat nat(0xC6120B02, false, SimFiltering::none);
    EXPECT_EQ(nat_name(classify(nat)), "full cone");
}

TEST(NatClassifier, FullyRandomIsSymmetric) {
    Nat nat(0xC6120B02, true);
    const auto c = classify(nat);
    EXPECT_EQ(c.mapping, Behaviour::address_and_port_dependent);
    EXPECT_EQ(nat_name(c), "symmetric");
}

TEST(NatClassifier, ASequentialSymmetricNatHasAPortStep) {
    for (const int step : {1, 3}) {
        Nat nat(0xC6120B02, true, SimFiltering::address_and_port, SimAllocation{step, 1});
        std::optional<int> found;
        EXPECT_EQ(nat_name(classify(nat, true, &found)), "symmetric");
        EXPECT_EQ(found, step);
    }
}

TEST(NatClassifier, RandomAllocationAndConesHaveNoPortStep) {
    Nat random(0xC6120B02, true, SimFiltering::address_and_port, SimAllocation{0, 7});
    std::optional<int> found = 99;
    EXPECT_EQ(nat_name(classify(random, true, &found)), "symmetric");
    EXPECT_FALSE(found);
    Nat cone(0xC6120B02, false);
    found = 99;
    (void)classify(cone, true, &found);
    EXPECT_FALSE(found);
}

TEST(NatClassifier, AServerWithOneAddressLeavesItUnknown) {
    Nat nat(0xC6120B02, false);
    const auto c = classify(nat, false);
    EXPECT_EQ(c.mapping, Behaviour::unknown);
    EXPECT_EQ(nat_name(c), "unknown");
}

}  // namespace
}  // namespace sg::punch

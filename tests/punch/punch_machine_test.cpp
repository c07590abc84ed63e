// Two PunchMachines behind simulated NATs, a Rendezvous and a TurnMachine on one "public" server address,
// all driven by one fake clock: the NAT models are the two the integration test builds with nftables.
//   cone       one public port per private socket (endpoint-independent mapping), inbound only from
//              address:port pairs the socket sent to (port-restricted filtering): Linux `masquerade`
//   symmetric  a new public port per destination (`masquerade fully-random`), same filtering

#include "punch/punch_machine.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <map>
#include <set>

#include "punch/rendezvous.hpp"
#include "sim_nat.hpp"
#include "turn/turn_machine.hpp"

namespace sg::punch {
namespace {

using namespace std::chrono_literals;
using Clock = PunchMachine::Clock;

const stun::Address k_server = stun::make_ipv4(0xC6120001, 3478);  // 198.18.0.1

class Relays : public turn::RelayPorts {
public:
    bool supports(stun::Family family) const override { return family == stun::Family::ipv4; }
    std::optional<stun::Address> open(const turn::RelayRequest&) override {
        return stun::make_ipv4(0xC6120001, next_++);
    }
    bool claim(const stun::Address&) override { return false; }
    void close(const stun::Address&) override {}
    std::uint16_t next_ = 50000;
};

struct Side {
    Side(PunchOptions o, Nat n) : machine(std::move(o)), nat(n) {}
    PunchMachine machine;
    Nat nat;
    std::vector<std::vector<std::uint8_t>> received;
};

struct Packet {
    stun::Address from;
    stun::Address to;
    std::vector<std::uint8_t> bytes;
};

class World {
public:
    World(bool a_symmetric, bool b_symmetric, bool with_turn, SimAllocation allocation = {})
        : a_(options("a", "b", with_turn, 1),
             Nat(0xC6120B02, a_symmetric, SimFiltering::address_and_port, allocation)),
          b_(options("b", "a", with_turn, 2),
             Nat(0xC6120C02, b_symmetric, SimFiltering::address_and_port, allocation)),
          turn_(turn_options(), relays_) {}

    static PunchOptions options(std::string id, std::string peer, bool with_turn, std::uint64_t seed) {
        PunchOptions o;
        o.id = std::move(id);
        o.peer = std::move(peer);
        o.rendezvous = k_server;
        if (with_turn) o.turn_server = k_server;
        o.turn_user = "alice";
        o.turn_password = "secret";
        o.seed = seed;
        return o;
    }
    static turn::TurnOptions turn_options() {
        turn::TurnOptions o;
        o.credentials.users["alice"] = turn::make_user_keys("alice", o.realm, "secret");
        return o;
    }

    void send_from(Side& side, std::vector<Datagram>& out) {
        for (auto& d : out)
            wire_.push_back(Packet{side.nat.outbound(d.to), d.to, std::move(d.bytes)});
        out.clear();
    }

    // Runs for `duration` in 10 ms steps (b starts `b_late` after a), delivering every packet at once.
    void run(Clock::duration duration, Clock::duration b_late = 0ms) {
        std::vector<Datagram> out;
        const auto end = now_ + duration;
        if (!a_started_) {
            a_.machine.start(now_, out);
            send_from(a_, out);
            a_started_ = true;
        }
        const auto b_start = now_ + b_late;
        for (; now_ < end; now_ += 10ms) {
            if (!b_started_ && now_ >= b_start) {
                b_.machine.start(now_, out);
                send_from(b_, out);
                b_started_ = true;
            }
            deliver();
            a_.machine.tick(now_, out);
            send_from(a_, out);
            if (b_started_) {
                b_.machine.tick(now_, out);
                send_from(b_, out);
            }
            deliver();
        }
    }

    void deliver() {
        std::vector<Datagram> out;
        while (!wire_.empty()) {
            Packet p = std::move(wire_.front());
            wire_.pop_front();
            if (drop && drop(p)) continue;
            if (p.to.without_port() == k_server.without_port()) {
                server(p);
                continue;
            }
            for (Side* side : {&a_, &b_}) {
                if (!side->nat.owns(p.to) || !side->nat.inbound_allowed(p.to, p.from)) continue;
                if (const auto data = side->machine.on_datagram(now_, p.from, p.bytes, out))
                    side->received.emplace_back(data->begin(), data->end());
                send_from(*side, out);
            }
        }
    }

    void server(const Packet& p) {
        if (p.to == k_server) {
            if (is_register_request(p.bytes)) {
                auto answer = rendezvous_.on_datagram(now_, p.from, p.bytes);
                if (!answer.reply.empty()) wire_.push_back(Packet{k_server, p.from, std::move(answer.reply)});
                return;
            }
            const auto out = turn_.on_client_datagram(now_, turn::FiveTuple{p.from, k_server}, p.bytes);
            if (!out.reply.empty())
                wire_.push_back(Packet{k_server, p.from, {out.reply.begin(), out.reply.end()}});
            if (out.to_peer)
                wire_.push_back(Packet{out.to_peer->relayed,
                                       out.to_peer->peer,
                                       {out.to_peer->data.begin(), out.to_peer->data.end()}});
            return;
        }
        // To a relayed address, from a peer (here: the other relayed address).
        if (const auto to_client = turn_.on_peer_datagram(now_, p.to, p.from, p.bytes))
            wire_.push_back(Packet{to_client->tuple.server,
                                   to_client->tuple.client,
                                   {to_client->data.begin(), to_client->data.end()}});
    }

    void send_data(Side& from, std::string_view text) {
        std::vector<Datagram> out;
        from.machine.send_data({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}, out);
        send_from(from, out);
        deliver();
    }

    Rendezvous& rendezvous() { return rendezvous_; }

    // The classifier's verdict on `side`'s NAT arrives now.
    void own_nat(Side& side, bool symmetric, std::optional<int> step) {
        std::vector<Datagram> out;
        side.machine.set_own_nat(now_, symmetric, step, out);
        send_from(side, out);
        deliver();
    }

    Side a_;
    Side b_;
    std::function<bool(const Packet&)> drop;  // packets lost on the way

private:
    Clock::time_point now_ = Clock::time_point{} + 1h;
    bool a_started_ = false;
    bool b_started_ = false;
    std::deque<Packet> wire_;
    Rendezvous rendezvous_;
    Relays relays_;
    turn::TurnMachine turn_;
};

std::string text_of(const std::vector<std::uint8_t>& bytes) {
    return {bytes.begin(), bytes.end()};
}

TEST(PunchMachine, ConeToConePunchesDirectly) {
    World w(false, false, true);
    w.run(2s, 300ms);  // b registers later: a waits for it
    EXPECT_EQ(w.a_.machine.state(), PunchState::direct);
    EXPECT_EQ(w.b_.machine.state(), PunchState::direct);
    EXPECT_EQ(w.a_.machine.peer_direct(), w.b_.machine.mapped());
    EXPECT_EQ(w.b_.machine.peer_direct(), w.a_.machine.mapped());
    EXPECT_FALSE(w.a_.machine.relayed());
    w.send_data(w.a_, "ts-packet");
    w.send_data(w.b_, "reply");
    ASSERT_EQ(w.b_.received.size(), 1U);
    EXPECT_EQ(text_of(w.b_.received[0]), "ts-packet");
    ASSERT_EQ(w.a_.received.size(), 1U);
    EXPECT_EQ(text_of(w.a_.received[0]), "reply");
}

TEST(PunchMachine, NoDataBeforeAPathIsChosen) {
    World w(false, false, true);
    w.run(100ms);
    std::vector<Datagram> out;
    const std::uint8_t data[] = {1, 2, 3};
    w.a_.machine.send_data(data, out);
    EXPECT_TRUE(out.empty());
    EXPECT_EQ(w.a_.machine.state(), PunchState::registering);
}

TEST(PunchMachine, ConeToSymmetricFallsBackToTurn) {
    World w(false, true, true);
    w.run(3s);
    EXPECT_EQ(w.a_.machine.state(), PunchState::punching);  // within the 3 s deadline after the punch time
    w.run(3s);
    EXPECT_EQ(w.a_.machine.state(), PunchState::relaying);
    EXPECT_EQ(w.b_.machine.state(), PunchState::relaying);
    ASSERT_TRUE(w.a_.machine.relayed());
    EXPECT_EQ(w.a_.machine.peer_relayed(), w.b_.machine.relayed());
    w.send_data(w.a_, "ts-packet");
    w.send_data(w.b_, "reply");
    ASSERT_EQ(w.b_.received.size(), 1U);
    EXPECT_EQ(text_of(w.b_.received[0]), "ts-packet");
    ASSERT_EQ(w.a_.received.size(), 1U);
    EXPECT_EQ(text_of(w.a_.received[0]), "reply");
}

TEST(PunchMachine, SymmetricToSymmetricFallsBackToTurn) {
    World w(true, true, true);
    w.run(6s);
    EXPECT_EQ(w.a_.machine.state(), PunchState::relaying);
    EXPECT_EQ(w.b_.machine.state(), PunchState::relaying);
}

TEST(PunchMachine, WithoutTurnTheFallbackFails) {
    World w(false, true, false);
    w.run(6s);
    EXPECT_EQ(w.a_.machine.state(), PunchState::failed);
    EXPECT_FALSE(w.a_.machine.failure().empty());
}

TEST(PunchMachine, AWrongTurnPasswordFails) {
    World w(false, true, true);
    w.a_.machine = PunchMachine([] {
        auto o = World::options("a", "b", true, 1);
        o.turn_password = "wrong";
        return o;
    }());
    w.run(6s);
    EXPECT_EQ(w.a_.machine.state(), PunchState::failed);
    EXPECT_NE(w.a_.machine.failure().find("401"), std::string_view::npos);
}

// b's acks are lost until its deadline passes: a goes direct, b falls back alone (allocated, waiting for a
// relayed address a never sends). a's next keep-alive probe reaches b, which answers it and probes back, and
// both end on the direct path.
TEST(PunchMachine, ASideThatMissedTheAcksJoinsTheDirectPath) {
    World w(false, false, true);
    const auto b_public = stun::make_ipv4(0xC6120C02, 0);
    w.drop = [&](const Packet& p) {
        if (p.to.without_port() != b_public) return false;
        const auto m = stun::parse_message(p.bytes);
        return m && m->method() == method::probe && m->message_class() == stun::Class::success;
    };
    w.run(5s);
    EXPECT_EQ(w.a_.machine.state(), PunchState::direct);
    EXPECT_EQ(w.b_.machine.state(), PunchState::allocating);
    w.drop = nullptr;
    w.run(6s);
    EXPECT_EQ(w.a_.machine.state(), PunchState::direct);
    EXPECT_EQ(w.b_.machine.state(), PunchState::direct);
    w.send_data(w.b_, "ts-packet");
    ASSERT_EQ(w.a_.received.size(), 1U);
}

// Keep-alives hold an idle direct path; when nothing comes back for 20 s, the side registers again, and a
// probe from the peer (its keep-alive) brings it back to the direct path once the path works again.
TEST(PunchMachine, ASilentPeerSendsTheSideBackToTheRendezvous) {
    World w(false, false, true);
    w.run(2s);
    ASSERT_EQ(w.a_.machine.state(), PunchState::direct);
    w.run(60s);  // idle: only keep-alives
    EXPECT_EQ(w.a_.machine.state(), PunchState::direct);
    const auto a_public = stun::make_ipv4(0xC6120B02, 0);
    w.drop = [&](const Packet& p) { return p.to.without_port() == a_public; };
    w.run(25s);
    EXPECT_NE(w.a_.machine.state(), PunchState::direct);
    // b still hears a: its keep-alive probes are answered, so b stays on the direct path, and the
    // rendezvous no longer knows b (it stopped registering long ago).
    EXPECT_EQ(w.b_.machine.state(), PunchState::direct);
    w.drop = nullptr;
    w.run(6s);  // b's next keep-alive probe is answered and probed back
    EXPECT_EQ(w.a_.machine.state(), PunchState::direct);
    w.send_data(w.b_, "ts-packet");
    EXPECT_EQ(w.a_.received.size(), 1U);
}

TEST(PunchMachine, DataFromStrangersIsNotDelivered) {
    World w(false, false, true);
    w.run(2s);
    ASSERT_EQ(w.a_.machine.state(), PunchState::direct);
    std::vector<Datagram> out;
    const std::uint8_t data[] = {0x47, 1, 2, 3};
    EXPECT_FALSE(w.a_.machine.on_datagram(Clock::now(), stun::make_ipv4(0x01020304, 9), data, out));
    EXPECT_TRUE(w.a_.machine.on_datagram(Clock::now(), *w.a_.machine.peer_direct(), data, out));
}

// b is behind a symmetric NAT that allocates ports one after another; its classifier (here: the test)
// tells it so 2.5 s in, after the punching began. a learns the step from its next Register answer and
// probes b's next ports: one of them is the mapping b's probes to a opened, and both go direct.
TEST(PunchMachine, ConeToSequentialSymmetricPunchesWithPrediction) {
    World w(false, true, true);
    w.run(2500ms);
    EXPECT_EQ(w.a_.machine.state(), PunchState::punching);
    EXPECT_FALSE(w.a_.machine.predicting());
    w.own_nat(w.b_, true, 1);
    w.own_nat(w.a_, false, std::nullopt);
    w.run(1s);
    EXPECT_TRUE(w.a_.machine.predicting());
    EXPECT_EQ(w.a_.machine.peer_port_step(), 1);
    EXPECT_EQ(w.a_.machine.state(), PunchState::direct);
    EXPECT_EQ(w.b_.machine.state(), PunchState::direct);
    // b reached from a port the rendezvous never saw: its mapping towards a.
    ASSERT_TRUE(w.a_.machine.peer_direct());
    EXPECT_NE(*w.a_.machine.peer_direct(), *w.b_.machine.mapped());
    EXPECT_EQ(w.a_.machine.peer_direct()->without_port(), w.b_.machine.mapped()->without_port());
    EXPECT_EQ(w.b_.machine.peer_direct(), w.a_.machine.mapped());
    EXPECT_FALSE(w.a_.machine.relayed());
    w.send_data(w.a_, "ts-packet");
    w.send_data(w.b_, "reply");
    ASSERT_EQ(w.b_.received.size(), 1U);
    ASSERT_EQ(w.a_.received.size(), 1U);
}

// Other hosts behind b's NAT take ports between b's mappings: the window still covers a few of them.
TEST(PunchMachine, PredictionToleratesOtherHostsTakingPorts) {
    World w(false, true, true);
    w.run(50ms);
    for (int i = 0; i < 5; ++i)
        w.b_.nat.skip();
    w.own_nat(w.b_, true, 1);
    w.run(3s);
    EXPECT_EQ(w.a_.machine.state(), PunchState::direct);
    EXPECT_EQ(w.b_.machine.state(), PunchState::direct);
}

// A wrong step (a NAT that allocates at random, as Linux's fully-random does, but looked sequential to
// the classifier by chance): the predicted ports miss, and both fall back to TURN as before.
TEST(PunchMachine, AFailedPredictionFallsBackToTurn) {
    World w(false, true, true, SimAllocation{0, 42});
    w.own_nat(w.b_, true, 1);
    w.run(6s);
    EXPECT_TRUE(w.a_.machine.predicting());
    EXPECT_EQ(w.a_.machine.state(), PunchState::relaying);
    EXPECT_EQ(w.b_.machine.state(), PunchState::relaying);
}

// Two symmetric NATs: each side's probes to a predicted window would open a mapping per port, so neither
// predicts, and they relay.
TEST(PunchMachine, TwoSymmetricSidesDoNotPredict) {
    World w(true, true, true);
    w.own_nat(w.a_, true, 1);
    w.own_nat(w.b_, true, 1);
    w.run(6s);
    EXPECT_EQ(w.a_.machine.peer_port_step(), 1);
    EXPECT_FALSE(w.a_.machine.predicting());
    EXPECT_FALSE(w.b_.machine.predicting());
    EXPECT_EQ(w.a_.machine.state(), PunchState::relaying);
    EXPECT_EQ(w.b_.machine.state(), PunchState::relaying);
}

TEST(PunchMachine, OnlyASymmetricNatAnnouncesAStep) {
    World w(false, false, true);
    w.own_nat(w.a_, false, 1);
    EXPECT_FALSE(w.a_.machine.port_step());
    w.own_nat(w.b_, true, 2);
    EXPECT_EQ(w.b_.machine.port_step(), 2);
}

PunchOptions with_secret(std::string id, std::string peer, std::uint64_t seed, std::string secret) {
    auto o = World::options(std::move(id), std::move(peer), true, seed);
    o.secret = std::move(secret);
    return o;
}

Rendezvous rendezvous_with_secret(std::string secret) {
    RendezvousOptions o;
    o.secret = std::move(secret);
    return Rendezvous(o);
}

bool is_message(const Packet& p, std::uint16_t method) {
    const auto m = stun::parse_message(p.bytes);
    return m && m->method() == method;
}

TEST(PunchMachine, WithTheSecretEverythingIsSignedAndTheSidesPunch) {
    World w(false, false, true);
    w.rendezvous() = rendezvous_with_secret("s3cret");
    w.a_.machine = PunchMachine(with_secret("a", "b", 1, "s3cret"));
    w.b_.machine = PunchMachine(with_secret("b", "a", 2, "s3cret"));
    std::size_t unsigned_messages = 0;
    std::size_t probes = 0;
    w.drop = [&](const Packet& p) {
        if (is_message(p, method::register_) || is_message(p, method::probe)) {
            probes += is_message(p, method::probe) ? 1 : 0;
            const auto m = stun::parse_message(p.bytes);
            if (m->message_class() != stun::Class::error &&
                stun::check_integrity(*m, secret_key("s3cret")) != stun::Integrity::ok)
                ++unsigned_messages;
        }
        return false;
    };
    w.run(2s, 300ms);
    EXPECT_EQ(w.a_.machine.state(), PunchState::direct);
    EXPECT_EQ(w.b_.machine.state(), PunchState::direct);
    EXPECT_GT(probes, 0U);
    EXPECT_EQ(unsigned_messages, 0U);
    EXPECT_EQ(w.rendezvous().stats().unauthorized, 0U);
}

TEST(PunchMachine, AWrongSecretIsRefusedAndTheRunFails) {
    World w(false, false, true);
    w.rendezvous() = rendezvous_with_secret("s3cret");
    w.a_.machine = PunchMachine(with_secret("a", "b", 1, "guess"));
    w.b_.machine = PunchMachine(with_secret("b", "a", 2, "s3cret"));
    w.run(2s);
    EXPECT_EQ(w.a_.machine.state(), PunchState::failed);
    EXPECT_NE(w.a_.machine.failure().find("401"), std::string_view::npos);
    EXPECT_GE(w.rendezvous().stats().unauthorized, 1U);
    // b never learns a's address: a was never registered.
    EXPECT_EQ(w.b_.machine.state(), PunchState::registering);
    EXPECT_FALSE(w.b_.machine.peer_mapped());
}

TEST(PunchMachine, NoSecretAtTheRendezvousIsRefusedToo) {
    World w(false, false, true);
    w.rendezvous() = rendezvous_with_secret("s3cret");
    w.run(1s);
    EXPECT_EQ(w.a_.machine.state(), PunchState::failed);
    EXPECT_NE(w.a_.machine.failure().find("401"), std::string_view::npos);
}

TEST(PunchMachine, ASecretAgainstARendezvousWithoutOneFails) {
    World w(false, false, true);
    w.a_.machine = PunchMachine(with_secret("a", "b", 1, "s3cret"));
    w.run(1s);
    EXPECT_EQ(w.a_.machine.state(), PunchState::failed);
    EXPECT_NE(w.a_.machine.failure().find("does not authenticate"), std::string_view::npos);
}

TEST(PunchMachine, UnsignedProbesAndUnknownAnswersAreIgnoredWithASecret) {
    PunchMachine m(with_secret("a", "b", 1, "s3cret"));
    std::vector<Datagram> out;
    const auto now = Clock::time_point{} + 1h;
    m.start(now, out);
    ASSERT_EQ(out.size(), 1U);
    const auto from = stun::make_ipv4(0x01020304, 9);
    // An unsigned probe from "b" gets no ack.
    std::vector<std::uint8_t> probe;
    build_probe(probe, stun::TransactionId{3}, "b", "a");
    out.clear();
    (void)m.on_datagram(now, from, probe, out);
    EXPECT_TRUE(out.empty());
    // A signed one does.
    probe.clear();
    build_probe(probe, stun::TransactionId{4}, "b", "a", secret_key("s3cret"));
    (void)m.on_datagram(now, from, probe, out);
    EXPECT_FALSE(out.empty());
    // A signed answer to a request we never sent changes nothing.
    std::vector<std::uint8_t> answer;
    build_register_answer(answer, stun::TransactionId{5},
                          RegisterAnswer{from, from, 0, std::nullopt, std::nullopt}, secret_key("s3cret"));
    (void)m.on_datagram(now, k_server, answer, out);
    EXPECT_EQ(m.state(), PunchState::registering);
    EXPECT_FALSE(m.mapped());
}

}  // namespace
}  // namespace sg::punch

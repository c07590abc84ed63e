// The TURN client against the real TURN machine (sg_turn), with an injected clock.

#include "punch/turn_client.hpp"

#include <gtest/gtest.h>

#include "stun/channel_data.hpp"
#include "turn/turn_machine.hpp"

namespace sg::punch {
namespace {

using namespace std::chrono_literals;
using Clock = TurnClient::Clock;

const stun::Address k_client = stun::make_ipv4(0xC6120B02, 40000);
const stun::Address k_server = stun::make_ipv4(0xC6120001, 3478);
const stun::Address k_peer = stun::make_ipv4(0xC6120001, 50123);

class Relays : public turn::RelayPorts {
public:
    bool supports(stun::Family family) const override { return family == stun::Family::ipv4; }
    std::optional<stun::Address> open(const turn::RelayRequest&) override {
        return stun::make_ipv4(0xC6120001, 50000);
    }
    bool claim(const stun::Address&) override { return false; }
    void close(const stun::Address&) override {}
};

class TurnClientTest : public ::testing::Test {
protected:
    TurnClientTest() : server_(options(), relays_) {}

    static turn::TurnOptions options() {
        turn::TurnOptions o;
        o.credentials.users["alice"] = turn::make_user_keys("alice", o.realm, "secret");
        o.nonce_lifetime = 60s;
        return o;
    }

    // Delivers what the client sent to the server and the server's answers back, until both are quiet.
    void exchange(TurnClient& client, std::vector<std::vector<std::uint8_t>>& out) {
        while (!out.empty()) {
            auto sent = std::move(out);
            out.clear();
            for (const auto& datagram : sent) {
                const auto answer =
                    server_.on_client_datagram(now_, turn::FiveTuple{k_client, k_server}, datagram);
                if (answer.reply.empty()) continue;
                const std::vector<std::uint8_t> reply(answer.reply.begin(), answer.reply.end());
                const auto m = stun::parse_message(reply);
                ASSERT_TRUE(m);
                EXPECT_TRUE(client.on_message(now_, *m, out));
            }
        }
    }

    static std::string o_realm() { return turn::TurnOptions{}.realm; }

    Relays relays_;
    turn::TurnMachine server_;
    Clock::time_point now_ = Clock::time_point{} + 1h;
};

TEST_F(TurnClientTest, AllocatesAnswersTheChallengeAndBindsAChannel) {
    TurnClient client("alice", "secret", 1);
    std::vector<std::vector<std::uint8_t>> out;
    client.start(now_, out);
    client.bind(now_, k_peer, out);  // before the allocation: bound once it succeeds
    exchange(client, out);
    EXPECT_EQ(client.state(), TurnClient::State::allocated);
    EXPECT_EQ(client.relayed(), stun::make_ipv4(0xC6120001, 50000));
    EXPECT_TRUE(client.bound());

    // Data goes to the peer through the channel, and the peer's data comes back out of it.
    std::vector<std::uint8_t> wrapped;
    const std::uint8_t payload[] = {0x47, 0x40, 0x11, 0x10};
    client.wrap(payload, wrapped);
    const auto to_peer = server_.on_client_datagram(now_, turn::FiveTuple{k_client, k_server}, wrapped);
    ASSERT_TRUE(to_peer.to_peer);
    EXPECT_EQ(to_peer.to_peer->peer, k_peer);
    const auto back = server_.on_peer_datagram(now_, *client.relayed(), k_peer, payload);
    ASSERT_TRUE(back);
    const std::vector<std::uint8_t> datagram(back->data.begin(), back->data.end());
    const auto data = client.unwrap(datagram);
    ASSERT_TRUE(data);
    EXPECT_EQ(std::vector<std::uint8_t>(data->begin(), data->end()),
              std::vector<std::uint8_t>(std::begin(payload), std::end(payload)));
}

TEST_F(TurnClientTest, TakesTheSha256KeyAndHidesTheUserWhenTheServerOffers) {
    TurnClient client("alice", "secret", 1);
    std::vector<std::vector<std::uint8_t>> out;
    client.start(now_, out);
    ASSERT_EQ(out.size(), 1u);
    const auto challenge = server_.on_client_datagram(now_, turn::FiveTuple{k_client, k_server}, out[0]);
    const std::vector<std::uint8_t> reply(challenge.reply.begin(), challenge.reply.end());
    out.clear();
    ASSERT_TRUE(client.on_message(now_, *stun::parse_message(reply), out));
    ASSERT_EQ(out.size(), 1u);
    const auto request = stun::parse_message(out[0]);
    ASSERT_TRUE(request);
    // RFC 8489 §9.2.3: our server's nonce announces both features and its 401 offers SHA-256.
    EXPECT_FALSE(request->has(stun::attr::username));
    ASSERT_TRUE(request->has(stun::attr::userhash));
    EXPECT_EQ(*stun::read_password_algorithm(*request->find(stun::attr::password_algorithm)),
              stun::password_algorithm_sha256);
    EXPECT_TRUE(request->has(stun::attr::password_algorithms));
    EXPECT_FALSE(request->has(stun::attr::message_integrity));
    EXPECT_EQ(stun::check_integrity(*request, stun::long_term_key_sha256("alice", o_realm(), "secret")),
              stun::Integrity::ok);
    exchange(client, out);
    EXPECT_EQ(client.state(), TurnClient::State::allocated);
}

TEST_F(TurnClientTest, RefreshesBeforeTheAllocationAndPermissionLapse) {
    TurnClient client("alice", "secret", 1);
    std::vector<std::vector<std::uint8_t>> out;
    client.start(now_, out);
    client.bind(now_, k_peer, out);
    exchange(client, out);
    // 700 s in 10 s steps: the nonce goes stale every minute (438 answered with the fresh one), the
    // permission (300 s) and the allocation (600 s) would have lapsed without the client's refreshes.
    for (int i = 0; i < 70; ++i) {
        now_ += 10s;
        server_.expire(now_);
        client.tick(now_, out);
        exchange(client, out);
    }
    EXPECT_EQ(client.state(), TurnClient::State::allocated);
    EXPECT_EQ(server_.allocation_count(), 1U);
    const std::uint8_t payload[] = {1, 2, 3};
    std::vector<std::uint8_t> wrapped;
    client.wrap(payload, wrapped);
    EXPECT_TRUE(server_.on_client_datagram(now_, turn::FiveTuple{k_client, k_server}, wrapped).to_peer);
}

TEST_F(TurnClientTest, RetransmitsThenGivesUp) {
    TurnClient client("alice", "secret", 1);
    std::vector<std::vector<std::uint8_t>> out;
    client.start(now_, out);
    ASSERT_EQ(out.size(), 1U);
    const auto first = out[0];
    out.clear();
    client.tick(now_ + 100ms, out);
    EXPECT_TRUE(out.empty());  // not yet
    for (int i = 1; i < 8; ++i) {
        client.tick(now_ + i * 500ms, out);
        ASSERT_EQ(out.size(), static_cast<std::size_t>(i));
        EXPECT_EQ(out.back(), first);  // the same request, the same transaction
    }
    client.tick(now_ + 8 * 500ms, out);
    EXPECT_EQ(client.state(), TurnClient::State::failed);
    EXPECT_EQ(client.failure(), "TURN server did not answer");
}

TEST_F(TurnClientTest, AnswersFromElsewhereAreIgnored) {
    TurnClient client("alice", "secret", 1);
    std::vector<std::vector<std::uint8_t>> out;
    client.start(now_, out);
    out.clear();
    std::vector<std::uint8_t> stranger;
    stun::MessageBuilder b(stranger, stun::Class::success, stun::method::allocate, stun::TransactionId{9});
    b.add_xor_address(stun::attr::xor_relayed_address, k_peer);
    const auto m = stun::parse_message(stranger);
    ASSERT_TRUE(m);
    EXPECT_FALSE(client.on_message(now_, *m, out));
    EXPECT_EQ(client.state(), TurnClient::State::allocating);
}

TEST_F(TurnClientTest, AWrongPasswordFails) {
    TurnClient client("alice", "wrong", 1);
    std::vector<std::vector<std::uint8_t>> out;
    client.start(now_, out);
    exchange(client, out);
    EXPECT_EQ(client.state(), TurnClient::State::failed);
    EXPECT_EQ(client.failure(), "TURN refused the credentials (401)");
}

}  // namespace
}  // namespace sg::punch

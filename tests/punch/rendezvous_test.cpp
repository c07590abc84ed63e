#include "punch/rendezvous.hpp"

#include <gtest/gtest.h>

namespace sg::punch {
namespace {

using namespace std::chrono_literals;
using Clock = Rendezvous::Clock;

const stun::Address k_a = stun::make_ipv4(0xC6120B02, 40000);
const stun::Address k_b = stun::make_ipv4(0xC6120C02, 50000);

std::vector<std::uint8_t> reg(std::string_view id, std::string_view peer,
                              std::optional<stun::Address> relayed = std::nullopt) {
    std::vector<std::uint8_t> bytes;
    build_register(bytes, stun::TransactionId{7}, RegisterRequest{id, peer, relayed, std::nullopt});
    return bytes;
}

RegisterAnswer answer_of(const Rendezvous::Answer& answer) {
    const auto m = stun::parse_message(answer.reply);
    EXPECT_TRUE(m);
    const auto a = read_register_answer(*m);
    EXPECT_TRUE(a) << a.error();
    return *a;
}

TEST(Rendezvous, PairsTwoClientsThatNameEachOther) {
    Rendezvous r;
    const auto t0 = Clock::time_point{} + 1h;
    const auto first = r.on_datagram(t0, k_a, reg("a", "b"));
    EXPECT_FALSE(first.paired);
    const auto alone = answer_of(first);
    EXPECT_EQ(alone.mapped, k_a);
    EXPECT_FALSE(alone.peer_mapped);

    const auto second = r.on_datagram(t0 + 100ms, k_b, reg("b", "a"));
    ASSERT_TRUE(second.paired);
    const auto b = answer_of(second);
    EXPECT_EQ(b.mapped, k_b);
    EXPECT_EQ(b.peer_mapped, k_a);
    EXPECT_EQ(b.delay_ms, 1000U);

    // The first client hears of it on its next registration, with the same punch time.
    const auto a = answer_of(r.on_datagram(t0 + 350ms, k_a, reg("a", "b")));
    EXPECT_EQ(a.peer_mapped, k_b);
    EXPECT_EQ(a.delay_ms, 750U);
    EXPECT_EQ(r.stats().pairings, 1U);
    // Past the punch time the delay is 0, never negative.
    EXPECT_EQ(answer_of(r.on_datagram(t0 + 5s, k_a, reg("a", "b"))).delay_ms, 0U);
}

TEST(Rendezvous, ANameForSomeoneElseDoesNotPair) {
    Rendezvous r;
    const auto t0 = Clock::time_point{} + 1h;
    (void)r.on_datagram(t0, k_a, reg("a", "b"));
    EXPECT_FALSE(answer_of(r.on_datagram(t0, k_b, reg("b", "c"))).peer_mapped);
}

TEST(Rendezvous, RelayedAddressesAreExchanged) {
    Rendezvous r;
    const auto t0 = Clock::time_point{} + 1h;
    const auto relayed = stun::make_ipv4(0xC6120001, 50002);
    (void)r.on_datagram(t0, k_a, reg("a", "b", relayed));
    EXPECT_EQ(answer_of(r.on_datagram(t0, k_b, reg("b", "a"))).peer_relayed, relayed);
}

TEST(Rendezvous, APortStepReachesThePeerEvenWhenAnnouncedLate) {
    Rendezvous r;
    const auto t0 = Clock::time_point{} + 1h;
    const auto with_step = [](std::string_view id, std::string_view peer, int step) {
        std::vector<std::uint8_t> bytes;
        build_register(bytes, stun::TransactionId{8}, RegisterRequest{id, peer, std::nullopt, step});
        return bytes;
    };
    (void)r.on_datagram(t0, k_a, reg("a", "b"));
    EXPECT_FALSE(answer_of(r.on_datagram(t0, k_b, reg("b", "a"))).peer_port_step);
    // a's classifier found a sequential symmetric NAT after the pairing: its next Register says so.
    (void)r.on_datagram(t0 + 3s, k_a, with_step("a", "b", 2));
    const auto b = answer_of(r.on_datagram(t0 + 3s, k_b, reg("b", "a")));
    EXPECT_EQ(b.peer_port_step, 2);
    EXPECT_EQ(b.peer_mapped, k_a);  // the same pairing, not a new one
    EXPECT_EQ(r.stats().pairings, 1U);
}

TEST(Rendezvous, EntriesExpire) {
    Rendezvous r;
    const auto t0 = Clock::time_point{} + 1h;
    (void)r.on_datagram(t0, k_a, reg("a", "b"));
    EXPECT_EQ(r.size(), 1U);
    EXPECT_FALSE(answer_of(r.on_datagram(t0 + 31s, k_b, reg("b", "a"))).peer_mapped);
    r.expire(t0 + 31s);
    EXPECT_EQ(r.size(), 1U);  // b's, fresh
    r.expire(t0 + 62s);
    EXPECT_EQ(r.size(), 0U);
}

TEST(Rendezvous, TableIsBounded) {
    Rendezvous r(RendezvousOptions{2, 30s, 1s, {}});
    const auto t0 = Clock::time_point{} + 1h;
    (void)r.on_datagram(t0, k_a, reg("a", "b"));
    (void)r.on_datagram(t0, k_a, reg("c", "d"));
    const auto full = r.on_datagram(t0, k_a, reg("e", "f"));
    const auto m = stun::parse_message(full.reply);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->message_class(), stun::Class::error);
    EXPECT_EQ(r.size(), 2U);
    EXPECT_EQ(r.stats().refused, 1U);
    // A refresh of a known entry still works.
    EXPECT_EQ(answer_of(r.on_datagram(t0, k_a, reg("a", "b"))).mapped, k_a);
}

TEST(Rendezvous, BadRequestsGet400AndOtherDatagramsNothing) {
    Rendezvous r;
    const auto t0 = Clock::time_point{} + 1h;
    const auto bad = r.on_datagram(t0, k_a, reg("a b", "c"));
    const auto m = stun::parse_message(bad.reply);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->message_class(), stun::Class::error);
    const std::vector<std::uint8_t> junk(40, 0x47);
    EXPECT_TRUE(r.on_datagram(t0, k_a, junk).reply.empty());
    EXPECT_EQ(r.size(), 0U);
}

TEST(Rendezvous, AMovedClientGetsANewPunchTime) {
    Rendezvous r;
    const auto t0 = Clock::time_point{} + 1h;
    (void)r.on_datagram(t0, k_a, reg("a", "b"));
    (void)r.on_datagram(t0, k_b, reg("b", "a"));
    auto moved = k_a;
    moved.port = 40404;
    const auto again = r.on_datagram(t0 + 10s, moved, reg("a", "b"));
    EXPECT_TRUE(again.paired);
    EXPECT_EQ(answer_of(again).delay_ms, 1000U);
    EXPECT_EQ(answer_of(r.on_datagram(t0 + 10s, k_b, reg("b", "a"))).peer_mapped, moved);
}

std::vector<std::uint8_t> signed_reg(std::string_view id, std::string_view peer, std::string_view secret) {
    std::vector<std::uint8_t> bytes;
    build_register(bytes, stun::TransactionId{9}, RegisterRequest{id, peer, std::nullopt, std::nullopt},
                   secret_key(secret));
    return bytes;
}

std::uint16_t error_code_of(const Rendezvous::Answer& answer) {
    const auto m = stun::parse_message(answer.reply);
    if (!m || m->message_class() != stun::Class::error) return 0;
    const auto* e = m->find(stun::attr::error_code);
    const auto code = e != nullptr ? stun::read_error_code(*e) : Result<stun::ErrorCode>(fail(""));
    return code ? code->code : 0;
}

TEST(Rendezvous, WithASecretOnlySignedRegistrationsAreTaken) {
    RendezvousOptions options;
    options.secret = "s3cret";
    Rendezvous r(options);
    const auto t0 = Clock::time_point{} + 1h;
    const auto plain = r.on_datagram(t0, k_a, reg("a", "b"));
    EXPECT_EQ(error_code_of(plain), 401);
    EXPECT_EQ(plain.unauthorized, "unsigned");
    const auto wrong = r.on_datagram(t0, k_a, signed_reg("a", "b", "guess"));
    EXPECT_EQ(error_code_of(wrong), 401);
    EXPECT_EQ(wrong.unauthorized, "wrong key");
    EXPECT_EQ(r.size(), 0U);  // nothing registered, nothing learnt
    EXPECT_EQ(r.stats().unauthorized, 2U);
    EXPECT_EQ(r.stats().registrations, 0U);

    (void)r.on_datagram(t0, k_a, signed_reg("a", "b", "s3cret"));
    const auto good = r.on_datagram(t0, k_b, signed_reg("b", "a", "s3cret"));
    EXPECT_EQ(error_code_of(good), 0);
    EXPECT_TRUE(good.unauthorized.empty());
    // The answer is signed with the same secret, so the client can trust the peer's address in it.
    const auto m = stun::parse_message(good.reply);
    ASSERT_TRUE(m);
    EXPECT_EQ(stun::check_integrity(*m, secret_key("s3cret")), stun::Integrity::ok);
    EXPECT_TRUE(m->has(stun::attr::message_integrity_sha256));
    EXPECT_EQ(answer_of(good).peer_mapped, k_a);
    EXPECT_EQ(r.stats().pairings, 1U);
}

TEST(Rendezvous, WithoutASecretAnswersAreNotSigned) {
    Rendezvous r;
    const auto t0 = Clock::time_point{} + 1h;
    // A signed request is taken too (the server has no key to check it with).
    const auto answer = r.on_datagram(t0, k_a, signed_reg("a", "b", "s3cret"));
    const auto m = stun::parse_message(answer.reply);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->message_class(), stun::Class::success);
    EXPECT_FALSE(m->has(stun::attr::message_integrity_sha256));
}

}  // namespace
}  // namespace sg::punch

#include "punch/wire.hpp"

#include <gtest/gtest.h>

namespace sg::punch {
namespace {

const stun::TransactionId k_tid{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
const stun::Address k_mapped = stun::make_ipv4(0xC6120B02, 40000);
const stun::Address k_peer = stun::make_ipv4(0xC6120C02, 40001);

TEST(PunchWire, RegisterRoundTrip) {
    std::vector<std::uint8_t> bytes;
    build_register(bytes, k_tid, RegisterRequest{"camera", "viewer", k_peer, std::nullopt});
    EXPECT_TRUE(is_register_request(bytes));
    const auto m = stun::parse_message(bytes);
    ASSERT_TRUE(m);
    const auto r = read_register(*m);
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(r->id, "camera");
    EXPECT_EQ(r->peer, "viewer");
    EXPECT_EQ(r->relayed, k_peer);
}

TEST(PunchWire, AnswerRoundTripWithAndWithoutPeer) {
    for (const bool paired : {false, true}) {
        std::vector<std::uint8_t> bytes;
        RegisterAnswer a{k_mapped, std::nullopt, 0, std::nullopt, std::nullopt};
        if (paired) a = RegisterAnswer{k_mapped, k_peer, 750, k_mapped, std::nullopt};
        build_register_answer(bytes, k_tid, a);
        EXPECT_FALSE(is_register_request(bytes));
        const auto m = stun::parse_message(bytes);
        ASSERT_TRUE(m);
        const auto r = read_register_answer(*m);
        ASSERT_TRUE(r) << r.error();
        EXPECT_EQ(r->mapped, k_mapped);
        EXPECT_EQ(r->peer_mapped.has_value(), paired);
        if (paired) {
            EXPECT_EQ(*r->peer_mapped, k_peer);
            EXPECT_EQ(r->delay_ms, 750U);
            EXPECT_EQ(r->peer_relayed, k_mapped);
        }
    }
}

TEST(PunchWire, ErrorAnswerIsAnError) {
    std::vector<std::uint8_t> bytes;
    build_register_error(bytes, k_tid, 508);
    const auto m = stun::parse_message(bytes);
    ASSERT_TRUE(m);
    const auto r = read_register_answer(*m);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find("508"), std::string_view::npos);
}

TEST(PunchWire, ProbeAndAck) {
    std::vector<std::uint8_t> probe;
    build_probe(probe, k_tid, "a", "b");
    const auto pm = stun::parse_message(probe);
    ASSERT_TRUE(pm);
    const auto p = read_probe(*pm);
    ASSERT_TRUE(p);
    EXPECT_FALSE(p->ack);
    EXPECT_EQ(p->id, "a");
    EXPECT_EQ(p->peer, "b");
    std::vector<std::uint8_t> ack;
    build_probe_ack(ack, k_tid, "b");
    const auto am = stun::parse_message(ack);
    ASSERT_TRUE(am);
    const auto a = read_probe(*am);
    ASSERT_TRUE(a);
    EXPECT_TRUE(a->ack);
    EXPECT_EQ(a->id, "b");
}

TEST(PunchWire, NamesAreChecked) {
    EXPECT_TRUE(valid_name("cam-1.site_A"));
    EXPECT_FALSE(valid_name(""));
    EXPECT_FALSE(valid_name("with space"));
    EXPECT_FALSE(valid_name("quote\""));
    EXPECT_FALSE(valid_name(std::string(65, 'a')));
    EXPECT_TRUE(valid_name(std::string(64, 'a')));
    std::vector<std::uint8_t> bytes;
    build_register(bytes, k_tid, RegisterRequest{"bad name", "viewer", std::nullopt, std::nullopt});
    const auto m = stun::parse_message(bytes);
    ASSERT_TRUE(m);
    EXPECT_FALSE(read_register(*m));
}

TEST(PunchWire, FingerprintIsRequired) {
    std::vector<std::uint8_t> bytes;
    stun::MessageBuilder b(bytes, stun::Class::request, method::register_, k_tid);
    b.add_text(attr::id, "a");
    b.add_text(attr::peer, "b");
    const auto m = stun::parse_message(bytes);
    ASSERT_TRUE(m);
    EXPECT_FALSE(read_register(*m));
}

TEST(PunchWire, SignedMessagesVerifyOnlyWithTheirKey) {
    const auto key = secret_key("s3cret");
    std::vector<std::vector<std::uint8_t>> messages(4);
    build_register(messages[0], k_tid, RegisterRequest{"camera", "viewer", std::nullopt, std::nullopt}, key);
    build_register_answer(messages[1], k_tid,
                          RegisterAnswer{k_mapped, k_peer, 10, std::nullopt, std::nullopt}, key);
    build_probe(messages[2], k_tid, "camera", "viewer", key);
    build_probe_ack(messages[3], k_tid, "viewer", key);
    for (const auto& bytes : messages) {
        const auto m = stun::parse_message(bytes);
        ASSERT_TRUE(m);
        EXPECT_TRUE(m->has(stun::attr::message_integrity_sha256));
        EXPECT_TRUE(stun::fingerprint_ok(*m));
        EXPECT_TRUE(authentic(*m, key));
        EXPECT_FALSE(authentic(*m, secret_key("s3creT")));
        EXPECT_TRUE(authentic(*m, {}));  // no key: nothing to check
    }
    // The readers still read signed messages.
    const auto m = stun::parse_message(messages[0]);
    EXPECT_TRUE(read_register(*m));
    // An unsigned message is not authentic under a key.
    std::vector<std::uint8_t> plain;
    build_probe(plain, k_tid, "camera", "viewer");
    EXPECT_FALSE(authentic(*stun::parse_message(plain), key));
}

TEST(PunchWire, PortStepsRoundTripBothWays) {
    for (const int step : {1, -1, 2, 64, -64}) {
        std::vector<std::uint8_t> bytes;
        build_register(bytes, k_tid, RegisterRequest{"camera", "viewer", std::nullopt, step});
        const auto r = read_register(*stun::parse_message(bytes));
        ASSERT_TRUE(r) << r.error();
        EXPECT_EQ(r->port_step, step);
        bytes.clear();
        build_register_answer(bytes, k_tid, RegisterAnswer{k_mapped, k_peer, 10, std::nullopt, step});
        const auto a = read_register_answer(*stun::parse_message(bytes));
        ASSERT_TRUE(a) << a.error();
        EXPECT_EQ(a->peer_port_step, step);
    }
    // Without the attribute: no step.
    std::vector<std::uint8_t> bytes;
    build_register(bytes, k_tid, RegisterRequest{"camera", "viewer", std::nullopt, std::nullopt});
    EXPECT_FALSE(read_register(*stun::parse_message(bytes))->port_step);
}

TEST(PunchWire, ImpossiblePortStepsAreRefused) {
    for (const int step : {0, 65, -1000}) {
        std::vector<std::uint8_t> bytes;
        build_register(bytes, k_tid, RegisterRequest{"camera", "viewer", std::nullopt, step});
        EXPECT_FALSE(read_register(*stun::parse_message(bytes))) << step;
    }
}

TEST(PunchWire, A401SaysTheSecretIsWrong) {
    std::vector<std::uint8_t> bytes;
    build_register_error(bytes, k_tid, 401);
    const auto r = read_register_answer(*stun::parse_message(bytes));
    ASSERT_FALSE(r);
    EXPECT_NE(std::string_view(r.error()).find("--rendezvous-secret"), std::string_view::npos);
}

}  // namespace
}  // namespace sg::punch

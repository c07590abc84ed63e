#include "turn/turn_machine.hpp"

#include <gtest/gtest.h>

#include <set>

#include "stun/channel_data.hpp"

namespace sg::turn {
namespace {

using namespace std::chrono_literals;

class FakePorts : public RelayPorts {
public:
    bool supports(stun::Family family) const override { return family == stun::Family::ipv4 || ipv6; }
    std::optional<stun::Address> open(const RelayRequest& request) override {
        if (open_ports.size() >= capacity) return std::nullopt;
        last_request = request;
        const bool even = request.even_port || request.reserve_next;
        const auto port = static_cast<std::uint16_t>(next++ * 2 + (even ? 0 : 1));
        auto a = request.family == stun::Family::ipv4
                     ? stun::make_ipv4(0xC0000263, port)
                     : stun::make_ipv6({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, port);
        open_ports.insert(a);
        if (request.reserve_next) {
            auto held = a;
            ++held.port;
            ++next;
            open_ports.insert(held);
            held_ports.insert(held);
        }
        return a;
    }
    bool claim(const stun::Address& reserved) override { return held_ports.erase(reserved) == 1; }
    void close(const stun::Address& relayed) override {
        EXPECT_EQ(open_ports.erase(relayed), 1U);
        held_ports.erase(relayed);
        ++closed;
    }
    bool ipv6 = false;
    std::size_t capacity = 100;
    std::uint16_t next = 25000;
    std::set<stun::Address> open_ports;
    std::set<stun::Address> held_ports;  // reserved, not claimed
    RelayRequest last_request;
    int closed = 0;
};

const stun::Address k_client = stun::make_ipv4(0xC6120101, 40000);  // 198.18.1.1
const stun::Address k_server = stun::make_ipv4(0xC0000201, 3478);   // 192.0.2.1
const stun::Address k_peer = stun::make_ipv4(0xC6130202, 5000);     // 198.19.2.2
const stun::Address k_peer_other_port = stun::make_ipv4(0xC6130202, 5001);
constexpr std::string_view k_realm = "test.realm";

Bytes text_bytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

struct Credentials {
    std::string user = "alice";
    std::string password = "secret";
    std::string realm{k_realm};
    std::string nonce;
    // RFC 8489's newer options: the user hidden in USERHASH, a password algorithm picked (with the offered
    // list repeated as `offered`), MESSAGE-INTEGRITY-SHA256 instead of MESSAGE-INTEGRITY.
    bool userhash = false;
    std::optional<std::uint16_t> algorithm;
    std::vector<std::uint16_t> offered{stun::password_algorithm_md5, stun::password_algorithm_sha256};
    bool sha256_integrity = false;
};

class TurnMachineTest : public ::testing::Test {
protected:
    TurnMachineTest() : machine_(make_options(), ports_) {}

    static TurnOptions make_options() {
        TurnOptions o;
        o.realm = std::string(k_realm);
        o.credentials.users["alice"] = make_user_keys("alice", k_realm, "secret");
        o.credentials.users["bob"] = make_user_keys("bob", k_realm, "hunter2");
        o.credentials.short_term_users["ice"] = {'p', 'w'};
        o.max_allocations = 3;
        o.max_allocations_per_user = 2;
        o.nonce_secret[0] = 42;
        return o;
    }

    stun::TransactionId next_tid() {
        stun::TransactionId tid{};
        tid[0] = ++tid_counter_;
        return tid;
    }

    // Builds a request; `attributes` adds the method's own attributes before the credentials.
    template <class F>
    std::vector<std::uint8_t> request(std::uint16_t method, const Credentials* creds, F&& attributes,
                                      stun::TransactionId tid = {}) {
        if (tid == stun::TransactionId{}) tid = next_tid();
        std::vector<std::uint8_t> out;
        stun::MessageBuilder b(out, stun::Class::request, method, tid);
        attributes(b);
        if (creds != nullptr) {
            if (creds->userhash) {
                b.add(stun::attr::userhash, stun::userhash(creds->user, creds->realm));
            } else {
                b.add_text(stun::attr::username, creds->user);
            }
            b.add_text(stun::attr::realm, creds->realm);
            b.add_text(stun::attr::nonce, creds->nonce);
            if (creds->algorithm) {
                b.add_password_algorithms(creds->offered);
                b.add_password_algorithm(*creds->algorithm);
            }
            const bool sha256_key = creds->algorithm == stun::password_algorithm_sha256;
            const auto md5 = stun::long_term_key(creds->user, creds->realm, creds->password);
            const auto sha256 = stun::long_term_key_sha256(creds->user, creds->realm, creds->password);
            const Bytes key = sha256_key ? Bytes(sha256) : Bytes(md5);
            if (creds->sha256_integrity) {
                b.add_message_integrity_sha256(key);
            } else {
                b.add_message_integrity(key);
            }
        }
        b.add_fingerprint();
        return out;
    }

    struct Answer {
        std::vector<std::uint8_t> bytes;
        std::optional<ToPeer> to_peer;
        stun::MessageView view() const { return *stun::parse_message(bytes); }
        std::uint16_t error() const {
            const auto m = stun::parse_message(bytes);
            if (!m || m->message_class() != stun::Class::error) return 0;
            return stun::read_error_code(*m->find(stun::attr::error_code))->code;
        }
        bool success() const {
            const auto m = stun::parse_message(bytes);
            return m && m->message_class() == stun::Class::success;
        }
    };

    Answer send(const std::vector<std::uint8_t>& datagram, const stun::Address& client = k_client) {
        const auto out = machine_.on_client_datagram(now_, FiveTuple{client, k_server}, datagram);
        Answer a{{out.reply.begin(), out.reply.end()}, out.to_peer};
        if (a.to_peer) {  // copy the view's bytes: the datagram goes away
            peer_data_.assign(a.to_peer->data.begin(), a.to_peer->data.end());
            a.to_peer->data = peer_data_;
        }
        return a;
    }

    // Gets a nonce through the 401 challenge.
    Credentials login(std::string user = "alice", std::string password = "secret",
                      const stun::Address& client = k_client) {
        const auto challenge = send(
            request(stun::method::allocate, nullptr, [](auto& b) { b.add_requested_transport(17); }), client);
        EXPECT_EQ(challenge.error(), 401);
        const auto m = challenge.view();
        EXPECT_EQ(*stun::read_text(*m.find(stun::attr::realm)), k_realm);
        Credentials c;
        c.user = std::move(user);
        c.password = std::move(password);
        c.nonce = std::string(*stun::read_text(*m.find(stun::attr::nonce)));
        return c;
    }

    stun::Address allocate(const Credentials& c, const stun::Address& client = k_client) {
        const auto a =
            send(request(stun::method::allocate, &c, [](auto& b) { b.add_requested_transport(17); }), client);
        EXPECT_TRUE(a.success()) << a.error();
        const auto m = a.view();
        EXPECT_EQ(stun::check_integrity(m, stun::long_term_key(c.user, k_realm, c.password)),
                  stun::Integrity::ok);
        EXPECT_TRUE(stun::fingerprint_ok(m));
        EXPECT_EQ(*stun::read_xor_address(*m.find(stun::attr::xor_mapped_address), m.transaction_id()),
                  client);
        return *stun::read_xor_address(*m.find(stun::attr::xor_relayed_address), m.transaction_id());
    }

    Answer permit(const Credentials& c, const stun::Address& peer) {
        return send(request(stun::method::create_permission, &c,
                            [&](auto& b) { b.add_xor_address(stun::attr::xor_peer_address, peer); }));
    }

    Answer bind(const Credentials& c, std::uint16_t channel, const stun::Address& peer) {
        return send(request(stun::method::channel_bind, &c, [&](auto& b) {
            b.add_channel_number(channel);
            b.add_xor_address(stun::attr::xor_peer_address, peer);
        }));
    }

    std::vector<std::uint8_t> send_indication(const stun::Address& peer, std::string_view data) {
        std::vector<std::uint8_t> out;
        stun::MessageBuilder b(out, stun::Class::indication, stun::method::send, next_tid());
        b.add_xor_address(stun::attr::xor_peer_address, peer);
        b.add(stun::attr::data, text_bytes(data));
        return out;
    }

    FakePorts ports_;
    TurnMachine machine_;
    Time now_ = Time{} + 1000h;
    std::uint8_t tid_counter_ = 0;
    std::vector<std::uint8_t> peer_data_;
};

TEST_F(TurnMachineTest, BindingNeedsNoCredentials) {
    const auto a = send(request(stun::method::binding, nullptr, [](auto&) {}));
    ASSERT_TRUE(a.success());
    const auto m = a.view();
    EXPECT_EQ(*stun::read_xor_address(*m.find(stun::attr::xor_mapped_address), m.transaction_id()), k_client);
    EXPECT_EQ(*stun::read_address(*m.find(stun::attr::mapped_address)), k_client);
    EXPECT_TRUE(m.has(stun::attr::fingerprint));
    EXPECT_TRUE(stun::fingerprint_ok(m));
    EXPECT_EQ(machine_.stats().bindings, 1U);
}

TEST_F(TurnMachineTest, UnknownComprehensionRequiredAttributeIs420) {
    const auto a = send(request(stun::method::binding, nullptr, [](auto& b) {
        b.add_u32(0x0031, 1);
        b.add_u32(0xC001, 1);  // comprehension-optional: ignored
    }));
    ASSERT_EQ(a.error(), 420);
    std::array<std::uint16_t, 4> unknown{};
    const auto m = a.view();
    ASSERT_EQ(*stun::read_unknown_attributes(*m.find(stun::attr::unknown_attributes), unknown), 1U);
    EXPECT_EQ(unknown[0], 0x0031);
}

TEST_F(TurnMachineTest, GarbageAndBadFingerprintAreDropped) {
    EXPECT_TRUE(send({1, 2, 3}).bytes.empty());
    auto r = request(stun::method::binding, nullptr, [](auto&) {});
    r.back() ^= 1;
    EXPECT_TRUE(send(r).bytes.empty());
    EXPECT_EQ(machine_.stats().malformed, 2U);
}

TEST_F(TurnMachineTest, AllocateChallengesThenSucceeds) {
    const auto c = login();
    const auto relayed = allocate(c);
    EXPECT_EQ(relayed.family, stun::Family::ipv4);
    EXPECT_EQ(machine_.allocation_count(), 1U);
    EXPECT_EQ(ports_.open_ports.size(), 1U);
}

TEST_F(TurnMachineTest, WrongPasswordUnknownUserAndWrongRealmAre401) {
    auto c = login("alice", "wrong");
    EXPECT_EQ(
        send(request(stun::method::allocate, &c, [](auto& b) { b.add_requested_transport(17); })).error(),
        401);
    c = login("mallory", "secret");
    EXPECT_EQ(
        send(request(stun::method::allocate, &c, [](auto& b) { b.add_requested_transport(17); })).error(),
        401);
    c = login();
    c.realm = "other";
    EXPECT_EQ(
        send(request(stun::method::allocate, &c, [](auto& b) { b.add_requested_transport(17); })).error(),
        401);
    EXPECT_EQ(machine_.allocation_count(), 0U);
    EXPECT_TRUE(ports_.open_ports.empty());
}

TEST_F(TurnMachineTest, ChallengeOffersBothPasswordAlgorithmsInAFeatureNonce) {
    const auto a =
        send(request(stun::method::allocate, nullptr, [](auto& b) { b.add_requested_transport(17); }));
    ASSERT_EQ(a.error(), 401);
    const auto m = a.view();
    EXPECT_TRUE(stun::read_text(*m.find(stun::attr::nonce))->starts_with("obMatJos2wAAA"));
    const auto* offered = m.find(stun::attr::password_algorithms);
    ASSERT_NE(offered, nullptr);
    const std::vector<std::uint8_t> expected{0, 1, 0, 0, 0, 2, 0, 0};  // MD5, SHA-256, no parameters
    EXPECT_EQ(std::vector<std::uint8_t>(offered->value.begin(), offered->value.end()), expected);
}

TEST_F(TurnMachineTest, Sha256PasswordAlgorithmAndIntegrity) {
    auto c = login();
    c.algorithm = stun::password_algorithm_sha256;
    c.sha256_integrity = true;
    const auto a = send(request(stun::method::allocate, &c, [](auto& b) { b.add_requested_transport(17); }));
    ASSERT_TRUE(a.success()) << a.error();
    // Signed as it was asked: MESSAGE-INTEGRITY-SHA256 with the SHA-256 key, no MESSAGE-INTEGRITY.
    const auto m = a.view();
    EXPECT_FALSE(m.has(stun::attr::message_integrity));
    EXPECT_EQ(stun::check_integrity(m, stun::long_term_key_sha256("alice", k_realm, "secret")),
              stun::Integrity::ok);
    EXPECT_EQ(machine_.stats().authenticated_sha256, 1U);
    // The MD5 key under MESSAGE-INTEGRITY-SHA256 works too (the algorithm picks the key, not the HMAC).
    const auto other = stun::make_ipv4(0xC6120103, 40000);
    auto md5 = login("alice", "secret", other);
    md5.sha256_integrity = true;
    allocate(md5, other);
}

TEST_F(TurnMachineTest, BindingWithShortTermCredentialsIsCheckedAndSigned) {
    const std::vector<std::uint8_t> password{'p', 'w'};
    const auto binding = [this](std::string_view user, Bytes key, bool sha256) {
        return send(request(stun::method::binding, nullptr, [&](auto& b) {
            b.add_text(stun::attr::username, user);
            if (sha256) {
                b.add_message_integrity_sha256(key);
            } else {
                b.add_message_integrity(key);
            }
        }));
    };
    for (const bool sha256 : {false, true}) {
        const auto ok = binding("ice", password, sha256);
        ASSERT_TRUE(ok.success()) << ok.error();
        const auto m = ok.view();
        EXPECT_EQ(m.has(stun::attr::message_integrity_sha256), sha256);
        EXPECT_EQ(stun::check_integrity(m, password), stun::Integrity::ok);
        EXPECT_TRUE(m.has(stun::attr::xor_mapped_address));
    }
    // RFC 8489 §9.1.3: a wrong key or an unknown user is 401, unsigned and without REALM or NONCE.
    const std::vector<std::uint8_t> wrong{'x'};
    const auto bad = binding("ice", wrong, false);
    EXPECT_EQ(bad.error(), 401);
    EXPECT_FALSE(bad.view().has(stun::attr::message_integrity));
    EXPECT_FALSE(bad.view().has(stun::attr::nonce));
    EXPECT_EQ(binding("nobody", password, false).error(), 401);
    // MESSAGE-INTEGRITY without USERNAME: 400.
    EXPECT_EQ(
        send(request(stun::method::binding, nullptr, [&](auto& b) { b.add_message_integrity(password); }))
            .error(),
        400);
    // A Binding with long-term credentials (it names a REALM) is checked like any other request.
    auto c = login();
    const auto long_term = send(request(stun::method::binding, &c, [](auto&) {}));
    ASSERT_TRUE(long_term.success()) << long_term.error();
    EXPECT_EQ(stun::check_integrity(long_term.view(), stun::long_term_key("alice", k_realm, "secret")),
              stun::Integrity::ok);
    c.password = "wrong";
    EXPECT_EQ(send(request(stun::method::binding, &c, [](auto&) {})).error(), 401);
}

TEST_F(TurnMachineTest, UserhashStandsForTheUserName) {
    auto c = login();
    c.userhash = true;
    allocate(c);
    EXPECT_EQ(machine_.allocation_count(), 1U);
    EXPECT_EQ(machine_.stats().authenticated_userhash, 1U);
    auto mallory = login("mallory", "secret", stun::make_ipv4(0xC6120103, 40000));
    mallory.userhash = true;
    EXPECT_EQ(send(request(stun::method::allocate, &mallory, [](auto& b) { b.add_requested_transport(17); }),
                   stun::make_ipv4(0xC6120103, 40000))
                  .error(),
              401);
}

TEST_F(TurnMachineTest, PasswordAlgorithmDowngradeOrHalfIsRefused400) {
    auto c = login();
    c.algorithm = stun::password_algorithm_md5;
    c.offered = {stun::password_algorithm_md5};  // SHA-256 stripped from the offer on the way
    EXPECT_EQ(
        send(request(stun::method::allocate, &c, [](auto& b) { b.add_requested_transport(17); })).error(),
        400);
    c = login();
    c.algorithm = 0x0003;  // not offered
    EXPECT_EQ(
        send(request(stun::method::allocate, &c, [](auto& b) { b.add_requested_transport(17); })).error(),
        400);
    c = login();  // PASSWORD-ALGORITHM alone
    const auto alone = send(request(stun::method::allocate, nullptr, [&c](auto& b) {
        b.add_requested_transport(17);
        b.add_text(stun::attr::username, c.user);
        b.add_text(stun::attr::realm, c.realm);
        b.add_text(stun::attr::nonce, c.nonce);
        b.add_password_algorithm(stun::password_algorithm_md5);
        b.add_message_integrity(stun::long_term_key(c.user, c.realm, c.password));
    }));
    EXPECT_EQ(alone.error(), 400);
    // With the SHA-256 algorithm picked, the MD5 key is a wrong password.
    c = login();
    c.algorithm = stun::password_algorithm_sha256;
    const auto md5_key = send(request(stun::method::allocate, nullptr, [&c](auto& b) {
        b.add_requested_transport(17);
        b.add_text(stun::attr::username, c.user);
        b.add_text(stun::attr::realm, c.realm);
        b.add_text(stun::attr::nonce, c.nonce);
        b.add_password_algorithms(c.offered);
        b.add_password_algorithm(stun::password_algorithm_sha256);
        b.add_message_integrity(stun::long_term_key(c.user, c.realm, c.password));
    }));
    EXPECT_EQ(md5_key.error(), 401);
    EXPECT_EQ(machine_.allocation_count(), 0U);
}

TEST_F(TurnMachineTest, PasswordGuessingIsThrottledPerAddress) {
    // make_options() keeps the defaults: 50 failures within 60 s.
    auto wrong = login("alice", "guess");
    const auto allocate_request = [](auto& b) { b.add_requested_transport(17); };
    ASSERT_EQ(TurnOptions{}.max_auth_failures, 50U);
    for (int i = 0; i < 50; ++i)
        ASSERT_EQ(send(request(stun::method::allocate, &wrong, allocate_request)).error(), 401) << i;
    // The 51st try gets no answer, and neither does the right password from that address...
    EXPECT_TRUE(send(request(stun::method::allocate, &wrong, allocate_request)).bytes.empty());
    auto right = login();  // (a request without credentials is still challenged)
    EXPECT_TRUE(send(request(stun::method::allocate, &right, allocate_request)).bytes.empty());
    EXPECT_EQ(machine_.stats().auth_throttled, 2U);
    // ...while another address (same user) is unaffected.
    const auto other = stun::make_ipv4(0xC6120102, 40000);
    allocate(login("alice", "secret", other), other);
    // The window ends: the right password works again.
    now_ += 60s;
    machine_.expire(now_);
    allocate(login());
}

TEST_F(TurnMachineTest, StaleNonceIs438WithAFreshNonce) {
    auto c = login();
    now_ += 601s;
    const auto a = send(request(stun::method::allocate, &c, [](auto& b) { b.add_requested_transport(17); }));
    ASSERT_EQ(a.error(), 438);
    const auto m = a.view();
    c.nonce = std::string(*stun::read_text(*m.find(stun::attr::nonce)));
    allocate(c);
}

TEST_F(TurnMachineTest, NonceFromAnotherClientIsRefused) {
    auto c = login();
    const auto other = stun::make_ipv4(0xC6120102, 40000);
    EXPECT_EQ(send(request(stun::method::allocate, &c, [](auto& b) { b.add_requested_transport(17); }), other)
                  .error(),
              438);
}

TEST_F(TurnMachineTest, MissingCredentialAttributesAre400) {
    const auto a = send(request(stun::method::allocate, nullptr, [](auto& b) {
        b.add_requested_transport(17);
        b.add_message_integrity(text_bytes("k"));
    }));
    EXPECT_EQ(a.error(), 400);
}

TEST_F(TurnMachineTest, AllocateChecksTransportAndAttributes) {
    const auto c = login();
    EXPECT_EQ(send(request(stun::method::allocate, &c, [](auto&) {})).error(), 400);
    EXPECT_EQ(
        send(request(stun::method::allocate, &c, [](auto& b) { b.add_requested_transport(6); })).error(),
        442);
    EXPECT_EQ(send(request(stun::method::allocate, &c,
                           [](auto& b) {
                               b.add_requested_transport(17);
                               b.add_even_port(false);
                               b.add_reservation_token(1);
                           }))
                  .error(),
              400);  // one or the other
    EXPECT_EQ(send(request(stun::method::allocate, &c,
                           [](auto& b) {
                               b.add_requested_transport(17);
                               b.add_reservation_token(1);
                           }))
                  .error(),
              508);
    EXPECT_EQ(send(request(stun::method::allocate, &c,
                           [](auto& b) {
                               b.add_requested_transport(17);
                               b.add_address_family(stun::attr::requested_address_family, stun::Family::ipv6);
                           }))
                  .error(),
              440);
    EXPECT_EQ(machine_.allocation_count(), 0U);
}

TEST_F(TurnMachineTest, RequestedFamilyGivesACrossFamilyRelay) {
    ports_.ipv6 = true;
    const auto c = login();
    const auto a = send(request(stun::method::allocate, &c, [](auto& b) {
        b.add_requested_transport(17);
        b.add_address_family(stun::attr::requested_address_family, stun::Family::ipv6);
    }));
    ASSERT_TRUE(a.success());
    const auto m = a.view();
    EXPECT_EQ(stun::read_xor_address(*m.find(stun::attr::xor_relayed_address), m.transaction_id())->family,
              stun::Family::ipv6);
    // Peers must then be IPv6 (443 for the relay's other family).
    EXPECT_EQ(permit(c, k_peer).error(), 443);
}

TEST_F(TurnMachineTest, EvenPortIsPassedOn) {
    const auto c = login();
    const auto a = send(request(stun::method::allocate, &c, [](auto& b) {
        b.add_requested_transport(17);
        b.add_even_port(false);
    }));
    ASSERT_TRUE(a.success());
    const auto m = a.view();
    EXPECT_EQ(stun::read_xor_address(*m.find(stun::attr::xor_relayed_address), m.transaction_id())->port % 2,
              0);
}

TEST_F(TurnMachineTest, DontFragmentIsPassedOn) {
    const auto c = login();
    ASSERT_TRUE(send(request(stun::method::allocate, &c, [](auto& b) {
                    b.add_requested_transport(17);
                    b.add_empty(stun::attr::dont_fragment);
                })).success());
    EXPECT_TRUE(ports_.last_request.dont_fragment);
}

TEST_F(TurnMachineTest, EvenPortReservationIsTakenWithItsToken) {
    const auto c = login();
    const auto a = send(request(stun::method::allocate, &c, [](auto& b) {
        b.add_requested_transport(17);
        b.add_even_port(true);
    }));
    ASSERT_TRUE(a.success());
    const auto m = a.view();
    const auto relayed =
        *stun::read_xor_address(*m.find(stun::attr::xor_relayed_address), m.transaction_id());
    EXPECT_EQ(relayed.port % 2, 0);
    ASSERT_TRUE(m.has(stun::attr::reservation_token));
    const auto token = *stun::read_reservation_token(*m.find(stun::attr::reservation_token));
    EXPECT_EQ(machine_.reservation_count(), 1U);
    EXPECT_EQ(ports_.held_ports.size(), 1U);

    // The RTCP allocation, from another port of the client, takes the held port with the token.
    const auto rtcp_client = stun::make_ipv4(0xC6120101, 40001);
    const auto c2 = login("alice", "secret", rtcp_client);
    const auto with_token = [token](auto& b) {
        b.add_requested_transport(17);
        b.add_reservation_token(token);
    };
    const auto second = send(request(stun::method::allocate, &c2, with_token), rtcp_client);
    ASSERT_TRUE(second.success()) << second.error();
    const auto m2 = second.view();
    auto expected = relayed;
    ++expected.port;
    EXPECT_EQ(*stun::read_xor_address(*m2.find(stun::attr::xor_relayed_address), m2.transaction_id()),
              expected);
    EXPECT_TRUE(ports_.held_ports.empty());
    EXPECT_EQ(machine_.reservation_count(), 0U);
    // A token is good once.
    const auto third_client = stun::make_ipv4(0xC6120101, 40002);
    const auto c3 = login("alice", "secret", third_client);
    EXPECT_EQ(send(request(stun::method::allocate, &c3, with_token), third_client).error(), 508);
}

TEST_F(TurnMachineTest, UnclaimedReservationIsReleasedAfter30Seconds) {
    const auto c = login();
    const auto a = send(request(stun::method::allocate, &c, [](auto& b) {
        b.add_requested_transport(17);
        b.add_even_port(true);
    }));
    ASSERT_TRUE(a.success());
    const auto m = a.view();
    const auto token = *stun::read_reservation_token(*m.find(stun::attr::reservation_token));
    now_ += 29s;
    machine_.expire(now_);
    EXPECT_EQ(ports_.held_ports.size(), 1U);
    now_ += 1s;
    machine_.expire(now_);
    EXPECT_TRUE(ports_.held_ports.empty());
    EXPECT_EQ(ports_.open_ports.size(), 1U);  // the allocation's own port stays
    const auto other = stun::make_ipv4(0xC6120101, 40001);
    const auto c2 = login("alice", "secret", other);
    EXPECT_EQ(send(request(stun::method::allocate, &c2,
                           [token](auto& b) {
                               b.add_requested_transport(17);
                               b.add_reservation_token(token);
                           }),
                   other)
                  .error(),
              508);
}

TEST_F(TurnMachineTest, RetransmittedAllocateGetsTheSameAnswerAnotherIs437) {
    const auto c = login();
    const auto tid = next_tid();
    const auto first = send(request(
        stun::method::allocate, &c, [](auto& b) { b.add_requested_transport(17); }, tid));
    const auto again = send(request(
        stun::method::allocate, &c, [](auto& b) { b.add_requested_transport(17); }, tid));
    ASSERT_TRUE(first.success());
    ASSERT_TRUE(again.success());
    EXPECT_EQ(first.bytes, again.bytes);
    EXPECT_EQ(
        send(request(stun::method::allocate, &c, [](auto& b) { b.add_requested_transport(17); })).error(),
        437);
    EXPECT_EQ(ports_.open_ports.size(), 1U);
}

TEST_F(TurnMachineTest, QuotasPerUserAndInTotal) {
    const auto c1 = login();
    allocate(c1, stun::make_ipv4(0xC6120101, 1));
    allocate(c1, stun::make_ipv4(0xC6120101, 2));
    const auto a = send(request(stun::method::allocate, &c1, [](auto& b) { b.add_requested_transport(17); }),
                        stun::make_ipv4(0xC6120101, 3));
    EXPECT_EQ(a.error(), 486);  // alice's 2
    const auto bob = login("bob", "hunter2", stun::make_ipv4(0xC6120101, 4));
    allocate(bob, stun::make_ipv4(0xC6120101, 4));
    const auto bob2 = login("bob", "hunter2", stun::make_ipv4(0xC6120101, 5));
    EXPECT_EQ(send(request(stun::method::allocate, &bob2, [](auto& b) { b.add_requested_transport(17); }),
                   stun::make_ipv4(0xC6120101, 5))
                  .error(),
              486);  // 3 in total
}

TEST_F(TurnMachineTest, PortExhaustionIs508) {
    ports_.capacity = 0;
    const auto c = login();
    EXPECT_EQ(
        send(request(stun::method::allocate, &c, [](auto& b) { b.add_requested_transport(17); })).error(),
        508);
}

TEST_F(TurnMachineTest, RequestsWithoutAllocationAre437AndOtherUser441) {
    const auto c = login();
    EXPECT_EQ(permit(c, k_peer).error(), 437);
    allocate(c);
    auto bob = login("bob", "hunter2");
    EXPECT_EQ(permit(bob, k_peer).error(), 441);
}

TEST_F(TurnMachineTest, SendNeedsAPermission) {
    const auto c = login();
    const auto relayed = allocate(c);
    EXPECT_FALSE(send(send_indication(k_peer, "hello")).to_peer);
    EXPECT_EQ(machine_.stats().dropped_no_permission, 1U);
    ASSERT_TRUE(permit(c, k_peer).success());
    const auto a = send(send_indication(k_peer, "hello"));
    ASSERT_TRUE(a.to_peer);
    EXPECT_EQ(a.to_peer->relayed, relayed);
    EXPECT_EQ(a.to_peer->peer, k_peer);
    EXPECT_EQ(std::string(a.to_peer->data.begin(), a.to_peer->data.end()), "hello");
    // Permissions are per IP address: another port of the same peer is fine.
    EXPECT_TRUE(send(send_indication(k_peer_other_port, "x")).to_peer);
    // A Send from another 5-tuple is not this allocation's.
    EXPECT_FALSE(send(send_indication(k_peer, "x"), stun::make_ipv4(0xC6120101, 1)).to_peer);
}

TEST_F(TurnMachineTest, PeerDataComesBackAsDataIndicationThenChannelData) {
    const auto c = login();
    const auto relayed = allocate(c);
    const std::array<std::uint8_t, 3> payload{7, 8, 9};
    EXPECT_FALSE(machine_.on_peer_datagram(now_, relayed, k_peer, payload));  // no permission yet
    ASSERT_TRUE(permit(c, k_peer).success());
    auto delivery = machine_.on_peer_datagram(now_, relayed, k_peer, payload);
    ASSERT_TRUE(delivery);
    EXPECT_EQ(delivery->tuple, (FiveTuple{k_client, k_server}));
    auto m = stun::parse_message(delivery->data);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->message_class(), stun::Class::indication);
    EXPECT_EQ(m->method(), stun::method::data);
    EXPECT_EQ(*stun::read_xor_address(*m->find(stun::attr::xor_peer_address), m->transaction_id()), k_peer);
    EXPECT_EQ(m->find(stun::attr::data)->value.size(), 3U);

    ASSERT_TRUE(bind(c, 0x4000, k_peer).success());
    delivery = machine_.on_peer_datagram(now_, relayed, k_peer, payload);
    ASSERT_TRUE(delivery);
    const auto cd = stun::parse_channel_data(delivery->data);
    ASSERT_TRUE(cd);
    EXPECT_EQ(cd->channel, 0x4000);
    EXPECT_EQ(cd->data.size(), 3U);
    // The peer's other port has no channel: a Data indication.
    delivery = machine_.on_peer_datagram(now_, relayed, k_peer_other_port, payload);
    ASSERT_TRUE(delivery);
    EXPECT_TRUE(stun::looks_like_stun(delivery->data));
}

TEST_F(TurnMachineTest, ChannelDataGoesToTheBoundPeer) {
    const auto c = login();
    allocate(c);
    std::vector<std::uint8_t> cd;
    ASSERT_TRUE(stun::append_channel_data(cd, 0x4001, text_bytes("abc"), false));
    EXPECT_FALSE(send(cd).to_peer);  // not bound
    ASSERT_TRUE(bind(c, 0x4001, k_peer).success());
    const auto a = send(cd);
    ASSERT_TRUE(a.to_peer);
    EXPECT_EQ(a.to_peer->peer, k_peer);
    EXPECT_EQ(a.to_peer->data.size(), 3U);
}

TEST_F(TurnMachineTest, ChannelBindRules) {
    const auto c = login();
    allocate(c);
    EXPECT_EQ(bind(c, 0x3FFF, k_peer).error(), 400);
    EXPECT_EQ(bind(c, 0x8000, k_peer).error(), 400);
    ASSERT_TRUE(bind(c, 0x4000, k_peer).success());
    EXPECT_TRUE(bind(c, 0x4000, k_peer).success());              // a refresh
    EXPECT_EQ(bind(c, 0x4000, k_peer_other_port).error(), 400);  // channel bound to another peer
    EXPECT_EQ(bind(c, 0x4001, k_peer).error(), 400);             // peer bound to another channel
    EXPECT_EQ(bind(c, 0x4002, stun::make_ipv4(0x7F000001, 1)).error(), 403);
}

TEST_F(TurnMachineTest, DeniedPeersAre403AndNothingIsInstalled) {
    const auto c = login();
    allocate(c);
    for (const auto& denied :
         {stun::make_ipv4(0x7F000001, 80), stun::make_ipv4(0, 80), stun::make_ipv4(0xA9FE0001, 80)})
        EXPECT_EQ(permit(c, denied).error(), 403);
    // All or nothing: one denied peer among allowed ones installs none.
    const auto a = send(request(stun::method::create_permission, &c, [&](auto& b) {
        b.add_xor_address(stun::attr::xor_peer_address, k_peer);
        b.add_xor_address(stun::attr::xor_peer_address, stun::make_ipv4(0x7F000001, 80));
    }));
    EXPECT_EQ(a.error(), 403);
    EXPECT_FALSE(send(send_indication(k_peer, "x")).to_peer);
    EXPECT_EQ(machine_.stats().forbidden_peers, 4U);
    EXPECT_EQ(permit(c, stun::Address{}).error(), 403);  // 0.0.0.0
}

TEST_F(TurnMachineTest, AllowLoopbackPeersWhenConfigured) {
    auto options = make_options();
    options.peers.allow_loopback = true;
    TurnMachine machine(options, ports_);
    // Drive the second machine directly: login, allocate, permit 127.0.0.1.
    const auto tuple = FiveTuple{k_client, k_server};
    std::vector<std::uint8_t> r =
        request(stun::method::allocate, nullptr, [](auto& b) { b.add_requested_transport(17); });
    auto out = machine.on_client_datagram(now_, tuple, r);
    const auto challenge = stun::parse_message(out.reply);
    Credentials c;
    c.nonce = std::string(*stun::read_text(*challenge->find(stun::attr::nonce)));
    r = request(stun::method::allocate, &c, [](auto& b) { b.add_requested_transport(17); });
    ASSERT_EQ(stun::parse_message(machine.on_client_datagram(now_, tuple, r).reply)->message_class(),
              stun::Class::success);
    r = request(stun::method::create_permission, &c, [](auto& b) {
        b.add_xor_address(stun::attr::xor_peer_address, stun::make_ipv4(0x7F000001, 9));
    });
    EXPECT_EQ(stun::parse_message(machine.on_client_datagram(now_, tuple, r).reply)->message_class(),
              stun::Class::success);
}

TEST_F(TurnMachineTest, PermissionsAndChannelsExpire) {
    const auto c = login();
    allocate(c);
    ASSERT_TRUE(permit(c, k_peer).success());
    now_ += 299s;
    machine_.expire(now_);
    EXPECT_TRUE(send(send_indication(k_peer, "x")).to_peer);
    now_ += 1s;  // 300 s
    machine_.expire(now_);
    EXPECT_FALSE(send(send_indication(k_peer, "x")).to_peer);

    const auto c2 = login();
    ASSERT_TRUE(bind(c2, 0x4000, k_peer).success());
    std::vector<std::uint8_t> cd;
    ASSERT_TRUE(stun::append_channel_data(cd, 0x4000, text_bytes("abc"), false));
    // Keep the allocation alive, then let the channel's 600 s run out; its permission (300 s) too.
    const auto c3 = login();
    ASSERT_TRUE(send(request(stun::method::refresh, &c3, [](auto& b) {
                    b.add_u32(stun::attr::lifetime, 3600);
                })).success());
    now_ += 599s;
    ASSERT_TRUE(permit(login(), k_peer).success());  // the permission is refreshed, the channel is not
    machine_.expire(now_);
    EXPECT_TRUE(send(cd).to_peer);
    now_ += 1s;
    machine_.expire(now_);
    EXPECT_FALSE(send(cd).to_peer);
    // The channel number can be bound again afterwards.
    EXPECT_TRUE(bind(login(), 0x4000, k_peer_other_port).success());
}

TEST_F(TurnMachineTest, AllocationExpiresAndIsLogged) {
    const auto c = login();
    const auto relayed = allocate(c);
    ASSERT_TRUE(permit(c, k_peer).success());
    ASSERT_TRUE(send(send_indication(k_peer, "hello")).to_peer);
    const std::array<std::uint8_t, 10> payload{};
    ASSERT_TRUE(machine_.on_peer_datagram(now_, relayed, k_peer, payload));
    now_ += 599s;
    machine_.expire(now_);
    EXPECT_EQ(machine_.allocation_count(), 1U);
    now_ += 1s;
    machine_.expire(now_);
    EXPECT_EQ(machine_.allocation_count(), 0U);
    EXPECT_EQ(ports_.closed, 1);
    const auto ended = machine_.take_ended();
    ASSERT_EQ(ended.size(), 1U);
    EXPECT_EQ(ended[0].user, "alice");
    EXPECT_EQ(ended[0].client, k_client);
    EXPECT_EQ(ended[0].relayed, relayed);
    EXPECT_EQ(ended[0].to_peer.bytes, 5U);
    EXPECT_EQ(ended[0].to_peer.packets, 1U);
    EXPECT_EQ(ended[0].to_client.bytes, 10U);
    EXPECT_EQ(ended[0].duration, 600s);
    EXPECT_EQ(ended[0].reason, "expired");
    EXPECT_TRUE(machine_.take_ended().empty());
    // Nothing reaches the client through the old relayed address.
    EXPECT_FALSE(machine_.on_peer_datagram(now_, relayed, k_peer, payload));
}

TEST_F(TurnMachineTest, RefreshExtendsAndZeroDeletes) {
    const auto c = login();
    allocate(c);
    auto a =
        send(request(stun::method::refresh, &c, [](auto& b) { b.add_u32(stun::attr::lifetime, 100000); }));
    ASSERT_TRUE(a.success());
    EXPECT_EQ(*stun::read_u32(*a.view().find(stun::attr::lifetime)), 3600U);  // capped at the maximum
    a = send(request(stun::method::refresh, &c, [](auto& b) { b.add_u32(stun::attr::lifetime, 1); }));
    EXPECT_EQ(*stun::read_u32(*a.view().find(stun::attr::lifetime)), 600U);  // raised to the default
    now_ += 601s;
    machine_.expire(now_);
    EXPECT_EQ(machine_.allocation_count(), 0U);  // the last refresh granted 600 s

    const auto c2 = login();
    allocate(c2);
    a = send(request(stun::method::refresh, &c2, [](auto& b) { b.add_u32(stun::attr::lifetime, 0); }));
    ASSERT_TRUE(a.success());
    EXPECT_EQ(*stun::read_u32(*a.view().find(stun::attr::lifetime)), 0U);
    EXPECT_EQ(machine_.allocation_count(), 0U);
    const auto ended = machine_.take_ended();
    ASSERT_EQ(ended.size(), 2U);
    EXPECT_EQ(ended[1].reason, "refreshed to 0");
    EXPECT_TRUE(ports_.open_ports.empty());
}

TEST_F(TurnMachineTest, UnknownMethodIs400AndResponsesAreIgnored) {
    EXPECT_EQ(send(request(0x0FF, nullptr, [](auto&) {})).error(), 400);
    std::vector<std::uint8_t> out;
    stun::MessageBuilder b(out, stun::Class::success, stun::method::binding, next_tid());
    EXPECT_TRUE(send(out).bytes.empty());
}

}  // namespace
}  // namespace sg::turn

namespace sg::turn {
namespace {

// The same flow over a TCP 5-tuple: ChannelData towards the client is padded, and closing the connection
// ends the allocation.
TEST_F(TurnMachineTest, TcpAndTlsClientsGetPaddedChannelDataAndLoseTheAllocationWithTheConnection) {
    for (const Transport transport : {Transport::tcp, Transport::tls}) {
        SCOPED_TRACE(transport_name(transport));
        const FiveTuple tcp{k_client, k_server, transport};
        const auto send_tcp = [&](const std::vector<std::uint8_t>& d) {
            const auto out = machine_.on_client_datagram(now_, tcp, d);
            return Answer{{out.reply.begin(), out.reply.end()}, out.to_peer};
        };
        auto challenge = send_tcp(
            request(stun::method::allocate, nullptr, [](auto& b) { b.add_requested_transport(17); }));
        ASSERT_EQ(challenge.error(), 401);
        Credentials c;
        c.nonce = std::string(*stun::read_text(*challenge.view().find(stun::attr::nonce)));
        const auto allocated =
            send_tcp(request(stun::method::allocate, &c, [](auto& b) { b.add_requested_transport(17); }));
        ASSERT_TRUE(allocated.success());
        const auto m = allocated.view();
        const auto relayed =
            *stun::read_xor_address(*m.find(stun::attr::xor_relayed_address), m.transaction_id());
        // The UDP 5-tuple of the same addresses is another allocation's (none).
        EXPECT_EQ(permit(c, k_peer).error(), 437);
        ASSERT_TRUE(send_tcp(request(stun::method::channel_bind, &c, [](auto& b) {
                        b.add_channel_number(0x4000);
                        b.add_xor_address(stun::attr::xor_peer_address, k_peer);
                    })).success());
        const std::array<std::uint8_t, 5> payload{1, 2, 3, 4, 5};
        const auto delivery = machine_.on_peer_datagram(now_, relayed, k_peer, payload);
        ASSERT_TRUE(delivery);
        EXPECT_EQ(delivery->tuple, tcp);
        EXPECT_EQ(delivery->data.size(), 12U);  // 4 + 5, padded to 12
        machine_.on_connection_closed(now_, tcp);
        EXPECT_EQ(machine_.allocation_count(), 0U);
        const auto ended = machine_.take_ended();
        ASSERT_EQ(ended.size(), 1U);
        EXPECT_EQ(ended[0].reason, "connection closed");
        EXPECT_EQ(ended[0].transport, transport);
        EXPECT_TRUE(ports_.open_ports.empty());
    }
}

}  // namespace
}  // namespace sg::turn

namespace sg::turn {
namespace {

TEST(NatDiscovery, OtherAddressResponseOriginChangeRequestAndResponsePort) {
    FakePorts ports;
    TurnOptions options;
    const auto a1 = stun::make_ipv4(0xC0000201, 0);  // 192.0.2.1
    const auto a2 = stun::make_ipv4(0xC0000202, 0);  // 192.0.2.2
    options.discovery.push_back(DiscoveryAddresses{{a1, a2}, {3478, 3479}});
    TurnMachine machine(options, ports);
    const auto with_port = [](stun::Address a, std::uint16_t p) {
        a.port = p;
        return a;
    };
    const auto binding = [&](const stun::Address& server, bool change_ip, bool change_port,
                             std::optional<std::uint16_t> response_port) {
        std::vector<std::uint8_t> out;
        stun::MessageBuilder b(out, stun::Class::request, stun::method::binding, stun::TransactionId{7});
        if (change_ip || change_port) b.add_change_request(change_ip, change_port);
        if (response_port) b.add_u32(stun::attr::response_port, std::uint32_t{*response_port} << 16);
        const auto result = machine.on_client_datagram(Time{}, FiveTuple{k_client, server}, out);
        return std::make_tuple(std::vector<std::uint8_t>(result.reply.begin(), result.reply.end()),
                               result.reply_from, result.reply_to);
    };
    // Plain Binding to A1:P1: answered from there, naming A2:P2 as the other address.
    auto [reply, from, to] = binding(with_port(a1, 3478), false, false, std::nullopt);
    auto m = stun::parse_message(reply);
    ASSERT_TRUE(m);
    EXPECT_EQ(*stun::read_address(*m->find(stun::attr::response_origin)), with_port(a1, 3478));
    EXPECT_EQ(*stun::read_address(*m->find(stun::attr::other_address)), with_port(a2, 3479));
    EXPECT_FALSE(from);
    EXPECT_FALSE(to);
    // Change IP and port: from A2:P2.
    std::tie(reply, from, to) = binding(with_port(a1, 3478), true, true, std::nullopt);
    ASSERT_TRUE(from);
    EXPECT_EQ(*from, with_port(a2, 3479));
    m = stun::parse_message(reply);
    EXPECT_EQ(*stun::read_address(*m->find(stun::attr::response_origin)), with_port(a2, 3479));
    // Change port only, asked at A2:P2: from A2:P1; the other address is A1:P1.
    std::tie(reply, from, to) = binding(with_port(a2, 3479), false, true, std::nullopt);
    ASSERT_TRUE(from);
    EXPECT_EQ(*from, with_port(a2, 3478));
    m = stun::parse_message(reply);
    EXPECT_EQ(*stun::read_address(*m->find(stun::attr::other_address)), with_port(a1, 3478));
    // RESPONSE-PORT: the answer goes to that port of the client.
    std::tie(reply, from, to) = binding(with_port(a1, 3478), false, false, 5555);
    ASSERT_TRUE(to);
    EXPECT_EQ(*to, with_port(k_client, 5555));
    // A listener outside the discovery set (another port) does not know these attributes: 420.
    std::tie(reply, from, to) = binding(with_port(a1, 4000), true, false, std::nullopt);
    m = stun::parse_message(reply);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->message_class(), stun::Class::error);
    std::array<std::uint16_t, 4> unknown{};
    ASSERT_EQ(*stun::read_unknown_attributes(*m->find(stun::attr::unknown_attributes), unknown), 1U);
    EXPECT_EQ(unknown[0], stun::attr::change_request);
    EXPECT_FALSE(from);
}

TEST_F(TurnMachineTest, WithoutDiscoveryChangeRequestAndResponsePortAre420) {
    const auto a = send(request(stun::method::binding, nullptr, [](auto& b) {
        b.add_change_request(true, false);
        b.add_u32(stun::attr::response_port, 5555U << 16);
    }));
    ASSERT_EQ(a.error(), 420);
    std::array<std::uint16_t, 4> unknown{};
    ASSERT_EQ(*stun::read_unknown_attributes(*a.view().find(stun::attr::unknown_attributes), unknown), 2U);
    // A CHANGE-REQUEST with no flag set asks for nothing unusual.
    const auto plain =
        send(request(stun::method::binding, nullptr, [](auto& b) { b.add_change_request(false, false); }));
    EXPECT_TRUE(plain.success());
    EXPECT_FALSE(plain.view().has(stun::attr::other_address));
}

}  // namespace
}  // namespace sg::turn

namespace sg::turn {
namespace {

std::vector<stun::Address> relayed_addresses(const stun::MessageView& m) {
    std::vector<stun::Address> out;
    for (const auto& a : m.attributes())
        if (a.type == stun::attr::xor_relayed_address)
            out.push_back(*stun::read_xor_address(a, m.transaction_id()));
    return out;
}

TEST_F(TurnMachineTest, DualAllocationRelaysToBothFamilies) {
    ports_.ipv6 = true;
    const auto c = login();
    const auto a = send(request(stun::method::allocate, &c, [](auto& b) {
        b.add_requested_transport(17);
        b.add_address_family(stun::attr::additional_address_family, stun::Family::ipv6);
    }));
    ASSERT_TRUE(a.success()) << a.error();
    const auto relayed = relayed_addresses(a.view());
    ASSERT_EQ(relayed.size(), 2U);
    EXPECT_EQ(relayed[0].family, stun::Family::ipv4);
    EXPECT_EQ(relayed[1].family, stun::Family::ipv6);
    EXPECT_EQ(ports_.open_ports.size(), 2U);

    const auto peer6 = stun::make_ipv6({0x20, 0x01, 0x0d, 0xb8, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}, 7000);
    ASSERT_TRUE(permit(c, k_peer).success());
    ASSERT_TRUE(permit(c, peer6).success());
    // Each peer is sent to from the relayed address of its family...
    auto out = send(send_indication(peer6, "six"));
    ASSERT_TRUE(out.to_peer);
    EXPECT_EQ(out.to_peer->relayed, relayed[1]);
    out = send(send_indication(k_peer, "four"));
    ASSERT_TRUE(out.to_peer);
    EXPECT_EQ(out.to_peer->relayed, relayed[0]);
    // ...and what arrives at either reaches the client.
    const std::array<std::uint8_t, 2> payload{1, 2};
    EXPECT_TRUE(machine_.on_peer_datagram(now_, relayed[1], peer6, payload));
    EXPECT_TRUE(machine_.on_peer_datagram(now_, relayed[0], k_peer, payload));

    ASSERT_TRUE(send(request(stun::method::refresh, &c, [](auto& b) {
                    b.add_u32(stun::attr::lifetime, 0);
                })).success());
    EXPECT_TRUE(ports_.open_ports.empty());  // both closed
    const auto ended = machine_.take_ended();
    ASSERT_EQ(ended.size(), 1U);
    ASSERT_TRUE(ended[0].relayed_other);
    EXPECT_EQ(*ended[0].relayed_other, relayed[1]);
}

TEST_F(TurnMachineTest, DualAllocationAcceptsTheDraftAttributeCoturnSends) {
    ports_.ipv6 = true;
    const auto c = login();
    const auto a = send(request(stun::method::allocate, &c, [](auto& b) {
        b.add_requested_transport(17);
        b.add_address_family(stun::attr::additional_address_family_draft, stun::Family::ipv6);
    }));
    ASSERT_TRUE(a.success());
    EXPECT_EQ(relayed_addresses(a.view()).size(), 2U);
}

TEST_F(TurnMachineTest, DualAllocationWithoutIpv6GetsAnAddressErrorCode) {
    const auto c = login();
    const auto a = send(request(stun::method::allocate, &c, [](auto& b) {
        b.add_requested_transport(17);
        b.add_address_family(stun::attr::additional_address_family, stun::Family::ipv6);
    }));
    ASSERT_TRUE(a.success());
    const auto m = a.view();
    EXPECT_EQ(relayed_addresses(m).size(), 1U);
    const auto error = stun::read_address_error_code(*m.find(stun::attr::address_error_code));
    ASSERT_TRUE(error);
    EXPECT_EQ(error->family, stun::Family::ipv6);
    EXPECT_EQ(error->error.code, 440);
}

TEST_F(TurnMachineTest, AdditionalFamilyMustBeIpv6AndAlone) {
    ports_.ipv6 = true;
    const auto c = login();
    EXPECT_EQ(send(request(stun::method::allocate, &c,
                           [](auto& b) {
                               b.add_requested_transport(17);
                               b.add_address_family(stun::attr::additional_address_family,
                                                    stun::Family::ipv4);
                           }))
                  .error(),
              400);
    EXPECT_EQ(send(request(stun::method::allocate, &c,
                           [](auto& b) {
                               b.add_requested_transport(17);
                               b.add_address_family(stun::attr::requested_address_family, stun::Family::ipv6);
                               b.add_address_family(stun::attr::additional_address_family,
                                                    stun::Family::ipv6);
                           }))
                  .error(),
              400);
    EXPECT_TRUE(ports_.open_ports.empty());
}

TEST_F(TurnMachineTest, RunningAllocationsAreListedAndEndedByOperator) {
    const auto relayed = allocate(login());
    now_ += std::chrono::seconds{2};
    const auto list = machine_.allocations(now_);
    ASSERT_EQ(list.size(), 1U);
    EXPECT_EQ(list[0].user, "alice");
    EXPECT_EQ(list[0].client, k_client);
    EXPECT_EQ(list[0].relayed, relayed);
    EXPECT_EQ(list[0].age, std::chrono::seconds{2});
    EXPECT_GT(list[0].expires_in, std::chrono::seconds{0});
    (void)machine_.take_ended();

    EXPECT_FALSE(machine_.end_allocation(now_, k_client, "ended by operator"));  // not a relayed address
    EXPECT_TRUE(machine_.end_allocation(now_, relayed, "ended by operator"));
    const auto ended = machine_.take_ended();
    ASSERT_EQ(ended.size(), 1U);
    EXPECT_EQ(ended[0].reason, "ended by operator");
    EXPECT_TRUE(machine_.allocations(now_).empty());
    EXPECT_TRUE(ports_.open_ports.empty());  // its relayed port is closed
    EXPECT_FALSE(machine_.end_allocation(now_, relayed, "ended by operator"));
}

}  // namespace
}  // namespace sg::turn

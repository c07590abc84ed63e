#include "stun/stun_message.hpp"

#include <gtest/gtest.h>

#include "rfc5769_vectors.hpp"

namespace sg::stun {
namespace {

using test::from_hex;

Bytes as_bytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

TEST(StunMessageType, InterleavesClassAndMethod) {
    EXPECT_EQ(message_type(Class::request, method::binding), 0x0001);
    EXPECT_EQ(message_type(Class::success, method::binding), 0x0101);
    EXPECT_EQ(message_type(Class::error, method::allocate), 0x0113);
    EXPECT_EQ(message_type(Class::indication, method::data), 0x0017);
    EXPECT_EQ(message_type(Class::request, method::channel_bind), 0x0009);
}

TEST(Rfc5769, SampleRequestParsesAndVerifies) {
    const auto bytes = from_hex(test::k_sample_request);
    const auto m = parse_message(bytes);
    ASSERT_TRUE(m) << m.error();
    EXPECT_EQ(m->message_class(), Class::request);
    EXPECT_EQ(m->method(), method::binding);
    EXPECT_EQ(m->transaction_id()[0], 0xb7);
    EXPECT_EQ(m->attributes().size(), 6U);
    EXPECT_EQ(*read_text(*m->find(attr::software)), "STUN test client");
    EXPECT_EQ(*read_text(*m->find(attr::username)), "evtj:h6vY");
    EXPECT_TRUE(fingerprint_ok(*m));
    EXPECT_EQ(check_integrity(*m, as_bytes(test::k_sample_request_password)), Integrity::ok);
    EXPECT_EQ(check_integrity(*m, as_bytes("wrong")), Integrity::bad);
    // PRIORITY (0x0024) is ICE's, comprehension-required and unknown here; ICE-CONTROLLED is optional.
    std::array<std::uint16_t, 4> unknown{};
    ASSERT_EQ(m->unknown_required(unknown), 1U);
    EXPECT_EQ(unknown[0], 0x0024);
}

TEST(Rfc5769, Ipv4ResponseMappedAddress) {
    const auto bytes = from_hex(test::k_sample_response_ipv4);
    const auto m = parse_message(bytes);
    ASSERT_TRUE(m) << m.error();
    EXPECT_EQ(m->message_class(), Class::success);
    const auto mapped = read_xor_address(*m->find(attr::xor_mapped_address), m->transaction_id());
    ASSERT_TRUE(mapped);
    EXPECT_EQ(*mapped, make_ipv4(0xC0000201, 32853));
    EXPECT_EQ(to_string(*mapped), "192.0.2.1:32853");
    EXPECT_TRUE(fingerprint_ok(*m));
    EXPECT_EQ(check_integrity(*m, as_bytes(test::k_sample_request_password)), Integrity::ok);
}

TEST(Rfc5769, Ipv6ResponseMappedAddress) {
    const auto bytes = from_hex(test::k_sample_response_ipv6);
    const auto m = parse_message(bytes);
    ASSERT_TRUE(m) << m.error();
    const auto mapped = read_xor_address(*m->find(attr::xor_mapped_address), m->transaction_id());
    ASSERT_TRUE(mapped);
    EXPECT_EQ(to_string(*mapped), "[2001:db8:1234:5678:11:2233:4455:6677]:32853");
    EXPECT_TRUE(fingerprint_ok(*m));
    EXPECT_EQ(check_integrity(*m, as_bytes(test::k_sample_request_password)), Integrity::ok);
}

TEST(Rfc5769, ResponsesRebuiltVerifyAndCarryTheSameAddress) {
    for (const auto hex : {test::k_sample_response_ipv4, test::k_sample_response_ipv6}) {
        const auto bytes = from_hex(hex);
        const auto original = parse_message(bytes);
        ASSERT_TRUE(original);
        const auto mapped =
            *read_xor_address(*original->find(attr::xor_mapped_address), original->transaction_id());
        std::vector<std::uint8_t> out;
        MessageBuilder b(out, Class::success, method::binding, original->transaction_id());
        b.add_text(attr::software, "test vector");
        b.add_xor_address(attr::xor_mapped_address, mapped);
        b.add_message_integrity(as_bytes(test::k_sample_request_password));
        b.add_fingerprint();
        // The RFC pads SOFTWARE with spaces, we pad with zeros: only that padding and the MACs differ.
        ASSERT_EQ(out.size(), bytes.size());
        const auto rebuilt = parse_message(out);
        ASSERT_TRUE(rebuilt) << rebuilt.error();
        EXPECT_TRUE(fingerprint_ok(*rebuilt));
        EXPECT_EQ(check_integrity(*rebuilt, as_bytes(test::k_sample_request_password)), Integrity::ok);
        const auto xa = rebuilt->find(attr::xor_mapped_address);
        const auto xo = original->find(attr::xor_mapped_address);
        EXPECT_TRUE(std::equal(xa->value.begin(), xa->value.end(), xo->value.begin(), xo->value.end()));
    }
}

TEST(Rfc5769, LongTermRequestVerifiesAndRebuildsByteForByte) {
    const auto bytes = from_hex(test::k_sample_long_term_request);
    const auto m = parse_message(bytes);
    ASSERT_TRUE(m) << m.error();
    EXPECT_EQ(*read_text(*m->find(attr::username)), test::k_sample_long_term_user);
    EXPECT_EQ(*read_text(*m->find(attr::realm)), "example.org");
    EXPECT_EQ(*read_text(*m->find(attr::nonce)), "f//499k954d6OL34oL9FSTvy64sA");
    const auto key = long_term_key(test::k_sample_long_term_user, "example.org", "TheMatrIX");
    EXPECT_EQ(check_integrity(*m, key), Integrity::ok);
    EXPECT_EQ(check_integrity(*m, long_term_key(test::k_sample_long_term_user, "example.org", "x")),
              Integrity::bad);

    std::vector<std::uint8_t> out;
    MessageBuilder b(out, Class::request, method::binding, m->transaction_id());
    b.add_text(attr::username, test::k_sample_long_term_user);
    b.add_text(attr::nonce, "f//499k954d6OL34oL9FSTvy64sA");
    b.add_text(attr::realm, "example.org");
    b.add_message_integrity(key);
    EXPECT_EQ(out, bytes);
}

TEST(Rfc8489, UserhashOfTheSampleUser) {
    // RFC 8489 Appendix B.1's USERHASH for the same user and realm as RFC 5769's long-term sample.
    const auto expected = from_hex("4a3cf38fef6992bda952c6780417da0f24819415569e60b205c46e41407f1704");
    const auto hash = userhash(test::k_sample_long_term_user, "example.org");
    EXPECT_EQ(std::vector<std::uint8_t>(hash.begin(), hash.end()), expected);
}

TEST(Rfc8489, PasswordAlgorithmAttributes) {
    std::vector<std::uint8_t> out;
    MessageBuilder b(out, Class::request, method::binding, TransactionId{});
    const std::array<std::uint16_t, 2> offered{password_algorithm_md5, password_algorithm_sha256};
    b.add_password_algorithms(offered);
    b.add_password_algorithm(password_algorithm_sha256);
    const auto m = parse_message(out);
    ASSERT_TRUE(m) << m.error();
    const auto* list = m->find(attr::password_algorithms);
    ASSERT_NE(list, nullptr);
    EXPECT_EQ(std::vector<std::uint8_t>(list->value.begin(), list->value.end()),
              (std::vector<std::uint8_t>{0, 1, 0, 0, 0, 2, 0, 0}));
    EXPECT_EQ(*read_password_algorithm(*m->find(attr::password_algorithm)), password_algorithm_sha256);
    // Parameters claimed past the attribute's end, or no room for the header: refused.
    Attribute bad{attr::password_algorithm, 0, {}};
    const std::array<std::uint8_t, 4> past_end{0, 2, 0, 4};
    bad.value = past_end;
    EXPECT_FALSE(read_password_algorithm(bad));
    bad.value = Bytes(past_end).first(3);
    EXPECT_FALSE(read_password_algorithm(bad));
    std::array<std::uint16_t, 4> algorithms{};
    const auto listed = read_password_algorithms(*list, algorithms);
    ASSERT_TRUE(listed);
    EXPECT_EQ(*listed, 2u);
    EXPECT_EQ(algorithms[0], password_algorithm_md5);
    EXPECT_EQ(algorithms[1], password_algorithm_sha256);
    // An entry with parameters (padded to 4) is skipped over; one cut short is refused.
    const std::array<std::uint8_t, 12> with_params{0, 9, 0, 3, 1, 2, 3, 0, 0, 2, 0, 0};
    const Attribute params{attr::password_algorithms, 0, with_params};
    ASSERT_TRUE(read_password_algorithms(params, algorithms));
    EXPECT_EQ(algorithms[1], password_algorithm_sha256);
    const Attribute cut{attr::password_algorithms, 0, Bytes(with_params).first(6)};
    EXPECT_FALSE(read_password_algorithms(cut, algorithms));
    // The SHA-256 key is SHA-256 over the same string as the MD5 one.
    const auto key = long_term_key_sha256("user", "realm", "pass");
    const auto again = long_term_key_sha256("user", "realm", "pass");
    EXPECT_EQ(key, again);
    EXPECT_NE(key, long_term_key_sha256("user", "realm", "other"));
}

TEST(Rfc8489, NonceSecurityFeatures) {
    // B.1's nonce announces no feature in the set's high bits; ours announces both (0xC00000, "wAAA").
    EXPECT_EQ(nonce_security_features("obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA"), 0x000002u);
    EXPECT_EQ(nonce_security_features("obMatJos2wAAA0123"),
              security_feature_password_algorithms | security_feature_username_anonymity);
    EXPECT_FALSE(nonce_security_features("f//499k954d6OL34oL9FSTvy64sA"));  // RFC 5769's: no cookie
    EXPECT_FALSE(nonce_security_features("obMatJos2wA"));                   // cut short
    EXPECT_FALSE(nonce_security_features("obMatJos2w*AA"));
}

TEST(StunBuilder, Sha256IntegrityAndFingerprintAfterSha1) {
    TransactionId tid{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    std::vector<std::uint8_t> out{0xEE};  // the builder appends: a prefix stays untouched
    MessageBuilder b(out, Class::request, method::allocate, tid);
    b.add_requested_transport(17);
    b.add_message_integrity_sha256(as_bytes("key"));
    b.add_fingerprint();
    EXPECT_EQ(out[0], 0xEE);
    const auto m = parse_message(b.message());
    ASSERT_TRUE(m) << m.error();
    EXPECT_EQ(check_integrity(*m, as_bytes("key")), Integrity::ok);
    EXPECT_EQ(check_integrity(*m, as_bytes("other")), Integrity::bad);
    EXPECT_TRUE(fingerprint_ok(*m));
    EXPECT_EQ(*read_requested_transport(*m->find(attr::requested_transport)), 17);
}

TEST(StunBuilder, TypedAttributesRoundTrip) {
    TransactionId tid{};
    tid[11] = 7;
    std::vector<std::uint8_t> out;
    MessageBuilder b(out, Class::error, method::allocate, tid);
    b.add_error_code(438, "Stale Nonce");
    const std::array<std::uint16_t, 3> unknown{0x0024, 0x0031, 0x7fff};
    b.add_unknown_attributes(unknown);
    b.add_u32(attr::lifetime, 600);
    b.add_channel_number(0x4001);
    b.add_address_family(attr::requested_address_family, Family::ipv6);
    b.add_even_port(true);
    b.add_reservation_token(0x0102030405060708ULL);
    b.add_empty(attr::dont_fragment);
    std::array<std::uint8_t, 16> v6{0x20, 0x01, 0x0d, 0xb8};
    v6[15] = 1;
    b.add_xor_address(attr::xor_peer_address, make_ipv6(v6, 5000));
    b.add_address(attr::mapped_address, make_ipv4(0x7f000001, 3478));
    b.add_change_request(true, false);
    b.add_address_error_code(Family::ipv6, 440, "Address Family not Supported");
    b.add_u32(attr::response_port, 0x12340000);
    const auto m = parse_message(b.message());
    ASSERT_TRUE(m) << m.error();
    EXPECT_EQ(m->message_class(), Class::error);
    const auto ec = read_error_code(*m->find(attr::error_code));
    ASSERT_TRUE(ec);
    EXPECT_EQ(ec->code, 438);
    EXPECT_EQ(ec->reason, "Stale Nonce");
    std::array<std::uint16_t, 8> got{};
    ASSERT_EQ(*read_unknown_attributes(*m->find(attr::unknown_attributes), got), 3U);
    EXPECT_EQ(got[2], 0x7fff);
    EXPECT_EQ(*read_u32(*m->find(attr::lifetime)), 600U);
    EXPECT_EQ(*read_channel_number(*m->find(attr::channel_number)), 0x4001);
    EXPECT_EQ(*read_address_family(*m->find(attr::requested_address_family)), Family::ipv6);
    EXPECT_TRUE(*read_even_port(*m->find(attr::even_port)));
    EXPECT_EQ(*read_reservation_token(*m->find(attr::reservation_token)), 0x0102030405060708ULL);
    EXPECT_TRUE(m->has(attr::dont_fragment));
    EXPECT_EQ(*read_xor_address(*m->find(attr::xor_peer_address), tid), make_ipv6(v6, 5000));
    EXPECT_EQ(*read_address(*m->find(attr::mapped_address)), make_ipv4(0x7f000001, 3478));
    const auto change = read_change_request(*m->find(attr::change_request));
    ASSERT_TRUE(change);
    EXPECT_TRUE(change->change_ip);
    EXPECT_FALSE(change->change_port);
    EXPECT_EQ(*read_response_port(*m->find(attr::response_port)), 0x1234);
    const auto address_error = read_address_error_code(*m->find(attr::address_error_code));
    ASSERT_TRUE(address_error);
    EXPECT_EQ(address_error->family, Family::ipv6);
    EXPECT_EQ(address_error->error.code, 440);
    EXPECT_EQ(address_error->error.reason, "Address Family not Supported");
    std::array<std::uint16_t, 4> unknown_out{};
    EXPECT_EQ(m->unknown_required(unknown_out), 0U);
}

// Each malformed input is refused (with a reason) and never read out of bounds.
TEST(StunLimits, MalformedMessagesAreRefused) {
    const auto good = from_hex(test::k_sample_request);
    const auto check = [](std::vector<std::uint8_t> bytes, const char* why) {
        EXPECT_FALSE(parse_message(bytes)) << why;
    };
    check({good.begin(), good.begin() + 19}, "shorter than the header");
    auto v = good;
    v[4] = 0;  // cookie
    check(v, "no magic cookie");
    v = good;
    v[0] |= 0x40;
    check(v, "top bits");
    v = good;
    v[3] = 0x59;
    check(v, "length not a multiple of 4");
    v = good;
    v.push_back(0);
    v.push_back(0);
    v.push_back(0);
    v.push_back(0);
    check(v, "length does not match the datagram");
    // An attribute whose length runs past the end.
    v = from_hex("00010008 2112a442 000000000000000000000000 00060010 41414141");
    check(v, "attribute past end");
    // An attribute whose padding is cut: USERNAME of 5 octets in an 8-octet body... then 1 more attribute.
    v = from_hex("0001000c 2112a442 000000000000000000000000 00060005 41414141 41000000 8022");
    check(v, "truncated");
    // Something after FINGERPRINT.
    v = from_hex("00010010 2112a442 000000000000000000000000 80280004 00000000 80220004 41414141");
    check(v, "after fingerprint");
    // MESSAGE-INTEGRITY of the wrong size.
    v = from_hex("00010008 2112a442 000000000000000000000000 00080004 00000000");
    check(v, "integrity size");
    v = from_hex("00010008 2112a442 000000000000000000000000 001c0004 00000000");
    check(v, "sha256 integrity size");
}

TEST(StunLimits, AttributeCountIsBounded) {
    TransactionId tid{};
    std::vector<std::uint8_t> out;
    MessageBuilder b(out, Class::request, method::binding, tid);
    for (std::size_t i = 0; i < k_max_attributes; ++i)
        b.add_empty(0x8030);
    ASSERT_TRUE(parse_message(out));
    b.add_empty(0x8030);
    EXPECT_FALSE(parse_message(out));
}

TEST(StunLimits, AttributesAfterIntegrityAreIgnored) {
    TransactionId tid{};
    std::vector<std::uint8_t> out;
    MessageBuilder b(out, Class::request, method::binding, tid);
    b.add_message_integrity(as_bytes("k"));
    b.add_text(attr::software, "after");
    b.add_fingerprint();
    const auto m = parse_message(out);
    ASSERT_TRUE(m);
    EXPECT_FALSE(m->has(attr::software));
    EXPECT_TRUE(m->has(attr::fingerprint));
    // The fingerprint covers the ignored attribute too, and MI stays checkable.
    EXPECT_TRUE(fingerprint_ok(*m));
    EXPECT_EQ(check_integrity(*m, as_bytes("k")), Integrity::ok);
}

TEST(StunLimits, TamperedFingerprintAndIntegrityAreCaught) {
    auto bytes = from_hex(test::k_sample_request);
    bytes.back() ^= 1;
    auto m = parse_message(bytes);
    ASSERT_TRUE(m);
    EXPECT_FALSE(fingerprint_ok(*m));
    bytes = from_hex(test::k_sample_request);
    bytes[30] ^= 1;  // inside SOFTWARE, covered by both
    m = parse_message(bytes);
    ASSERT_TRUE(m);
    EXPECT_FALSE(fingerprint_ok(*m));
    EXPECT_EQ(check_integrity(*m, as_bytes(test::k_sample_request_password)), Integrity::bad);
}

TEST(StunLimits, MessageSizeLimit) {
    std::vector<std::uint8_t> big(k_max_message_size + 4, 0);
    EXPECT_FALSE(parse_message(big));
}

TEST(StunReaders, RejectBadValues) {
    const std::array<std::uint8_t, 8> bad_family{0, 3, 0, 1, 1, 2, 3, 4};
    EXPECT_FALSE(read_address(Attribute{attr::mapped_address, 0, bad_family}));
    const std::array<std::uint8_t, 6> short_v4{0, 1, 0, 1, 1, 2};
    EXPECT_FALSE(read_address(Attribute{attr::mapped_address, 0, short_v4}));
    const std::array<std::uint8_t, 4> code_299{0, 0, 2, 99};
    EXPECT_FALSE(read_error_code(Attribute{attr::error_code, 0, code_299}));
    const std::array<std::uint8_t, 3> odd{0, 1, 2};
    std::array<std::uint16_t, 4> out{};
    EXPECT_FALSE(read_unknown_attributes(Attribute{attr::unknown_attributes, 0, odd}, out));
    EXPECT_FALSE(read_u32(Attribute{attr::lifetime, 0, odd}));
    EXPECT_FALSE(read_address_family(Attribute{attr::requested_address_family, 0, code_299}));
    std::vector<std::uint8_t> long_name(k_max_username_size + 1, 'a');
    EXPECT_FALSE(read_text(Attribute{attr::username, 0, long_name}));
    long_name.pop_back();
    EXPECT_TRUE(read_text(Attribute{attr::username, 0, long_name}));
}

}  // namespace
}  // namespace sg::stun

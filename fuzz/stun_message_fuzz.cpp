// libFuzzer target for STUN messages (RFC 8489) with the TURN attributes (RFC 8656).
//  1. The input is parsed as one message; every typed reader runs on every attribute, FINGERPRINT and both
//     integrity checks run with a fixed key (none may crash or read out of bounds).
//  2. A message that parses is rebuilt with MessageBuilder: the same class, method, transaction ID and
//     attributes (padding zeroed), then MESSAGE-INTEGRITY(-SHA256) and FINGERPRINT recomputed where the
//     input had them. The rebuilt message must parse to the same attributes, verify with the key and pass
//     its fingerprint check.
//  3. Addresses that read back are written again (plain and XOR) and must read back equal.
//  4. The TCP stream framer never claims more than the input, and frames a valid message to its full length.

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "stun/stream_framing.hpp"
#include "stun/stun_message.hpp"

namespace {

using namespace sg::stun;

void check(bool property) {
    if (!property) __builtin_trap();
}

bool same(sg::Bytes a, sg::Bytes b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i] != b[i]) return false;
    return true;
}

bool is_trailer(std::uint16_t type) {
    return type == attr::message_integrity || type == attr::message_integrity_sha256 ||
           type == attr::fingerprint;
}

constexpr std::array<std::uint8_t, 16> k_key{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

void read_everything(const MessageView& m) {
    std::array<std::uint16_t, 8> types{};
    check(m.unknown_required(types) <= types.size());
    for (const auto& a : m.attributes()) {
        (void)read_text(a);
        (void)read_u32(a);
        (void)read_requested_transport(a);
        (void)read_channel_number(a);
        (void)read_address_family(a);
        (void)read_even_port(a);
        (void)read_reservation_token(a);
        if (const auto ec = read_error_code(a)) check(ec->code >= 300 && ec->code <= 699);
        if (const auto aec = read_address_error_code(a))
            check(aec->error.code >= 300 && aec->error.code <= 699);
        (void)read_change_request(a);
        (void)read_response_port(a);
        if (const auto n = read_unknown_attributes(a, types)) check(*n <= types.size());
        (void)read_password_algorithm(a);
        if (const auto n = read_password_algorithms(a, types)) check(*n <= types.size());
        if (const auto text = read_text(a)) {
            if (const auto features = nonce_security_features(*text)) check(*features < (1u << 24));
        }
        for (const auto& address : {read_address(a), read_xor_address(a, m.transaction_id())}) {
            if (!address) continue;
            std::vector<std::uint8_t> out;
            MessageBuilder b(out, Class::success, method::binding, m.transaction_id());
            b.add_address(attr::mapped_address, *address);
            b.add_xor_address(attr::xor_mapped_address, *address);
            const auto again = parse_message(out);
            check(again.ok());
            check(*read_address(*again->find(attr::mapped_address)) == *address);
            check(*read_xor_address(*again->find(attr::xor_mapped_address), m.transaction_id()) == *address);
        }
    }
}

void rebuild(const MessageView& m) {
    std::vector<std::uint8_t> out;
    MessageBuilder b(out, m.message_class(), m.method(), m.transaction_id());
    std::size_t copied = 0;
    for (const auto& a : m.attributes()) {
        if (is_trailer(a.type)) continue;
        b.add(a.type, a.value);
        ++copied;
    }
    const bool mi = m.has(attr::message_integrity);
    const bool mi256 = m.has(attr::message_integrity_sha256);
    if (mi) b.add_message_integrity(k_key);
    if (mi256) b.add_message_integrity_sha256(k_key);
    if (m.has(attr::fingerprint)) b.add_fingerprint();
    if (out.size() > k_max_message_size) return;  // a short MI-SHA256 grew to 32 octets past the limit
    const auto again = parse_message(out);
    check(again.ok());
    check(again->message_class() == m.message_class() && again->method() == m.method() &&
          again->transaction_id() == m.transaction_id());
    std::size_t i = 0;
    for (const auto& a : again->attributes()) {
        if (is_trailer(a.type)) continue;
        check(i < m.attributes().size());
        while (is_trailer(m.attributes()[i].type))
            ++i;
        check(a.type == m.attributes()[i].type && same(a.value, m.attributes()[i].value));
        ++i;
    }
    check(again->has(attr::message_integrity) == mi && again->has(attr::message_integrity_sha256) == mi256);
    check(check_integrity(*again, k_key) == ((mi || mi256) ? Integrity::ok : Integrity::absent));
    check(fingerprint_ok(*again));
    (void)copied;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const sg::Bytes input(data, size);
    const auto framed = frame_stream_item(input);
    if (framed.done()) check(framed.consumed >= 4 && framed.consumed <= size);
    const auto m = parse_message(input);
    if (!m) return 0;
    check(framed.done() && framed.consumed == size);
    check(m->attributes().size() <= k_max_attributes);
    for (const auto& a : m->attributes())
        check(a.offset + 4 + a.value.size() <= size);
    (void)fingerprint_ok(*m);
    (void)check_integrity(*m, k_key);
    read_everything(*m);
    rebuild(*m);
    return 0;
}

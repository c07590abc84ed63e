#include "stun/stun_message.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cstring>
#include <initializer_list>

namespace sg::stun {
namespace {

constexpr std::size_t k_sha1_size = 20;
constexpr std::size_t k_sha256_size = 32;

constexpr Class class_of(std::uint16_t type) noexcept {
    return static_cast<Class>(((type >> 4) & 1) | ((type >> 7) & 2));
}
constexpr std::uint16_t method_of(std::uint16_t type) noexcept {
    return static_cast<std::uint16_t>((type & 0x000F) | ((type >> 1) & 0x0070) | ((type >> 2) & 0x0F80));
}

constexpr std::size_t padded(std::size_t n) noexcept {
    return (n + 3) & ~std::size_t{3};
}

struct CrcTable {
    std::array<std::uint32_t, 256> entries{};
    constexpr CrcTable() {
        for (std::uint32_t i = 0; i < 256; ++i) {
            std::uint32_t c = i;
            for (int k = 0; k < 8; ++k)
                c = (c & 1) != 0 ? 0xEDB88320U ^ (c >> 1) : c >> 1;
            entries[i] = c;
        }
    }
};
constexpr CrcTable k_crc_table;

// HMAC over the message prefix that ends before attribute `at`, with the header's length field set as if
// the message ended after that attribute (§14.5, §14.6): the MAC covers a header we never sent as such,
// so the prefix is copied and patched rather than hashed in place.
bool prefix_hmac(Bytes message, std::size_t at, std::size_t attribute_size, const EVP_MD* md, Bytes key,
                 std::uint8_t* mac, unsigned& mac_size) {
    std::array<std::uint8_t, k_max_message_size> copy;
    std::memcpy(copy.data(), message.data(), at);
    const std::size_t length = at - k_header_size + attribute_size;
    copy[2] = static_cast<std::uint8_t>(length >> 8);
    copy[3] = static_cast<std::uint8_t>(length);
    return HMAC(md, key.data(), static_cast<int>(key.size()), copy.data(), at, mac, &mac_size) != nullptr;
}

}  // namespace

namespace attr {
bool known(std::uint16_t type) noexcept {
    switch (type) {
        case mapped_address:
        case username:
        case message_integrity:
        case error_code:
        case unknown_attributes:
        case channel_number:
        case lifetime:
        case xor_peer_address:
        case data:
        case realm:
        case nonce:
        case xor_relayed_address:
        case requested_address_family:
        case even_port:
        case requested_transport:
        case dont_fragment:
        case message_integrity_sha256:
        case password_algorithm:
        case userhash:
        case xor_mapped_address:
        case reservation_token:
        case change_request:
        case padding:
        case response_port:
            return true;
        default:
            return false;
    }
}
}  // namespace attr

const Attribute* MessageView::find(std::uint16_t type) const noexcept {
    for (std::size_t i = 0; i < count_; ++i)
        if (attributes_[i].type == type) return &attributes_[i];
    return nullptr;
}

std::size_t MessageView::unknown_required(std::span<std::uint16_t> out) const noexcept {
    std::size_t n = 0;
    for (std::size_t i = 0; i < count_ && n < out.size(); ++i) {
        const std::uint16_t type = attributes_[i].type;
        if (!attr::comprehension_required(type) || attr::known(type)) continue;
        if (std::find(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n), type) !=
            out.begin() + static_cast<std::ptrdiff_t>(n))
            continue;
        out[n++] = type;
    }
    return n;
}

Result<MessageView> parse_message(Bytes datagram) noexcept {
    if (datagram.size() < k_header_size) return fail("stun: shorter than the header");
    if (datagram.size() > k_max_message_size) return fail("stun: message too long");
    ByteReader r(datagram);
    std::uint16_t type = 0;
    std::uint16_t length = 0;
    std::uint32_t cookie = 0;
    (void)r.read_u16(type);
    (void)r.read_u16(length);
    (void)r.read_u32(cookie);
    if ((type & 0xC000) != 0) return fail("stun: top two bits of the type are not zero");
    if (cookie != k_magic_cookie) return fail("stun: no magic cookie");
    if ((length & 3) != 0) return fail("stun: length not a multiple of 4");
    if (length != datagram.size() - k_header_size) return fail("stun: length does not match the datagram");
    MessageView m;
    m.data_ = datagram;
    m.class_ = class_of(type);
    m.method_ = method_of(type);
    std::memcpy(m.transaction_id_.data(), datagram.data() + 8, k_transaction_id_size);
    (void)r.skip(k_transaction_id_size);

    bool after_integrity = false;
    bool after_fingerprint = false;
    while (!r.empty()) {
        if (after_fingerprint) return fail("stun: attribute after FINGERPRINT");
        const auto offset = static_cast<std::uint16_t>(r.position());
        std::uint16_t attr_type = 0;
        std::uint16_t attr_length = 0;
        Bytes value;
        if (!r.read_u16(attr_type) || !r.read_u16(attr_length) || !r.read_bytes(attr_length, value))
            return fail("stun: attribute runs past the message");
        // The last attribute may end without its padding only if the length said so, which the multiple
        // of 4 check above already excluded.
        if (!r.skip(padded(attr_length) - attr_length)) return fail("stun: attribute padding missing");
        if (attr_type == attr::fingerprint) {
            if (attr_length != 4) return fail("stun: FINGERPRINT is not 4 octets");
            after_fingerprint = true;
        } else if (after_integrity && attr_type != attr::message_integrity_sha256) {
            continue;  // §14.5: ignored
        }
        if (attr_type == attr::message_integrity) {
            if (attr_length != k_sha1_size) return fail("stun: MESSAGE-INTEGRITY is not 20 octets");
            after_integrity = true;
        } else if (attr_type == attr::message_integrity_sha256) {
            if (attr_length < 16 || attr_length > k_sha256_size || (attr_length & 3) != 0)
                return fail("stun: MESSAGE-INTEGRITY-SHA256 of a bad length");
            after_integrity = true;
        }
        if (m.count_ == k_max_attributes) return fail("stun: too many attributes");
        m.attributes_[m.count_++] = Attribute{attr_type, offset, value};
    }
    return m;
}

Result<Address> read_address(const Attribute& a) noexcept {
    ByteReader r(a.value);
    std::uint8_t reserved = 0;
    std::uint8_t family = 0;
    std::uint16_t port = 0;
    if (!r.read_u8(reserved) || !r.read_u8(family) || !r.read_u16(port))
        return fail("stun: address too short");
    Address out;
    out.port = port;
    if (family == 0x01 && r.remaining() == 4) {
        out.family = Family::ipv4;
    } else if (family == 0x02 && r.remaining() == 16) {
        out.family = Family::ipv6;
    } else {
        return fail("stun: bad address family or length");
    }
    std::memcpy(out.ip.data(), r.rest().data(), r.remaining());
    return out;
}

Result<Address> read_xor_address(const Attribute& a, const TransactionId& tid) noexcept {
    auto out = read_address(a);
    if (!out) return out;
    std::array<std::uint8_t, 16> pad{};
    pad[0] = 0x21;
    pad[1] = 0x12;
    pad[2] = 0xA4;
    pad[3] = 0x42;
    std::memcpy(pad.data() + 4, tid.data(), tid.size());
    out->port = static_cast<std::uint16_t>(out->port ^ (k_magic_cookie >> 16));
    for (std::size_t i = 0; i < out->ip_size(); ++i)
        out->ip[i] ^= pad[i];
    return out;
}

Result<std::string_view> read_text(const Attribute& a) noexcept {
    const std::size_t limit = a.type == attr::username ? k_max_username_size : k_max_text_size;
    if (a.value.size() > limit) return fail("stun: text attribute too long");
    return std::string_view(reinterpret_cast<const char*>(a.value.data()), a.value.size());
}

Result<std::uint32_t> read_u32(const Attribute& a) noexcept {
    if (a.value.size() != 4) return fail("stun: not a 32-bit value");
    return load_be32(a.value.data());
}

Result<std::uint8_t> read_requested_transport(const Attribute& a) noexcept {
    if (a.value.size() != 4) return fail("stun: REQUESTED-TRANSPORT is not 4 octets");
    return a.value[0];
}

Result<std::uint16_t> read_channel_number(const Attribute& a) noexcept {
    if (a.value.size() != 4) return fail("stun: CHANNEL-NUMBER is not 4 octets");
    return load_be16(a.value.data());
}

Result<Family> read_address_family(const Attribute& a) noexcept {
    if (a.value.size() != 4) return fail("stun: address family is not 4 octets");
    if (a.value[0] == 0x01) return Family::ipv4;
    if (a.value[0] == 0x02) return Family::ipv6;
    return fail("stun: unknown address family");
}

Result<bool> read_even_port(const Attribute& a) noexcept {
    if (a.value.size() != 1) return fail("stun: EVEN-PORT is not 1 octet");
    return (a.value[0] & 0x80) != 0;
}

Result<std::uint64_t> read_reservation_token(const Attribute& a) noexcept {
    if (a.value.size() != 8) return fail("stun: RESERVATION-TOKEN is not 8 octets");
    return (std::uint64_t{load_be32(a.value.data())} << 32) | load_be32(a.value.data() + 4);
}

Result<ChangeRequest> read_change_request(const Attribute& a) noexcept {
    if (a.value.size() != 4) return fail("stun: CHANGE-REQUEST is not 4 octets");
    const std::uint32_t flags = load_be32(a.value.data());
    return ChangeRequest{(flags & 0x4) != 0, (flags & 0x2) != 0};
}

Result<std::uint16_t> read_response_port(const Attribute& a) noexcept {
    if (a.value.size() != 4) return fail("stun: RESPONSE-PORT is not 4 octets");
    return load_be16(a.value.data());
}

Result<ErrorCode> read_error_code(const Attribute& a) noexcept {
    if (a.value.size() < 4) return fail("stun: ERROR-CODE too short");
    if (a.value.size() > 4 + k_max_text_size) return fail("stun: ERROR-CODE reason too long");
    const unsigned hundreds = a.value[2] & 0x07;
    const unsigned number = a.value[3];
    if (hundreds < 3 || hundreds > 6 || number > 99) return fail("stun: ERROR-CODE out of range");
    return ErrorCode{static_cast<std::uint16_t>(hundreds * 100 + number),
                     std::string_view(reinterpret_cast<const char*>(a.value.data() + 4), a.value.size() - 4)};
}

Result<AddressErrorCode> read_address_error_code(const Attribute& a) noexcept {
    if (a.value.size() < 4) return fail("stun: ADDRESS-ERROR-CODE too short");
    if (a.value[0] != 0x01 && a.value[0] != 0x02)
        return fail("stun: ADDRESS-ERROR-CODE of an unknown family");
    // The same layout as ERROR-CODE after the family octet.
    const auto error = read_error_code(a);
    if (!error) return fail("stun: ADDRESS-ERROR-CODE out of range");
    return AddressErrorCode{static_cast<Family>(a.value[0]), *error};
}

Result<std::size_t> read_unknown_attributes(const Attribute& a, std::span<std::uint16_t> out) noexcept {
    if ((a.value.size() & 1) != 0) return fail("stun: UNKNOWN-ATTRIBUTES of odd length");
    std::size_t n = 0;
    for (std::size_t i = 0; i + 1 < a.value.size() && n < out.size(); i += 2)
        out[n++] = load_be16(a.value.data() + i);
    return n;
}

std::uint32_t crc32(Bytes data) noexcept {
    std::uint32_t c = 0xFFFFFFFFU;
    for (const std::uint8_t b : data)
        c = k_crc_table.entries[(c ^ b) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFU;
}

bool fingerprint_ok(const MessageView& m) noexcept {
    const Attribute* f = m.find(attr::fingerprint);
    if (f == nullptr) return true;
    // FINGERPRINT is last (parse_message made sure), so the length field already covers it.
    return (crc32(m.data().first(f->offset)) ^ k_fingerprint_xor) == load_be32(f->value.data());
}

Integrity check_integrity(const MessageView& m, Bytes key) noexcept {
    const Attribute* a = m.find(attr::message_integrity);
    const EVP_MD* md = EVP_sha1();
    if (a == nullptr) {
        a = m.find(attr::message_integrity_sha256);
        md = EVP_sha256();
    }
    if (a == nullptr) return Integrity::absent;
    std::array<std::uint8_t, EVP_MAX_MD_SIZE> mac{};
    unsigned mac_size = 0;
    if (!prefix_hmac(m.data(), a->offset, 4 + a->value.size(), md, key, mac.data(), mac_size))
        return Integrity::bad;
    if (a->value.size() > mac_size) return Integrity::bad;
    // Constant time: the MAC is what an attacker probes.
    unsigned char diff = 0;
    for (std::size_t i = 0; i < a->value.size(); ++i)
        diff |= static_cast<unsigned char>(mac[i] ^ a->value[i]);
    return diff == 0 ? Integrity::ok : Integrity::bad;
}

namespace {

// digest(parts joined by ':') into out; out stays zero on an OpenSSL failure.
template <std::size_t N>
std::array<std::uint8_t, N> colon_joined_digest(const EVP_MD* md,
                                                std::initializer_list<std::string_view> parts) noexcept {
    std::array<std::uint8_t, N> out{};
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    if (ctx == nullptr) return out;
    bool ok = EVP_DigestInit_ex(ctx, md, nullptr) == 1;
    bool first = true;
    for (const std::string_view part : parts) {
        if (!first) ok = ok && EVP_DigestUpdate(ctx, ":", 1) == 1;
        ok = ok && EVP_DigestUpdate(ctx, part.data(), part.size()) == 1;
        first = false;
    }
    unsigned size = 0;
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    ok = ok && EVP_DigestFinal_ex(ctx, digest.data(), &size) == 1 && size == N;
    EVP_MD_CTX_free(ctx);
    if (ok) std::memcpy(out.data(), digest.data(), N);
    return out;
}

}  // namespace

std::array<std::uint8_t, 16> long_term_key(std::string_view username, std::string_view realm,
                                           std::string_view password) noexcept {
    return colon_joined_digest<16>(EVP_md5(), {username, realm, password});
}

std::array<std::uint8_t, 32> long_term_key_sha256(std::string_view username, std::string_view realm,
                                                  std::string_view password) noexcept {
    return colon_joined_digest<32>(EVP_sha256(), {username, realm, password});
}

std::array<std::uint8_t, 32> userhash(std::string_view username, std::string_view realm) noexcept {
    return colon_joined_digest<32>(EVP_sha256(), {username, realm});
}

Result<std::size_t> read_password_algorithms(const Attribute& a, std::span<std::uint16_t> out) noexcept {
    std::size_t n = 0;
    std::size_t at = 0;
    while (at < a.value.size()) {
        if (a.value.size() - at < 4) return fail("PASSWORD-ALGORITHMS entry cut short");
        const auto algorithm = static_cast<std::uint16_t>((a.value[at] << 8) | a.value[at + 1]);
        const auto length = static_cast<std::size_t>((a.value[at + 2] << 8) | a.value[at + 3]);
        const std::size_t padded = (length + 3) & ~std::size_t{3};
        if (padded > a.value.size() - at - 4) return fail("PASSWORD-ALGORITHMS parameters past its end");
        if (n < out.size()) out[n++] = algorithm;
        at += 4 + padded;
    }
    return n;
}

std::optional<std::uint32_t> nonce_security_features(std::string_view nonce) noexcept {
    constexpr std::string_view k_cookie = "obMatJos2";
    if (nonce.size() < k_cookie.size() + 4 || !nonce.starts_with(k_cookie)) return std::nullopt;
    std::uint32_t bits = 0;
    for (const char c : nonce.substr(k_cookie.size(), 4)) {
        std::uint32_t v = 0;
        if (c >= 'A' && c <= 'Z') {
            v = static_cast<std::uint32_t>(c - 'A');
        } else if (c >= 'a' && c <= 'z') {
            v = static_cast<std::uint32_t>(c - 'a' + 26);
        } else if (c >= '0' && c <= '9') {
            v = static_cast<std::uint32_t>(c - '0' + 52);
        } else if (c == '+') {
            v = 62;
        } else if (c == '/') {
            v = 63;
        } else {
            return std::nullopt;
        }
        bits = (bits << 6) | v;
    }
    return bits;
}

Result<std::uint16_t> read_password_algorithm(const Attribute& a) noexcept {
    // Algorithm (16 bits), parameters length (16 bits), parameters: MD5 and SHA-256 take none (§14.12).
    if (a.value.size() < 4) return fail("PASSWORD-ALGORITHM too short");
    const auto length = static_cast<std::size_t>((a.value[2] << 8) | a.value[3]);
    if (4 + length > a.value.size()) return fail("PASSWORD-ALGORITHM parameters past its end");
    return static_cast<std::uint16_t>((a.value[0] << 8) | a.value[1]);
}

MessageBuilder::MessageBuilder(std::vector<std::uint8_t>& out, Class cls, std::uint16_t method,
                               const TransactionId& tid)
    : out_(out), start_(out.size()), tid_(tid) {
    ByteWriter w(out_);
    w.put_u16(message_type(cls, method));
    w.put_u16(0);
    w.put_u32(k_magic_cookie);
    w.put_bytes(tid);
}

void MessageBuilder::set_length(std::size_t attributes_length) noexcept {
    ByteWriter(out_).patch_u16(start_ + 2, static_cast<std::uint16_t>(attributes_length));
}

void MessageBuilder::begin_attribute(std::uint16_t type, std::size_t length) {
    ByteWriter w(out_);
    w.put_u16(type);
    w.put_u16(static_cast<std::uint16_t>(length));
}

void MessageBuilder::end_attribute() {
    while ((out_.size() - start_) % 4 != 0)
        out_.push_back(0);
    set_length(out_.size() - start_ - k_header_size);
}

void MessageBuilder::add(std::uint16_t type, Bytes value) {
    begin_attribute(type, value.size());
    ByteWriter(out_).put_bytes(value);
    end_attribute();
}

void MessageBuilder::add_text(std::uint16_t type, std::string_view text) {
    add(type, Bytes(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

void MessageBuilder::add_u32(std::uint16_t type, std::uint32_t value) {
    begin_attribute(type, 4);
    ByteWriter(out_).put_u32(value);
    end_attribute();
}

void MessageBuilder::add_address(std::uint16_t type, const Address& address) {
    begin_attribute(type, 4 + address.ip_size());
    ByteWriter w(out_);
    w.put_u8(0);
    w.put_u8(static_cast<std::uint8_t>(address.family));
    w.put_u16(address.port);
    w.put_bytes(Bytes(address.ip.data(), address.ip_size()));
    end_attribute();
}

void MessageBuilder::add_xor_address(std::uint16_t type, const Address& address) {
    Address x = address;
    std::array<std::uint8_t, 16> pad{0x21, 0x12, 0xA4, 0x42};
    std::memcpy(pad.data() + 4, tid_.data(), tid_.size());
    x.port = static_cast<std::uint16_t>(x.port ^ (k_magic_cookie >> 16));
    for (std::size_t i = 0; i < x.ip_size(); ++i)
        x.ip[i] ^= pad[i];
    add_address(type, x);
}

void MessageBuilder::add_error_code(std::uint16_t code, std::string_view reason) {
    reason = reason.substr(0, k_max_text_size);
    begin_attribute(attr::error_code, 4 + reason.size());
    ByteWriter w(out_);
    w.put_u16(0);
    w.put_u8(static_cast<std::uint8_t>(code / 100));
    w.put_u8(static_cast<std::uint8_t>(code % 100));
    w.put_bytes(Bytes(reinterpret_cast<const std::uint8_t*>(reason.data()), reason.size()));
    end_attribute();
}

void MessageBuilder::add_address_error_code(Family family, std::uint16_t code, std::string_view reason) {
    reason = reason.substr(0, k_max_text_size);
    begin_attribute(attr::address_error_code, 4 + reason.size());
    ByteWriter w(out_);
    w.put_u8(static_cast<std::uint8_t>(family));
    w.put_u8(0);
    w.put_u8(static_cast<std::uint8_t>(code / 100));
    w.put_u8(static_cast<std::uint8_t>(code % 100));
    w.put_bytes(Bytes(reinterpret_cast<const std::uint8_t*>(reason.data()), reason.size()));
    end_attribute();
}

void MessageBuilder::add_unknown_attributes(std::span<const std::uint16_t> types) {
    begin_attribute(attr::unknown_attributes, 2 * types.size());
    ByteWriter w(out_);
    for (const std::uint16_t t : types)
        w.put_u16(t);
    end_attribute();
}

void MessageBuilder::add_requested_transport(std::uint8_t protocol) {
    add_u32(attr::requested_transport, std::uint32_t{protocol} << 24);
}

void MessageBuilder::add_channel_number(std::uint16_t channel) {
    add_u32(attr::channel_number, std::uint32_t{channel} << 16);
}

void MessageBuilder::add_address_family(std::uint16_t type, Family family) {
    add_u32(type, std::uint32_t{static_cast<std::uint8_t>(family)} << 24);
}

void MessageBuilder::add_change_request(bool change_ip, bool change_port) {
    add_u32(attr::change_request, (change_ip ? 0x4U : 0U) | (change_port ? 0x2U : 0U));
}

void MessageBuilder::add_even_port(bool reserve) {
    const std::uint8_t value = reserve ? 0x80 : 0x00;
    add(attr::even_port, Bytes(&value, 1));
}

void MessageBuilder::add_reservation_token(std::uint64_t token) {
    begin_attribute(attr::reservation_token, 8);
    ByteWriter w(out_);
    w.put_u32(static_cast<std::uint32_t>(token >> 32));
    w.put_u32(static_cast<std::uint32_t>(token));
    end_attribute();
}

void MessageBuilder::add_password_algorithms(std::span<const std::uint16_t> algorithms) {
    std::vector<std::uint8_t> value;
    for (const std::uint16_t algorithm : algorithms) {
        ByteWriter w(value);
        w.put_u16(algorithm);
        w.put_u16(0);  // no parameters (MD5, SHA-256)
    }
    add(attr::password_algorithms, value);
}

void MessageBuilder::add_password_algorithm(std::uint16_t algorithm) {
    const std::array<std::uint8_t, 4> value{static_cast<std::uint8_t>(algorithm >> 8),
                                            static_cast<std::uint8_t>(algorithm), 0, 0};
    add(attr::password_algorithm, value);
}

void MessageBuilder::add_message_integrity(Bytes key) {
    const std::size_t at = out_.size() - start_;
    std::array<std::uint8_t, EVP_MAX_MD_SIZE> mac{};
    unsigned mac_size = 0;
    // On an OpenSSL failure the MAC stays zero, which no peer accepts: the answer fails, not the process.
    (void)prefix_hmac(message(), at, 4 + k_sha1_size, EVP_sha1(), key, mac.data(), mac_size);
    add(attr::message_integrity, Bytes(mac.data(), k_sha1_size));
}

void MessageBuilder::add_message_integrity_sha256(Bytes key) {
    const std::size_t at = out_.size() - start_;
    std::array<std::uint8_t, EVP_MAX_MD_SIZE> mac{};
    unsigned mac_size = 0;
    (void)prefix_hmac(message(), at, 4 + k_sha256_size, EVP_sha256(), key, mac.data(), mac_size);
    add(attr::message_integrity_sha256, Bytes(mac.data(), k_sha256_size));
}

void MessageBuilder::add_fingerprint() {
    set_length(out_.size() - start_ - k_header_size + 8);
    const std::uint32_t crc = crc32(message()) ^ k_fingerprint_xor;
    add_u32(attr::fingerprint, crc);
}

std::string_view reason_phrase(std::uint16_t code) noexcept {
    switch (code) {
        case 300:
            return "Try Alternate";
        case 400:
            return "Bad Request";
        case 401:
            return "Unauthorized";
        case 403:
            return "Forbidden";
        case 420:
            return "Unknown Attribute";
        case 437:
            return "Allocation Mismatch";
        case 438:
            return "Stale Nonce";
        case 440:
            return "Address Family not Supported";
        case 441:
            return "Wrong Credentials";
        case 442:
            return "Unsupported Transport Protocol";
        case 443:
            return "Peer Address Family Mismatch";
        case 486:
            return "Allocation Quota Reached";
        case 500:
            return "Server Error";
        case 508:
            return "Insufficient Capacity";
        default:
            return "Error";
    }
}

}  // namespace sg::stun

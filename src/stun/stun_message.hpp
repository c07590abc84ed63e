#pragma once
// STUN messages (RFC 8489 §5, §14) with the TURN attributes of RFC 8656 §18: a validated view, typed
// attribute readers, and a builder that appends MESSAGE-INTEGRITY(-SHA256) and FINGERPRINT in the order
// §14.5-§14.7 require.
//
// parse_message checks the header (top two bits zero, magic cookie, length a multiple of 4 that matches
// the datagram) and walks every attribute once (type, length, padding to 4) within a count limit before
// handing out a view, so the accessors cannot read out of bounds. As §14.5 says, attributes after
// MESSAGE-INTEGRITY are ignored except MESSAGE-INTEGRITY-SHA256 and FINGERPRINT, and FINGERPRINT must be
// the last one. Nothing here throws; the view never allocates.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "common/byte_io.hpp"
#include "common/result.hpp"
#include "stun/stun_address.hpp"

namespace sg::stun {

inline constexpr std::uint32_t k_magic_cookie = 0x2112A442;
inline constexpr std::size_t k_header_size = 20;
inline constexpr std::size_t k_transaction_id_size = 12;
// The length field has 16 bits and counts whole 4-octet words of attributes.
inline constexpr std::size_t k_max_message_size = k_header_size + 65532;
// A legitimate message carries about a dozen attributes; more is an attack on our attribute walk.
inline constexpr std::size_t k_max_attributes = 32;
inline constexpr std::uint32_t k_fingerprint_xor = 0x5354554E;
// §14.3-§14.10 bound the text attributes: USERNAME 513 octets, REALM/NONCE/SOFTWARE 763.
inline constexpr std::size_t k_max_username_size = 513;
inline constexpr std::size_t k_max_text_size = 763;

using TransactionId = std::array<std::uint8_t, k_transaction_id_size>;

enum class Class : std::uint8_t { request = 0, indication = 1, success = 2, error = 3 };

namespace method {
inline constexpr std::uint16_t binding = 0x001;
inline constexpr std::uint16_t allocate = 0x003;  // RFC 8656
inline constexpr std::uint16_t refresh = 0x004;
inline constexpr std::uint16_t send = 0x006;
inline constexpr std::uint16_t data = 0x007;
inline constexpr std::uint16_t create_permission = 0x008;
inline constexpr std::uint16_t channel_bind = 0x009;
}  // namespace method

namespace attr {
inline constexpr std::uint16_t mapped_address = 0x0001;
inline constexpr std::uint16_t username = 0x0006;
inline constexpr std::uint16_t message_integrity = 0x0008;
inline constexpr std::uint16_t error_code = 0x0009;
inline constexpr std::uint16_t unknown_attributes = 0x000A;
inline constexpr std::uint16_t channel_number = 0x000C;
inline constexpr std::uint16_t lifetime = 0x000D;
inline constexpr std::uint16_t xor_peer_address = 0x0012;
inline constexpr std::uint16_t data = 0x0013;
inline constexpr std::uint16_t realm = 0x0014;
inline constexpr std::uint16_t nonce = 0x0015;
inline constexpr std::uint16_t xor_relayed_address = 0x0016;
inline constexpr std::uint16_t requested_address_family = 0x0017;
inline constexpr std::uint16_t even_port = 0x0018;
inline constexpr std::uint16_t requested_transport = 0x0019;
inline constexpr std::uint16_t dont_fragment = 0x001A;
inline constexpr std::uint16_t message_integrity_sha256 = 0x001C;
inline constexpr std::uint16_t password_algorithm = 0x001D;
inline constexpr std::uint16_t userhash = 0x001E;
inline constexpr std::uint16_t xor_mapped_address = 0x0020;
inline constexpr std::uint16_t reservation_token = 0x0022;
inline constexpr std::uint16_t password_algorithms = 0x8002;
inline constexpr std::uint16_t alternate_domain = 0x8003;
inline constexpr std::uint16_t software = 0x8022;
inline constexpr std::uint16_t alternate_server = 0x8023;
inline constexpr std::uint16_t fingerprint = 0x8028;
inline constexpr std::uint16_t additional_address_family = 0x8000;
// The value of draft-ietf-tram-turn-ipv6 that coturn (4.6) still sends for ADDITIONAL-ADDRESS-FAMILY.
inline constexpr std::uint16_t additional_address_family_draft = 0x8032;
inline constexpr std::uint16_t address_error_code = 0x8001;
inline constexpr std::uint16_t icmp = 0x8004;
// RFC 5780 (NAT behaviour discovery)
inline constexpr std::uint16_t change_request = 0x0003;
inline constexpr std::uint16_t padding = 0x0026;
inline constexpr std::uint16_t response_port = 0x0027;
inline constexpr std::uint16_t response_origin = 0x802B;
inline constexpr std::uint16_t other_address = 0x802C;

// 0x0000-0x7FFF must be understood (§14): an unknown one in a request is answered 420.
constexpr bool comprehension_required(std::uint16_t type) noexcept {
    return type < 0x8000;
}
// The comprehension-required attributes this codec knows.
bool known(std::uint16_t type) noexcept;
}  // namespace attr

// The 16-bit message type of §5: method bits M0-M11 interleaved with class bits C0 and C1.
constexpr std::uint16_t message_type(Class cls, std::uint16_t method) noexcept {
    const auto c = static_cast<std::uint16_t>(cls);
    return static_cast<std::uint16_t>((method & 0x000F) | ((method & 0x0070) << 1) |
                                      ((method & 0x0F80) << 2) | ((c & 1) << 4) | ((c & 2) << 7));
}

struct Attribute {
    std::uint16_t type = 0;
    std::uint16_t offset = 0;  // of the attribute header within the message
    Bytes value;               // without padding
};

class MessageView {
public:
    Class message_class() const noexcept { return class_; }
    std::uint16_t method() const noexcept { return method_; }
    const TransactionId& transaction_id() const noexcept { return transaction_id_; }
    Bytes data() const noexcept { return data_; }

    std::span<const Attribute> attributes() const noexcept { return {attributes_.data(), count_}; }
    // The first attribute of `type` (§14: later duplicates are ignored), or nullptr.
    const Attribute* find(std::uint16_t type) const noexcept;
    bool has(std::uint16_t type) const noexcept { return find(type) != nullptr; }

    // Comprehension-required attributes this codec does not know, at most `out.size()` of them; returns
    // how many were written.
    std::size_t unknown_required(std::span<std::uint16_t> out) const noexcept;

private:
    friend Result<MessageView> parse_message(Bytes datagram) noexcept;
    MessageView() = default;

    Bytes data_;
    Class class_ = Class::request;
    std::uint16_t method_ = 0;
    TransactionId transaction_id_{};
    std::array<Attribute, k_max_attributes> attributes_{};
    std::size_t count_ = 0;
};

// Validates one whole STUN message (a UDP datagram, or one message cut from a stream by its length).
Result<MessageView> parse_message(Bytes datagram) noexcept;

// The first two bits of a datagram tell STUN (00) from ChannelData (01) (RFC 8656 §12).
constexpr bool looks_like_stun(Bytes datagram) noexcept {
    return datagram.size() >= k_header_size && (datagram[0] & 0xC0) == 0;
}

// Typed readers: each fails on a value of the wrong length or form.
Result<Address> read_address(const Attribute& a) noexcept;                                // MAPPED-ADDRESS
Result<Address> read_xor_address(const Attribute& a, const TransactionId& tid) noexcept;  // XOR-*-ADDRESS
Result<std::string_view> read_text(const Attribute& a) noexcept;  // USERNAME, REALM, NONCE, SOFTWARE
Result<std::uint32_t> read_u32(const Attribute& a) noexcept;      // LIFETIME
Result<std::uint8_t> read_requested_transport(const Attribute& a) noexcept;  // protocol number
Result<std::uint16_t> read_channel_number(const Attribute& a) noexcept;
Result<Family> read_address_family(const Attribute& a) noexcept;  // REQUESTED/ADDITIONAL-ADDRESS-FAMILY
Result<bool> read_even_port(const Attribute& a) noexcept;         // the R (reserve) bit
Result<std::uint64_t> read_reservation_token(const Attribute& a) noexcept;
struct ChangeRequest {
    bool change_ip = false;
    bool change_port = false;
};
Result<ChangeRequest> read_change_request(const Attribute& a) noexcept;  // RFC 5780 §7.2
Result<std::uint16_t> read_response_port(const Attribute& a) noexcept;   // RFC 5780 §7.5

struct ErrorCode {
    std::uint16_t code = 0;  // 300..699
    std::string_view reason;
};
Result<ErrorCode> read_error_code(const Attribute& a) noexcept;
// ADDRESS-ERROR-CODE (RFC 8656 §18.13): which family of a dual allocation failed, and why.
struct AddressErrorCode {
    Family family = Family::ipv4;
    ErrorCode error;
};
Result<AddressErrorCode> read_address_error_code(const Attribute& a) noexcept;
// Writes at most out.size() types; returns how many.
Result<std::size_t> read_unknown_attributes(const Attribute& a, std::span<std::uint16_t> out) noexcept;

// FINGERPRINT (§14.7): true when absent or right.
bool fingerprint_ok(const MessageView& m) noexcept;
// CRC-32 (ISO 3309, as in zlib) of `data`.
std::uint32_t crc32(Bytes data) noexcept;

enum class Integrity : std::uint8_t { absent, ok, bad };
// MESSAGE-INTEGRITY (HMAC-SHA1) when present, else MESSAGE-INTEGRITY-SHA256 (HMAC-SHA256, truncation to
// 16..32 octets per §14.6). When both are present, MESSAGE-INTEGRITY is the one checked (the key is the
// same; a server that offers only the MD5 long-term algorithm gets SHA-1 from every client it knows).
Integrity check_integrity(const MessageView& m, Bytes key) noexcept;

// The long-term credential key (§9.2.2, MD5 algorithm): MD5(username ":" realm ":" password). The
// username and password are used as given (no OpaqueString/SASLprep). Empty on OpenSSL failure.
std::array<std::uint8_t, 16> long_term_key(std::string_view username, std::string_view realm,
                                           std::string_view password) noexcept;
// The same with the SHA-256 password algorithm (§18.5.1.2): SHA-256(username ":" realm ":" password).
std::array<std::uint8_t, 32> long_term_key_sha256(std::string_view username, std::string_view realm,
                                                  std::string_view password) noexcept;
// USERHASH (§14.4): SHA-256(username ":" realm), the username as a client that hides it sends it.
std::array<std::uint8_t, 32> userhash(std::string_view username, std::string_view realm) noexcept;

// Password algorithms (§18.5): what PASSWORD-ALGORITHM(S) name.
inline constexpr std::uint16_t password_algorithm_md5 = 0x0001;
inline constexpr std::uint16_t password_algorithm_sha256 = 0x0002;
// PASSWORD-ALGORITHM (§14.12): the algorithm a client chose.
Result<std::uint16_t> read_password_algorithm(const Attribute& a) noexcept;
// PASSWORD-ALGORITHMS (§14.11): the algorithms a server offers, in its order; writes at most out.size().
Result<std::size_t> read_password_algorithms(const Attribute& a, std::span<std::uint16_t> out) noexcept;

// The STUN security feature set a server announces at the start of its NONCE (§9.2): the cookie
// "obMatJos2" and 24 bits in 4 base64 characters. nullopt when the nonce does not start with them.
inline constexpr std::uint32_t security_feature_password_algorithms = 0x800000;  // bit 0
inline constexpr std::uint32_t security_feature_username_anonymity = 0x400000;   // bit 1
std::optional<std::uint32_t> nonce_security_features(std::string_view nonce) noexcept;

// Appends one message to a caller-owned buffer; the header's length is kept current after every
// attribute, so the buffer holds a valid message at any point.
class MessageBuilder {
public:
    MessageBuilder(std::vector<std::uint8_t>& out, Class cls, std::uint16_t method, const TransactionId& tid);

    void add(std::uint16_t type, Bytes value);  // pads with zeros to 4
    void add_text(std::uint16_t type, std::string_view text);
    void add_u32(std::uint16_t type, std::uint32_t value);
    void add_address(std::uint16_t type, const Address& address);
    void add_xor_address(std::uint16_t type, const Address& address);
    void add_error_code(std::uint16_t code, std::string_view reason);
    void add_address_error_code(Family family, std::uint16_t code, std::string_view reason);
    void add_unknown_attributes(std::span<const std::uint16_t> types);
    void add_requested_transport(std::uint8_t protocol);
    void add_channel_number(std::uint16_t channel);
    void add_address_family(std::uint16_t type, Family family);
    void add_even_port(bool reserve);
    void add_reservation_token(std::uint64_t token);
    void add_empty(std::uint16_t type) { add(type, {}); }  // DONT-FRAGMENT
    void add_change_request(bool change_ip, bool change_port);
    // PASSWORD-ALGORITHMS (§14.11) and PASSWORD-ALGORITHM (§14.12), for algorithms without parameters.
    void add_password_algorithms(std::span<const std::uint16_t> algorithms);
    void add_password_algorithm(std::uint16_t algorithm);

    // In this order, after every other attribute: MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256, FINGERPRINT.
    void add_message_integrity(Bytes key);
    void add_message_integrity_sha256(Bytes key);
    void add_fingerprint();

    Bytes message() const noexcept { return Bytes(out_).subspan(start_); }

private:
    void begin_attribute(std::uint16_t type, std::size_t length);
    void end_attribute();
    void set_length(std::size_t attributes_length) noexcept;

    std::vector<std::uint8_t>& out_;
    std::size_t start_;
    TransactionId tid_;
};

std::string_view reason_phrase(std::uint16_t code) noexcept;  // "Unauthorized" for 401...

}  // namespace sg::stun

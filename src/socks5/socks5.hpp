#pragma once
// SOCKS5 wire format: incremental parsers and builders for both the server's and the client's side.
//   RFC 1928 section 3 (method negotiation), 4 (requests), 5 (addressing), 6 (replies),
//   7 (UDP request header); RFC 1929 section 2 (username/password sub-negotiation).
// Pure code: no I/O, no exceptions. Stream parsers return sg::Parsed and never consume past the message,
// so bytes a client pipelined behind it stay with the caller. A UDP datagram is always whole, so its
// parser returns an sg::Result instead.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/byte_io.hpp"
#include "common/parse.hpp"
#include "common/result.hpp"

namespace sg::socks {

inline constexpr std::uint8_t k_version = 0x05;       // RFC 1928 VER
inline constexpr std::uint8_t k_auth_version = 0x01;  // RFC 1929 sub-negotiation VER

// Largest possible messages, for sizing receive buffers: VER NMETHODS METHODS[255];
// VER ULEN UNAME[255] PLEN PASSWD[255]; VER CMD RSV ATYP LEN DOMAIN[255] PORT (same for replies).
inline constexpr std::size_t k_max_method_request_size = 2 + 255;
inline constexpr std::size_t k_max_auth_request_size = 3 + 255 + 255;
inline constexpr std::size_t k_max_request_size = 4 + 1 + 255 + 2;
inline constexpr std::size_t k_max_domain_size = 255;

// Enumerations have a fixed underlying type, so any wire byte is representable: parsers keep unknown
// method and reply codes (they are legal on the wire) and reject only what the RFC makes invalid.
enum class Method : std::uint8_t {
    no_auth = 0x00,
    gssapi = 0x01,
    username_password = 0x02,
    no_acceptable = 0xFF
};
enum class Command : std::uint8_t { connect = 0x01, bind = 0x02, udp_associate = 0x03 };
enum class AddressType : std::uint8_t { ipv4 = 0x01, domain = 0x03, ipv6 = 0x04 };
enum class Reply : std::uint8_t {
    succeeded = 0x00,
    general_failure = 0x01,
    not_allowed = 0x02,
    network_unreachable = 0x03,
    host_unreachable = 0x04,
    connection_refused = 0x05,
    ttl_expired = 0x06,
    command_not_supported = 0x07,
    address_type_not_supported = 0x08,
};

std::string_view to_string(Method m) noexcept;  // "unassigned" / "private" for codes without a name
std::string_view to_string(Command c) noexcept;
std::string_view to_string(AddressType t) noexcept;
std::string_view to_string(Reply r) noexcept;  // "unassigned" for codes above 0x08

// DST/BND address plus port (RFC 1928 section 5). The invariants (domain 1..255 bytes without NUL) are
// enforced by the factories, so every Address can be encoded. Default: 0.0.0.0:0, which servers send as
// BND in failure replies.
class Address {
public:
    Address() = default;
    static Address from_ipv4(const std::array<std::uint8_t, 4>& octets, std::uint16_t port) noexcept;
    static Address from_ipv6(const std::array<std::uint8_t, 16>& octets, std::uint16_t port) noexcept;
    static Result<Address> from_domain(std::string_view name, std::uint16_t port);

    AddressType type() const noexcept { return type_; }
    bool is_ipv4() const noexcept { return type_ == AddressType::ipv4; }
    bool is_ipv6() const noexcept { return type_ == AddressType::ipv6; }
    bool is_domain() const noexcept { return type_ == AddressType::domain; }

    std::array<std::uint8_t, 4> ipv4() const noexcept;                  // zeros unless is_ipv4()
    std::array<std::uint8_t, 16> ipv6() const noexcept { return ip_; }  // zeros unless is_ipv6()
    std::string_view domain() const noexcept { return domain_; }        // empty unless is_domain()
    std::uint16_t port() const noexcept { return port_; }
    void set_port(std::uint16_t port) noexcept { port_ = port; }

    std::size_t wire_size() const noexcept;  // ATYP + address + port
    // "192.0.2.1", "2001:db8::1" (RFC 5952) or the domain with non-printable bytes shown as \xNN.
    std::string host_string() const;
    // "192.0.2.1:80", "[2001:db8::1]:80", "example.com:443".
    std::string to_string() const;

    friend bool operator==(const Address&, const Address&) = default;

private:
    AddressType type_ = AddressType::ipv4;
    std::array<std::uint8_t, 16> ip_{};  // IPv4 uses the first 4 bytes; the rest stays zero
    std::string domain_;
    std::uint16_t port_ = 0;
};

// --- Method negotiation (RFC 1928 section 3) ---------------------------------------------------------
struct MethodRequest {            // client -> server: VER NMETHODS METHODS
    std::vector<Method> methods;  // 1..255 entries, in the client's order
    bool offers(Method m) const noexcept;
    friend bool operator==(const MethodRequest&, const MethodRequest&) = default;
};

Parsed<MethodRequest> parse_method_request(Bytes in);
Parsed<Method> parse_method_selection(Bytes in);  // server -> client: VER METHOD

[[nodiscard]] bool build_method_request(std::vector<std::uint8_t>& out, std::span<const Method> methods);
void build_method_selection(std::vector<std::uint8_t>& out, Method method);

// --- Username/password sub-negotiation (RFC 1929 section 2) ------------------------------------------
struct AuthRequest {       // client -> server: VER ULEN UNAME PLEN PASSWD
    std::string username;  // 1..255 bytes, any octets
    std::string password;  // 1..255 bytes, any octets
    friend bool operator==(const AuthRequest&, const AuthRequest&) = default;
};

struct AuthReply {            // server -> client: VER STATUS
    std::uint8_t status = 0;  // 0x00 success; anything else means failure and the server closes
    bool success() const noexcept { return status == 0; }
    friend bool operator==(const AuthReply&, const AuthReply&) = default;
};

Parsed<AuthRequest> parse_auth_request(Bytes in);
Parsed<AuthReply> parse_auth_reply(Bytes in);

[[nodiscard]] bool build_auth_request(std::vector<std::uint8_t>& out, std::string_view username,
                                      std::string_view password);
void build_auth_reply(std::vector<std::uint8_t>& out, bool success);

// --- Requests and replies (RFC 1928 sections 4 and 6) -------------------------------------------------
struct Request {  // client -> server: VER CMD RSV ATYP DST.ADDR DST.PORT
    Command command = Command::connect;
    Address destination;
    friend bool operator==(const Request&, const Request&) = default;
};

struct ReplyMessage {  // server -> client: VER REP RSV ATYP BND.ADDR BND.PORT
    Reply reply = Reply::succeeded;
    Address bound;
    friend bool operator==(const ReplyMessage&, const ReplyMessage&) = default;
};

// A request parse also says which REP the server must answer when it fails (RFC 1928 section 6):
// unknown CMD -> command_not_supported, unknown ATYP -> address_type_not_supported, else general_failure.
// After an unknown ATYP the request length is unknowable, so the server replies and closes.
struct [[nodiscard]] ParsedRequest : Parsed<Request> {
    Reply error_reply = Reply::general_failure;  // meaningful only when failed()
};

ParsedRequest parse_request(Bytes in);
Parsed<ReplyMessage> parse_reply(Bytes in);  // any REP code is accepted; != succeeded means failure

[[nodiscard]] bool build_request(std::vector<std::uint8_t>& out, Command command, const Address& destination);
void build_reply(std::vector<std::uint8_t>& out, Reply reply, const Address& bound);

// --- UDP request header (RFC 1928 section 7) ----------------------------------------------------------
struct UdpHeader {              // RSV(2) FRAG ATYP DST.ADDR DST.PORT
    std::uint8_t fragment = 0;  // 0 = standalone datagram; servers not implementing reassembly drop others
    Address destination;
    friend bool operator==(const UdpHeader&, const UdpHeader&) = default;
};

struct UdpDatagram {
    UdpHeader header;
    Bytes data;  // view into the parsed datagram; may be empty
};

Result<UdpDatagram> parse_udp_datagram(Bytes datagram);
void build_udp_datagram(std::vector<std::uint8_t>& out, const UdpHeader& header, Bytes data);

}  // namespace sg::socks

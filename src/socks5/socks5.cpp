#include "socks5/socks5.hpp"

#include <algorithm>

namespace sg::socks {

// --- Names ----------------------------------------------------------------------------------------------

std::string_view to_string(Method m) noexcept {
    switch (m) {
        case Method::no_auth:
            return "no_auth";
        case Method::gssapi:
            return "gssapi";
        case Method::username_password:
            return "username_password";
        case Method::no_acceptable:
            return "no_acceptable";
    }
    // RFC 1928: 0x03-0x7F are IANA-assigned, 0x80-0xFE reserved for private methods.
    return static_cast<std::uint8_t>(m) >= 0x80 ? "private" : "unassigned";
}

std::string_view to_string(Command c) noexcept {
    switch (c) {
        case Command::connect:
            return "connect";
        case Command::bind:
            return "bind";
        case Command::udp_associate:
            return "udp_associate";
    }
    return "unknown";
}

std::string_view to_string(AddressType t) noexcept {
    switch (t) {
        case AddressType::ipv4:
            return "ipv4";
        case AddressType::domain:
            return "domain";
        case AddressType::ipv6:
            return "ipv6";
    }
    return "unknown";
}

std::string_view to_string(Reply r) noexcept {
    switch (r) {
        case Reply::succeeded:
            return "succeeded";
        case Reply::general_failure:
            return "general_failure";
        case Reply::not_allowed:
            return "not_allowed";
        case Reply::network_unreachable:
            return "network_unreachable";
        case Reply::host_unreachable:
            return "host_unreachable";
        case Reply::connection_refused:
            return "connection_refused";
        case Reply::ttl_expired:
            return "ttl_expired";
        case Reply::command_not_supported:
            return "command_not_supported";
        case Reply::address_type_not_supported:
            return "address_type_not_supported";
    }
    return "unassigned";
}

// --- Address --------------------------------------------------------------------------------------------

namespace {

Bytes as_bytes(std::string_view s) noexcept {
    return Bytes(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

std::string_view as_text(Bytes b) noexcept {
    return std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
}

constexpr char k_hex[] = "0123456789abcdef";

void append_decimal(std::string& out, unsigned v) {
    char buf[8];
    std::size_t n = 0;
    do {
        buf[n++] = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v != 0 && n < sizeof buf);
    while (n > 0)
        out.push_back(buf[--n]);
}

void append_ipv4(std::string& out, const std::uint8_t* p) {
    for (int i = 0; i < 4; ++i) {
        if (i != 0) out.push_back('.');
        append_decimal(out, p[i]);
    }
}

// RFC 5952 section 4: lowercase, no leading zeros, the longest run (first on a tie) of two or more
// zero groups shortened to "::"; section 5: IPv4-mapped addresses end in dotted decimal.
void append_ipv6(std::string& out, const std::array<std::uint8_t, 16>& ip) {
    std::array<unsigned, 8> groups{};
    for (std::size_t i = 0; i < 8; ++i)
        groups[i] = load_be16(ip.data() + 2 * i);

    const bool mapped = std::all_of(groups.begin(), groups.begin() + 5, [](unsigned g) { return g == 0; }) &&
                        groups[5] == 0xFFFF;
    const std::size_t hex_groups = mapped ? 6 : 8;

    std::size_t best_start = 0, best_len = 0;
    for (std::size_t i = 0; i < hex_groups;) {
        if (groups[i] != 0) {
            ++i;
            continue;
        }
        std::size_t j = i;
        while (j < hex_groups && groups[j] == 0)
            ++j;
        if (j - i > best_len) {
            best_start = i;
            best_len = j - i;
        }
        i = j;
    }
    if (best_len < 2) best_len = 0;

    for (std::size_t i = 0; i < hex_groups;) {
        if (best_len != 0 && i == best_start) {
            out += "::";
            i += best_len;
            continue;
        }
        if (i != 0 && (best_len == 0 || i != best_start + best_len)) out.push_back(':');
        const unsigned g = groups[i];
        bool started = false;
        for (int shift = 12; shift >= 0; shift -= 4) {
            const unsigned nibble = (g >> shift) & 0xF;
            if (nibble != 0 || started || shift == 0) {
                out.push_back(k_hex[nibble]);
                started = true;
            }
        }
        ++i;
    }
    if (mapped) {
        out.push_back(':');  // the hex part always ends in "ffff" here
        append_ipv4(out, ip.data() + 12);
    }
}

}  // namespace

Address Address::from_ipv4(const std::array<std::uint8_t, 4>& octets, std::uint16_t port) noexcept {
    Address a;
    a.type_ = AddressType::ipv4;
    std::copy(octets.begin(), octets.end(), a.ip_.begin());
    a.port_ = port;
    return a;
}

Address Address::from_ipv6(const std::array<std::uint8_t, 16>& octets, std::uint16_t port) noexcept {
    Address a;
    a.type_ = AddressType::ipv6;
    a.ip_ = octets;
    a.port_ = port;
    return a;
}

Result<Address> Address::from_domain(std::string_view name, std::uint16_t port) {
    if (name.empty()) return fail("SOCKS5 domain name is empty");
    if (name.size() > k_max_domain_size) return fail("SOCKS5 domain name longer than 255 bytes");
    if (name.find('\0') != std::string_view::npos) return fail("SOCKS5 domain name contains a NUL byte");
    Address a;
    a.type_ = AddressType::domain;
    a.domain_.assign(name);
    a.port_ = port;
    return a;
}

std::array<std::uint8_t, 4> Address::ipv4() const noexcept {
    return {ip_[0], ip_[1], ip_[2], ip_[3]};
}

std::size_t Address::wire_size() const noexcept {
    switch (type_) {
        case AddressType::ipv4:
            return 1 + 4 + 2;
        case AddressType::ipv6:
            return 1 + 16 + 2;
        case AddressType::domain:
            return 1 + 1 + domain_.size() + 2;
    }
    return 0;
}

std::string Address::host_string() const {
    std::string out;
    switch (type_) {
        case AddressType::ipv4:
            append_ipv4(out, ip_.data());
            break;
        case AddressType::ipv6:
            append_ipv6(out, ip_);
            break;
        case AddressType::domain:
            // The name comes off the wire: keep control bytes and non-ASCII out of logs.
            for (const char ch : domain_) {
                const auto c = static_cast<unsigned char>(ch);
                if (c >= 0x21 && c <= 0x7E && c != '\\') {
                    out.push_back(ch);
                } else {
                    out += "\\x";
                    out.push_back(k_hex[c >> 4]);
                    out.push_back(k_hex[c & 0xF]);
                }
            }
            break;
    }
    return out;
}

std::string Address::to_string() const {
    std::string out;
    if (is_ipv6()) {
        out.push_back('[');
        out += host_string();
        out.push_back(']');
    } else {
        out = host_string();
    }
    out.push_back(':');
    append_decimal(out, port_);
    return out;
}

bool MethodRequest::offers(Method m) const noexcept {
    return std::find(methods.begin(), methods.end(), m) != methods.end();
}

// --- Shared address codec ---------------------------------------------------------------------------

namespace {

enum class AddressRead : std::uint8_t { ok, need_more, bad_type, bad_domain };

// Reads ATYP ADDR PORT. On need_more the reader position is meaningless (callers return need_more);
// an unknown ATYP or an empty domain length is reported as soon as the byte is seen.
AddressRead read_address(ByteReader& r, Address& out) {
    std::uint8_t atyp = 0;
    if (!r.read_u8(atyp)) return AddressRead::need_more;
    switch (static_cast<AddressType>(atyp)) {
        case AddressType::ipv4: {
            Bytes b;
            std::uint16_t port = 0;
            if (!r.read_bytes(4, b) || !r.read_u16(port)) return AddressRead::need_more;
            out = Address::from_ipv4({b[0], b[1], b[2], b[3]}, port);
            return AddressRead::ok;
        }
        case AddressType::ipv6: {
            Bytes b;
            std::uint16_t port = 0;
            if (!r.read_bytes(16, b) || !r.read_u16(port)) return AddressRead::need_more;
            std::array<std::uint8_t, 16> ip{};
            std::copy(b.begin(), b.end(), ip.begin());
            out = Address::from_ipv6(ip, port);
            return AddressRead::ok;
        }
        case AddressType::domain: {
            std::uint8_t len = 0;
            if (!r.read_u8(len)) return AddressRead::need_more;
            if (len == 0) return AddressRead::bad_domain;
            Bytes b;
            std::uint16_t port = 0;
            if (!r.read_bytes(len, b) || !r.read_u16(port)) return AddressRead::need_more;
            auto a = Address::from_domain(as_text(b), port);
            if (!a) return AddressRead::bad_domain;
            out = std::move(a.value());
            return AddressRead::ok;
        }
    }
    return AddressRead::bad_type;
}

void write_address(ByteWriter& w, const Address& a) {
    w.put_u8(static_cast<std::uint8_t>(a.type()));
    switch (a.type()) {
        case AddressType::ipv4: {
            const auto ip = a.ipv4();
            w.put_bytes(ip);
            break;
        }
        case AddressType::ipv6: {
            const auto ip = a.ipv6();
            w.put_bytes(ip);
            break;
        }
        case AddressType::domain: {
            const std::string_view d = a.domain();
            w.put_u8(static_cast<std::uint8_t>(d.size()));
            w.put_bytes(as_bytes(d));
            break;
        }
    }
    w.put_u16(a.port());
}

bool known_command(std::uint8_t c) noexcept {
    return c == static_cast<std::uint8_t>(Command::connect) ||
           c == static_cast<std::uint8_t>(Command::bind) ||
           c == static_cast<std::uint8_t>(Command::udp_associate);
}

}  // namespace

// --- Method negotiation ---------------------------------------------------------------------------------

Parsed<MethodRequest> parse_method_request(Bytes in) {
    ByteReader r(in);
    std::uint8_t ver = 0, n = 0;
    if (!r.read_u8(ver)) return Parsed<MethodRequest>::more();
    if (ver != k_version) return Parsed<MethodRequest>::fail("SOCKS version is not 5");
    if (!r.read_u8(n)) return Parsed<MethodRequest>::more();
    if (n == 0) return Parsed<MethodRequest>::fail("SOCKS5 method request offers no methods");
    Bytes methods;
    if (!r.read_bytes(n, methods)) return Parsed<MethodRequest>::more();
    MethodRequest req;
    req.methods.reserve(methods.size());
    for (const std::uint8_t m : methods)
        req.methods.push_back(static_cast<Method>(m));
    return Parsed<MethodRequest>::ok(std::move(req), r.position());
}

Parsed<Method> parse_method_selection(Bytes in) {
    ByteReader r(in);
    std::uint8_t ver = 0, method = 0;
    if (!r.read_u8(ver)) return Parsed<Method>::more();
    if (ver != k_version) return Parsed<Method>::fail("SOCKS version is not 5");
    if (!r.read_u8(method)) return Parsed<Method>::more();
    return Parsed<Method>::ok(static_cast<Method>(method), r.position());
}

bool build_method_request(std::vector<std::uint8_t>& out, std::span<const Method> methods) {
    if (methods.empty() || methods.size() > 255) return false;
    ByteWriter w(out);
    w.put_u8(k_version);
    w.put_u8(static_cast<std::uint8_t>(methods.size()));
    for (const Method m : methods)
        w.put_u8(static_cast<std::uint8_t>(m));
    return true;
}

void build_method_selection(std::vector<std::uint8_t>& out, Method method) {
    ByteWriter w(out);
    w.put_u8(k_version);
    w.put_u8(static_cast<std::uint8_t>(method));
}

// --- Username/password ----------------------------------------------------------------------------------

Parsed<AuthRequest> parse_auth_request(Bytes in) {
    ByteReader r(in);
    std::uint8_t ver = 0, ulen = 0, plen = 0;
    Bytes user, pass;
    if (!r.read_u8(ver)) return Parsed<AuthRequest>::more();
    if (ver != k_auth_version) return Parsed<AuthRequest>::fail("SOCKS5 auth version is not 1");
    if (!r.read_u8(ulen)) return Parsed<AuthRequest>::more();
    if (ulen == 0) return Parsed<AuthRequest>::fail("SOCKS5 auth username is empty");
    if (!r.read_bytes(ulen, user) || !r.read_u8(plen)) return Parsed<AuthRequest>::more();
    if (plen == 0) return Parsed<AuthRequest>::fail("SOCKS5 auth password is empty");
    if (!r.read_bytes(plen, pass)) return Parsed<AuthRequest>::more();
    AuthRequest req;
    req.username.assign(as_text(user));
    req.password.assign(as_text(pass));
    return Parsed<AuthRequest>::ok(std::move(req), r.position());
}

Parsed<AuthReply> parse_auth_reply(Bytes in) {
    ByteReader r(in);
    std::uint8_t ver = 0, status = 0;
    if (!r.read_u8(ver)) return Parsed<AuthReply>::more();
    if (ver != k_auth_version) return Parsed<AuthReply>::fail("SOCKS5 auth version is not 1");
    if (!r.read_u8(status)) return Parsed<AuthReply>::more();
    return Parsed<AuthReply>::ok(AuthReply{status}, r.position());
}

bool build_auth_request(std::vector<std::uint8_t>& out, std::string_view username,
                        std::string_view password) {
    if (username.empty() || username.size() > 255 || password.empty() || password.size() > 255) return false;
    ByteWriter w(out);
    w.put_u8(k_auth_version);
    w.put_u8(static_cast<std::uint8_t>(username.size()));
    w.put_bytes(as_bytes(username));
    w.put_u8(static_cast<std::uint8_t>(password.size()));
    w.put_bytes(as_bytes(password));
    return true;
}

void build_auth_reply(std::vector<std::uint8_t>& out, bool success) {
    ByteWriter w(out);
    w.put_u8(k_auth_version);
    w.put_u8(success ? 0x00 : 0x01);
}

// --- Requests and replies -------------------------------------------------------------------------------

namespace {

ParsedRequest request_error(std::string_view why, Reply reply) {
    return ParsedRequest{Parsed<Request>::fail(why), reply};
}

}  // namespace

ParsedRequest parse_request(Bytes in) {
    ByteReader r(in);
    std::uint8_t ver = 0, cmd = 0, rsv = 0;
    if (!r.read_u8(ver)) return {};
    if (ver != k_version) return request_error("SOCKS version is not 5", Reply::general_failure);
    if (!r.read_u8(cmd)) return {};
    if (!known_command(cmd)) return request_error("SOCKS5 command unknown", Reply::command_not_supported);
    if (!r.read_u8(rsv)) return {};
    if (rsv != 0) return request_error("SOCKS5 request RSV is not zero", Reply::general_failure);
    Request req;
    req.command = static_cast<Command>(cmd);
    switch (read_address(r, req.destination)) {
        case AddressRead::ok:
            break;
        case AddressRead::need_more:
            return {};
        case AddressRead::bad_type:
            return request_error("SOCKS5 address type unknown", Reply::address_type_not_supported);
        case AddressRead::bad_domain:
            return request_error("SOCKS5 domain name is empty or has NUL", Reply::general_failure);
    }
    return ParsedRequest{Parsed<Request>::ok(std::move(req), r.position()), Reply::general_failure};
}

Parsed<ReplyMessage> parse_reply(Bytes in) {
    ByteReader r(in);
    std::uint8_t ver = 0, rep = 0, rsv = 0;
    if (!r.read_u8(ver)) return Parsed<ReplyMessage>::more();
    if (ver != k_version) return Parsed<ReplyMessage>::fail("SOCKS version is not 5");
    if (!r.read_u8(rep) || !r.read_u8(rsv)) return Parsed<ReplyMessage>::more();
    if (rsv != 0) return Parsed<ReplyMessage>::fail("SOCKS5 reply RSV is not zero");
    ReplyMessage msg;
    msg.reply = static_cast<Reply>(rep);
    switch (read_address(r, msg.bound)) {
        case AddressRead::ok:
            break;
        case AddressRead::need_more:
            return Parsed<ReplyMessage>::more();
        case AddressRead::bad_type:
            return Parsed<ReplyMessage>::fail("SOCKS5 address type unknown");
        case AddressRead::bad_domain:
            return Parsed<ReplyMessage>::fail("SOCKS5 domain name is empty or has NUL");
    }
    return Parsed<ReplyMessage>::ok(std::move(msg), r.position());
}

bool build_request(std::vector<std::uint8_t>& out, Command command, const Address& destination) {
    if (!known_command(static_cast<std::uint8_t>(command))) return false;
    ByteWriter w(out);
    w.put_u8(k_version);
    w.put_u8(static_cast<std::uint8_t>(command));
    w.put_u8(0x00);
    write_address(w, destination);
    return true;
}

void build_reply(std::vector<std::uint8_t>& out, Reply reply, const Address& bound) {
    ByteWriter w(out);
    w.put_u8(k_version);
    w.put_u8(static_cast<std::uint8_t>(reply));
    w.put_u8(0x00);
    write_address(w, bound);
}

// --- UDP ------------------------------------------------------------------------------------------------

Result<UdpDatagram> parse_udp_datagram(Bytes datagram) {
    ByteReader r(datagram);
    std::uint16_t rsv = 0;
    UdpDatagram d;
    if (!r.read_u16(rsv) || !r.read_u8(d.header.fragment)) return fail("SOCKS5 UDP header truncated");
    if (rsv != 0) return fail("SOCKS5 UDP header RSV is not zero");
    switch (read_address(r, d.header.destination)) {
        case AddressRead::ok:
            break;
        case AddressRead::need_more:
            return fail("SOCKS5 UDP header truncated");
        case AddressRead::bad_type:
            return fail("SOCKS5 address type unknown");
        case AddressRead::bad_domain:
            return fail("SOCKS5 domain name is empty or has NUL");
    }
    d.data = r.rest();
    return d;
}

void build_udp_datagram(std::vector<std::uint8_t>& out, const UdpHeader& header, Bytes data) {
    ByteWriter w(out);
    w.put_u16(0x0000);
    w.put_u8(header.fragment);
    write_address(w, header.destination);
    w.put_bytes(data);
}

}  // namespace sg::socks

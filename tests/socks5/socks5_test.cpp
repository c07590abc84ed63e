#include "socks5/socks5.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace sg::socks {

// Readable GoogleTest failure messages (found by ADL, so it lives in the library's namespace).
void PrintTo(const Address& a, std::ostream* os) {
    *os << a.to_string();
}

namespace {

using Frame = std::vector<std::uint8_t>;

// Builds a frame from bytes and text pieces, so test vectors read like the RFC layouts.
struct Piece {
    Piece(std::initializer_list<int> b) {  // NOLINT(google-explicit-constructor)
        for (const int v : b)
            bytes.push_back(static_cast<std::uint8_t>(v));
    }
    Piece(std::string_view s) : bytes(s.begin(), s.end()) {}     // NOLINT(google-explicit-constructor)
    Piece(const char* s) : Piece(std::string_view(s)) {}         // NOLINT(google-explicit-constructor)
    Piece(const std::string& s) : Piece(std::string_view(s)) {}  // NOLINT(google-explicit-constructor)
    Frame bytes;
};

Frame frame(std::initializer_list<Piece> pieces) {
    Frame out;
    for (const auto& p : pieces)
        out.insert(out.end(), p.bytes.begin(), p.bytes.end());
    return out;
}

Frame with_trailer(Frame f) {
    f.insert(f.end(), {0xDE, 0xAD, 0xBE, 0xEF});
    return f;
}

Bytes prefix(const Frame& f, std::size_t n) {
    return Bytes(f.data(), n);
}

// Every strict prefix of a valid message is a valid prefix: need_more, nothing consumed.
template <class ParseFn>
void expect_need_more_on_every_prefix(const Frame& f, ParseFn parse) {
    for (std::size_t n = 0; n < f.size(); ++n) {
        const auto p = parse(prefix(f, n));
        EXPECT_EQ(p.status, ParseStatus::need_more) << "prefix length " << n;
        EXPECT_EQ(p.consumed, 0u) << "prefix length " << n;
    }
}

Address v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d, std::uint16_t port) {
    return Address::from_ipv4({a, b, c, d}, port);
}

const std::array<std::uint8_t, 16> k_doc_v6{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};

Address domain(std::string_view name, std::uint16_t port) {
    auto a = Address::from_domain(name, port);
    EXPECT_TRUE(a.ok()) << name;
    return a ? a.value() : Address{};
}

// --- Names -----------------------------------------------------------------------------------------------

TEST(Socks5Names, EnumsHaveStableNames) {
    EXPECT_EQ(to_string(Method::no_auth), "no_auth");
    EXPECT_EQ(to_string(Method::gssapi), "gssapi");
    EXPECT_EQ(to_string(Method::username_password), "username_password");
    EXPECT_EQ(to_string(Method::no_acceptable), "no_acceptable");
    EXPECT_EQ(to_string(static_cast<Method>(0x03)), "unassigned");
    EXPECT_EQ(to_string(static_cast<Method>(0x80)), "private");
    EXPECT_EQ(to_string(static_cast<Method>(0xFE)), "private");

    EXPECT_EQ(to_string(Command::connect), "connect");
    EXPECT_EQ(to_string(Command::bind), "bind");
    EXPECT_EQ(to_string(Command::udp_associate), "udp_associate");
    EXPECT_EQ(to_string(static_cast<Command>(9)), "unknown");

    EXPECT_EQ(to_string(AddressType::ipv4), "ipv4");
    EXPECT_EQ(to_string(AddressType::domain), "domain");
    EXPECT_EQ(to_string(AddressType::ipv6), "ipv6");
    EXPECT_EQ(to_string(static_cast<AddressType>(2)), "unknown");
}

TEST(Socks5Names, ReplyCodesMatchRfc1928Section6) {
    const struct {
        Reply reply;
        std::uint8_t code;
        std::string_view name;
    } cases[] = {
        {Reply::succeeded, 0x00, "succeeded"},
        {Reply::general_failure, 0x01, "general_failure"},
        {Reply::not_allowed, 0x02, "not_allowed"},
        {Reply::network_unreachable, 0x03, "network_unreachable"},
        {Reply::host_unreachable, 0x04, "host_unreachable"},
        {Reply::connection_refused, 0x05, "connection_refused"},
        {Reply::ttl_expired, 0x06, "ttl_expired"},
        {Reply::command_not_supported, 0x07, "command_not_supported"},
        {Reply::address_type_not_supported, 0x08, "address_type_not_supported"},
        {static_cast<Reply>(0x09), 0x09, "unassigned"},
        {static_cast<Reply>(0xFF), 0xFF, "unassigned"},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(static_cast<std::uint8_t>(c.reply), c.code);
        EXPECT_EQ(to_string(c.reply), c.name);
    }
}

// --- Address ---------------------------------------------------------------------------------------------

TEST(Socks5Address, DefaultIsUnspecifiedIpv4) {
    const Address a;
    EXPECT_TRUE(a.is_ipv4());
    EXPECT_EQ(a.to_string(), "0.0.0.0:0");
    EXPECT_EQ(a.wire_size(), 7u);
}

TEST(Socks5Address, Accessors) {
    const Address a = v4(192, 0, 2, 1, 80);
    EXPECT_EQ(a.type(), AddressType::ipv4);
    EXPECT_EQ(a.ipv4(), (std::array<std::uint8_t, 4>{192, 0, 2, 1}));
    EXPECT_EQ(a.port(), 80);
    EXPECT_TRUE(a.domain().empty());

    Address b = Address::from_ipv6(k_doc_v6, 443);
    EXPECT_TRUE(b.is_ipv6());
    EXPECT_EQ(b.ipv6(), k_doc_v6);
    EXPECT_EQ(b.wire_size(), 19u);
    b.set_port(8443);
    EXPECT_EQ(b.port(), 8443);

    const Address c = domain("example.com", 443);
    EXPECT_TRUE(c.is_domain());
    EXPECT_EQ(c.domain(), "example.com");
    EXPECT_EQ(c.wire_size(), 1u + 1 + 11 + 2);
    EXPECT_EQ(c.ipv6(), (std::array<std::uint8_t, 16>{}));
}

TEST(Socks5Address, PrintableForm) {
    auto v6 = [](std::initializer_list<int> groups, std::uint16_t port) {
        std::array<std::uint8_t, 16> ip{};
        std::size_t i = 0;
        for (const int g : groups) {
            ip[i++] = static_cast<std::uint8_t>(g >> 8);
            ip[i++] = static_cast<std::uint8_t>(g);
        }
        return Address::from_ipv6(ip, port);
    };
    const struct {
        Address address;
        std::string_view text;
    } cases[] = {
        {v4(192, 0, 2, 1, 80), "192.0.2.1:80"},
        {v4(255, 255, 255, 255, 65535), "255.255.255.255:65535"},
        {Address::from_ipv6(k_doc_v6, 80), "[2001:db8::1]:80"},
        // RFC 5952 section 4 cases: longest run, first of equal runs, no "::" for one group, lowercase.
        {v6({0x2001, 0xdb8, 0, 0, 1, 0, 0, 1}, 1), "[2001:db8::1:0:0:1]:1"},
        {v6({0x2001, 0xdb8, 0, 0, 0, 1, 0, 0}, 1), "[2001:db8::1:0:0]:1"},
        {v6({0x2001, 0xdb8, 0, 1, 1, 1, 1, 1}, 1), "[2001:db8:0:1:1:1:1:1]:1"},
        {v6({0x2001, 0xDB8, 0xABCD, 0x12, 0, 0, 0, 0}, 2), "[2001:db8:abcd:12::]:2"},
        {v6({0, 0, 0, 0, 0, 0, 0, 0}, 0), "[::]:0"},
        {v6({0, 0, 0, 0, 0, 0, 0, 1}, 0), "[::1]:0"},
        {v6({0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201}, 7), "[::ffff:192.0.2.1]:7"},
        {domain("example.com", 443), "example.com:443"},
        {domain("a b\x01\\", 1), "a\\x20b\\x01\\x5c:1"},
        {domain("\xff", 1), "\\xff:1"},
    };
    for (const auto& c : cases)
        EXPECT_EQ(c.address.to_string(), c.text);
    EXPECT_EQ(Address::from_ipv6(k_doc_v6, 80).host_string(), "2001:db8::1");
}

TEST(Socks5Address, DomainLimits) {
    EXPECT_FALSE(Address::from_domain("", 80).ok());
    EXPECT_FALSE(Address::from_domain(std::string(256, 'a'), 80).ok());
    EXPECT_FALSE(Address::from_domain(std::string_view("a\0b", 3), 80).ok());
    const auto longest = Address::from_domain(std::string(255, 'a'), 80);
    ASSERT_TRUE(longest.ok());
    EXPECT_EQ(longest->domain().size(), 255u);
    EXPECT_EQ(longest->wire_size(), 1u + 1 + 255 + 2);
}

TEST(Socks5Address, Equality) {
    EXPECT_EQ(v4(10, 0, 0, 1, 80), v4(10, 0, 0, 1, 80));
    EXPECT_NE(v4(10, 0, 0, 1, 80), v4(10, 0, 0, 1, 81));
    EXPECT_NE(v4(10, 0, 0, 1, 80), v4(10, 0, 0, 2, 80));
    // Same 16 bytes but different families must differ.
    EXPECT_NE(v4(0, 0, 0, 0, 80), Address::from_ipv6({}, 80));
    EXPECT_EQ(domain("a.example", 1), domain("a.example", 1));
    EXPECT_NE(domain("a.example", 1), domain("b.example", 1));
}

// --- Method negotiation (RFC 1928 section 3) ---------------------------------------------------------

TEST(Socks5MethodRequest, ParsesAndKeepsTrailingBytes) {
    const Frame f = frame({{0x05, 0x02, 0x00, 0x02}});
    const auto p = parse_method_request(with_trailer(f));
    ASSERT_TRUE(p.done());
    EXPECT_EQ(p.consumed, 4u);
    EXPECT_EQ(p.value.methods, (std::vector<Method>{Method::no_auth, Method::username_password}));
    EXPECT_TRUE(p.value.offers(Method::username_password));
    EXPECT_FALSE(p.value.offers(Method::gssapi));
    expect_need_more_on_every_prefix(f, parse_method_request);
}

TEST(Socks5MethodRequest, AcceptsAll255MethodsIncludingUnknownCodes) {
    Frame f{0x05, 0xFF};
    for (int i = 0; i < 255; ++i)
        f.push_back(static_cast<std::uint8_t>(i));
    const auto p = parse_method_request(f);
    ASSERT_TRUE(p.done());
    EXPECT_EQ(p.consumed, 257u);
    ASSERT_EQ(p.value.methods.size(), 255u);
    EXPECT_EQ(p.value.methods[0x80], static_cast<Method>(0x80));
    EXPECT_EQ(f.size(), k_max_method_request_size);
}

TEST(Socks5MethodRequest, RejectsBadVersionAndNoMethods) {
    for (const Frame& f :
         {Frame{0x04}, Frame{0x00, 0x01, 0x00}, Frame{0x05, 0x00}, Frame{0x05, 0x00, 0x00}}) {
        const auto p = parse_method_request(f);
        EXPECT_TRUE(p.failed());
        EXPECT_FALSE(p.error.empty());
        EXPECT_EQ(p.consumed, 0u);
    }
}

TEST(Socks5MethodRequest, Builds) {
    Frame out{0xAA};  // builders append
    const Method methods[] = {Method::no_auth, Method::gssapi, Method::username_password};
    ASSERT_TRUE(build_method_request(out, methods));
    EXPECT_EQ(out, (Frame{0xAA, 0x05, 0x03, 0x00, 0x01, 0x02}));

    Frame bad;
    EXPECT_FALSE(build_method_request(bad, {}));
    const std::vector<Method> too_many(256, Method::no_auth);
    EXPECT_FALSE(build_method_request(bad, too_many));
    EXPECT_TRUE(bad.empty());
    const std::vector<Method> most(255, Method::no_auth);
    EXPECT_TRUE(build_method_request(bad, most));
    EXPECT_EQ(bad.size(), 257u);
}

TEST(Socks5MethodSelection, ParsesBuildsAndRejects) {
    const struct {
        Frame f;
        Method m;
    } cases[] = {{{0x05, 0x00}, Method::no_auth},
                 {{0x05, 0x02}, Method::username_password},
                 {{0x05, 0xFF}, Method::no_acceptable},
                 {{0x05, 0x85}, static_cast<Method>(0x85)}};
    for (const auto& c : cases) {
        const auto p = parse_method_selection(with_trailer(c.f));
        ASSERT_TRUE(p.done());
        EXPECT_EQ(p.consumed, 2u);
        EXPECT_EQ(p.value, c.m);
        expect_need_more_on_every_prefix(c.f, parse_method_selection);
        Frame out;
        build_method_selection(out, c.m);
        EXPECT_EQ(out, c.f);
    }
    EXPECT_TRUE(parse_method_selection(Frame{0x04}).failed());
    EXPECT_TRUE(parse_method_selection(Frame{0x01, 0x00}).failed());
}

// --- Username/password (RFC 1929) ---------------------------------------------------------------------

TEST(Socks5AuthRequest, ParsesAndBuilds) {
    const Frame f = frame({{0x01, 0x04}, "user", {0x06}, "secret"});
    const auto p = parse_auth_request(with_trailer(f));
    ASSERT_TRUE(p.done());
    EXPECT_EQ(p.consumed, f.size());
    EXPECT_EQ(p.value.username, "user");
    EXPECT_EQ(p.value.password, "secret");
    expect_need_more_on_every_prefix(f, parse_auth_request);

    Frame out;
    ASSERT_TRUE(build_auth_request(out, "user", "secret"));
    EXPECT_EQ(out, f);
}

TEST(Socks5AuthRequest, AcceptsLongestAndArbitraryOctets) {
    const std::string user(255, 'u'), pass(255, 'p');
    Frame f;
    ASSERT_TRUE(build_auth_request(f, user, pass));
    EXPECT_EQ(f.size(), k_max_auth_request_size);
    const auto p = parse_auth_request(f);
    ASSERT_TRUE(p.done());
    EXPECT_EQ(p.value.username, user);
    EXPECT_EQ(p.value.password, pass);

    const Frame odd = frame({{0x01, 0x02, 0x00, 0xFF, 0x01, 0x0A}});
    const auto q = parse_auth_request(odd);
    ASSERT_TRUE(q.done());
    EXPECT_EQ(q.value.username, std::string_view("\0\xff", 2));
    EXPECT_EQ(q.value.password, "\n");
}

TEST(Socks5AuthRequest, RejectsBadVersionAndEmptyFields) {
    const Frame cases[] = {
        {0x05},                   // a SOCKS5 VER where the sub-negotiation VER belongs
        {0x02, 0x01, 'u'},        // unknown sub-negotiation version
        {0x01, 0x00},             // ULEN 0
        {0x01, 0x01, 'u', 0x00},  // PLEN 0 (RFC 1929 requires 1..255)
        {0x01, 0x00, 0x01, 'p'},  // ULEN 0 even with a password following
    };
    for (const auto& f : cases)
        EXPECT_TRUE(parse_auth_request(f).failed());

    Frame out;
    EXPECT_FALSE(build_auth_request(out, "", "p"));
    EXPECT_FALSE(build_auth_request(out, "u", ""));
    EXPECT_FALSE(build_auth_request(out, std::string(256, 'u'), "p"));
    EXPECT_FALSE(build_auth_request(out, "u", std::string(256, 'p')));
    EXPECT_TRUE(out.empty());
}

TEST(Socks5AuthReply, ParsesBuildsAndRejects) {
    const auto ok = parse_auth_reply(with_trailer({0x01, 0x00}));
    ASSERT_TRUE(ok.done());
    EXPECT_EQ(ok.consumed, 2u);
    EXPECT_TRUE(ok.value.success());

    const auto no = parse_auth_reply(Frame{0x01, 0x7F});
    ASSERT_TRUE(no.done());
    EXPECT_FALSE(no.value.success());
    EXPECT_EQ(no.value.status, 0x7F);

    expect_need_more_on_every_prefix({0x01, 0x00}, parse_auth_reply);
    EXPECT_TRUE(parse_auth_reply(Frame{0x05}).failed());
    EXPECT_TRUE(parse_auth_reply(Frame{0x00, 0x00}).failed());

    Frame out;
    build_auth_reply(out, true);
    build_auth_reply(out, false);
    EXPECT_EQ(out, (Frame{0x01, 0x00, 0x01, 0x01}));
}

// --- Requests (RFC 1928 sections 4 and 5) ---------------------------------------------------------------

struct RequestCase {
    const char* name;
    Frame wire;
    Command command;
    Address destination;
};

std::vector<RequestCase> request_cases() {
    return {
        {"connect_ipv4", frame({{0x05, 0x01, 0x00, 0x01, 192, 0, 2, 1, 0x00, 0x50}}), Command::connect,
         v4(192, 0, 2, 1, 80)},
        {"bind_ipv6", frame({{0x05, 0x02, 0x00, 0x04, 0x20, 0x01, 0x0d, 0xb8, 0,    0,    0,
                              0,    0,    0,    0,    0,    0,    0,    0,    0x01, 0x1F, 0x90}}),
         Command::bind, Address::from_ipv6(k_doc_v6, 8080)},
        {"udp_domain", frame({{0x05, 0x03, 0x00, 0x03, 0x0B}, "example.com", {0x01, 0xBB}}),
         Command::udp_associate, domain("example.com", 443)},
        {"connect_port_max", frame({{0x05, 0x01, 0x00, 0x01, 0, 0, 0, 0, 0xFF, 0xFF}}), Command::connect,
         v4(0, 0, 0, 0, 65535)},
        {"connect_domain_255", frame({{0x05, 0x01, 0x00, 0x03, 0xFF}, std::string(255, 'x'), {0x00, 0x01}}),
         Command::connect, domain(std::string(255, 'x'), 1)},
    };
}

TEST(Socks5Request, ParsesEveryAddressType) {
    for (const auto& c : request_cases()) {
        SCOPED_TRACE(c.name);
        const auto p = parse_request(with_trailer(c.wire));
        ASSERT_TRUE(p.done()) << p.error;
        EXPECT_EQ(p.consumed, c.wire.size());
        EXPECT_EQ(p.value.command, c.command);
        EXPECT_EQ(p.value.destination, c.destination);
        expect_need_more_on_every_prefix(c.wire, parse_request);
    }
}

TEST(Socks5Request, BuildsByteExact) {
    for (const auto& c : request_cases()) {
        SCOPED_TRACE(c.name);
        Frame out;
        ASSERT_TRUE(build_request(out, c.command, c.destination));
        EXPECT_EQ(out, c.wire);
    }
    Frame out;
    EXPECT_FALSE(build_request(out, static_cast<Command>(0), Address{}));
    EXPECT_FALSE(build_request(out, static_cast<Command>(4), Address{}));
    EXPECT_TRUE(out.empty());
}

TEST(Socks5Request, LongestRequestMatchesLimit) {
    const auto c = request_cases().back();
    EXPECT_EQ(c.wire.size(), k_max_request_size);
}

TEST(Socks5Request, ErrorsCarryTheReplyToSend) {
    const struct {
        const char* name;
        Frame wire;
        Reply reply;
    } cases[] = {
        {"socks4_version", {0x04, 0x01, 0x00, 0x50, 192, 0, 2, 1, 0x00}, Reply::general_failure},
        {"version_only", {0x06}, Reply::general_failure},
        {"cmd_zero", {0x05, 0x00, 0x00, 0x01, 1, 2, 3, 4, 0, 80}, Reply::command_not_supported},
        {"cmd_four", {0x05, 0x04}, Reply::command_not_supported},
        {"cmd_ff", {0x05, 0xFF, 0x00}, Reply::command_not_supported},
        {"rsv_nonzero", {0x05, 0x01, 0x01, 0x01, 1, 2, 3, 4, 0, 80}, Reply::general_failure},
        {"atyp_zero", {0x05, 0x01, 0x00, 0x00}, Reply::address_type_not_supported},
        {"atyp_two", {0x05, 0x01, 0x00, 0x02, 1, 2, 3, 4, 0, 80}, Reply::address_type_not_supported},
        {"atyp_five", {0x05, 0x03, 0x00, 0x05}, Reply::address_type_not_supported},
        {"atyp_ff", {0x05, 0x02, 0x00, 0xFF, 0, 0}, Reply::address_type_not_supported},
        {"domain_empty", {0x05, 0x01, 0x00, 0x03, 0x00}, Reply::general_failure},
        {"domain_empty_with_port", {0x05, 0x01, 0x00, 0x03, 0x00, 0x00, 0x50}, Reply::general_failure},
        {"domain_nul", {0x05, 0x01, 0x00, 0x03, 0x03, 'a', 0x00, 'b', 0x00, 0x50}, Reply::general_failure},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        const auto p = parse_request(c.wire);
        ASSERT_TRUE(p.failed());
        EXPECT_EQ(p.error_reply, c.reply);
        EXPECT_EQ(p.consumed, 0u);
        EXPECT_FALSE(p.error.empty());
    }
}

// --- Replies (RFC 1928 section 6) -------------------------------------------------------------------------

TEST(Socks5Reply, ParsesAndBuildsByteExact) {
    const struct {
        const char* name;
        Frame wire;
        Reply reply;
        Address bound;
    } cases[] = {
        {"success_ipv4",
         {0x05, 0x00, 0x00, 0x01, 198, 51, 100, 7, 0xC3, 0x50},
         Reply::succeeded,
         v4(198, 51, 100, 7, 50000)},
        {"refused_zero", {0x05, 0x05, 0x00, 0x01, 0, 0, 0, 0, 0, 0}, Reply::connection_refused, Address{}},
        {"success_ipv6",
         {0x05, 0x00, 0x00, 0x04, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00, 0x35},
         Reply::succeeded,
         Address::from_ipv6(k_doc_v6, 53)},
        {"success_domain", frame({{0x05, 0x00, 0x00, 0x03, 0x04}, "host", {0x12, 0x34}}), Reply::succeeded,
         domain("host", 0x1234)},
        {"unassigned_code", {0x05, 0x09, 0x00, 0x01, 0, 0, 0, 0, 0, 0}, static_cast<Reply>(0x09), Address{}},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        const auto p = parse_reply(with_trailer(c.wire));
        ASSERT_TRUE(p.done()) << p.error;
        EXPECT_EQ(p.consumed, c.wire.size());
        EXPECT_EQ(p.value.reply, c.reply);
        EXPECT_EQ(p.value.bound, c.bound);
        expect_need_more_on_every_prefix(c.wire, parse_reply);

        Frame out;
        build_reply(out, c.reply, c.bound);
        EXPECT_EQ(out, c.wire);
    }
}

TEST(Socks5Reply, RejectsMalformed) {
    const Frame cases[] = {
        {0x04},                                            // version
        {0x00, 0x5A},                                      // a SOCKS4 reply
        {0x05, 0x00, 0x01},                                // RSV
        {0x05, 0x00, 0x00, 0x02},                          // ATYP
        {0x05, 0x00, 0x00, 0x03, 0x00},                    // empty domain
        {0x05, 0x00, 0x00, 0x03, 0x01, 0x00, 0x00, 0x01},  // NUL domain
    };
    for (const auto& f : cases)
        EXPECT_TRUE(parse_reply(f).failed());
}

// --- UDP (RFC 1928 section 7)
// -------------------------------------------------------------------------------

TEST(Socks5Udp, ParsesHeaderAndData) {
    const Frame f = frame({{0x00, 0x00, 0x00, 0x01, 203, 0, 113, 9, 0x13, 0x88}, "payload"});
    const auto d = parse_udp_datagram(f);
    ASSERT_TRUE(d.ok()) << d.error();
    EXPECT_EQ(d->header.fragment, 0);
    EXPECT_EQ(d->header.destination, v4(203, 0, 113, 9, 5000));
    ASSERT_EQ(d->data.size(), 7u);
    EXPECT_EQ(d->data.data(), f.data() + 10);  // a view, not a copy

    Frame out;
    build_udp_datagram(out, d->header, d->data);
    EXPECT_EQ(out, f);
}

TEST(Socks5Udp, EmptyPayloadFragmentAndOtherAddressTypes) {
    const struct {
        const char* name;
        Frame wire;
        UdpHeader header;
        std::size_t data_size;
    } cases[] = {
        {"ipv4_empty", {0x00, 0x00, 0x00, 0x01, 1, 2, 3, 4, 0, 53}, {0, v4(1, 2, 3, 4, 53)}, 0},
        {"fragment_reported",
         {0x00, 0x00, 0x81, 0x01, 1, 2, 3, 4, 0, 53, 0xAA},
         {0x81, v4(1, 2, 3, 4, 53)},
         1},
        {"ipv6",
         {0x00, 0x00, 0x00, 0x04, 0x20, 0x01, 0x0d, 0xb8, 0,    0,    0, 0,
          0,    0,    0,    0,    0,    0,    0,    0x01, 0x00, 0x35, 1, 2},
         {0, Address::from_ipv6(k_doc_v6, 53)},
         2},
        {"domain",
         frame({{0x00, 0x00, 0x00, 0x03, 0x03}, "dns", {0x00, 0x35}, "q"}),
         {0, domain("dns", 53)},
         1},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        const auto d = parse_udp_datagram(c.wire);
        ASSERT_TRUE(d.ok()) << d.error();
        EXPECT_EQ(d->header, c.header);
        EXPECT_EQ(d->data.size(), c.data_size);
        Frame out;
        build_udp_datagram(out, d->header, d->data);
        EXPECT_EQ(out, c.wire);
    }
}

TEST(Socks5Udp, RejectsTruncatedAndMalformed) {
    const Frame header = frame({{0x00, 0x00, 0x00, 0x03, 0x03}, "dns", {0x00, 0x35}});
    for (std::size_t n = 0; n < header.size(); ++n) {
        EXPECT_FALSE(parse_udp_datagram(prefix(header, n)).ok()) << "length " << n;
    }
    const Frame cases[] = {
        {0x00, 0x01, 0x00, 0x01, 1, 2, 3, 4, 0, 53},  // RSV
        {0x80, 0x00, 0x00, 0x01, 1, 2, 3, 4, 0, 53},  // RSV
        {0x00, 0x00, 0x00, 0x02, 1, 2, 3, 4, 0, 53},  // ATYP
        {0x00, 0x00, 0x00, 0x03, 0x00, 0, 53},        // empty domain
    };
    for (const auto& f : cases)
        EXPECT_FALSE(parse_udp_datagram(f).ok());
}

// --- Whole conversations ----------------------------------------------------------------------------------

TEST(Socks5Pipelining, ClientSendsEverythingAtOnce) {
    // A client that pipelines greeting, credentials and request in one segment (RFC 1928 allows the
    // server to read them in turn): each parser must stop exactly at its message's end.
    Frame wire;
    const Method methods[] = {Method::username_password};
    ASSERT_TRUE(build_method_request(wire, methods));
    ASSERT_TRUE(build_auth_request(wire, "alice", "pw"));
    ASSERT_TRUE(build_request(wire, Command::connect, domain("rtsp.example", 554)));
    wire.push_back(0x52);  // first byte of the tunnelled stream ('R' of "RTSP/1.0")

    Bytes rest(wire);
    const auto greeting = parse_method_request(rest);
    ASSERT_TRUE(greeting.done());
    EXPECT_TRUE(greeting.value.offers(Method::username_password));
    rest = rest.subspan(greeting.consumed);

    const auto auth = parse_auth_request(rest);
    ASSERT_TRUE(auth.done());
    EXPECT_EQ(auth.value, (AuthRequest{"alice", "pw"}));
    rest = rest.subspan(auth.consumed);

    const auto req = parse_request(rest);
    ASSERT_TRUE(req.done());
    EXPECT_EQ(req.value.destination.to_string(), "rtsp.example:554");
    rest = rest.subspan(req.consumed);

    ASSERT_EQ(rest.size(), 1u);
    EXPECT_EQ(rest[0], 0x52);
}

TEST(Socks5RoundTrip, BuildThenParseGivesTheSameValue) {
    for (const auto& c : request_cases()) {
        Frame out;
        ASSERT_TRUE(build_request(out, c.command, c.destination));
        const auto p = parse_request(out);
        ASSERT_TRUE(p.done());
        EXPECT_EQ(p.value, (Request{c.command, c.destination}));

        out.clear();
        build_reply(out, Reply::host_unreachable, c.destination);
        const auto r = parse_reply(out);
        ASSERT_TRUE(r.done());
        EXPECT_EQ(r.value, (ReplyMessage{Reply::host_unreachable, c.destination}));

        out.clear();
        const UdpHeader h{3, c.destination};
        const Frame data{1, 2, 3};
        build_udp_datagram(out, h, data);
        const auto u = parse_udp_datagram(out);
        ASSERT_TRUE(u.ok());
        EXPECT_EQ(u->header, h);
        EXPECT_EQ(Frame(u->data.begin(), u->data.end()), data);
    }
}

}  // namespace
}  // namespace sg::socks

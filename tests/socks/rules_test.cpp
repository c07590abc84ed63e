#include "socks/rules.hpp"

#include <gtest/gtest.h>

#include <asio/ip/address.hpp>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sg::socks {
namespace {

net::Cidr cidr(std::string_view text) {
    auto c = net::Cidr::parse(text);
    EXPECT_TRUE(c.ok()) << text;
    return c ? c.value() : net::Cidr{};
}

asio::ip::address ip(std::string_view text) {
    asio::error_code ec;
    auto a = asio::ip::make_address(std::string(text), ec);
    EXPECT_FALSE(ec) << text;
    return a;
}

Address ip_target(std::string_view text, std::uint16_t port) {
    const auto a = ip(text);
    return a.is_v4() ? Address::from_ipv4(a.to_v4().to_bytes(), port)
                     : Address::from_ipv6(a.to_v6().to_bytes(), port);
}

Address name_target(std::string_view name, std::uint16_t port) {
    auto a = Address::from_domain(name, port);
    EXPECT_TRUE(a.ok()) << name;
    return a ? a.value() : Address{};
}

RequestFacts facts(std::string_view client, Command command, Address destination,
                   std::optional<std::string_view> user = std::nullopt) {
    return RequestFacts{ip(client), user, command, std::move(destination), std::nullopt, false};
}

RuleSet make_set(std::vector<Rule> rules) {
    auto set = RuleSet::create(std::move(rules));
    EXPECT_TRUE(set.ok()) << set.error();
    return set ? std::move(set.value()) : RuleSet{};
}

Rule allow(std::string name) {
    Rule r;
    r.name = std::move(name);
    r.action = Action::allow;
    return r;
}

Rule deny(std::string name) {
    Rule r;
    r.name = std::move(name);
    r.action = Action::deny;
    return r;
}

// --- Parse helpers ---------------------------------------------------------------------------------------

TEST(RulesParse, PortRangeAccepted) {
    const struct {
        std::string_view text;
        PortRange expected;
    } cases[] = {
        {"80", {80, 80}},        {"0", {0, 0}},   {"65535", {65535, 65535}}, {"1024-65535", {1024, 65535}},
        {"0-65535", {0, 65535}}, {"7-7", {7, 7}}, {" 80 - 90 ", {80, 90}},   {"\t443\t", {443, 443}},
    };
    for (const auto& c : cases) {
        const auto r = parse_port_range(c.text);
        ASSERT_TRUE(r.ok()) << c.text << ": " << r.error();
        EXPECT_EQ(r->first, c.expected.first) << c.text;
        EXPECT_EQ(r->last, c.expected.last) << c.text;
    }
}

TEST(RulesParse, PortRangeRejected) {
    for (const std::string_view text :
         {"", " ", "-", "80-", "-80", "65536", "1-65536", "90-80", "+80", "8 0", "abc", "1-2-3", "0x50",
          "80,90", "99999999999999999999", "1024--2048", "http"}) {
        const auto r = parse_port_range(text);
        EXPECT_FALSE(r.ok()) << "'" << text << "'";
        EXPECT_FALSE(r.error().empty()) << text;
    }
}

TEST(RulesParse, PortRangeToString) {
    EXPECT_EQ(to_string(PortRange{80, 80}), "80");
    EXPECT_EQ(to_string(PortRange{1024, 65535}), "1024-65535");
    EXPECT_EQ(to_string(PortRange{}), "0-65535");
}

TEST(RulesParse, PortRangeContainsAtEdges) {
    const PortRange high{1024, 65535};
    EXPECT_FALSE(high.contains(0));
    EXPECT_FALSE(high.contains(1023));
    EXPECT_TRUE(high.contains(1024));
    EXPECT_TRUE(high.contains(65535));
    const PortRange zero{0, 0};
    EXPECT_TRUE(zero.contains(0));
    EXPECT_FALSE(zero.contains(1));
    EXPECT_TRUE(PortRange{}.contains(0));
    EXPECT_TRUE(PortRange{}.contains(65535));
}

TEST(RulesParse, Command) {
    const struct {
        std::string_view text;
        Command expected;
    } good[] = {
        {"connect", Command::connect},
        {"CONNECT", Command::connect},
        {"bind", Command::bind},
        {"Bind", Command::bind},
        {"udpassociate", Command::udp_associate},
        {"udp_associate", Command::udp_associate},
        {"UdpAssociate", Command::udp_associate},
    };
    for (const auto& c : good) {
        const auto r = parse_command(c.text);
        ASSERT_TRUE(r.ok()) << c.text;
        EXPECT_EQ(*r, c.expected) << c.text;
    }
    for (const std::string_view text : {"", "udp-associate", "udp", "connect ", "con", "1", "associate"}) {
        EXPECT_FALSE(parse_command(text).ok()) << "'" << text << "'";
    }
}

TEST(RulesParse, Action) {
    ASSERT_TRUE(parse_action("allow").ok());
    EXPECT_EQ(*parse_action("allow"), Action::allow);
    EXPECT_EQ(*parse_action("ALLOW"), Action::allow);
    EXPECT_EQ(*parse_action("deny"), Action::deny);
    EXPECT_EQ(*parse_action("Deny"), Action::deny);
    for (const std::string_view text : {"", "pass", "block", "allowed", " deny", "permit"}) {
        EXPECT_FALSE(parse_action(text).ok()) << "'" << text << "'";
    }
    EXPECT_EQ(to_string(Action::allow), "allow");
    EXPECT_EQ(to_string(Action::deny), "deny");
}

TEST(RulesParse, DomainPatternAccepted) {
    const struct {
        std::string_view text;
        std::string_view expected;
    } cases[] = {
        {"example.com", "example.com"},    {"Example.COM.", "example.com"}, {".example.com", ".example.com"},
        {".Example.com.", ".example.com"}, {"localhost", "localhost"},      {"a-b_c.d9", "a-b_c.d9"},
        {"origin4.test", "origin4.test"},  {"123.example", "123.example"},
    };
    for (const auto& c : cases) {
        const auto r = parse_domain_pattern(c.text);
        ASSERT_TRUE(r.ok()) << c.text << ": " << r.error();
        EXPECT_EQ(*r, c.expected) << c.text;
    }
    EXPECT_TRUE(parse_domain_pattern(std::string(63, 'a') + ".com").ok());
    // 253 characters is the longest name (RFC 1035 section 2.3.4, without the root dot).
    const std::string longest = std::string(63, 'a') + "." + std::string(63, 'b') + "." +
                                std::string(63, 'c') + "." + std::string(61, 'd');
    ASSERT_EQ(longest.size(), 253u);
    EXPECT_TRUE(parse_domain_pattern(longest).ok());
    EXPECT_FALSE(parse_domain_pattern(longest + "d").ok());
}

TEST(RulesParse, DomainPatternRejected) {
    for (const std::string_view text : {"", ".", "..", "a..b", ".a..b", "..example.com", "example.com..",
                                        "*.example.com", "*", "exa mple.com", "ex:ample.com", "example.com/",
                                        "10.0.0.1", "10.1", "0x7f.1", "example.123", "caf\xc3\xa9.com"}) {
        const auto r = parse_domain_pattern(text);
        EXPECT_FALSE(r.ok()) << "'" << text << "'";
    }
    EXPECT_FALSE(parse_domain_pattern(std::string(64, 'a') + ".com").ok());
}

TEST(RulesParse, NumericHostMirrorsTheResolver) {
    // Expected values are what glibc's getaddrinfo(AI_NUMERICHOST) answers for the same strings.
    const struct {
        std::string_view name;
        std::string_view expected;  // empty: a name the resolver would look up
    } cases[] = {
        {"10.0.0.1", "10.0.0.1"},
        {"10.1", "10.0.0.1"},
        {"10.0.1", "10.0.0.1"},
        {"167772161", "10.0.0.1"},
        {"0x0a.0.0.1", "10.0.0.1"},
        {"012.0.0.1", "10.0.0.1"},
        {"0000000000000000000012.1", "10.0.0.1"},
        {"0x7f.1", "127.0.0.1"},
        {"0X7F.0.0.1", "127.0.0.1"},
        {"0x7f.00000001", "127.0.0.1"},
        {"4294967295", "255.255.255.255"},
        {"0xffffffff", "255.255.255.255"},
        {"1.2.65535", "1.2.255.255"},
        {"0", "0.0.0.0"},
        {"00", "0.0.0.0"},
        {"0x0", "0.0.0.0"},
        {"::1", "::1"},
        {"fe80::1%lo", "fe80::1"},
        {"::ffff:10.0.0.1", "::ffff:10.0.0.1"},
        {"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"},
        {"example.com", ""},
        {"10.0.0.1.", ""},
        {"1.2.3.", ""},
        {"1.2.3.4.5", ""},
        {"256.0.0.1", ""},
        {"1.2.3.256", ""},
        {"08.0.0.1", ""},
        {"0x.0.0.1", ""},
        {"0x", ""},
        {"1.0xg", ""},
        {"0x100.0.0.1", ""},
        {"0x1ffffffff", ""},
        {"4294967296", ""},
        {"99999999999999999999999", ""},
        {"1.16777216", ""},
        {"1.2.65536", ""},
        {"1..2", ""},
        {"1.2.3.4 ", ""},
        {" 1.2.3.4", ""},
        {"", ""},
        {":::", ""},
        {"[::1]", ""},
        {"1e1", ""},
        {"-1", ""},
    };
    for (const auto& c : cases) {
        const auto got = numeric_host(c.name);
        if (c.expected.empty()) {
            EXPECT_FALSE(got.has_value()) << "'" << c.name << "' read as " << got->to_string();
        } else {
            ASSERT_TRUE(got.has_value()) << c.name;
            EXPECT_EQ(*got, ip(c.expected)) << c.name;
        }
    }
    // An unknown scope makes getaddrinfo fail outright; reading it as the address is the safe side for rules.
    EXPECT_EQ(numeric_host("fe80::1%nosuchif"), std::optional<asio::ip::address>(ip("fe80::1")));
    EXPECT_FALSE(numeric_host(std::string(60, '1') + "::").has_value());
}

TEST(RulesParse, DomainMatches) {
    const struct {
        std::string_view pattern;
        std::string_view name;
        bool expected;
    } cases[] = {
        {"example.com", "example.com", true},
        {"example.com", "a.example.com", true},
        {"example.com", "b.a.example.com", true},
        {"example.com", "A.EXAMPLE.Com", true},
        {"EXAMPLE.COM", "www.example.com", true},
        {"example.com", "example.com.", true},
        {"example.com", "a.example.com.", true},
        {"example.com.", "a.example.com", true},
        {"example.com", "badexample.com", false},
        {"example.com", "example.com.evil", false},
        {"example.com", "example.co", false},
        {"example.com", "com", false},
        {"example.com", "xample.com", false},
        {"example.com", "example.com..", false},
        {"example.com", "", false},
        {"example.com", ".", false},
        {".example.com", "example.com", false},
        {".example.com", "example.com.", false},
        {".example.com", "a.example.com", true},
        {".example.com", "a.b.EXAMPLE.COM.", true},
        {".example.com", "aexample.com", false},
        {"", "example.com", false},
        {".", "example.com", false},
        {"com", "example.com", true},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(domain_matches(c.pattern, c.name), c.expected) << c.pattern << " vs " << c.name;
    }
}

// --- RuleSet construction --------------------------------------------------------------------------------

TEST(RuleSetCreate, RejectsInvalidRules) {
    const auto with = [](auto change) {
        Rule r = allow("r");
        change(r);
        return std::vector<Rule>{r};
    };
    const std::vector<std::pair<std::string_view, std::vector<Rule>>> cases = {
        {"empty name", with([](Rule& r) { r.name.clear(); })},
        {"name too long", with([](Rule& r) { r.name = std::string(65, 'n'); })},
        {"newline in name", with([](Rule& r) { r.name = "a\nb"; })},
        {"control byte in name", with([](Rule& r) { r.name = std::string("a\0b", 3); })},
        {"reserved name", with([](Rule& r) { r.name = "Default Deny"; })},
        {"port range reversed", with([](Rule& r) {
             r.to_ports = {{90, 80}};
         })},
        {"bad domain", with([](Rule& r) { r.to_domains = {"*.example.com"}; })},
        {"empty domain", with([](Rule& r) { r.to_domains = {""}; })},
        {"empty user", with([](Rule& r) { r.users = {""}; })},
        {"long user", with([](Rule& r) { r.users = {std::string(256, 'u')}; })},
        {"unknown command", with([](Rule& r) { r.commands = {static_cast<Command>(9)}; })},
        {"duplicate names", {allow("same"), deny("same")}},
    };
    for (const auto& [what, rules] : cases) {
        const auto set = RuleSet::create(rules);
        EXPECT_FALSE(set.ok()) << what;
        EXPECT_FALSE(set.error().empty()) << what;
    }
}

TEST(RuleSetCreate, AcceptsLimitsAndNormalisesDomains) {
    Rule r = allow(std::string(64, 'n'));
    r.to_domains = {"Example.COM.", ".Sub.Example.com"};
    r.users = {std::string(255, 'u')};
    r.to_ports = {{0, 0}, {65535, 65535}};
    const auto set = RuleSet::create({r, deny("with spaces, and punctuation!")});
    ASSERT_TRUE(set.ok()) << set.error();
    ASSERT_EQ(set->size(), 2u);
    EXPECT_EQ(set->rules()[0].to_domains, (std::vector<std::string>{"example.com", ".sub.example.com"}));
}

TEST(RuleSetEvaluate, EmptySetIsDistinguishableAndDenies) {
    const RuleSet none;
    EXPECT_TRUE(none.empty());
    EXPECT_EQ(none.size(), 0u);
    const auto d = none.evaluate(facts("127.0.0.1", Command::connect, ip_target("192.0.2.1", 80)));
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.rule_name, "default deny");
    EXPECT_EQ(d.rule, nullptr);

    const auto created = RuleSet::create({});
    ASSERT_TRUE(created.ok());
    EXPECT_TRUE(created->empty());
    EXPECT_FALSE(make_set({allow("any")}).empty());
}

// --- First match wins, default deny ----------------------------------------------------------------------

TEST(RuleSetEvaluate, FirstMatchWins) {
    Rule block = deny("block-private");
    block.to_networks = {cidr("10.0.0.0/8"), cidr("fd00::/8")};
    Rule web = allow("web");
    web.to_ports = {{80, 80}, {443, 443}};
    Rule ssh = deny("no-ssh");
    ssh.to_ports = {{22, 22}};
    const RuleSet set = make_set({block, web, ssh, allow("rest")});

    const struct {
        Address destination;
        bool allowed;
        std::string_view rule;
    } cases[] = {
        {ip_target("10.1.2.3", 80), false, "block-private"},  // before "web"
        {ip_target("fd00::1", 443), false, "block-private"},
        {ip_target("192.0.2.1", 80), true, "web"},
        {ip_target("2001:db8::1", 443), true, "web"},
        {ip_target("192.0.2.1", 22), false, "no-ssh"},
        {ip_target("192.0.2.1", 8080), true, "rest"},
        // Wherever example.com resolves, port 22 is denied (by block-private or by no-ssh): decided at once.
        {name_target("example.com", 22), false, "no-ssh"},
    };
    for (const auto& c : cases) {
        const auto d = set.evaluate(facts("127.0.0.1", Command::connect, c.destination));
        EXPECT_EQ(d.allowed, c.allowed) << c.destination.to_string();
        EXPECT_EQ(d.rule_name, c.rule) << c.destination.to_string();
    }

    // The same rules in the other order: the catch-all now decides everything.
    const RuleSet reversed = make_set({allow("rest"), block});
    const auto d = reversed.evaluate(facts("127.0.0.1", Command::connect, ip_target("10.1.2.3", 80)));
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.rule_name, "rest");
}

TEST(RuleSetEvaluate, DefaultDenyWhenNothingMatches) {
    Rule lan = allow("lan");
    lan.clients = {cidr("192.168.0.0/16")};
    Rule web = allow("web");
    web.to_ports = {{80, 80}};
    const RuleSet set = make_set({lan, web});
    const auto d = set.evaluate(facts("10.0.0.1", Command::connect, ip_target("192.0.2.1", 443)));
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.rule_name, k_default_deny);
    EXPECT_EQ(d.rule, nullptr);
}

TEST(RuleSetEvaluate, DecisionPointsAtTheDecidingRule) {
    Rule first = deny("first");
    first.commands = {Command::bind};
    const RuleSet set = make_set({first, allow("second")});
    const auto d = set.evaluate(facts("127.0.0.1", Command::connect, ip_target("192.0.2.1", 80)));
    ASSERT_NE(d.rule, nullptr);
    EXPECT_EQ(d.rule, &set.rules()[1]);
    EXPECT_EQ(d.rule_name.data(), set.rules()[1].name.data());
    const auto b = set.evaluate(facts("127.0.0.1", Command::bind, ip_target("192.0.2.1", 80)));
    EXPECT_EQ(b.rule, &set.rules()[0]);
    EXPECT_FALSE(b.allowed);
}

// --- Each matcher: one allow rule, then "matches" means allowed by it, otherwise default deny ------------

struct MatchCase {
    std::string_view what;
    Rule rule;
    RequestFacts facts;
    bool matches;
};

Rule with_clients(const std::vector<std::string_view>& nets) {
    Rule r = allow("r");
    for (const auto n : nets)
        r.clients.push_back(cidr(n));
    return r;
}

Rule with_commands(std::vector<Command> commands) {
    Rule r = allow("r");
    r.commands = std::move(commands);
    return r;
}

Rule with_ports(std::vector<PortRange> ports) {
    Rule r = allow("r");
    r.to_ports = std::move(ports);
    return r;
}

Rule with_destinations(const std::vector<std::string_view>& nets, std::vector<std::string> domains) {
    Rule r = allow("r");
    for (const auto n : nets)
        r.to_networks.push_back(cidr(n));
    r.to_domains = std::move(domains);
    return r;
}

Rule with_users(std::vector<std::string> users) {
    Rule r = allow("r");
    r.users = std::move(users);
    return r;
}

void run_match_cases(const std::vector<MatchCase>& cases) {
    for (const auto& c : cases) {
        const RuleSet set = make_set({c.rule});
        const auto d = set.evaluate(c.facts);
        EXPECT_EQ(d.allowed, c.matches) << c.what;
        EXPECT_EQ(d.rule_name, c.matches ? std::string_view("r") : k_default_deny) << c.what;
    }
}

const Command k_connect = Command::connect;

TEST(RuleMatch, Clients) {
    const Address to = ip_target("192.0.2.1", 80);
    run_match_cases({
        {"any client", with_clients({}), facts("203.0.113.9", k_connect, to), true},
        {"v4 inside", with_clients({"10.0.0.0/8"}), facts("10.255.0.1", k_connect, to), true},
        {"v4 outside", with_clients({"10.0.0.0/8"}), facts("11.0.0.1", k_connect, to), false},
        {"v4 host", with_clients({"10.0.0.1"}), facts("10.0.0.1", k_connect, to), true},
        {"v4 host other", with_clients({"10.0.0.1"}), facts("10.0.0.2", k_connect, to), false},
        {"v4-mapped client", with_clients({"10.0.0.0/8"}), facts("::ffff:10.1.2.3", k_connect, to), true},
        {"v4-mapped outside", with_clients({"10.0.0.0/8"}), facts("::ffff:11.1.2.3", k_connect, to), false},
        {"v6 inside", with_clients({"2001:db8::/32"}), facts("2001:db8:1::5", k_connect, to), true},
        {"v6 outside", with_clients({"2001:db8::/32"}), facts("2001:db9::5", k_connect, to), false},
        {"v6 client, v4 rule", with_clients({"0.0.0.0/0"}), facts("2001:db8::1", k_connect, to), false},
        {"v4 client, v6 rule", with_clients({"::/0"}), facts("192.0.2.7", k_connect, to), false},
        {"second of two", with_clients({"10.0.0.0/8", "2001:db8::/32"}), facts("2001:db8::1", k_connect, to),
         true},
        {"loopback v6", with_clients({"::1"}), facts("::1", k_connect, to), true},
    });
}

TEST(RuleMatch, Commands) {
    const Address to = ip_target("192.0.2.1", 80);
    run_match_cases({
        {"any command", with_commands({}), facts("10.0.0.1", Command::bind, to), true},
        {"connect only, connect", with_commands({Command::connect}), facts("10.0.0.1", Command::connect, to),
         true},
        {"connect only, bind", with_commands({Command::connect}), facts("10.0.0.1", Command::bind, to),
         false},
        {"connect only, udp", with_commands({Command::connect}),
         facts("10.0.0.1", Command::udp_associate, to), false},
        {"bind+udp, udp", with_commands({Command::bind, Command::udp_associate}),
         facts("10.0.0.1", Command::udp_associate, to), true},
        {"bind+udp, connect", with_commands({Command::bind, Command::udp_associate}),
         facts("10.0.0.1", Command::connect, to), false},
    });
}

TEST(RuleMatch, Ports) {
    const auto at = [](std::uint16_t port) {
        return facts("10.0.0.1", k_connect, ip_target("192.0.2.1", port));
    };
    run_match_cases({
        {"any port", with_ports({}), at(0), true},
        {"single, equal", with_ports({{80, 80}}), at(80), true},
        {"single, below", with_ports({{80, 80}}), at(79), false},
        {"single, above", with_ports({{80, 80}}), at(81), false},
        {"range, below start", with_ports({{1024, 65535}}), at(1023), false},
        {"range, start", with_ports({{1024, 65535}}), at(1024), true},
        {"range, end", with_ports({{1024, 65535}}), at(65535), true},
        {"port 0 range", with_ports({{0, 0}}), at(0), true},
        {"second range", with_ports({{80, 80}, {443, 443}}), at(443), true},
        {"between ranges", with_ports({{80, 80}, {443, 443}}), at(100), false},
        {"name target port", with_ports({{443, 443}}),
         facts("10.0.0.1", k_connect, name_target("example.com", 443)), true},
        {"name target other port", with_ports({{443, 443}}),
         facts("10.0.0.1", k_connect, name_target("example.com", 444)), false},
    });
}

TEST(RuleMatch, Destinations) {
    const auto to = [](Address a) { return facts("10.0.0.1", k_connect, std::move(a)); };
    const auto nets = with_destinations({"198.18.0.0/15", "2001:db8::/32"}, {});
    const auto names = with_destinations({}, {"example.com", ".sub.test"});
    const auto both = with_destinations({"198.18.0.0/15"}, {"example.com"});
    const auto resolved_to = [&](Address a, std::string_view address) {
        RequestFacts f = to(std::move(a));
        f.resolved = ip(address);
        return f;
    };
    run_match_cases({
        {"neither: ip", with_destinations({}, {}), to(ip_target("203.0.113.1", 80)), true},
        {"neither: name", with_destinations({}, {}), to(name_target("anything.invalid", 80)), true},
        {"nets: v4 inside", nets, to(ip_target("198.19.255.255", 80)), true},
        {"nets: v4 outside", nets, to(ip_target("198.20.0.0", 80)), false},
        {"nets: v6 inside", nets, to(ip_target("2001:db8:ffff::1", 80)), true},
        {"nets: v6 outside", nets, to(ip_target("2001:db9::1", 80)), false},
        {"nets: v4-mapped v6 target", nets, to(ip_target("::ffff:198.18.0.1", 80)), true},
        // A name meets a networks-only rule through its resolved address (RuleSetEvaluate.NamesAndNetworks),
        // unless the resolver itself would read the name as an address.
        {"nets: numeric name", nets, to(name_target("198.18.0.1", 80)), true},
        {"nets: short numeric name", nets, to(name_target("198.18.1", 80)), true},
        {"nets: hex numeric name", nets, to(name_target("0xc6.0x12.0.1", 80)), true},
        {"nets: v6 numeric name", nets, to(name_target("2001:db8::1", 80)), true},
        {"nets: numeric name outside", nets, to(name_target("198.20.0.1", 80)), false},
        {"names: name", names, to(name_target("www.example.com", 80)), true},
        {"names: apex", names, to(name_target("example.com", 80)), true},
        {"names: case", names, to(name_target("WWW.Example.COM", 80)), true},
        {"names: fqdn dot", names, to(name_target("example.com.", 80)), true},
        {"names: other name", names, to(name_target("example.org", 80)), false},
        {"names: label boundary", names, to(name_target("notexample.com", 80)), false},
        {"names: subdomain-only apex", names, to(name_target("sub.test", 80)), false},
        {"names: subdomain-only child", names, to(name_target("a.sub.test", 80)), true},
        {"names: ip target", names, to(ip_target("93.184.216.34", 80)), false},
        {"names: numeric name", names, to(name_target("93.184.216.34", 80)), false},
        {"both: ip", both, to(ip_target("198.18.0.9", 80)), true},
        {"both: name", both, to(name_target("a.example.com", 80)), true},
        {"both: ip outside", both, to(ip_target("192.0.2.1", 80)), false},
        {"both: name outside", both, resolved_to(name_target("example.net", 80), "203.0.113.1"), false},
        {"both: name resolving inside", both, resolved_to(name_target("example.net", 80), "198.18.0.9"),
         true},
    });
}

TEST(RuleMatch, Users) {
    const Address to = ip_target("192.0.2.1", 80);
    run_match_cases({
        {"anyone, unauthenticated", with_users({}), facts("10.0.0.1", k_connect, to), true},
        {"anyone, authenticated", with_users({}), facts("10.0.0.1", k_connect, to, "alice"), true},
        {"listed user", with_users({"alice", "bob"}), facts("10.0.0.1", k_connect, to, "bob"), true},
        {"other user", with_users({"alice"}), facts("10.0.0.1", k_connect, to, "mallory"), false},
        {"unauthenticated", with_users({"alice"}), facts("10.0.0.1", k_connect, to), false},
        {"case matters", with_users({"alice"}), facts("10.0.0.1", k_connect, to, "Alice"), false},
        {"prefix", with_users({"alice"}), facts("10.0.0.1", k_connect, to, "alic"), false},
        {"empty user name", with_users({"alice"}), facts("10.0.0.1", k_connect, to, ""), false},
    });
}

TEST(RuleMatch, AllConditionsMustHold) {
    Rule r = allow("r");
    r.clients = {cidr("10.0.0.0/8")};
    r.commands = {Command::connect};
    r.to_networks = {cidr("198.18.0.0/15")};
    r.to_ports = {{443, 443}};
    r.users = {"alice"};
    const Address good_to = ip_target("198.18.0.1", 443);
    run_match_cases({
        {"all hold", r, facts("10.0.0.1", Command::connect, good_to, "alice"), true},
        {"client", r, facts("11.0.0.1", Command::connect, good_to, "alice"), false},
        {"command", r, facts("10.0.0.1", Command::bind, good_to, "alice"), false},
        {"network", r, facts("10.0.0.1", Command::connect, ip_target("198.20.0.1", 443), "alice"), false},
        {"port", r, facts("10.0.0.1", Command::connect, ip_target("198.18.0.1", 80), "alice"), false},
        {"user", r, facts("10.0.0.1", Command::connect, good_to, "bob"), false},
    });
}

// --- Deny rules cannot be stepped around by spelling the target differently -----------------------------

TEST(RuleSetEvaluate, DenyByNetworkCoversNumericNames) {
    Rule block = deny("no-internal");
    block.to_networks = {cidr("10.0.0.0/8")};
    const RuleSet set = make_set({block, allow("rest")});
    for (const std::string_view name :
         {"10.0.0.1", "10.1", "167772161", "0x0a.0.0.1", "012.0.0.1", "0xa000001", "::ffff:10.0.0.1"}) {
        const auto d = set.evaluate(facts("127.0.0.1", k_connect, name_target(name, 80)));
        EXPECT_FALSE(d.allowed) << name;
        EXPECT_EQ(d.rule_name, "no-internal") << name;
    }
    const auto mapped = set.evaluate(facts("127.0.0.1", k_connect, ip_target("::ffff:10.0.0.1", 80)));
    EXPECT_FALSE(mapped.allowed);
    EXPECT_TRUE(set.evaluate(facts("127.0.0.1", k_connect, name_target("11.0.0.1", 80))).allowed);
}

TEST(RuleSetEvaluate, DenyByDomainCoversCaseAndTrailingDot) {
    Rule block = deny("no-example");
    block.to_domains = {"example.com"};
    const RuleSet set = make_set({block, allow("rest")});
    for (const std::string_view name : {"example.com", "EXAMPLE.COM", "example.com.", "Www.Example.Com."}) {
        const auto d = set.evaluate(facts("127.0.0.1", k_connect, name_target(name, 80)));
        EXPECT_FALSE(d.allowed) << name;
        EXPECT_EQ(d.rule_name, "no-example") << name;
    }
    EXPECT_TRUE(set.evaluate(facts("127.0.0.1", k_connect, name_target("example.com.au", 80))).allowed);
}

TEST(RuleSetEvaluate, OddNamesNeverMatchDomainsWrongly) {
    Rule only = allow("only");
    only.to_domains = {"example.com"};
    const RuleSet set = make_set({only});
    for (const std::string_view name : std::initializer_list<std::string_view>{
             ".", "..", "com", "example.com..", "example.com\t", std::string_view("example.com\xff", 12), "x",
             "example.comexample.com"}) {
        EXPECT_FALSE(set.evaluate(facts("127.0.0.1", k_connect, name_target(name, 80))).allowed) << name;
    }
    // The longest possible SOCKS name (255 bytes) is handled like any other.
    const std::string longest = std::string(243, 'a') + ".example.com";
    ASSERT_EQ(longest.size(), 255u);
    EXPECT_TRUE(set.evaluate(facts("127.0.0.1", k_connect, name_target(longest, 80))).allowed);
}

}  // namespace
}  // namespace sg::socks

namespace sg::socks {
namespace {

asio::ip::address resolved(std::string_view text) {
    return asio::ip::make_address(text);
}

TEST(RuleSetEvaluate, NamesMeetNetworkRulesThroughTheirResolvedAddress) {
    Rule block = deny("no-internal");
    block.to_networks = {cidr("10.0.0.0/8")};
    const RuleSet set = make_set({block, allow("rest")});
    RequestFacts f = facts("127.0.0.1", k_connect, name_target("intranet.example", 80));

    // Before the lookup the answer depends on the address: provisionally allowed, to be asked again.
    const auto before = set.evaluate(f);
    EXPECT_TRUE(before.allowed);
    EXPECT_TRUE(before.needs_address);
    EXPECT_EQ(before.rule_name, "no-internal");

    f.resolved = resolved("10.1.2.3");  // the name resolves into the denied network: denied like the address
    const auto inside = set.evaluate(f);
    EXPECT_FALSE(inside.allowed);
    EXPECT_FALSE(inside.needs_address);
    EXPECT_EQ(inside.rule_name, "no-internal");
    f.resolved = resolved("::ffff:10.1.2.3");
    EXPECT_FALSE(set.evaluate(f).allowed);
    f.resolved = resolved("192.0.2.7");
    const auto outside = set.evaluate(f);
    EXPECT_TRUE(outside.allowed);
    EXPECT_EQ(outside.rule_name, "rest");
}

TEST(RuleSetEvaluate, AnAllowedDomainIsNotAskedAgain) {
    Rule names = allow("cameras");
    names.to_domains = {"cameras.example"};
    Rule block = deny("no-internal");
    block.to_networks = {cidr("10.0.0.0/8")};
    const RuleSet set = make_set({names, block, allow("rest")});
    RequestFacts f = facts("127.0.0.1", k_connect, name_target("cam1.cameras.example", 554));
    const auto d = set.evaluate(f);
    EXPECT_TRUE(d.allowed);
    EXPECT_FALSE(d.needs_address);  // the domain rule came first and decided
    f.resolved = resolved("10.9.9.9");
    EXPECT_TRUE(set.evaluate(f).allowed);
}

TEST(RuleSetEvaluate, AnAllowedNetworkAdmitsNamesResolvingIntoIt) {
    Rule lab = allow("lab");
    lab.to_networks = {cidr("198.18.3.0/24")};
    const RuleSet set = make_set({lab});
    RequestFacts f = facts("127.0.0.1", k_connect, name_target("origin4.test", 554));
    EXPECT_TRUE(set.evaluate(f).needs_address);
    f.resolved = resolved("198.18.3.2");
    EXPECT_TRUE(set.evaluate(f).allowed);
    f.resolved = resolved("203.0.113.1");
    const auto d = set.evaluate(f);
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.rule_name, k_default_deny);
}

TEST(SessionPolicy, UdpAssociateRequestsArePendingUntilTheirDatagrams) {
    Rule cameras = allow("cameras");
    cameras.commands = {Command::udp_associate};
    cameras.to_networks = {cidr("198.18.3.0/24")};
    cameras.to_ports = {{554, 554}};
    const auto set = std::make_shared<const RuleSet>(make_set({cameras}));
    const SessionPolicy policy(set, ip("198.18.1.2"), std::nullopt, Command::udp_associate);
    // The request names where the client sends from (0.0.0.0:0), not a destination: not held against it.
    const auto request = policy.evaluate_request(ip_target("0.0.0.0", 0));
    EXPECT_TRUE(request.allowed);
    EXPECT_TRUE(request.needs_address);
    // Each datagram's destination decides.
    EXPECT_TRUE(policy.evaluate(ip_target("198.18.3.2", 554)).allowed);
    EXPECT_FALSE(policy.evaluate(ip_target("198.18.3.2", 555)).allowed);
    EXPECT_FALSE(policy.evaluate(ip_target("203.0.113.1", 554)).allowed);
    EXPECT_TRUE(policy.evaluate(name_target("origin4.test", 554), resolved("198.18.3.2")).allowed);
    EXPECT_FALSE(policy.evaluate(name_target("origin4.test", 554), resolved("203.0.113.1")).allowed);
    // Another client is not covered by the rule at all, so its request is refused at once.
    Rule only_lab = cameras;
    only_lab.clients = {cidr("198.18.1.0/24")};
    const SessionPolicy stranger(std::make_shared<const RuleSet>(make_set({only_lab})), ip("203.0.113.9"),
                                 std::nullopt, Command::udp_associate);
    EXPECT_FALSE(stranger.evaluate_request(ip_target("0.0.0.0", 0)).allowed);
    // No rules: the allow-list alone decides.
    EXPECT_TRUE(SessionPolicy().evaluate(ip_target("203.0.113.1", 9)).allowed);
}

}  // namespace
}  // namespace sg::socks

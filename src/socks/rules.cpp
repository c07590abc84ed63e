#include "socks/rules.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "common/text.hpp"
#include "net/asio_endpoint.hpp"

namespace sg::socks {
namespace {

constexpr std::size_t k_max_rule_name = 64;
constexpr std::size_t k_max_domain_name = 253;  // RFC 1035 section 2.3.4, without the trailing dot
constexpr std::size_t k_max_label = 63;
constexpr std::size_t k_max_user = 255;  // RFC 1929 ULEN

constexpr bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}

constexpr bool is_label_char(char c) noexcept {
    const char l = ascii_lower(c);
    return is_digit(c) || (l >= 'a' && l <= 'z') || c == '-' || c == '_';
}

// Value of `c` as a digit in `base` (8, 10 or 16), or -1.
constexpr int digit_value(char c, unsigned base) noexcept {
    int v = -1;
    if (is_digit(c)) {
        v = c - '0';
    } else {
        const char l = ascii_lower(c);
        if (l >= 'a' && l <= 'f') v = l - 'a' + 10;
    }
    return (v >= 0 && static_cast<unsigned>(v) < base) ? v : -1;
}

std::string_view strip_trailing_dot(std::string_view s) noexcept {
    if (!s.empty() && s.back() == '.') s.remove_suffix(1);
    return s;
}

// glibc's __inet_aton_exact, which getaddrinfo tries before any lookup: up to four dot-separated parts,
// each decimal, octal (leading 0) or hex (0x) as strtoul(..., 0) reads them; the last part fills the
// remaining bytes ("10.1" is 10.0.0.1, "167772161" is 10.0.0.1).
std::optional<asio::ip::address_v4> inet_aton_exact(std::string_view s) {
    std::array<std::uint32_t, 3> parts{};
    std::size_t count = 0;
    std::size_t i = 0;
    std::uint64_t value = 0;
    for (;;) {
        if (i >= s.size() || !is_digit(s[i])) return std::nullopt;
        unsigned base = 10;
        if (s[i] == '0') {
            base = 8;
            if (i + 2 < s.size() && (s[i + 1] == 'x' || s[i + 1] == 'X') && digit_value(s[i + 2], 16) >= 0) {
                base = 16;
                i += 2;
            }
        }
        value = 0;
        for (; i < s.size(); ++i) {
            const int d = digit_value(s[i], base);
            if (d < 0) break;
            value = value * base + static_cast<unsigned>(d);
            if (value > 0xffffffffu) return std::nullopt;
        }
        if (i < s.size() && s[i] == '.') {
            if (count == parts.size() || value > 0xff) return std::nullopt;
            parts[count++] = static_cast<std::uint32_t>(value);
            ++i;
            continue;
        }
        break;
    }
    if (i != s.size()) return std::nullopt;
    constexpr std::array<std::uint32_t, 4> k_last_max{0xffffffffu, 0xffffffu, 0xffffu, 0xffu};
    if (value > k_last_max[count]) return std::nullopt;
    std::uint32_t word = static_cast<std::uint32_t>(value);
    for (std::size_t p = 0; p < count; ++p)
        word |= parts[p] << (24 - 8 * p);
    return asio::ip::address_v4(word);
}

// What a destination is for matching: an IP (given as one, or as a numeric name) or a name.
struct Target {
    std::optional<asio::ip::address> ip;
    std::string_view name;
    std::uint16_t port = 0;
};

Target classify(const Address& destination) {
    Target t;
    t.port = destination.port();
    if (destination.is_ipv4()) {
        t.ip = asio::ip::address_v4(destination.ipv4());
    } else if (destination.is_ipv6()) {
        t.ip = asio::ip::address_v6(destination.ipv6());
    } else {
        t.ip = numeric_host(destination.domain());
        t.name = destination.domain();
    }
    return t;
}

template <class T, class Pred>
bool empty_or_any(const std::vector<T>& items, Pred pred) {
    return items.empty() || std::any_of(items.begin(), items.end(), pred);
}

enum class Match : std::uint8_t { no, yes, unknown };

bool in_networks(const Rule& rule, const asio::ip::address& ip) {
    return std::any_of(rule.to_networks.begin(), rule.to_networks.end(),
                       [&](const net::Cidr& n) { return n.contains(ip); });
}

Match destination_matches(const Rule& rule, const Target& target, const RequestFacts& facts) {
    if (rule.to_networks.empty() && rule.to_domains.empty()) return Match::yes;
    if (target.ip) return in_networks(rule, *target.ip) ? Match::yes : Match::no;
    if (std::any_of(rule.to_domains.begin(), rule.to_domains.end(),
                    [&](const std::string& d) { return domain_matches(d, target.name); })) {
        return Match::yes;
    }
    if (rule.to_networks.empty()) return Match::no;
    if (!facts.resolved) return Match::unknown;
    return in_networks(rule, net::unmap(*facts.resolved)) ? Match::yes : Match::no;
}

Match matches(const Rule& rule, const RequestFacts& facts, const Target& target) {
    if (!empty_or_any(rule.clients, [&](const net::Cidr& n) { return n.contains(facts.client); }))
        return Match::no;
    if (!rule.users.empty()) {
        if (!facts.user) return Match::no;
        if (std::find(rule.users.begin(), rule.users.end(), *facts.user) == rule.users.end())
            return Match::no;
    }
    if (!empty_or_any(rule.commands, [&](Command c) { return c == facts.command; })) return Match::no;
    if (facts.destination_pending) {
        const bool unconditional =
            rule.to_ports.empty() && rule.to_networks.empty() && rule.to_domains.empty();
        return unconditional ? Match::yes : Match::unknown;
    }
    if (!empty_or_any(rule.to_ports, [&](const PortRange& r) { return r.contains(target.port); }))
        return Match::no;
    return destination_matches(rule, target, facts);
}

bool valid_rule_name(std::string_view name) {
    if (name.empty() || name.size() > k_max_rule_name) return false;
    // The name goes into log lines verbatim: printable ASCII only, so it cannot forge or break a line.
    return std::all_of(name.begin(), name.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

bool valid_command(Command c) {
    return c == Command::connect || c == Command::bind || c == Command::udp_associate;
}

Result<bool> check_rule(Rule& rule) {
    if (!valid_rule_name(rule.name)) return fail("rule name must be 1..64 printable ASCII characters");
    if (iequals(rule.name, k_default_deny)) return fail("rule name \"default deny\" is reserved");
    if (!std::all_of(rule.commands.begin(), rule.commands.end(), valid_command)) {
        return fail("unknown command in rule");
    }
    for (const auto& r : rule.to_ports) {
        if (r.first > r.last) return fail("port range start is above its end");
    }
    for (auto& d : rule.to_domains) {
        auto normalised = parse_domain_pattern(d);
        if (!normalised) return fail(normalised.error());
        d = std::move(normalised.value());
    }
    for (const auto& u : rule.users) {
        if (u.empty() || u.size() > k_max_user) return fail("user name must be 1..255 bytes");
    }
    return true;
}

}  // namespace

std::string_view to_string(Action a) noexcept {
    return a == Action::allow ? "allow" : "deny";
}

std::string to_string(const PortRange& r) {
    if (r.first == r.last) return std::to_string(r.first);
    return std::to_string(r.first) + "-" + std::to_string(r.last);
}

Result<RuleSet> RuleSet::create(std::vector<Rule> rules) {
    for (std::size_t i = 0; i < rules.size(); ++i) {
        const auto checked = check_rule(rules[i]);
        if (!checked) return fail(checked.error());
        for (std::size_t j = 0; j < i; ++j) {
            if (rules[j].name == rules[i].name) return fail("two rules have the same name");
        }
    }
    RuleSet set;
    set.rules_ = std::move(rules);
    return set;
}

Decision RuleSet::evaluate(const RequestFacts& facts) const {
    const Target target = classify(facts.destination);
    // Rules that may or may not match (their answer depends on what is not known yet) are passed over,
    // remembering their actions: when every possible outcome agrees, the decision is final anyway.
    bool may_allow = false;
    bool may_deny = false;
    const Rule* first_unknown = nullptr;
    Decision decided;
    for (const auto& rule : rules_) {
        const Match m = matches(rule, facts, target);
        if (m == Match::no) continue;
        (rule.action == Action::allow ? may_allow : may_deny) = true;
        if (m == Match::unknown && first_unknown == nullptr) first_unknown = &rule;
        if (m == Match::yes) {
            decided = Decision{rule.action == Action::allow, rule.name, &rule};
            break;
        }
    }
    if (decided.rule == nullptr) may_deny = true;  // default deny is one of the outcomes
    if (may_allow && may_deny) {
        decided = Decision{true, first_unknown->name, first_unknown, true};  // provisional
    }
    return decided;
}

SessionPolicy::SessionPolicy(std::shared_ptr<const RuleSet> rules, asio::ip::address client,
                             std::optional<std::string> user, Command command)
    : rules_(std::move(rules)), client_(std::move(client)), user_(std::move(user)), command_(command) {}

Decision SessionPolicy::evaluate_request(const Address& destination) const {
    if (empty()) return Decision{true, "no rules", nullptr, false};
    RequestFacts facts{client_,     user_view(),  command_,
                       destination, std::nullopt, command_ == Command::udp_associate};
    return rules_->evaluate(facts);
}

Decision SessionPolicy::evaluate(const Address& destination,
                                 std::optional<asio::ip::address> resolved) const {
    if (empty()) return Decision{true, "no rules", nullptr, false};
    RequestFacts facts{client_, user_view(), command_, destination, std::move(resolved), false};
    return rules_->evaluate(facts);
}

Result<PortRange> parse_port_range(std::string_view text) {
    text = trim(text);
    std::string_view rest = text;
    const std::string_view first_text = trim(pop_token(rest, '-'));
    const auto first = parse_uint<std::uint16_t>(first_text);
    if (!first) return fail("port must be a number from 0 to 65535");
    if (first_text.size() == text.size()) return PortRange{*first, *first};
    const auto last = parse_uint<std::uint16_t>(trim(rest));
    if (!last) return fail("port must be a number from 0 to 65535");
    if (*first > *last) return fail("port range start is above its end");
    return PortRange{*first, *last};
}

Result<Command> parse_command(std::string_view text) {
    if (iequals(text, "connect")) return Command::connect;
    if (iequals(text, "bind")) return Command::bind;
    if (iequals(text, "udpassociate") || iequals(text, "udp_associate")) return Command::udp_associate;
    return fail("command must be connect, bind or udpassociate");
}

Result<Action> parse_action(std::string_view text) {
    if (iequals(text, "allow")) return Action::allow;
    if (iequals(text, "deny")) return Action::deny;
    return fail("action must be allow or deny");
}

Result<std::string> parse_domain_pattern(std::string_view text) {
    const bool subdomains_only = !text.empty() && text.front() == '.';
    std::string_view body = text;
    if (subdomains_only) body.remove_prefix(1);
    body = strip_trailing_dot(body);
    if (body.empty()) return fail("empty domain pattern");
    if (body.size() > k_max_domain_name) return fail("domain pattern longer than 253 characters");
    if (body.find('*') != std::string_view::npos) {
        return fail("no wildcards in domain patterns: \".example.com\" means subdomains only");
    }
    std::string_view label;
    for (std::size_t start = 0;;) {
        const std::size_t dot = body.find('.', start);
        label = body.substr(start, dot == std::string_view::npos ? dot : dot - start);
        if (label.empty() || label.size() > k_max_label) return fail("domain label must be 1..63 characters");
        if (!std::all_of(label.begin(), label.end(), is_label_char)) {
            return fail("domain pattern may hold only letters, digits, '-', '_' and '.'");
        }
        if (dot == std::string_view::npos) break;
        start = dot + 1;
    }
    // Top-level domains are never all-numeric (RFC 3696 section 2), so such a pattern is an address.
    if (numeric_host(body) || std::all_of(label.begin(), label.end(), is_digit)) {
        return fail("an IP address belongs in to_networks, not to_domains");
    }
    std::string out = subdomains_only ? "." : "";
    for (const char c : body)
        out.push_back(ascii_lower(c));
    return out;
}

std::optional<asio::ip::address> numeric_host(std::string_view name) {
    if (auto v4 = inet_aton_exact(name)) return asio::ip::address(*v4);
    // glibc parses an IPv6 literal up to the first '%' and takes the rest as the scope (interface).
    const std::string_view addr = name.substr(0, name.find('%'));
    constexpr std::size_t k_max_v6_text = 45;  // "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"
    if (addr.find(':') == std::string_view::npos || addr.size() > k_max_v6_text) return std::nullopt;
    asio::error_code ec;
    const auto v6 = asio::ip::make_address_v6(std::string(addr), ec);
    if (ec) return std::nullopt;
    return asio::ip::address(v6);
}

bool domain_matches(std::string_view pattern, std::string_view name) noexcept {
    const bool subdomains_only = !pattern.empty() && pattern.front() == '.';
    if (subdomains_only) pattern.remove_prefix(1);
    pattern = strip_trailing_dot(pattern);
    // "example.com." is the same name as "example.com"; ignoring the dot keeps a deny rule from being
    // sidestepped by writing the name fully qualified.
    name = strip_trailing_dot(name);
    if (pattern.empty() || name.size() < pattern.size()) return false;
    if (name.size() == pattern.size()) return !subdomains_only && iequals(name, pattern);
    const std::size_t boundary = name.size() - pattern.size() - 1;
    return name[boundary] == '.' && iequals(name.substr(boundary + 1), pattern);
}

}  // namespace sg::socks

#pragma once
// Access rules for SOCKS requests, in the style of Dante's socks-rules: which client networks (and which
// authenticated users) may use which commands toward which destinations. Rules are checked in order, the
// first one that matches decides, and a request no rule matches is denied. A denied request is answered
// with REP 0x02, "connection not allowed by ruleset" (RFC 1928 section 6).
//
// Destinations (RFC 1928 section 5) are matched without resolving names:
//   - an IP target (ATYP 0x01/0x04) is matched against `to_networks`;
//   - a name target (ATYP 0x03) is matched against `to_domains` (suffix on label boundaries, ASCII
//     case-insensitive, one trailing dot ignored). A name that the system resolver would itself read as a
//     numeric address ("10.0.0.1", "10.1", "0x7f.1", "::1") counts as that IP, because getaddrinfo turns it
//     into the address without any lookup; otherwise a client could step around a network rule by sending
//     an IP as a name;
//   - a rule that lists only networks never matches a name, and one that lists only domains never matches
//     an IP: the name is not resolved when rules are checked (a lookup there would be slow, and its answer
//     could differ from the one the connector gets). Consequently a network rule alone does NOT stop a name
//     that resolves into that network; callers that need this evaluate again with the resolved address;
//   - a rule with neither matches every target.
// For UDP ASSOCIATE the request's destination is the address the client will send from (often 0.0.0.0:0);
// each datagram's destination is a separate request to evaluate.

#include <asio/ip/address.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "net/cidr.hpp"
#include "socks/socks5.hpp"

namespace sg::socks {

enum class Action : std::uint8_t { allow, deny };

std::string_view to_string(Action a) noexcept;  // "allow" / "deny"

struct PortRange {
    std::uint16_t first = 0;
    std::uint16_t last = 65535;

    bool contains(std::uint16_t port) const noexcept { return port >= first && port <= last; }
    friend bool operator==(const PortRange&, const PortRange&) = default;
};

std::string to_string(const PortRange& r);  // "80" or "1024-65535"

struct Rule {
    std::string name;  // named in the log line of every request it denies
    Action action = Action::deny;
    std::vector<net::Cidr> clients;      // empty = any client; IPv4-mapped IPv6 clients match IPv4 ranges
    std::vector<Command> commands;       // empty = any command
    std::vector<net::Cidr> to_networks;  // IP targets; see the header comment for how names are treated
    std::vector<std::string>
        to_domains;                   // "example.com": it and its subdomains; ".example.com": only subdomains
    std::vector<PortRange> to_ports;  // empty = any port
    std::vector<std::string> users;   // empty = anyone; otherwise only these authenticated users (exact)
};

struct RequestFacts {
    asio::ip::address client;
    std::optional<std::string_view> user;  // set once RFC 1929 authentication succeeded
    Command command = Command::connect;
    Address destination;
};

inline constexpr std::string_view k_default_deny = "default deny";

struct Decision {
    bool allowed = false;
    // The deciding rule's name, or k_default_deny. Both views stay valid while the RuleSet lives unchanged.
    std::string_view rule_name = k_default_deny;
    const Rule* rule = nullptr;  // nullptr when no rule matched
};

class RuleSet {
public:
    // No rules. Distinguishable through empty(): the server then keeps its plain client allow-list behaviour
    // instead of denying every request.
    RuleSet() = default;

    // Checks every rule (name: 1..64 printable ASCII characters, unique, not "default deny"; ports first <=
    // last; domain patterns as parse_domain_pattern accepts them, stored normalised; users 1..255 bytes).
    static Result<RuleSet> create(std::vector<Rule> rules);

    bool empty() const noexcept { return rules_.empty(); }
    std::size_t size() const noexcept { return rules_.size(); }
    const std::vector<Rule>& rules() const noexcept { return rules_; }

    // First match wins; no match (and an empty set) denies.
    Decision evaluate(const RequestFacts& facts) const;

private:
    std::vector<Rule> rules_;
};

// --- Textual forms used by the configuration -----------------------------------------------------------
Result<PortRange> parse_port_range(std::string_view text);  // "80", "1024-65535" (0..65535, first <= last)
Result<Command> parse_command(
    std::string_view text);                          // connect, bind, udpassociate / udp_associate (any case)
Result<Action> parse_action(std::string_view text);  // allow, deny (any case)
// "Example.COM." -> "example.com", ".example.com" stays a subdomains-only pattern. Labels are 1..63 letters,
// digits, '-' or '_'; no wildcards; no IP addresses (those belong in to_networks).
Result<std::string> parse_domain_pattern(std::string_view text);

// How the system resolver reads a host name that is really a numeric address: the IPv4 forms inet_aton
// accepts ("10.0.0.1", "10.1", "0x0a.0.0.01", "167772161") and IPv6 literals, with or without "%scope".
// nullopt for anything the resolver would look up as a name.
std::optional<asio::ip::address> numeric_host(std::string_view name);

// Whether a name target matches one domain pattern (as described for Rule::to_domains).
bool domain_matches(std::string_view pattern, std::string_view name) noexcept;

}  // namespace sg::socks

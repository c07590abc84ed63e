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
//   - a rule that lists only domains never matches an IP;
//   - a name is matched against `to_networks` through the address it resolved to (RequestFacts::resolved),
//     the way Dante matches names against address rules. The rules are first evaluated before any lookup
//     (the lookup is slow, and only the connector's own answer counts): a network rule then neither matches
//     nor fails, and when the evaluation reaches one before any rule decides, the decision is provisional
//     (Decision::needs_address): the caller resolves and evaluates again for every address, connecting only
//     to admitted ones. So a name that resolves into a denied network is denied like the address itself;
//   - a rule with neither matches every target.
// For UDP ASSOCIATE the request's destination is the address the client will send from (often 0.0.0.0:0),
// so the request itself is evaluated with its destination pending (RequestFacts::destination_pending): a
// rule with `to`/`ports` conditions is reached provisionally, and each datagram's destination (and a name's
// resolved address) is then a separate request to evaluate.

#include <asio/ip/address.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "net/cidr.hpp"
#include "socks5/socks5.hpp"

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
    std::optional<asio::ip::address> resolved;  // for a name destination: an address it resolved to
    bool destination_pending = false;           // UDP ASSOCIATE request: destinations come with each datagram
};

inline constexpr std::string_view k_default_deny = "default deny";

struct Decision {
    bool allowed = false;
    // The deciding rule's name, or k_default_deny. Both views stay valid while the RuleSet lives unchanged.
    std::string_view rule_name = k_default_deny;
    const Rule* rule = nullptr;  // nullptr when no rule matched
    // The decision depends on what is not known yet (a name's address, a UDP ASSOCIATE's datagram
    // destinations): `allowed` is provisional, and each address or datagram must be evaluated again.
    bool needs_address = false;
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

// The rules as one admitted session applies them again after its handshake: to each address a name target
// resolves to (CONNECT), and to each UDP datagram's destination (UDP ASSOCIATE). Holds the rule set the
// handshake saw, so a SIGHUP reload does not change the rules of a running session.
class SessionPolicy {
public:
    SessionPolicy() = default;  // no rules: everything the allow-list admitted is admitted
    SessionPolicy(std::shared_ptr<const RuleSet> rules, asio::ip::address client,
                  std::optional<std::string> user, Command command);

    bool empty() const noexcept { return !rules_ || rules_->empty(); }
    // The request itself (the handshake's check): provisional where the answer depends on addresses.
    Decision evaluate_request(const Address& destination) const;
    // Whether `destination` (resolved to `resolved`, when it is a name) is allowed for this session.
    Decision evaluate(const Address& destination, std::optional<asio::ip::address> resolved = {}) const;

private:
    std::shared_ptr<const RuleSet> rules_;
    asio::ip::address client_;
    std::optional<std::string> user_;
    Command command_ = Command::connect;

    std::optional<std::string_view> user_view() const {
        return user_ ? std::optional<std::string_view>(*user_) : std::nullopt;
    }
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

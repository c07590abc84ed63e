#include "turn/turn_machine.hpp"

#include <algorithm>

#include "stun/channel_data.hpp"

namespace sg::turn {
namespace {

// The password algorithms every 401 offers (RFC 8489 §14.11), strongest last as the RFC's example does.
constexpr std::array<std::uint16_t, 2> k_password_algorithms{stun::password_algorithm_md5,
                                                             stun::password_algorithm_sha256};

// The password algorithm a request chose (RFC 8489 §9.2.4; our nonces always carry the password-algorithms
// feature): neither attribute means MD5; otherwise both must be there, PASSWORD-ALGORITHMS exactly as our
// 401 sent it (a man in the middle cannot strip SHA-256 from the offer) and PASSWORD-ALGORITHM one of them.
// nullopt: answer 400.
std::optional<std::uint16_t> chosen_password_algorithm(const stun::MessageView& m) {
    const auto* offered = m.find(stun::attr::password_algorithms);
    const auto* chosen = m.find(stun::attr::password_algorithm);
    if (offered == nullptr && chosen == nullptr) return stun::password_algorithm_md5;
    if (offered == nullptr || chosen == nullptr) return std::nullopt;
    if (offered->value.size() != 4 * k_password_algorithms.size()) return std::nullopt;
    for (std::size_t i = 0; i < k_password_algorithms.size(); ++i) {
        const Bytes entry = offered->value.subspan(4 * i, 4);
        const auto algorithm = static_cast<std::uint16_t>((entry[0] << 8) | entry[1]);
        if (algorithm != k_password_algorithms[i] || entry[2] != 0 || entry[3] != 0) return std::nullopt;
    }
    const auto algorithm = stun::read_password_algorithm(*chosen);
    if (!algorithm || std::find(k_password_algorithms.begin(), k_password_algorithms.end(), *algorithm) ==
                          k_password_algorithms.end())
        return std::nullopt;
    return *algorithm;
}

constexpr std::uint8_t k_udp = 17;

std::chrono::seconds seconds(std::uint32_t s) {
    return std::chrono::seconds{s};
}

// Every XOR-PEER-ADDRESS of a request (CreatePermission may carry several).
std::size_t peer_addresses(const stun::MessageView& m, std::span<stun::Address> out, bool& malformed) {
    std::size_t n = 0;
    malformed = false;
    for (const auto& a : m.attributes()) {
        if (a.type != stun::attr::xor_peer_address) continue;
        const auto peer = stun::read_xor_address(a, m.transaction_id());
        if (!peer || n == out.size()) {
            malformed = true;
            return n;
        }
        out[n++] = *peer;
    }
    return n;
}

}  // namespace

// Builds one answer to a request in out_, ending it with SOFTWARE, MESSAGE-INTEGRITY (when the caller
// authenticated) and FINGERPRINT (when the request had one), in that order.
class TurnMachine::Reply {
public:
    Reply(TurnMachine& machine, const stun::MessageView& request, stun::Class cls)
        : machine_(machine),
          builder_((machine.out_.clear(), machine.out_), cls, request.method(), request.transaction_id()) {}
    stun::MessageBuilder& operator*() { return builder_; }
    stun::MessageBuilder* operator->() { return &builder_; }
    void finish(const Caller* caller) {
        builder_.add_text(stun::attr::software, machine_.options_.software);
        if (caller != nullptr && caller->sign_sha1) builder_.add_message_integrity(caller->key);
        if (caller != nullptr && caller->sign_sha256) builder_.add_message_integrity_sha256(caller->key);
        if (machine_.sign_fingerprint_) builder_.add_fingerprint();
    }

private:
    TurnMachine& machine_;
    stun::MessageBuilder builder_;
};

TurnMachine::TurnMachine(TurnOptions options, RelayPorts& ports)
    : options_(std::move(options)), ports_(ports), nonces_(options_.nonce_secret, options_.nonce_lifetime) {
    for (std::size_t i = 0; i < 8; ++i)
        token_state_ = (token_state_ << 8) | options_.nonce_secret[31 - i];
    index_user_hashes();
}

void TurnMachine::set_credentials(TurnCredentials credentials) {
    options_.credentials = std::move(credentials);
    index_user_hashes();
}

void TurnMachine::index_user_hashes() {
    user_of_hash_.clear();
    for (const auto& [name, keys] : options_.credentials.users)
        user_of_hash_.emplace(stun::userhash(name, options_.realm), name);
}

ClientOutput TurnMachine::on_client_datagram(Time now, const FiveTuple& tuple, Bytes datagram) {
    out_.clear();
    ClientOutput output;
    if (stun::looks_like_channel_data(datagram)) {
        output.to_peer = handle_channel_data(now, tuple, datagram);
        return output;
    }
    const auto m = stun::parse_message(datagram);
    if (!m || !stun::fingerprint_ok(*m)) {
        ++stats_.malformed;
        return output;
    }
    sign_fingerprint_ = m->has(stun::attr::fingerprint);
    reply_from_.reset();
    reply_to_.reset();
    switch (m->message_class()) {
        case stun::Class::request:
            handle_request(now, tuple, *m);
            break;
        case stun::Class::indication:
            if (m->method() == stun::method::send) output.to_peer = handle_send(now, tuple, *m);
            break;
        default:
            break;  // a server expects no responses
    }
    output.reply = out_;
    output.reply_from = reply_from_;
    output.reply_to = reply_to_;
    return output;
}

void TurnMachine::reply_error(const stun::MessageView& m, std::uint16_t code, const Caller* caller) {
    Reply r(*this, m, stun::Class::error);
    r->add_error_code(code, stun::reason_phrase(code));
    r.finish(caller);
}

void TurnMachine::handle_request(Time now, const FiveTuple& tuple, const stun::MessageView& m) {
    std::array<std::uint16_t, 8> unknown{};
    if (const std::size_t n = m.unknown_required(unknown); n != 0) {
        Reply r(*this, m, stun::Class::error);
        r->add_error_code(420, stun::reason_phrase(420));
        r->add_unknown_attributes(std::span<const std::uint16_t>(unknown.data(), n));
        r.finish(nullptr);
        return;
    }
    if (m.method() == stun::method::binding) {
        binding(now, tuple, m);
        return;
    }
    const auto method = m.method();
    if (method != stun::method::allocate && method != stun::method::refresh &&
        method != stun::method::create_permission && method != stun::method::channel_bind) {
        reply_error(m, 400, nullptr);
        return;
    }
    const auto caller = authenticate(now, tuple, m);
    if (!caller) return;  // answered
    if (method == stun::method::allocate) {
        allocate(now, tuple, m, *caller);
        return;
    }
    const auto it = allocations_.find(tuple);
    if (it == allocations_.end()) {
        reply_error(m, 437, &*caller);
        return;
    }
    if (it->second.user != caller->user) {
        reply_error(m, 441, &*caller);
        return;
    }
    if (method == stun::method::refresh) {
        refresh(now, it->second, m, *caller);
    } else if (method == stun::method::create_permission) {
        create_permission(now, it->second, m, *caller);
    } else {
        channel_bind(now, it->second, m, *caller);
    }
}

void TurnMachine::binding(Time now, const FiveTuple& tuple, const stun::MessageView& m) {
    ++stats_.bindings;
    std::optional<Caller> caller;
    if (m.has(stun::attr::message_integrity) || m.has(stun::attr::message_integrity_sha256)) {
        caller =
            m.has(stun::attr::realm) ? authenticate(now, tuple, m) : authenticate_short_term(now, tuple, m);
        if (!caller) return;  // answered (or, throttled, not)
    }
    // Which of the discovery addresses the request came to, if any: (ip index, port index).
    const DiscoveryAddresses* discovery = nullptr;
    std::size_t ip = 0;
    std::size_t port = 0;
    for (const auto& d : options_.discovery)
        for (std::size_t i = 0; i < 2; ++i)
            for (std::size_t j = 0; j < 2; ++j)
                if (tuple.transport == Transport::udp &&
                    d.ips[i].without_port() == tuple.server.without_port() &&
                    d.ports[j] == tuple.server.port) {
                    discovery = &d;
                    ip = i;
                    port = j;
                }
    stun::ChangeRequest change;
    if (const auto* a = m.find(stun::attr::change_request)) {
        const auto value = stun::read_change_request(*a);
        if (!value) {
            reply_error(m, 400, nullptr);
            return;
        }
        change = *value;
    }
    const auto* response_port = m.find(stun::attr::response_port);
    if (discovery == nullptr && ((change.change_ip || change.change_port) || response_port != nullptr)) {
        // RFC 5780 §6.1: without a second address (or over TCP) these are not understood.
        std::array<std::uint16_t, 2> unknown{};
        std::size_t n = 0;
        if (change.change_ip || change.change_port) unknown[n++] = stun::attr::change_request;
        if (response_port != nullptr) unknown[n++] = stun::attr::response_port;
        Reply r(*this, m, stun::Class::error);
        r->add_error_code(420, stun::reason_phrase(420));
        r->add_unknown_attributes(std::span<const std::uint16_t>(unknown.data(), n));
        r.finish(nullptr);
        return;
    }
    std::optional<std::uint16_t> respond_to_port;
    if (response_port != nullptr) {
        const auto value = stun::read_response_port(*response_port);
        if (!value) {
            reply_error(m, 400, nullptr);
            return;
        }
        respond_to_port = *value;
    }
    Reply r(*this, m, stun::Class::success);
    r->add_xor_address(stun::attr::xor_mapped_address, tuple.client);
    // For RFC 3489-era clients (and RFC 5780 tools that still look for it).
    r->add_address(stun::attr::mapped_address, tuple.client);
    if (discovery != nullptr) {
        stun::Address from = discovery->ips[change.change_ip ? 1 - ip : ip];
        from.port = discovery->ports[change.change_port ? 1 - port : port];
        stun::Address other = discovery->ips[1 - ip];
        other.port = discovery->ports[1 - port];
        r->add_address(stun::attr::response_origin, from);
        r->add_address(stun::attr::other_address, other);
        if (from != tuple.server) reply_from_ = from;
        if (respond_to_port) {
            reply_to_ = tuple.client;
            reply_to_->port = *respond_to_port;
        }
    }
    r.finish(caller ? &*caller : nullptr);
}

std::optional<TurnMachine::Caller> TurnMachine::authenticate_short_term(Time now, const FiveTuple& tuple,
                                                                        const stun::MessageView& m) {
    // RFC 8489 §9.1.3: no USERNAME is 400; an unknown user or a wrong key 401, unsigned.
    if (throttled(now, tuple.client)) {
        ++stats_.auth_throttled;
        return std::nullopt;
    }
    const auto* username = m.find(stun::attr::username);
    const auto name =
        username != nullptr ? stun::read_text(*username) : Result<std::string_view>(fail("none"));
    if (!name) {
        reply_error(m, 400, nullptr);
        return std::nullopt;
    }
    const auto found = options_.credentials.short_term_users.find(*name);
    if (found == options_.credentials.short_term_users.end() ||
        stun::check_integrity(m, found->second) != stun::Integrity::ok) {
        note_auth_failure(now, tuple.client);
        ++stats_.unauthorized;
        reply_error(m, 401, nullptr);
        return std::nullopt;
    }
    ++stats_.authenticated;
    return Caller{found->first, found->second, m.has(stun::attr::message_integrity),
                  m.has(stun::attr::message_integrity_sha256)};
}

std::optional<TurnMachine::Caller> TurnMachine::authenticate(Time now, const FiveTuple& tuple,
                                                             const stun::MessageView& m) {
    const auto challenge = [&](std::uint16_t code) {
        ++stats_.unauthorized;
        Reply r(*this, m, stun::Class::error);
        r->add_error_code(code, stun::reason_phrase(code));
        r->add_text(stun::attr::realm, options_.realm);
        r->add_text(stun::attr::nonce, nonces_.issue(now, tuple.client));
        r->add_password_algorithms(k_password_algorithms);
        r.finish(nullptr);
    };
    if (!m.has(stun::attr::message_integrity) && !m.has(stun::attr::message_integrity_sha256)) {
        challenge(401);
        return std::nullopt;
    }
    if (throttled(now, tuple.client)) {
        ++stats_.auth_throttled;
        return std::nullopt;  // no answer: a guesser learns nothing, not even that it was heard
    }
    const auto* username = m.find(stun::attr::username);
    const auto* hashed = m.find(stun::attr::userhash);
    const auto* realm = m.find(stun::attr::realm);
    const auto* nonce = m.find(stun::attr::nonce);
    if ((username == nullptr && hashed == nullptr) || realm == nullptr || nonce == nullptr) {
        reply_error(m, 400, nullptr);
        return std::nullopt;
    }
    const auto realm_text = stun::read_text(*realm);
    const auto nonce_text = stun::read_text(*nonce);
    const auto user = username != nullptr ? stun::read_text(*username) : Result<std::string_view>{""};
    if (!user || !realm_text || !nonce_text || (username == nullptr && hashed->value.size() != 32)) {
        reply_error(m, 400, nullptr);
        return std::nullopt;
    }
    if (!nonces_.valid(*nonce_text, now, tuple.client)) {
        challenge(438);
        return std::nullopt;
    }
    const auto algorithm = chosen_password_algorithm(m);
    if (!algorithm) {
        reply_error(m, 400, nullptr);
        return std::nullopt;
    }
    // USERNAME when both are there (RFC 8489 §14.3 allows either); USERHASH hides it (§9.2.4).
    std::string_view name = *user;
    if (username == nullptr) {
        std::array<std::uint8_t, 32> hash{};
        std::copy(hashed->value.begin(), hashed->value.end(), hash.begin());
        const auto it = user_of_hash_.find(hash);
        name = it == user_of_hash_.end() ? std::string_view{} : std::string_view(it->second);
    }
    const auto found = options_.credentials.users.find(name);
    const Bytes key = found == options_.credentials.users.end()       ? Bytes{}
                      : *algorithm == stun::password_algorithm_sha256 ? Bytes(found->second.sha256)
                                                                      : Bytes(found->second.md5);
    if (*realm_text != options_.realm || found == options_.credentials.users.end() ||
        stun::check_integrity(m, key) != stun::Integrity::ok) {
        note_auth_failure(now, tuple.client);
        challenge(401);
        return std::nullopt;
    }
    ++stats_.authenticated;
    if (*algorithm == stun::password_algorithm_sha256) ++stats_.authenticated_sha256;
    if (username == nullptr) ++stats_.authenticated_userhash;
    return Caller{found->first, key, m.has(stun::attr::message_integrity),
                  m.has(stun::attr::message_integrity_sha256)};
}

bool TurnMachine::throttled(Time now, const stun::Address& client) {
    const auto it = auth_failures_.find(client.without_port());
    if (it == auth_failures_.end()) return false;
    if (it->second.window_end <= now) {
        auth_failures_.erase(it);
        return false;
    }
    return it->second.count >= options_.max_auth_failures;
}

void TurnMachine::note_auth_failure(Time now, const stun::Address& client) {
    const auto ip = client.without_port();
    const auto it = auth_failures_.find(ip);
    if (it != auth_failures_.end() && it->second.window_end > now) {
        ++it->second.count;
    } else if (it != auth_failures_.end() || auth_failures_.size() < options_.max_tracked_failures) {
        auth_failures_[ip] = Failures{1, now + options_.auth_failure_window};
    }
}

std::uint32_t TurnMachine::lifetime_for(const stun::MessageView& m) const {
    std::uint32_t lifetime = static_cast<std::uint32_t>(options_.default_lifetime.count());
    if (const auto* a = m.find(stun::attr::lifetime)) {
        if (const auto requested = stun::read_u32(*a)) {
            if (*requested == 0) return 0;
            const auto capped = std::min<std::uint32_t>(
                *requested, static_cast<std::uint32_t>(options_.max_lifetime.count()));
            lifetime = std::max(lifetime, capped);
        }
    }
    return lifetime;
}

void TurnMachine::allocate(Time now, const FiveTuple& tuple, const stun::MessageView& m,
                           const Caller& caller) {
    const auto existing = allocations_.find(tuple);
    if (existing != allocations_.end()) {
        // A retransmitted Allocate gets the same answer; any other is a mismatch (§7.2).
        if (existing->second.allocate_tid != m.transaction_id() || existing->second.user != caller.user) {
            reply_error(m, 437, &caller);
            return;
        }
        Reply r(*this, m, stun::Class::success);
        add_relayed(r, existing->second);
        r->add_u32(stun::attr::lifetime, existing->second.granted_lifetime);
        if (existing->second.reservation_token) r->add_reservation_token(*existing->second.reservation_token);
        r->add_xor_address(stun::attr::xor_mapped_address, tuple.client);
        r.finish(&caller);
        return;
    }
    const auto* transport = m.find(stun::attr::requested_transport);
    if (transport == nullptr || !stun::read_requested_transport(*transport)) {
        reply_error(m, 400, &caller);
        return;
    }
    if (*stun::read_requested_transport(*transport) != k_udp) {
        reply_error(m, 442, &caller);
        return;
    }
    RelayRequest request;
    request.dont_fragment = m.has(stun::attr::dont_fragment);
    const auto* even = m.find(stun::attr::even_port);
    const auto* token_attr = m.find(stun::attr::reservation_token);
    if (even != nullptr && token_attr != nullptr) {  // §7.2: one or the other
        reply_error(m, 400, &caller);
        return;
    }
    if (even != nullptr) {
        const auto reserve = stun::read_even_port(*even);
        if (!reserve) {
            reply_error(m, 400, &caller);
            return;
        }
        request.even_port = true;
        request.reserve_next = *reserve && reservations_.size() < options_.max_allocations;
    }
    std::optional<std::uint64_t> token;
    bool dual = false;
    if (token_attr != nullptr) {
        const auto value = stun::read_reservation_token(*token_attr);
        if (!value) {
            reply_error(m, 400, &caller);
            return;
        }
        token = *value;
        const auto held = reservations_.find(*token);
        if (held == reservations_.end() || held->second.expires <= now) {
            ++stats_.quota_refused;
            reply_error(m, 508, &caller);
            return;
        }
        request.family = held->second.relayed.family;
    } else if (const auto* additional = m.has(stun::attr::additional_address_family)
                                            ? m.find(stun::attr::additional_address_family)
                                            : m.find(stun::attr::additional_address_family_draft)) {
        // §7.2: only IPv6 may be additional, and not together with REQUESTED-ADDRESS-FAMILY.
        const auto f = stun::read_address_family(*additional);
        if (!f || *f != stun::Family::ipv6 || m.has(stun::attr::requested_address_family)) {
            reply_error(m, 400, &caller);
            return;
        }
        dual = true;
        request.family = stun::Family::ipv4;
        if (!ports_.supports(request.family)) {
            reply_error(m, 440, &caller);
            return;
        }
    } else {
        request.family = tuple.client.family;
        if (const auto* requested = m.find(stun::attr::requested_address_family)) {
            const auto f = stun::read_address_family(*requested);
            if (!f) {
                reply_error(m, 440, &caller);
                return;
            }
            request.family = *f;
        }
        if (!ports_.supports(request.family)) {
            reply_error(m, 440, &caller);
            return;
        }
    }
    const auto user_count = per_user_.find(caller.user);
    if (allocations_.size() >= options_.max_allocations ||
        (user_count != per_user_.end() && user_count->second >= options_.max_allocations_per_user)) {
        ++stats_.quota_refused;
        reply_error(m, 486, &caller);
        return;
    }
    std::optional<stun::Address> relayed;
    if (token) {
        const auto held = reservations_.find(*token);
        if (ports_.claim(held->second.relayed)) relayed = held->second.relayed;
        reservations_.erase(held);  // used up either way
    } else {
        relayed = ports_.open(request);
    }
    if (!relayed) {
        ++stats_.quota_refused;
        reply_error(m, 508, &caller);
        return;
    }
    std::optional<std::uint64_t> handed_out;
    if (request.reserve_next) {
        stun::Address next = *relayed;
        ++next.port;
        handed_out = next_token();
        reservations_[*handed_out] = Reservation{next, now + options_.reservation_lifetime};
        ++stats_.reservations;
    }
    std::uint32_t lifetime = lifetime_for(m);
    if (lifetime == 0) lifetime = static_cast<std::uint32_t>(options_.default_lifetime.count());
    Allocation a;
    a.tuple = tuple;
    a.user = std::string(caller.user);
    a.relayed = *relayed;
    if (dual) {
        RelayRequest v6 = request;
        v6.family = stun::Family::ipv6;
        v6.even_port = false;
        v6.reserve_next = false;
        if (!ports_.supports(stun::Family::ipv6)) {
            a.other_error = 440;
        } else if (const auto other = ports_.open(v6)) {
            a.relayed_other = *other;
            by_relayed_[*other] = tuple;
        } else {
            a.other_error = 508;
        }
    }
    a.allocate_tid = m.transaction_id();
    a.granted_lifetime = lifetime;
    a.reservation_token = handed_out;
    a.created = now;
    a.expires = now + seconds(lifetime);
    const auto& stored = allocations_.emplace(tuple, std::move(a)).first->second;
    by_relayed_[*relayed] = tuple;
    ++per_user_[std::string(caller.user)];
    ++stats_.allocations_created;
    Reply r(*this, m, stun::Class::success);
    add_relayed(r, stored);
    r->add_u32(stun::attr::lifetime, lifetime);
    if (handed_out) r->add_reservation_token(*handed_out);
    r->add_xor_address(stun::attr::xor_mapped_address, tuple.client);
    r.finish(&caller);
}

void TurnMachine::add_relayed(Reply& r, const Allocation& a) {
    r->add_xor_address(stun::attr::xor_relayed_address, a.relayed);
    if (a.relayed_other) r->add_xor_address(stun::attr::xor_relayed_address, *a.relayed_other);
    if (a.other_error != 0)
        r->add_address_error_code(stun::Family::ipv6, a.other_error, stun::reason_phrase(a.other_error));
}

const stun::Address* TurnMachine::relayed_for(const Allocation& a, stun::Family family) {
    if (a.relayed.family == family) return &a.relayed;
    if (a.relayed_other && a.relayed_other->family == family) return &*a.relayed_other;
    return nullptr;
}

std::uint64_t TurnMachine::next_token() {
    // splitmix64 over a counter seeded from the nonce secret: distinct, and not guessable from outside
    // without the secret (a guessed token would take over someone's held port).
    for (;;) {
        std::uint64_t z = (token_state_ += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        z ^= z >> 31;
        if (!reservations_.contains(z)) return z;
    }
}

void TurnMachine::refresh(Time now, Allocation& a, const stun::MessageView& m, const Caller& caller) {
    const std::uint32_t lifetime = lifetime_for(m);
    // The caller's key outlives the allocation only through `caller` (it points into options_).
    if (lifetime == 0) {
        end(allocations_.find(a.tuple), now, "refreshed to 0");
    } else {
        a.expires = now + seconds(lifetime);
        a.granted_lifetime = lifetime;
    }
    Reply r(*this, m, stun::Class::success);
    r->add_u32(stun::attr::lifetime, lifetime);
    r.finish(&caller);
}

bool TurnMachine::has_permission(const Allocation& a, const stun::Address& peer, Time now) const {
    const auto it = a.permissions.find(peer.without_port());
    return it != a.permissions.end() && it->second > now;
}

void TurnMachine::create_permission(Time now, Allocation& a, const stun::MessageView& m,
                                    const Caller& caller) {
    std::array<stun::Address, 16> peers{};
    bool malformed = false;
    const std::size_t n = peer_addresses(m, peers, malformed);
    if (malformed || n == 0) {
        reply_error(m, 400, &caller);
        return;
    }
    // All or nothing (§9.2): every peer is checked before any permission is installed.
    std::size_t fresh = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (relayed_for(a, peers[i].family) == nullptr) {
            reply_error(m, 443, &caller);
            return;
        }
        if (!options_.peers.allowed(peers[i])) {
            ++stats_.forbidden_peers;
            reply_error(m, 403, &caller);
            return;
        }
        if (!a.permissions.contains(peers[i].without_port())) ++fresh;
    }
    if (a.permissions.size() + fresh > options_.max_permissions) {
        ++stats_.quota_refused;
        reply_error(m, 508, &caller);
        return;
    }
    for (std::size_t i = 0; i < n; ++i)
        a.permissions[peers[i].without_port()] = now + options_.permission_lifetime;
    Reply r(*this, m, stun::Class::success);
    r.finish(&caller);
}

void TurnMachine::channel_bind(Time now, Allocation& a, const stun::MessageView& m, const Caller& caller) {
    const auto* number_attr = m.find(stun::attr::channel_number);
    const auto* peer_attr = m.find(stun::attr::xor_peer_address);
    const auto number = number_attr != nullptr ? stun::read_channel_number(*number_attr) : fail("none");
    const auto peer =
        peer_attr != nullptr ? stun::read_xor_address(*peer_attr, m.transaction_id()) : fail("none");
    if (!number || !stun::valid_channel(*number) || !peer) {
        reply_error(m, 400, &caller);
        return;
    }
    if (relayed_for(a, peer->family) == nullptr) {
        reply_error(m, 443, &caller);
        return;
    }
    if (!options_.peers.allowed(*peer)) {
        ++stats_.forbidden_peers;
        reply_error(m, 403, &caller);
        return;
    }
    // A channel is bound to one peer and a peer to one channel (§11.2).
    const auto bound = a.channels.find(*number);
    const auto by_peer = a.channel_of_peer.find(*peer);
    if ((bound != a.channels.end() && bound->second.peer != *peer) ||
        (by_peer != a.channel_of_peer.end() && by_peer->second != *number)) {
        reply_error(m, 400, &caller);
        return;
    }
    if (!a.permissions.contains(peer->without_port()) && a.permissions.size() >= options_.max_permissions) {
        ++stats_.quota_refused;
        reply_error(m, 508, &caller);
        return;
    }
    a.channels[*number] = Channel{*peer, now + options_.channel_lifetime};
    a.channel_of_peer[*peer] = *number;
    auto& permission = a.permissions[peer->without_port()];
    permission = std::max(permission, now + options_.permission_lifetime);
    Reply r(*this, m, stun::Class::success);
    r.finish(&caller);
}

std::optional<ToPeer> TurnMachine::handle_send(Time now, const FiveTuple& tuple, const stun::MessageView& m) {
    const auto it = allocations_.find(tuple);
    if (it == allocations_.end()) return std::nullopt;
    const auto* peer_attr = m.find(stun::attr::xor_peer_address);
    const auto* data = m.find(stun::attr::data);
    if (peer_attr == nullptr || data == nullptr) return std::nullopt;
    const auto peer = stun::read_xor_address(*peer_attr, m.transaction_id());
    if (!peer) return std::nullopt;
    Allocation& a = it->second;
    if (!has_permission(a, *peer, now)) {
        ++stats_.dropped_no_permission;
        return std::nullopt;
    }
    a.to_peer.bytes += data->value.size();
    ++a.to_peer.packets;
    stats_.to_peer.bytes += data->value.size();
    ++stats_.to_peer.packets;
    const auto* from = relayed_for(a, peer->family);
    if (from == nullptr) return std::nullopt;
    return ToPeer{*from, *peer, data->value};
}

std::optional<ToPeer> TurnMachine::handle_channel_data(Time now, const FiveTuple& tuple, Bytes datagram) {
    const auto cd = stun::parse_channel_data(datagram);
    if (!cd) {
        ++stats_.malformed;
        return std::nullopt;
    }
    const auto it = allocations_.find(tuple);
    if (it == allocations_.end()) return std::nullopt;
    Allocation& a = it->second;
    const auto channel = a.channels.find(cd->channel);
    if (channel == a.channels.end() || channel->second.expires <= now ||
        !has_permission(a, channel->second.peer, now)) {
        ++stats_.dropped_no_permission;
        return std::nullopt;
    }
    a.to_peer.bytes += cd->data.size();
    ++a.to_peer.packets;
    stats_.to_peer.bytes += cd->data.size();
    ++stats_.to_peer.packets;
    const auto* from = relayed_for(a, channel->second.peer.family);
    if (from == nullptr) return std::nullopt;
    return ToPeer{*from, channel->second.peer, cd->data};
}

std::optional<ToClient> TurnMachine::on_peer_datagram(Time now, const stun::Address& relayed,
                                                      const stun::Address& peer, Bytes datagram) {
    const auto found = by_relayed_.find(relayed);
    if (found == by_relayed_.end()) return std::nullopt;
    const auto it = allocations_.find(found->second);
    if (it == allocations_.end()) return std::nullopt;
    Allocation& a = it->second;
    if (!has_permission(a, peer, now)) {
        ++stats_.dropped_no_permission;
        return std::nullopt;
    }
    out_.clear();
    const auto channel = a.channel_of_peer.find(peer);
    bool sent = false;
    if (channel != a.channel_of_peer.end()) {
        const auto bound = a.channels.find(channel->second);
        // Over TCP the padding is mandatory (RFC 8656 §12.5), over UDP it would only cost octets.
        const bool pad = a.tuple.transport != Transport::udp;  // a stream: RFC 8656 §12.5
        if (bound != a.channels.end() && bound->second.expires > now)
            sent = stun::append_channel_data(out_, channel->second, datagram, pad).ok();
    }
    if (!sent) {
        // A Data indication: its transaction ID needs no randomness (no answer is matched to it).
        stun::TransactionId tid{};
        const auto n = stats_.to_client.packets;
        for (std::size_t i = 0; i < 8; ++i)
            tid[i] = static_cast<std::uint8_t>(n >> (8 * i));
        stun::MessageBuilder b(out_, stun::Class::indication, stun::method::data, tid);
        b.add_xor_address(stun::attr::xor_peer_address, peer);
        b.add(stun::attr::data, datagram);
    }
    a.to_client.bytes += datagram.size();
    ++a.to_client.packets;
    ++stats_.to_client.packets;
    stats_.to_client.bytes += datagram.size();
    return ToClient{a.tuple, out_};
}

void TurnMachine::end(std::map<FiveTuple, Allocation>::iterator it, Time now, std::string_view reason) {
    Allocation& a = it->second;
    ended_.push_back(AllocationEnd{a.user, a.tuple.client, a.relayed, a.to_peer, a.to_client, now - a.created,
                                   a.relayed_other, reason, a.tuple.transport});
    ++stats_.allocations_ended;
    ports_.close(a.relayed);
    by_relayed_.erase(a.relayed);
    if (a.relayed_other) {
        ports_.close(*a.relayed_other);
        by_relayed_.erase(*a.relayed_other);
    }
    if (const auto u = per_user_.find(a.user); u != per_user_.end() && --u->second == 0) per_user_.erase(u);
    allocations_.erase(it);
}

void TurnMachine::expire(Time now) {
    std::erase_if(auth_failures_, [now](const auto& f) { return f.second.window_end <= now; });
    for (auto it = reservations_.begin(); it != reservations_.end();) {
        if (it->second.expires <= now) {
            ports_.close(it->second.relayed);
            it = reservations_.erase(it);
        } else {
            ++it;
        }
    }
    for (auto it = allocations_.begin(); it != allocations_.end();) {
        const auto next = std::next(it);
        Allocation& a = it->second;
        if (a.expires <= now) {
            end(it, now, "expired");
        } else {
            std::erase_if(a.permissions, [now](const auto& p) { return p.second <= now; });
            for (auto c = a.channels.begin(); c != a.channels.end();) {
                if (c->second.expires <= now) {
                    a.channel_of_peer.erase(c->second.peer);
                    c = a.channels.erase(c);
                } else {
                    ++c;
                }
            }
        }
        it = next;
    }
}

void TurnMachine::on_connection_closed(Time now, const FiveTuple& tuple) {
    if (const auto it = allocations_.find(tuple); it != allocations_.end()) end(it, now, "connection closed");
}

void TurnMachine::end_all(Time now, std::string_view reason) {
    for (const auto& [token, held] : reservations_)
        ports_.close(held.relayed);
    reservations_.clear();
    while (!allocations_.empty())
        end(allocations_.begin(), now, reason);
}

std::vector<AllocationInfo> TurnMachine::allocations(Time now) const {
    std::vector<AllocationInfo> out;
    out.reserve(allocations_.size());
    for (const auto& [tuple, a] : allocations_) {
        out.push_back(AllocationInfo{a.user, tuple.client, tuple.transport, a.relayed, a.relayed_other,
                                     a.permissions.size(), a.channels.size(), a.to_peer, a.to_client,
                                     now - a.created, a.expires - now});
    }
    return out;
}

bool TurnMachine::end_allocation(Time now, const stun::Address& relayed, std::string_view reason) {
    const auto owner = by_relayed_.find(relayed);
    if (owner == by_relayed_.end()) return false;
    const auto it = allocations_.find(owner->second);
    if (it == allocations_.end()) return false;
    end(it, now, reason);
    return true;
}

std::vector<AllocationEnd> TurnMachine::take_ended() {
    return std::exchange(ended_, {});
}

UserKeys make_user_keys(std::string_view user, std::string_view realm, std::string_view password) {
    return UserKeys{stun::long_term_key(user, realm, password),
                    stun::long_term_key_sha256(user, realm, password)};
}

std::string_view transport_name(Transport transport) noexcept {
    switch (transport) {
        case Transport::udp:
            return "udp";
        case Transport::tcp:
            return "tcp";
        case Transport::tls:
            return "tls";
    }
    return "udp";
}

}  // namespace sg::turn

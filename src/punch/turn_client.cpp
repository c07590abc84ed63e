#include "punch/turn_client.hpp"

#include <algorithm>
#include <array>
#include <span>

#include "stun/channel_data.hpp"

namespace sg::punch {
namespace {

using namespace std::chrono_literals;
constexpr auto k_retransmit = 500ms;
constexpr int k_max_tries = 8;
constexpr std::uint32_t k_lifetime = 600;
// Well inside the allocation's 600 s and the permission's 300 s (a ChannelBind refreshes both the channel
// and the permission, RFC 8656 §12).
constexpr auto k_refresh_every = 240s;
constexpr auto k_rebind_every = 120s;
constexpr std::uint8_t k_udp = 17;

}  // namespace

TurnClient::TurnClient(std::string user, std::string password, std::uint64_t seed)
    : user_(std::move(user)), password_(std::move(password)), random_(seed) {}

void TurnClient::start(Clock::time_point now, std::vector<std::vector<std::uint8_t>>& out) {
    if (state_ != State::idle) return;
    state_ = State::allocating;
    send(now, Kind::allocate, out);
}

void TurnClient::bind(Clock::time_point now, const stun::Address& peer,
                      std::vector<std::vector<std::uint8_t>>& out) {
    if (peer_ == peer) return;
    peer_ = peer;
    bound_ = false;
    if (state_ != State::allocated) return;  // bound once the allocation succeeds
    queue_.push_back(Kind::channel_bind);
    next(now, out);
}

void TurnClient::send(Clock::time_point now, Kind kind, std::vector<std::vector<std::uint8_t>>& out) {
    Pending p{kind, {}, {}, now, 1};
    for (auto& b : p.tid)
        b = static_cast<std::uint8_t>(random_());
    const std::uint16_t method = kind == Kind::allocate       ? stun::method::allocate
                                 : kind == Kind::channel_bind ? stun::method::channel_bind
                                                              : stun::method::refresh;
    stun::MessageBuilder b(p.bytes, stun::Class::request, method, p.tid);
    if (kind == Kind::allocate) b.add_requested_transport(k_udp);
    if (kind != Kind::channel_bind) b.add_u32(stun::attr::lifetime, k_lifetime);
    if (kind == Kind::channel_bind) {
        b.add_channel_number(k_channel);
        b.add_xor_address(stun::attr::xor_peer_address, *peer_);
    }
    if (!nonce_.empty()) {
        if (hide_user_) {
            b.add(stun::attr::userhash, stun::userhash(user_, realm_));
        } else {
            b.add_text(stun::attr::username, user_);
        }
        b.add_text(stun::attr::realm, realm_);
        b.add_text(stun::attr::nonce, nonce_);
        if (!offered_algorithms_.empty()) {
            b.add(stun::attr::password_algorithms, offered_algorithms_);
            b.add_password_algorithm(algorithm_);
        }
        if (algorithm_ == stun::password_algorithm_sha256) {
            b.add_message_integrity_sha256(key_);
        } else {
            b.add_message_integrity(key_);
        }
    }
    b.add_fingerprint();
    out.push_back(p.bytes);
    pending_ = std::move(p);
}

void TurnClient::choose_credentials(const stun::MessageView& challenge) {
    const std::uint32_t features = stun::nonce_security_features(nonce_).value_or(0);
    hide_user_ = (features & stun::security_feature_username_anonymity) != 0;
    algorithm_ = stun::password_algorithm_md5;
    offered_algorithms_.clear();
    const auto* offered = challenge.find(stun::attr::password_algorithms);
    if ((features & stun::security_feature_password_algorithms) != 0 && offered != nullptr) {
        std::array<std::uint16_t, 8> algorithms{};
        const auto n = stun::read_password_algorithms(*offered, algorithms);
        const auto listed = std::span<const std::uint16_t>(algorithms).first(n ? *n : 0);
        const auto has = [&listed](std::uint16_t a) {
            return std::find(listed.begin(), listed.end(), a) != listed.end();
        };
        if (has(stun::password_algorithm_sha256) || has(stun::password_algorithm_md5)) {
            algorithm_ = has(stun::password_algorithm_sha256) ? stun::password_algorithm_sha256
                                                              : stun::password_algorithm_md5;
            offered_algorithms_.assign(offered->value.begin(), offered->value.end());
        }
    }
    if (algorithm_ == stun::password_algorithm_sha256) {
        const auto key = stun::long_term_key_sha256(user_, realm_, password_);
        key_.assign(key.begin(), key.end());
    } else {
        const auto key = stun::long_term_key(user_, realm_, password_);
        key_.assign(key.begin(), key.end());
    }
}

void TurnClient::next(Clock::time_point now, std::vector<std::vector<std::uint8_t>>& out) {
    if (pending_ || queue_.empty() || state_ == State::failed) return;
    const Kind kind = queue_.front();
    queue_.pop_front();
    send(now, kind, out);
}

void TurnClient::fail_with(std::string_view why) {
    state_ = State::failed;
    failure_ = why;
    pending_.reset();
    queue_.clear();
}

bool TurnClient::on_message(Clock::time_point now, const stun::MessageView& m,
                            std::vector<std::vector<std::uint8_t>>& out) {
    if (!pending_ || m.transaction_id() != pending_->tid) return false;
    const Kind kind = pending_->kind;
    if (m.message_class() == stun::Class::error) {
        const auto* e = m.find(stun::attr::error_code);
        const auto error = e != nullptr ? stun::read_error_code(*e) : Result<stun::ErrorCode>(fail("none"));
        const std::uint16_t code = error ? error->code : 0;
        const auto* realm = m.find(stun::attr::realm);
        const auto* nonce = m.find(stun::attr::nonce);
        const bool challenge = (code == 401 && !authenticated_) || code == 438;
        if (challenge && realm != nullptr && nonce != nullptr) {
            const auto realm_text = stun::read_text(*realm);
            const auto nonce_text = stun::read_text(*nonce);
            if (!realm_text || !nonce_text) return true;
            if (code == 401) authenticated_ = true;
            realm_ = std::string(*realm_text);
            nonce_ = std::string(*nonce_text);
            choose_credentials(m);
            pending_.reset();
            send(now, kind, out);
            return true;
        }
        if (kind == Kind::allocate || code == 401) {
            fail_with(code == 401 ? "TURN refused the credentials (401)" : "TURN refused the allocation");
            return true;
        }
        fail_with(kind == Kind::channel_bind ? "TURN refused the channel binding"
                                             : "TURN refused the refresh");
        return true;
    }
    if (m.message_class() != stun::Class::success) return false;
    // Answers are signed with our key (RFC 8656 §7.3): anything else is not from the server we talk to.
    if (stun::check_integrity(m, key_) != stun::Integrity::ok) return true;
    pending_.reset();
    if (kind == Kind::allocate) {
        const auto* r = m.find(stun::attr::xor_relayed_address);
        const auto relayed = r != nullptr ? stun::read_xor_address(*r, m.transaction_id())
                                          : Result<stun::Address>(fail("none"));
        if (!relayed) {
            fail_with("TURN allocation without a relayed address");
            return true;
        }
        relayed_ = *relayed;
        state_ = State::allocated;
        next_refresh_ = now + k_refresh_every;
        if (peer_) queue_.push_back(Kind::channel_bind);
    } else if (kind == Kind::channel_bind) {
        bound_ = true;
        next_rebind_ = now + k_rebind_every;
    } else {
        next_refresh_ = now + k_refresh_every;
    }
    next(now, out);
    return true;
}

void TurnClient::tick(Clock::time_point now, std::vector<std::vector<std::uint8_t>>& out) {
    if (state_ == State::failed || state_ == State::idle) return;
    if (pending_) {
        if (now - pending_->sent_at < k_retransmit) return;
        if (pending_->tries >= k_max_tries) {
            fail_with("TURN server did not answer");
            return;
        }
        ++pending_->tries;
        pending_->sent_at = now;
        out.push_back(pending_->bytes);
        return;
    }
    if (state_ != State::allocated) return;
    if (now >= next_refresh_) {
        next_refresh_ = now + k_refresh_every;
        queue_.push_back(Kind::refresh);
    }
    if (bound_ && now >= next_rebind_) {
        next_rebind_ = now + k_rebind_every;
        queue_.push_back(Kind::channel_bind);
    }
    next(now, out);
}

void TurnClient::wrap(Bytes data, std::vector<std::uint8_t>& out) const {
    (void)stun::append_channel_data(out, k_channel, data, false);
}

std::optional<Bytes> TurnClient::unwrap(Bytes datagram) const noexcept {
    const auto cd = stun::parse_channel_data(datagram);
    if (!cd || cd->channel != k_channel || !bound_) return std::nullopt;
    return cd->data;
}

}  // namespace sg::punch

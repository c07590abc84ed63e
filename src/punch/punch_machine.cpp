#include "punch/punch_machine.hpp"

#include <algorithm>

#include "punch/port_prediction.hpp"

namespace sg::punch {
namespace {

// A round of probes is one to the mapped address plus a predicted window: remember several rounds.
constexpr std::size_t k_remembered_probes = 256;
constexpr std::size_t k_remembered_registers = 8;

void remember(std::vector<stun::TransactionId>& tids, const stun::TransactionId& tid, std::size_t limit) {
    if (tids.size() == limit) tids.erase(tids.begin());
    tids.push_back(tid);
}

bool known(const std::vector<stun::TransactionId>& tids, const stun::TransactionId& tid) {
    return std::find(tids.begin(), tids.end(), tid) != tids.end();
}

}  // namespace

std::string_view to_string(PunchState state) noexcept {
    switch (state) {
        case PunchState::registering:
            return "registering";
        case PunchState::punching:
            return "punching";
        case PunchState::allocating:
            return "allocating";
        case PunchState::direct:
            return "direct";
        case PunchState::relaying:
            return "relayed";
        case PunchState::failed:
            return "failed";
    }
    return "?";
}

PunchMachine::PunchMachine(PunchOptions options) : options_(std::move(options)), random_(options_.seed) {}

stun::TransactionId PunchMachine::new_tid() {
    stun::TransactionId tid;
    for (auto& b : tid)
        b = static_cast<std::uint8_t>(random_());
    return tid;
}

void PunchMachine::start(Clock::time_point now, std::vector<Datagram>& out) {
    send_register(now, out);
}

void PunchMachine::send_register(Clock::time_point now, std::vector<Datagram>& out) {
    next_register_ = now + options_.register_interval;
    Datagram d{options_.rendezvous, {}};
    const auto tid = new_tid();
    remember(registers_, tid, k_remembered_registers);
    build_register(d.bytes, tid, RegisterRequest{options_.id, options_.peer, relayed(), own_step_},
                   secret_key(options_.secret));
    out.push_back(std::move(d));
}

void PunchMachine::send_probe(Clock::time_point now, const stun::Address& to, std::vector<Datagram>& out) {
    next_probe_ =
        now + (state_ == PunchState::direct ? options_.keepalive_interval : options_.probe_interval);
    const auto tid = new_tid();
    remember(probes_, tid, k_remembered_probes);
    Datagram d{to, {}};
    build_probe(d.bytes, tid, options_.id, options_.peer, secret_key(options_.secret));
    out.push_back(std::move(d));
}

void PunchMachine::to_server(std::vector<std::vector<std::uint8_t>>& messages,
                             std::vector<Datagram>& out) const {
    for (auto& m : messages)
        out.push_back(Datagram{*options_.turn_server, std::move(m)});
    messages.clear();
}

void PunchMachine::tick(Clock::time_point now, std::vector<Datagram>& out) {
    switch (state_) {
        case PunchState::registering:
            if (now >= next_register_) send_register(now, out);
            break;
        case PunchState::punching:
            if (now >= punch_at_ + options_.deadline) {
                fall_back(now, out);
                break;
            }
            if (now >= next_register_) send_register(now, out);
            if (now >= punch_at_ && now >= next_probe_) {
                send_probe(now, *peer_mapped_, out);
                if (predicting()) {
                    for (const auto port : predicted_ports(peer_mapped_->port, *peer_step_)) {
                        auto to = *peer_mapped_;
                        to.port = port;
                        send_probe(now, to, out);
                    }
                }
            }
            break;
        case PunchState::direct:
            if (now - last_heard_ >= options_.peer_timeout) {
                state_ = PunchState::registering;
                peer_direct_.reset();
                peer_mapped_.reset();
                send_register(now, out);
                break;
            }
            if (now >= next_probe_) send_probe(now, *peer_direct_, out);
            break;
        case PunchState::allocating:
        case PunchState::relaying:
            if (turn_->state() == TurnClient::State::allocated && !peer_relayed_ && now >= next_register_)
                send_register(now, out);
            drive_turn(now, out);
            break;
        case PunchState::failed:
            break;
    }
}

void PunchMachine::drive_turn(Clock::time_point now, std::vector<Datagram>& out) {
    std::vector<std::vector<std::uint8_t>> messages;
    turn_->tick(now, messages);
    to_server(messages, out);
    if (turn_->state() == TurnClient::State::failed) {
        state_ = PunchState::failed;
        failure_ = turn_->failure();
        return;
    }
    // The rendezvous hears of our relayed address with the next Register, sent at once.
    if (turn_->state() == TurnClient::State::allocated && !peer_relayed_ &&
        next_register_ == Clock::time_point{})
        send_register(now, out);
    if (turn_->bound() && state_ == PunchState::allocating) state_ = PunchState::relaying;
}

void PunchMachine::fall_back(Clock::time_point now, std::vector<Datagram>& out) {
    if (!options_.turn_server) {
        state_ = PunchState::failed;
        failure_ = "no direct path within the deadline and no --turn server to fall back on";
        return;
    }
    state_ = PunchState::allocating;
    next_register_ = {};  // register as soon as the relayed address is known
    turn_.emplace(options_.turn_user, options_.turn_password, random_());
    std::vector<std::vector<std::uint8_t>> messages;
    turn_->start(now, messages);
    to_server(messages, out);
}

std::optional<Bytes> PunchMachine::on_datagram(Clock::time_point now, const stun::Address& from,
                                               Bytes datagram, std::vector<Datagram>& out) {
    if (peer_direct_ && from == *peer_direct_) last_heard_ = now;
    const bool from_server = options_.turn_server && from == *options_.turn_server;
    if (turn_ && from_server && !stun::looks_like_stun(datagram)) {
        if (state_ != PunchState::relaying) return std::nullopt;
        return turn_->unwrap(datagram);
    }
    if (stun::looks_like_stun(datagram)) {
        if (const auto m = stun::parse_message(datagram)) {
            if (m->method() == method::register_) {
                if (from == options_.rendezvous) on_register_answer(now, *m, out);
                return std::nullopt;
            }
            if (m->method() == method::probe) {
                on_probe(now, from, *m, out);
                return std::nullopt;
            }
            if (turn_ && from_server) {
                std::vector<std::vector<std::uint8_t>> messages;
                turn_->on_message(now, *m, messages);
                to_server(messages, out);
                drive_turn(now, out);
                return std::nullopt;
            }
        }
    }
    if (state_ == PunchState::direct && from == *peer_direct_) return datagram;
    return std::nullopt;
}

void PunchMachine::on_register_answer(Clock::time_point now, const stun::MessageView& m,
                                      std::vector<Datagram>& out) {
    // Only answers to our own requests: a forged one must at least have seen the request.
    if (!known(registers_, m.transaction_id())) return;
    const auto answer = read_register_answer(m);
    if (answer && !authentic(m, secret_key(options_.secret))) {
        // A success without our signature: a rendezvous that has no secret (we would never hear a signed
        // answer, so say so and stop), or a forgery that failed (drop it).
        if (!m.has(stun::attr::message_integrity) && !m.has(stun::attr::message_integrity_sha256)) {
            state_ = PunchState::failed;
            failure_ = "the rendezvous does not authenticate (started without --rendezvous-secret?)";
        }
        return;
    }
    if (!answer) {
        if (m.message_class() == stun::Class::error) {
            state_ = PunchState::failed;
            failure_ = answer.error();
        }
        return;
    }
    mapped_ = answer->mapped;
    if (answer->peer_port_step) peer_step_ = answer->peer_port_step;
    if (answer->peer_relayed && !peer_relayed_ && turn_) {
        peer_relayed_ = answer->peer_relayed;
        std::vector<std::vector<std::uint8_t>> messages;
        turn_->bind(now, *peer_relayed_, messages);
        to_server(messages, out);
    }
    if (state_ != PunchState::registering || !answer->peer_mapped) return;
    peer_mapped_ = answer->peer_mapped;
    punch_at_ = now + std::chrono::milliseconds{answer->delay_ms};
    next_probe_ = punch_at_;
    state_ = PunchState::punching;
}

void PunchMachine::on_probe(Clock::time_point now, const stun::Address& from, const stun::MessageView& m,
                            std::vector<Datagram>& out) {
    const auto probe = read_probe(m);
    if (!probe || probe->id != options_.peer || !authentic(m, secret_key(options_.secret))) return;
    if (!probe->ack) {
        if (probe->peer != options_.id) return;
        Datagram ack{from, {}};
        build_probe_ack(ack.bytes, m.transaction_id(), options_.id, secret_key(options_.secret));
        out.push_back(std::move(ack));
        // The peer reached us, so our probe back will likely reach it (a triggered check, as ICE calls it):
        // whoever hears a probe before its punch time, after its deadline, or after it gave up a silent
        // direct path still gets the chance to agree on the direct path instead of waiting or relaying alone.
        const bool off_path = state_ != PunchState::direct && state_ != PunchState::failed;
        if (off_path && (probes_.empty() || now >= next_probe_)) send_probe(now, from, out);
        return;
    }
    if (!known(probes_, m.transaction_id())) return;
    if (state_ == PunchState::failed || state_ == PunchState::direct) return;
    state_ = PunchState::direct;
    peer_direct_ = from;
    last_heard_ = now;
    next_probe_ = now + options_.keepalive_interval;
}

void PunchMachine::set_own_nat(Clock::time_point now, bool symmetric, std::optional<int> port_step,
                               std::vector<Datagram>& out) {
    own_symmetric_ = symmetric;
    own_step_ = symmetric ? port_step : std::nullopt;
    if (own_step_ && (state_ == PunchState::registering || state_ == PunchState::punching))
        send_register(now, out);
}

void PunchMachine::send_data(Bytes data, std::vector<Datagram>& out) const {
    if (state_ == PunchState::direct) {
        out.push_back(Datagram{*peer_direct_, {data.begin(), data.end()}});
    } else if (state_ == PunchState::relaying) {
        Datagram d{*options_.turn_server, {}};
        turn_->wrap(data, d.bytes);
        out.push_back(std::move(d));
    }
}

PunchMachine::Clock::time_point PunchMachine::next_wakeup() const noexcept {
    switch (state_) {
        case PunchState::registering:
            return next_register_;
        case PunchState::punching:
            return std::min(
                {std::max(next_probe_, punch_at_), punch_at_ + options_.deadline, next_register_});
        case PunchState::direct:
            return std::min(next_probe_, last_heard_ + options_.peer_timeout);
        default:
            return Clock::time_point{};  // allocating and relaying: the TURN client's 500 ms retransmissions
    }
}

}  // namespace sg::punch

#pragma once
// The client side of `streamgate punch`, pure and driven with an injected clock: what to send where, and
// which path carries the peer's data. It owns no socket; the caller sends every Datagram it hands back from
// its one UDP socket (the rendezvous, the peer and the TURN server must all see the same mapping).
//
//   registering  Register to the rendezvous every 250 ms until it names the peer's mapped address and a
//                punch time (PUNCH-DELAY from now).
//   punching     from the punch time, a Probe to the peer's mapped address every `probe_interval` (and,
//                when the peer's symmetric NAT announced its port step and ours is not symmetric, to the
//                window of ports predicted from it, port_prediction.hpp); Register goes on every 250 ms,
//                so a step announced late still reaches the peer. A probe
//                from the peer (from any address: its NAT may show it elsewhere) is answered with an ack
//                to where it came from. An ack to one of our probes proves the path both ways: direct, to
//                the ack's source.
//   allocating   the deadline passed without an ack: allocate on the TURN server (when given; else failed),
//                register again with the relayed address, learn the peer's, bind a channel to it.
//   relaying     the channel is bound: data travels as ChannelData through the server.
//   direct       data travels straight to the peer; probes every `keepalive_interval` hold both NATs'
//                mappings open while the stream is idle, and peer probes are still answered (the peer may
//                have missed our ack). Silence from the peer for `peer_timeout`: back to registering.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "punch/turn_client.hpp"
#include "punch/wire.hpp"

namespace sg::punch {

struct PunchOptions {
    std::string id;
    std::string peer;
    stun::Address rendezvous;
    // Shared with the rendezvous and the peer (--rendezvous-secret): signs our registrations and probes;
    // answers and probes not signed with it are dropped. Empty: nothing is signed or checked.
    std::string secret;
    std::optional<stun::Address> turn_server;  // absent: no fallback
    std::string turn_user;
    std::string turn_password;
    std::chrono::milliseconds deadline{3000};  // from the punch time
    std::chrono::milliseconds register_interval{250};
    std::chrono::milliseconds probe_interval{50};
    std::chrono::milliseconds keepalive_interval{5000};
    // Nothing from the peer on the direct path for this long (four keep-alives unanswered): it is gone, or
    // the path closed; register again and punch anew.
    std::chrono::milliseconds peer_timeout{20000};
    std::uint64_t seed = 1;  // transaction IDs
};

enum class PunchState : std::uint8_t { registering, punching, allocating, direct, relaying, failed };
std::string_view to_string(PunchState state) noexcept;

struct Datagram {
    stun::Address to;
    std::vector<std::uint8_t> bytes;
};

class PunchMachine {
public:
    using Clock = std::chrono::steady_clock;

    explicit PunchMachine(PunchOptions options);

    // Each call appends what to send to `out`.
    void start(Clock::time_point now, std::vector<Datagram>& out);
    void tick(Clock::time_point now, std::vector<Datagram>& out);
    // A datagram that arrived on the socket; returns the peer's data in it (a view into `datagram`) when
    // it is data on the path in use.
    std::optional<Bytes> on_datagram(Clock::time_point now, const stun::Address& from, Bytes datagram,
                                     std::vector<Datagram>& out);
    // Local data for the peer: one datagram on the path in use, none before a path is chosen.
    void send_data(Bytes data, std::vector<Datagram>& out) const;
    // What the classifier learnt of our own NAT, once it is done: a symmetric NAT whose ports are
    // predictable (`port_step`) announces the step through the rendezvous at once; a NAT known to be
    // symmetric never probes a predicted window (each probe would open another mapping).
    void set_own_nat(Clock::time_point now, bool symmetric, std::optional<int> port_step,
                     std::vector<Datagram>& out);
    // When tick() has something to do next.
    Clock::time_point next_wakeup() const noexcept;

    PunchState state() const noexcept { return state_; }
    bool connected() const noexcept { return state_ == PunchState::direct || state_ == PunchState::relaying; }
    const std::optional<stun::Address>& mapped() const noexcept { return mapped_; }
    const std::optional<stun::Address>& peer_mapped() const noexcept { return peer_mapped_; }
    const std::optional<stun::Address>& peer_direct() const noexcept { return peer_direct_; }
    const std::optional<stun::Address>& peer_relayed() const noexcept { return peer_relayed_; }
    std::optional<stun::Address> relayed() const { return turn_ ? turn_->relayed() : std::nullopt; }
    const std::optional<int>& port_step() const noexcept { return own_step_; }
    const std::optional<int>& peer_port_step() const noexcept { return peer_step_; }
    // Probing the peer's predicted ports (its step is known and our NAT is not symmetric).
    bool predicting() const noexcept { return peer_step_.has_value() && !own_symmetric_; }
    std::string_view failure() const noexcept { return failure_; }

private:
    void send_register(Clock::time_point now, std::vector<Datagram>& out);
    void send_probe(Clock::time_point now, const stun::Address& to, std::vector<Datagram>& out);
    void on_register_answer(Clock::time_point now, const stun::MessageView& m, std::vector<Datagram>& out);
    void on_probe(Clock::time_point now, const stun::Address& from, const stun::MessageView& m,
                  std::vector<Datagram>& out);
    void fall_back(Clock::time_point now, std::vector<Datagram>& out);
    void drive_turn(Clock::time_point now, std::vector<Datagram>& out);
    void to_server(std::vector<std::vector<std::uint8_t>>& messages, std::vector<Datagram>& out) const;
    stun::TransactionId new_tid();

    PunchOptions options_;
    std::mt19937_64 random_;
    PunchState state_ = PunchState::registering;
    Clock::time_point next_register_{};
    Clock::time_point punch_at_{};
    Clock::time_point next_probe_{};
    Clock::time_point last_heard_{};  // from the peer on the direct path
    std::optional<stun::Address> mapped_;
    std::optional<stun::Address> peer_mapped_;
    std::optional<stun::Address> peer_direct_;
    std::optional<stun::Address> peer_relayed_;
    bool own_symmetric_ = false;
    std::optional<int> own_step_;
    std::optional<int> peer_step_;
    std::vector<stun::TransactionId> probes_;     // the last few we sent: an ack must answer one of them
    std::vector<stun::TransactionId> registers_;  // the same for Register answers
    std::optional<TurnClient> turn_;
    std::string_view failure_;
};

}  // namespace sg::punch

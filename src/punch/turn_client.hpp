#pragma once
// A TURN client (RFC 8656) for one allocation with one channel, pure and driven with an injected clock:
// Allocate (answering the 401 challenge with long-term credentials, and 438 with the fresh nonce), one
// ChannelBind to the peer, then Refresh and ChannelBind again before the allocation (600 s) or the
// permission (300 s) would lapse. Requests are retransmitted every 500 ms, eight times at most (RFC 8489
// §6.2.1's Rc is 7), one at a time. Everything it sends goes to the TURN server.

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/byte_io.hpp"
#include "stun/stun_message.hpp"

namespace sg::punch {

class TurnClient {
public:
    using Clock = std::chrono::steady_clock;
    enum class State : std::uint8_t { idle, allocating, allocated, failed };

    TurnClient(std::string user, std::string password, std::uint64_t seed);

    // Datagrams for the server are appended to `out`.
    void start(Clock::time_point now, std::vector<std::vector<std::uint8_t>>& out);
    // Binds channel 0x4000 to `peer` (now, or once allocated) and keeps it bound.
    void bind(Clock::time_point now, const stun::Address& peer, std::vector<std::vector<std::uint8_t>>& out);
    // A STUN message from the server; false when it answers none of our requests.
    bool on_message(Clock::time_point now, const stun::MessageView& m,
                    std::vector<std::vector<std::uint8_t>>& out);
    void tick(Clock::time_point now, std::vector<std::vector<std::uint8_t>>& out);

    State state() const noexcept { return state_; }
    bool bound() const noexcept { return bound_; }
    const std::optional<stun::Address>& relayed() const noexcept { return relayed_; }
    std::string_view failure() const noexcept { return failure_; }
    std::uint16_t channel() const noexcept { return k_channel; }

    // ChannelData for the bound peer (appended to `out`); the peer's data out of a datagram from the server.
    void wrap(Bytes data, std::vector<std::uint8_t>& out) const;
    std::optional<Bytes> unwrap(Bytes datagram) const noexcept;

private:
    static constexpr std::uint16_t k_channel = 0x4000;
    enum class Kind : std::uint8_t { allocate, channel_bind, refresh };
    struct Pending {
        Kind kind;
        stun::TransactionId tid;
        std::vector<std::uint8_t> bytes;
        Clock::time_point sent_at;
        int tries = 1;
    };

    void send(Clock::time_point now, Kind kind, std::vector<std::vector<std::uint8_t>>& out);
    void next(Clock::time_point now, std::vector<std::vector<std::uint8_t>>& out);
    void fail_with(std::string_view why);
    void choose_credentials(const stun::MessageView& challenge);  // after a 401 or 438

    std::string user_;
    std::string password_;
    std::mt19937_64 random_;
    State state_ = State::idle;
    std::optional<Pending> pending_;
    std::deque<Kind> queue_;
    std::string realm_;
    std::string nonce_;
    // RFC 8489 §9.2.3: when the server's nonce announces password algorithms and its 401 offers SHA-256,
    // we take it (and repeat the offer unchanged); when it announces username anonymity, we send USERHASH.
    std::vector<std::uint8_t> offered_algorithms_;  // the 401's PASSWORD-ALGORITHMS value, to repeat
    std::uint16_t algorithm_ = stun::password_algorithm_md5;
    bool hide_user_ = false;
    std::vector<std::uint8_t> key_;
    bool authenticated_ = false;  // a 401 answered with credentials: another 401 means a wrong password
    std::optional<stun::Address> relayed_;
    std::optional<stun::Address> peer_;
    bool bound_ = false;
    Clock::time_point next_refresh_{};
    Clock::time_point next_rebind_{};
    std::string_view failure_;
};

}  // namespace sg::punch

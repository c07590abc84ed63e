#pragma once
// RFC 5780 NAT behaviour discovery against a STUN server with two addresses (`streamgate turn` with two
// --listening-ip of one family), pure and driven with an injected clock. It shares the punch socket, so it
// classifies the very mapping the rendezvous and the peer see.
//
//   I                 Binding to the server: mapped M1, OTHER-ADDRESS O.
//   filtering (§4.4)  II: CHANGE-REQUEST change IP and port: an answer means endpoint-independent.
//                     III: change port only: an answer means address-dependent, none
//                     address-and-port-dependent. Before the mapping tests, which send to O's IP and would
//                     open an address-dependent filter to it.
//   mapping (§4.3)    II: Binding to O's IP, the server's port (M2): M2 == M1 is endpoint-independent.
//                     III: to O (M3): M3 == M2 is address-dependent, else address-and-port-dependent.
//
// With address-and-port-dependent mapping, M1, M2 and M3 also tell whether the NAT allocates ports
// sequentially (port_prediction.hpp): port_step() is then the step the peer can predict our ports with.
//
// Each test is retransmitted every 300 ms and given up after 1.5 s (for filtering, silence is the answer).
// A server without OTHER-ADDRESS leaves everything unknown.

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string_view>
#include <vector>

#include "punch/punch_machine.hpp"

namespace sg::punch {

enum class Behaviour : std::uint8_t {
    unknown,
    endpoint_independent,
    address_dependent,
    address_and_port_dependent
};
std::string_view to_string(Behaviour b) noexcept;

struct NatClass {
    Behaviour mapping = Behaviour::unknown;
    Behaviour filtering = Behaviour::unknown;
};
// "full cone", "restricted cone", "port-restricted cone", "symmetric", or "unknown".
std::string_view nat_name(const NatClass& c) noexcept;

class NatClassifier {
public:
    using Clock = std::chrono::steady_clock;

    NatClassifier(stun::Address server, std::uint64_t seed) : server_(server), random_(seed) {}

    void start(Clock::time_point now, std::vector<Datagram>& out);
    // A STUN message from anywhere: true when it answered one of our tests.
    bool on_message(Clock::time_point now, const stun::MessageView& m, std::vector<Datagram>& out);
    void tick(Clock::time_point now, std::vector<Datagram>& out);

    bool done() const noexcept { return step_ == Step::done; }
    const NatClass& result() const noexcept { return result_; }
    // The allocation step of a symmetric NAT that allocates sequentially; nullopt otherwise (or not yet).
    std::optional<int> port_step() const noexcept;

private:
    enum class Step : std::uint8_t {
        idle,
        first,
        filtering_two,
        filtering_three,
        mapping_two,
        mapping_three,
        done
    };

    void send(Clock::time_point now, Step step, std::vector<Datagram>& out);
    void advance(Clock::time_point now, std::optional<stun::Address> mapped, std::vector<Datagram>& out);

    stun::Address server_;
    std::mt19937_64 random_;
    Step step_ = Step::idle;
    stun::TransactionId tid_{};
    Datagram request_;
    Clock::time_point first_sent_{};
    Clock::time_point last_sent_{};
    std::optional<stun::Address> other_;
    std::optional<stun::Address> m1_;
    std::optional<stun::Address> m2_;
    std::optional<stun::Address> m3_;
    NatClass result_;
};

}  // namespace sg::punch

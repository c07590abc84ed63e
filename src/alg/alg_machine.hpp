#pragma once
// The message state machine of the RTSP application-level gateway (alg_relay/rtsp_alg.hpp), as pure code.
//
// The I/O side feeds it the bytes read from either end of the control connection; it frames RTSP messages,
// decides the rewrites (Transport of UDP SETUPs and of their replies, c= lines of DESCRIBE replies across
// families, a refused SETUP's stand-in and answer) and hands back the bytes to forward plus actions for the
// media relays. It owns no socket and no clock: relays are named by a RelayId the I/O side maps to its own
// objects.
//
// Opening a relay needs real ports before the SETUP can be rewritten, so that one step is a question: when
// `AlgStep::open` is set, the machine has stopped in front of that SETUP (its bytes stay buffered) until the
// I/O side answers with relay_opened() or relay_unavailable() and feeds the same direction again (with no
// new bytes, or more). Everything else is an action to carry out before writing the step's bytes.
//
// Bounds: a direction buffers at most one incomplete RTSP item, which rtsp::Limits caps; a direction whose
// bytes stop parsing falls back to passing them through untouched, buffering nothing. The CSeq maps of
// pending SETUPs, TEARDOWNs and refusals are capped as well.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "alg/transport_rewrite.hpp"
#include "common/byte_io.hpp"
#include "rtsp/message.hpp"

namespace sg::alg {

enum class Direction : std::uint8_t { client_to_origin, origin_to_client };

using RelayId = std::uint64_t;

struct AlgMachineConfig {
    rtsp::Limits limits;
    std::size_t max_relays = 16;     // relays (pending or running) of one connection; more SETUPs get 453
    std::string origin_facing_host;  // the gateway's address toward the origin (IP literal, IPv6 unbracketed)
    std::string client_facing_host;  // the gateway's address toward the client
    std::string client_host;         // the client's address
    // The client-facing and origin addresses differ in family: DESCRIBE replies get the client-facing
    // address in their c= lines (sdp_family_rewrite.hpp).
    bool rewrite_sdp_family = false;
    bool client_facing_ipv6 = false;
};

// The answer the machine waits for: bind two port pairs (origin-facing, client-facing) for relay `id`.
struct OpenRelay {
    RelayId id = 0;
    rtsp::PortRange client_ports;  // where the client takes RTP/RTCP
};

// The origin accepted the SETUP: start relaying (origin's ports and source from its reply).
struct StartRelay {
    RelayId id = 0;
    OriginMedia origin;
    std::string session_id;  // of the reply; a TEARDOWN of that session stops the relay
};

// Stop and free relay `id` (opened, maybe started). `reason` is static text for the log line.
struct StopRelay {
    RelayId id = 0;
    std::string_view reason;
};

// Control traffic that keeps every relay of the connection alive (a paused stream's keep-alives).
struct TouchRelays {};

// A direction stopped parsing and passes its bytes through from now on; `reason` is static text.
struct ParseFallback {
    Direction from = Direction::client_to_origin;
    std::string_view reason;
};

enum class RefusalCause : std::uint8_t { too_many_relays, no_free_ports };

// A UDP SETUP is going to be answered 453 (the I/O side logs and counts it).
struct SetupRefused {
    RefusalCause cause = RefusalCause::no_free_ports;
};

using AlgAction = std::variant<StartRelay, StopRelay, TouchRelays, ParseFallback, SetupRefused>;

// What a call produced: carry out `actions` in order, then write `bytes` to the other end; then, when `open`
// is set, answer it and feed the same direction again.
struct AlgStep {
    std::vector<std::uint8_t> bytes;
    std::vector<AlgAction> actions;
    std::optional<OpenRelay> open;

    void clear() {
        bytes.clear();
        actions.clear();
        open.reset();
    }
};

class AlgMachine {
public:
    explicit AlgMachine(AlgMachineConfig config);

    // Appends `bytes` read from the end `from` and processes every complete message; `step` is cleared first.
    void feed(Direction from, Bytes bytes, AlgStep& step);

    // Answers to AlgStep::open: the relay's two pairs are bound (their RTP ports), or no pair was free.
    void relay_opened(RelayId id, std::uint16_t origin_facing_rtp_port, std::uint16_t client_facing_rtp_port);
    void relay_unavailable(RelayId id);

    // A running relay stopped on its own (its session timeout): it no longer counts toward max_relays.
    void relay_ended(RelayId id);

    // The control connection is ending (either end closed): every relay, pending or running, is stopped.
    void stop_relays(std::string_view reason, std::vector<AlgAction>& actions);

    std::size_t buffered(Direction from) const noexcept { return side(from).buffer.size(); }
    bool parsing(Direction from) const noexcept { return side(from).parsing; }
    std::size_t live_relays() const noexcept { return pending_setups_.size() + running_.size(); }
    std::uint64_t media_relays() const noexcept { return media_relays_; }      // SETUPs relayed over UDP
    std::uint64_t refused_setups() const noexcept { return refused_setups_; }  // answered 453
    bool fell_back() const noexcept { return fell_back_; }

private:
    struct Side {
        std::vector<std::uint8_t> buffer;  // the incomplete item (or the SETUP waiting for its relay)
        bool parsing = true;
    };
    struct PendingSetup {
        RelayId id = 0;
        rtsp::PortRange client_ports;
        std::uint16_t client_facing_port = 0;
    };
    struct OpenAnswer {
        RelayId id = 0;
        std::optional<std::pair<std::uint16_t, std::uint16_t>> ports;  // origin-facing, client-facing
    };
    enum class SetupVerdict : std::uint8_t { untouched, rewritten, refused, waiting };

    Side& side(Direction from) noexcept { return from == Direction::client_to_origin ? client_ : origin_; }
    const Side& side(Direction from) const noexcept {
        return from == Direction::client_to_origin ? client_ : origin_;
    }

    void process(Direction from, AlgStep& step);
    bool on_request(rtsp::Request& request, Bytes raw, AlgStep& step);
    void on_response(rtsp::Response& response, Bytes raw, AlgStep& step);
    SetupVerdict rewrite_setup(rtsp::Request& request, AlgStep& step);
    SetupVerdict refuse(const std::string& cseq, int status);
    bool rewrite_description(rtsp::Response& response) const;
    bool finish_setup(rtsp::Response& response, const PendingSetup& pending, AlgStep& step);
    rtsp::Response refusal(int status, const std::string& cseq);

    AlgMachineConfig config_;
    Side client_, origin_;
    std::optional<OpenRelay> waiting_;  // asked and not answered yet
    std::optional<OpenAnswer> answer_;  // answered, for the SETUP in front of the client direction
    RelayId next_id_ = 1;
    std::map<std::string, PendingSetup> pending_setups_;  // by CSeq
    std::map<std::string, std::string> teardowns_;        // CSeq -> Session id ("" when none)
    std::map<std::string, int> refused_;                  // CSeq of a refused SETUP -> status to answer
    std::map<RelayId, std::string> running_;              // started relays -> their Session id
    std::uint64_t media_relays_ = 0;
    std::uint64_t refused_setups_ = 0;
    bool fell_back_ = false;
};

}  // namespace sg::alg

#pragma once
// The media relay's calls: what offer/answer/delete/query do, where each packet goes, when a call times out.
// Pure: sockets are opened and closed through the injected MediaSockets, time is passed in. The I/O side
// (relay_io) feeds it control requests and packets and sends what it is told to.
//
// Model (rtpengine's): a call (Call-ID) has two legs, the offerer's tag and the answerer's; each media
// section of the SDP is a stream with one Side per leg. A Side has the relay's local port pair that its UA
// sends to, and latches (latch.hpp) for RTP and RTCP. A packet arriving on one side's port goes out of the
// other side's port, to that side's latched (or announced) address: each UA sees the relay as one
// symmetric peer. A forked answer from a second to-tag replaces the first (the call keeps one answerer).

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/byte_io.hpp"
#include "relay/kernel_flow.hpp"
#include "relay/latch.hpp"
#include "relay/port_pool.hpp"
#include "relay/relay_sdp.hpp"
#include "relay/request.hpp"

namespace sg::relay {

using SteadyTime = std::chrono::steady_clock::time_point;

// Opens and closes the relay's media sockets; the I/O side implements it, unit tests fake it.
class MediaSockets {
public:
    virtual ~MediaSockets() = default;
    struct Pair {
        std::uint32_t rtp = 0;
        std::uint32_t rtcp = 0;
    };
    // Binds `local` (RTP) and the next port (RTCP); ids are non-zero and unique while open. nullopt when a
    // port cannot be bound (another program holds it).
    virtual std::optional<Pair> open(const Address& local) = 0;
    virtual void close(std::uint32_t socket_id) = 0;
};

// Writes recordings (start recording / rtpproxy R): each packet a recorded call receives, as it arrived.
class CallRecorder {
public:
    virtual ~CallRecorder() = default;
    // False when the recording cannot be opened (the error is logged by the recorder).
    virtual bool start(const std::string& call_id, std::int64_t wall_now) = 0;
    virtual void record(const std::string& call_id, const Address& from, const Address& to, Bytes packet) = 0;
    virtual void stop(const std::string& call_id) = 0;
};

// A relay address: an IPv4 and/or IPv6 address, optionally named (rtpengine's `--interface NAME/ADDR`) so the
// ng `direction` key can pick it.
struct Interface {
    std::string name;  // empty: the default interface
    Address address;   // port ignored
};

struct RelaySettings {
    std::vector<Interface> interfaces;
    std::uint16_t port_min = 30000;
    std::uint16_t port_max = 40000;
    std::chrono::seconds timeout{60};           // no media on an active call
    std::chrono::seconds silent_timeout{3600};  // no media while every stream is on hold
    std::chrono::seconds delete_delay{0};       // delete: keep the call (and its ports) this long
    std::size_t max_calls = 100000;
};

// Where a packet goes: out of socket `socket_id` to `destination`.
struct Forward {
    std::uint32_t socket_id = 0;
    Address destination;
};

struct EndedCall {
    CallReport report;
    std::string reason;  // "deleted", "timeout", "silent timeout"
    std::chrono::milliseconds duration{0};
};

class CallTable {
public:
    // `recorder` may be null: start recording then fails with "recording is not configured". `kernel` may be
    // null: every packet is forwarded in userspace.
    CallTable(RelaySettings settings, MediaSockets& sockets, CallRecorder* recorder = nullptr,
              KernelForwarder* kernel = nullptr);
    ~CallTable();
    CallTable(const CallTable&) = delete;
    CallTable& operator=(const CallTable&) = delete;

    // Acts on a control request (any protocol). `wall_now` is Unix seconds for reports. Ended calls (delete
    // without delay) are appended to `ended` for the caller's log line.
    Outcome handle(const Request& request, SteadyTime now, std::int64_t wall_now,
                   std::vector<EndedCall>& ended);

    // A packet arrived on one of the relay's sockets. nullopt: drop it (counted).
    std::optional<Forward> on_packet(std::uint32_t socket_id, const Address& source, Bytes packet,
                                     SteadyTime now);

    // Play media: from now on the participant `request.speaker_tag` of the call hears what the caller of
    // playback_target() sends instead of the other side's media, until stop_playback() or until a newer
    // playback starts. Fails for an unknown call, tag, or a call with no audio stream for that tag.
    Outcome start_playback(const Request& request, std::uint64_t& generation);
    Outcome stop_playback(const Request& request);
    // The player of `generation` reached its end: the participant hears the other side again (unless a newer
    // playback replaced it).
    void end_playback(const std::string& call_id, const std::string& tag, std::uint64_t generation);
    // Where playback `generation` sends its next packet; nullopt once it was stopped, replaced, or its call
    // ended (the player then stops).
    std::optional<Forward> playback_target(const std::string& call_id, const std::string& tag,
                                           std::uint64_t generation) const;

    // What the kernel forwarded for the flow of `socket_id` since it was installed (cumulative counters):
    // counted as if the packets had come through on_packet, and they keep the call from timing out.
    void kernel_counted(std::uint32_t socket_id, std::uint64_t packets, std::uint64_t bytes, SteadyTime now);
    std::size_t kernel_flows() const noexcept { return kernel_flows_; }

    // Ends calls whose media stopped (timeout, silent timeout) and delayed deletes that are due.
    void expire(SteadyTime now, std::int64_t wall_now, std::vector<EndedCall>& ended);
    // Ends one call now, whatever its state (an operator's DELETE); false when there is no such call.
    bool terminate(const std::string& call_id, std::string_view reason, SteadyTime now, std::int64_t wall_now,
                   std::vector<EndedCall>& ended);
    // The call's report as query gives it, or nullopt.
    std::optional<CallReport> report(const std::string& call_id, SteadyTime now, std::int64_t wall_now) const;

    // Ends every call (shutdown).
    void clear(SteadyTime now, std::int64_t wall_now, std::vector<EndedCall>& ended, std::string_view reason);

    std::size_t calls() const noexcept { return calls_.size(); }
    std::vector<std::string> call_ids() const;
    GlobalStatistics statistics() const;

    struct Call;
    struct Side;
    struct Component;

private:
    Outcome offer_or_answer(const Request& request, SteadyTime now);
    Outcome remove(const Request& request, SteadyTime now, std::int64_t wall_now,
                   std::vector<EndedCall>& ended);
    Outcome query(const Request& request, SteadyTime now, std::int64_t wall_now) const;
    Outcome recording(const Request& request, std::int64_t wall_now);
    Side* audio_side(const std::string& call_id, const std::string& tag) const;
    // `read_kernel`: read the call's kernel counters first (false: the caller read them for many calls).
    void end_call(const std::string& call_id, std::string_view reason, SteadyTime now, std::int64_t wall_now,
                  std::vector<EndedCall>& ended, bool read_kernel = true);
    void read_kernel_counts(const std::vector<const Call*>& calls, SteadyTime now);
    CallReport report(const Call& call, SteadyTime now, std::int64_t wall_now) const;
    bool open_side(Side& side, Family family, const std::string& interface_name);
    void close_side(Side& side);
    // Hands the call's directions to the kernel, or takes them back, as its state now allows.
    void sync_kernel(Call& call);
    std::optional<KernelFlow> kernel_flow(const Component& in) const;
    void set_kernel(Component& in, const std::optional<KernelFlow>& flow);
    const Interface* pick_interface(Family family, const std::string& name) const;
    Family family_for(const std::string& name, const std::string& speaker_name, Family speaker_family) const;

    RelaySettings settings_;
    MediaSockets& sockets_;
    CallRecorder* recorder_;
    KernelForwarder* kernel_;
    std::size_t kernel_flows_ = 0;
    PortPool ports_;
    std::map<std::string, std::unique_ptr<Call>> calls_;
    std::unordered_map<std::uint32_t, Component*> by_socket_;
    GlobalStatistics totals_;
    std::uint64_t next_playback_ = 1;
};

}  // namespace sg::relay

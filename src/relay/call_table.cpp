#include "relay/call_table.hpp"

#include <algorithm>
#include <array>

#include "relay/address.hpp"
#include "relay/rtpproxy_codec.hpp"
#include "sdp/sdp.hpp"

namespace sg::relay {

struct CallTable::Component {
    Latch latch;
    std::uint32_t socket_id = 0;
    Component* peer = nullptr;  // the same component of the other side
    Side* side = nullptr;
    StreamCounters received;
    SteadyTime last_packet{};
    std::optional<KernelFlow> kernel;  // installed in the kernel
    std::uint64_t kernel_packets = 0;  // its counters, as far as they were counted into `received`
    std::uint64_t kernel_bytes = 0;
};

struct CallTable::Side {
    Call* call = nullptr;
    std::string media = "audio";
    Address local;  // the relay's RTP address for this side (RTCP: port + 1)
    bool open = false;
    bool rtcp_mux = false;  // this side's UA sends RTCP on the RTP port
    bool on_hold = false;   // its UA announced no address, or inactive/sendonly
    std::uint64_t playback =
        0;  // non-zero: hearing a prompt (that playback's generation), not the other side
    Component rtp;
    Component rtcp;
};

namespace {

struct Stream {
    unsigned index = 0;
    std::array<CallTable::Side, 2> sides;
};

}  // namespace

struct CallTable::Call {
    std::string call_id;
    std::array<std::string, 2> tags;       // [0] the first offerer, [1] the answerer
    std::array<std::string, 2> direction;  // interface names by leg (ng "direction", rtpproxy I/E)
    std::vector<std::unique_ptr<Stream>> streams;
    SteadyTime created{};
    SteadyTime last_signal{};
    std::int64_t created_unix = 0;
    std::int64_t last_signal_unix = 0;
    std::optional<SteadyTime> delete_at;
    bool recording = false;
};

namespace {

Stream& stream_at(CallTable::Call& call, unsigned index) {
    for (auto& stream : call.streams)
        if (stream->index == index) return *stream;
    auto stream = std::make_unique<Stream>();
    stream->index = index;
    for (std::size_t s = 0; s < 2; ++s) {
        auto& side = stream->sides[s];
        auto& other = stream->sides[1 - s];
        side.call = &call;
        side.rtp.side = &side;
        side.rtcp.side = &side;
        side.rtp.peer = &other.rtp;
        side.rtcp.peer = &other.rtcp;
    }
    call.streams.push_back(std::move(stream));
    return *call.streams.back();
}

bool is_rtcp(Bytes packet) noexcept {
    return packet.size() >= 2 && packet[1] >= 192 && packet[1] <= 223;
}

std::int64_t to_unix(SteadyTime when, SteadyTime now, std::int64_t wall_now) {
    if (when == SteadyTime{}) return 0;
    return wall_now - std::chrono::duration_cast<std::chrono::seconds>(now - when).count();
}

Outcome failure(std::string reason, int rtpproxy_error) {
    Outcome outcome;
    outcome.error = std::move(reason);
    outcome.rtpproxy_error = rtpproxy_error;
    return outcome;
}

}  // namespace

CallTable::CallTable(RelaySettings settings, MediaSockets& sockets, CallRecorder* recorder,
                     KernelForwarder* kernel)
    : settings_(std::move(settings)),
      sockets_(sockets),
      recorder_(recorder),
      kernel_(kernel),
      ports_(settings_.port_min, settings_.port_max) {}

CallTable::~CallTable() {
    for (auto& [id, call] : calls_)
        for (auto& stream : call->streams)
            for (auto& side : stream->sides)
                close_side(side);
}

const Interface* CallTable::pick_interface(Family family, const std::string& name) const {
    if (!name.empty()) {
        for (const auto& interface : settings_.interfaces)
            if (interface.name == name && interface.address.family == family) return &interface;
    }
    for (const auto& interface : settings_.interfaces)
        if (interface.address.family == family) return &interface;
    return nullptr;
}

Family CallTable::family_for(const std::string& name, const std::string& speaker_name,
                             Family speaker_family) const {
    // A named interface decides its side's family.
    for (const auto& interface : settings_.interfaces)
        if (!name.empty() && interface.name == name) return interface.address.family;
    // Two different directions and no interfaces by those names (rtpproxy's I/E against a relay with one
    // unnamed address per family): the sides are the two networks, i.e. the two families. rtpengine's
    // rtpproxy interface bridges the same way.
    if (!name.empty() && !speaker_name.empty() && name != speaker_name) {
        const Family other = speaker_family == Family::ip4 ? Family::ip6 : Family::ip4;
        for (const auto& interface : settings_.interfaces)
            if (interface.address.family == other) return other;
    }
    return speaker_family;
}

bool CallTable::open_side(Side& side, Family family, const std::string& interface_name) {
    const Interface* interface = pick_interface(family, interface_name);
    if (interface == nullptr) return false;
    if (side.open && side.local.family == family && side.local.bytes == interface->address.bytes) return true;
    close_side(side);
    // A pair another program holds goes back to the end of the queue; try as many pairs as there are.
    for (std::size_t attempt = 0; attempt < ports_.total_pairs(); ++attempt) {
        const auto port = ports_.take();
        if (!port) return false;
        Address local = interface->address;
        local.port = *port;
        const auto pair = sockets_.open(local);
        if (!pair) {
            ports_.release(*port);
            continue;
        }
        side.local = local;
        side.open = true;
        side.rtp.socket_id = pair->rtp;
        side.rtcp.socket_id = pair->rtcp;
        by_socket_[pair->rtp] = &side.rtp;
        by_socket_[pair->rtcp] = &side.rtcp;
        return true;
    }
    return false;
}

void CallTable::close_side(Side& side) {
    if (!side.open) return;
    for (Component* component : {&side.rtp, &side.rtcp}) {
        // The other side's flows leave through this side's sockets: they go too (sync_kernel puts them back
        // when the side is open again).
        set_kernel(*component, std::nullopt);
        set_kernel(*component->peer, std::nullopt);
        by_socket_.erase(component->socket_id);
        sockets_.close(component->socket_id);
        component->socket_id = 0;
    }
    ports_.release(side.local.port);
    side.open = false;
}

Outcome CallTable::handle(const Request& request, SteadyTime now, std::int64_t wall_now,
                          std::vector<EndedCall>& ended) {
    switch (request.op) {
        case Op::ping:
        case Op::version:
            return Outcome{};
        case Op::version_feature: {
            Outcome outcome;
            outcome.feature_supported = true;  // the codec answers only for the dates it knows
            return outcome;
        }
        case Op::offer:
        case Op::answer:
            return offer_or_answer(request, now);
        case Op::remove:
            return remove(request, now, wall_now, ended);
        case Op::query:
            return query(request, now, wall_now);
        case Op::list: {
            Outcome outcome;
            outcome.call_ids = call_ids();
            return outcome;
        }
        case Op::statistics: {
            Outcome outcome;
            outcome.statistics = statistics();
            return outcome;
        }
        case Op::start_recording:
        case Op::stop_recording:
            return recording(request, wall_now);
        case Op::stop_media:
            return stop_playback(request);
        case Op::play_media:
            break;  // needs the prompt: the I/O side loads it and calls start_playback
    }
    return failure("play media needs a prompt loaded by the relay's I/O side", k_rtpp_e_play_failed);
}

Outcome CallTable::offer_or_answer(const Request& request, SteadyTime now) {
    if (request.call_id.empty()) return failure("no call-id", k_rtpp_e_invalid_argument);
    if (request.speaker_tag.empty()) return failure("no tag", k_rtpp_e_invalid_argument);
    // The speaker's media: from its SDP (ng) or one stream named by the command (rtpproxy).
    std::optional<sdp::SessionDescription> sd;
    std::vector<OfferedMedia> offered;
    if (!request.sdp.empty()) {
        auto parsed = sdp::parse(request.sdp);
        if (!parsed)
            return failure(std::string("bad SDP: ") + std::string(parsed.error()), k_rtpp_e_invalid_argument);
        auto media = describe_media(*parsed);
        if (!media)
            return failure(std::string("bad SDP: ") + std::string(media.error()), k_rtpp_e_invalid_argument);
        sd = std::move(*parsed);
        offered = std::move(*media);
    } else if (request.media) {
        OfferedMedia media;
        media.index = request.media_index == 0 ? 1 : request.media_index;
        media.rtp = request.media;
        media.rtcp = request.media;
        media.rtcp->port = static_cast<std::uint16_t>(request.media->port + 1U);
        if (request.media->port == 0) media.rejected = true;
        offered.push_back(std::move(media));
    } else {
        return failure("no SDP and no media address", k_rtpp_e_invalid_argument);
    }

    auto it = calls_.find(request.call_id);
    if (it == calls_.end()) {
        if (request.op == Op::answer) return failure("unknown call-id", k_rtpp_e_session_not_found);
        if (calls_.size() >= settings_.max_calls) return failure("too many calls", k_rtpp_e_overload);
        auto call = std::make_unique<Call>();
        call->call_id = request.call_id;
        call->created = now;
        it = calls_.emplace(request.call_id, std::move(call)).first;
        ++totals_.total_calls;
    }
    Call& call = *it->second;

    // Which leg speaks: a known tag keeps its leg; a new tag takes the free leg, and an answer from an
    // unknown tag (a fork) takes over the answerer's leg.
    const bool first_leg =
        call.tags[0] == request.speaker_tag ||
        (call.tags[1] != request.speaker_tag && call.tags[0].empty() && request.op == Op::offer);
    const std::size_t s = first_leg ? 0 : 1;
    call.tags[s] = request.speaker_tag;
    if (!request.peer_tag.empty()) call.tags[1 - s] = request.peer_tag;
    const std::size_t o = 1 - s;
    // Directions name the speaker's side first, then the other side's; the offer decides them.
    const auto& direction = request.options.direction;
    if (direction.size() >= 2 && (request.op == Op::offer || call.direction[s].empty())) {
        call.direction[s] = direction[0];
        call.direction[o] = direction[1];
    }
    call.last_signal = now;
    call.delete_at.reset();

    LatchPolicy policy;
    policy.asymmetric = request.options.asymmetric;
    policy.strict_source = request.options.strict_source;
    if (request.options.sip_source_address && request.options.received_from) {
        policy.expected_host = request.options.received_from;
    } else if (!request.options.media_address.empty()) {
        policy.expected_host = parse_ip(request.options.media_address);
    }

    Outcome outcome;
    std::vector<std::optional<RelayPorts>> ports;
    for (const auto& media : offered) {
        if (media.rejected) {
            ports.emplace_back();
            continue;
        }
        Stream& stream = stream_at(call, media.index);
        Side& speaker = stream.sides[s];
        Side& other = stream.sides[o];
        const Family speaker_family = media.rtp      ? media.rtp->family
                                      : speaker.open ? speaker.local.family
                                                     : request.options.family.value_or(Family::ip4);
        const Family other_family = request.options.family ? *request.options.family
                                    : other.open
                                        ? other.local.family
                                        : family_for(call.direction[o], call.direction[s], speaker_family);
        if (!open_side(speaker, speaker_family, call.direction[s]) ||
            !open_side(other, other_family, call.direction[o]))
            return failure("no free media port on an interface of that address family", k_rtpp_e_no_ports);

        speaker.media = media.media.empty() ? speaker.media : media.media;
        speaker.rtcp_mux = media.rtcp_mux;
        speaker.on_hold = !media.rtp || is_unspecified_ip(*media.rtp) ||
                          media.direction == MediaDirection::inactive ||
                          media.direction == MediaDirection::sendonly;
        if (other.media.empty() || other.media == "audio") other.media = speaker.media;
        // SIP-source-address: the SDP's address is the UA's private one; until the first packet latches,
        // media goes to the host the SIP message came from (its NAT), at the SDP's ports.
        auto announced_rtp = media.rtp;
        auto announced_rtcp = media.rtcp_mux ? media.rtp : media.rtcp;
        const auto& from = request.options.received_from;
        if (request.options.sip_source_address && from) {
            for (auto* announced : {&announced_rtp, &announced_rtcp})
                if (*announced && (*announced)->family == from->family && !is_unspecified_ip(**announced))
                    (*announced)->bytes = from->bytes;
        }
        speaker.rtp.latch.announce(announced_rtp, policy);
        speaker.rtcp.latch.announce(announced_rtcp, policy);
        ports.emplace_back(RelayPorts{other.local, media.rtcp_mux && !request.options.rtcp_mux_demux});
        if (!outcome.media) outcome.media = other.local;
    }
    if (sd) {
        RewriteOptions rewrite;
        rewrite.replace_origin = request.options.replace_origin;
        auto rewritten = rewrite_for_relay(*sd, ports, rewrite);
        if (!rewritten) return failure(std::string(rewritten.error()), k_rtpp_e_invalid_argument);
        outcome.sdp = sdp::to_string(*sd);
    }
    sync_kernel(call);
    return outcome;
}

Outcome CallTable::remove(const Request& request, SteadyTime now, std::int64_t wall_now,
                          std::vector<EndedCall>& ended) {
    auto it = calls_.find(request.call_id);
    if (it == calls_.end()) return failure("unknown call-id", k_rtpp_e_session_not_found);
    if (settings_.delete_delay.count() > 0) {
        it->second->delete_at = now + settings_.delete_delay;
        return Outcome{};
    }
    end_call(request.call_id, "deleted", now, wall_now, ended);
    return Outcome{};
}

Outcome CallTable::query(const Request& request, SteadyTime now, std::int64_t wall_now) const {
    const auto it = calls_.find(request.call_id);
    if (it == calls_.end()) return failure("unknown call-id", k_rtpp_e_session_not_found);
    Outcome outcome;
    outcome.call = report(*it->second, now, wall_now);
    SteadyTime last = it->second->last_signal;
    for (const auto& stream : it->second->streams)
        for (const auto& side : stream->sides)
            last = std::max({last, side.rtp.last_packet, side.rtcp.last_packet});
    outcome.ttl_seconds = std::max<std::int64_t>(
        0, std::chrono::duration_cast<std::chrono::seconds>(last + settings_.timeout - now).count());
    return outcome;
}

Outcome CallTable::recording(const Request& request, std::int64_t wall_now) {
    const auto it = calls_.find(request.call_id);
    if (it == calls_.end()) return failure("unknown call-id", k_rtpp_e_session_not_found);
    Call& call = *it->second;
    if (request.op == Op::stop_recording) {
        if (call.recording && recorder_ != nullptr) recorder_->stop(call.call_id);
        call.recording = false;
        sync_kernel(call);
        return Outcome{};
    }
    if (recorder_ == nullptr)
        return failure("recording is not configured (--recording-dir)", k_rtpp_e_invalid_argument);
    if (!call.recording && !recorder_->start(call.call_id, wall_now))
        return failure("cannot open the recording", k_rtpp_e_no_memory);
    call.recording = true;
    sync_kernel(call);  // a recording needs every packet in userspace
    return Outcome{};
}

CallTable::Side* CallTable::audio_side(const std::string& call_id, const std::string& tag) const {
    const auto it = calls_.find(call_id);
    if (it == calls_.end()) return nullptr;
    const Call& call = *it->second;
    const std::size_t leg = call.tags[0] == tag ? 0 : call.tags[1] == tag ? 1 : 2;
    if (leg == 2) return nullptr;
    for (const auto& stream : call.streams) {
        Side& side = stream->sides[leg];
        if (side.open && side.media == "audio") return &side;
    }
    return nullptr;
}

Outcome CallTable::start_playback(const Request& request, std::uint64_t& generation) {
    if (calls_.find(request.call_id) == calls_.end())
        return failure("unknown call-id", k_rtpp_e_session_not_found);
    Side* side = audio_side(request.call_id, request.speaker_tag);
    if (side == nullptr) return failure("no audio stream for that tag", k_rtpp_e_invalid_argument);
    side->playback = next_playback_++;
    generation = side->playback;
    sync_kernel(*side->call);
    return Outcome{};
}

Outcome CallTable::stop_playback(const Request& request) {
    if (calls_.find(request.call_id) == calls_.end())
        return failure("unknown call-id", k_rtpp_e_session_not_found);
    if (Side* side = audio_side(request.call_id, request.speaker_tag)) {
        side->playback = 0;
        sync_kernel(*side->call);
    }
    return Outcome{};
}

void CallTable::end_playback(const std::string& call_id, const std::string& tag, std::uint64_t generation) {
    Side* side = audio_side(call_id, tag);
    if (side != nullptr && side->playback == generation) {
        side->playback = 0;
        sync_kernel(*side->call);
    }
}

std::optional<Forward> CallTable::playback_target(const std::string& call_id, const std::string& tag,
                                                  std::uint64_t generation) const {
    const Side* side = audio_side(call_id, tag);
    if (side == nullptr || side->playback != generation) return std::nullopt;
    const auto destination = side->rtp.latch.destination();
    if (!destination)
        return Forward{side->rtp.socket_id, Address{}};  // on hold: keep the place, send nothing
    return Forward{side->rtp.socket_id, *destination};
}

CallReport CallTable::report(const Call& call, SteadyTime now, std::int64_t wall_now) const {
    CallReport out;
    out.call_id = call.call_id;
    out.created_unix = to_unix(call.created, now, wall_now);
    out.last_signal_unix = to_unix(call.last_signal, now, wall_now);
    for (std::size_t leg = 0; leg < 2; ++leg) {
        if (call.tags[leg].empty()) continue;
        LegReport leg_report;
        leg_report.tag = call.tags[leg];
        for (const auto& stream : call.streams) {
            const Side& side = stream->sides[leg];
            if (!side.open) continue;
            StreamReport sr;
            sr.index = stream->index;
            sr.media = side.media;
            sr.local = side.local;
            sr.announced = side.rtp.latch.announced();
            sr.latched = side.rtp.latch.latched();
            sr.received = side.rtp.received;
            sr.received.packets += side.rtcp.received.packets;
            sr.received.bytes += side.rtcp.received.bytes;
            sr.received.errors += side.rtcp.received.errors;
            sr.received.last_packet_unix =
                to_unix(std::max(side.rtp.last_packet, side.rtcp.last_packet), now, wall_now);
            leg_report.streams.push_back(std::move(sr));
        }
        out.legs.push_back(std::move(leg_report));
    }
    return out;
}

void CallTable::read_kernel_counts(const std::vector<const Call*>& calls, SteadyTime now) {
    if (kernel_ == nullptr) return;
    std::vector<std::uint32_t> offloaded;
    for (const Call* call : calls)
        for (const auto& stream : call->streams)
            for (const auto& side : stream->sides)
                for (const Component* component : {&side.rtp, &side.rtcp})
                    if (component->kernel) offloaded.push_back(component->socket_id);
    if (offloaded.empty()) return;
    for (const auto& count : kernel_->read(offloaded))
        kernel_counted(count.socket_id, count.packets, count.bytes, now);
}

void CallTable::end_call(const std::string& call_id, std::string_view reason, SteadyTime now,
                         std::int64_t wall_now, std::vector<EndedCall>& ended, bool read_kernel) {
    auto it = calls_.find(call_id);
    if (it == calls_.end()) return;
    Call& call = *it->second;
    if (call.recording && recorder_ != nullptr) recorder_->stop(call.call_id);
    if (read_kernel) read_kernel_counts({&call}, now);
    EndedCall end;
    end.report = report(call, now, wall_now);
    end.reason = std::string(reason);
    end.duration = std::chrono::duration_cast<std::chrono::milliseconds>(now - call.created);
    for (auto& stream : call.streams)
        for (auto& side : stream->sides)
            close_side(side);
    calls_.erase(it);
    ended.push_back(std::move(end));
}

std::optional<Forward> CallTable::on_packet(std::uint32_t socket_id, const Address& source, Bytes packet,
                                            SteadyTime now) {
    const auto it = by_socket_.find(socket_id);
    if (it == by_socket_.end()) return std::nullopt;
    Component& in = *it->second;
    const LatchVerdict verdict = in.latch.on_packet(source, peek_stream_id(packet));
    if (verdict == LatchVerdict::foreign) {
        ++in.received.errors;
        ++totals_.dropped_packets;
        return std::nullopt;
    }
    if (verdict == LatchVerdict::latched) sync_kernel(*in.side->call);
    ++in.received.packets;
    in.received.bytes += packet.size();
    in.last_packet = now;
    if (in.side->call->recording && recorder_ != nullptr) {
        Address local = in.side->local;
        if (&in == &in.side->rtcp) local.port = static_cast<std::uint16_t>(local.port + 1U);
        recorder_->record(in.side->call->call_id, source, local, packet);
    }

    // A participant hearing a prompt does not hear the other side meanwhile (RTCP still flows).
    if (in.peer->side->playback != 0 && &in == &in.side->rtp && !is_rtcp(packet)) return std::nullopt;

    // RTCP multiplexed on this side's RTP port goes to the other side's RTCP port unless that side muxes too.
    Component* out = in.peer;
    if (&in == &in.side->rtp && in.side->rtcp_mux && is_rtcp(packet) && !out->side->rtcp_mux)
        out = &out->side->rtcp;
    else if (&in == &in.side->rtcp && out->side->rtcp_mux)
        out = &out->side->rtp;
    const auto destination = out->latch.destination();
    if (!destination || !out->side->open) {
        ++totals_.dropped_packets;
        return std::nullopt;
    }
    ++totals_.relayed_packets;
    totals_.relayed_bytes += packet.size();
    const std::uint32_t out_socket = out->socket_id;
    return Forward{out_socket, *destination};
}

std::optional<KernelFlow> CallTable::kernel_flow(const Component& in) const {
    // The same choices on_packet makes, for a packet from the latched source: when they depend on the
    // packet (RTP or RTCP) or need userspace (recording, a prompt), the kernel cannot make them.
    const Side& side = *in.side;
    const bool rtp = &in == &side.rtp;
    const Component* out = in.peer;
    if (kernel_ == nullptr || !side.open || !out->side->open || side.call->recording) return std::nullopt;
    if (rtp && out->side->playback != 0) return std::nullopt;
    if (rtp && side.rtcp_mux && !out->side->rtcp_mux) return std::nullopt;  // RTP and RTCP part ways
    if (!rtp && out->side->rtcp_mux) out = &out->side->rtp;
    if (in.latch.asymmetric() || !in.latch.latched() || in.latch.latched()->family != side.local.family)
        return std::nullopt;
    const auto destination = out->latch.destination();
    if (!destination || destination->family != side.local.family ||
        out->side->local.family != side.local.family)
        return std::nullopt;  // nowhere to send, or a bridge between the families: userspace translates
    KernelFlow flow;
    flow.socket_id = in.socket_id;
    flow.source = *in.latch.latched();
    flow.local = side.local;
    flow.out_local = out->side->local;
    if (!rtp) flow.local.port = static_cast<std::uint16_t>(flow.local.port + 1U);
    if (out == &out->side->rtcp) flow.out_local.port = static_cast<std::uint16_t>(flow.out_local.port + 1U);
    flow.destination = *destination;
    return flow;
}

void CallTable::set_kernel(Component& in, const std::optional<KernelFlow>& flow) {
    if (kernel_ == nullptr || in.kernel == flow) return;
    if (in.kernel) {
        kernel_->remove(in.kernel->socket_id);
        --kernel_flows_;
    }
    in.kernel = flow;
    in.kernel_packets = 0;
    in.kernel_bytes = 0;
    if (in.kernel) {
        kernel_->install(*in.kernel);
        in.latch.forget_sequence();
        ++kernel_flows_;
    }
}

void CallTable::sync_kernel(Call& call) {
    if (kernel_ == nullptr) return;
    for (auto& stream : call.streams)
        for (auto& side : stream->sides)
            for (Component* component : {&side.rtp, &side.rtcp})
                set_kernel(*component, kernel_flow(*component));
}

void CallTable::kernel_counted(std::uint32_t socket_id, std::uint64_t packets, std::uint64_t bytes,
                               SteadyTime now) {
    const auto it = by_socket_.find(socket_id);
    if (it == by_socket_.end() || !it->second->kernel) return;
    Component& in = *it->second;
    if (packets <= in.kernel_packets) return;  // nothing new (or a stale report of a replaced flow)
    const std::uint64_t new_packets = packets - in.kernel_packets;
    const std::uint64_t new_bytes = bytes >= in.kernel_bytes ? bytes - in.kernel_bytes : 0;
    in.kernel_packets = packets;
    in.kernel_bytes = bytes;
    in.received.packets += new_packets;
    in.received.bytes += new_bytes;
    in.last_packet = now;
    totals_.relayed_packets += new_packets;
    totals_.relayed_bytes += new_bytes;
    totals_.kernel_packets += new_packets;
    totals_.kernel_bytes += new_bytes;
}

void CallTable::expire(SteadyTime now, std::int64_t wall_now, std::vector<EndedCall>& ended) {
    std::vector<std::pair<std::string, std::string_view>> due;
    for (const auto& [id, call] : calls_) {
        if (call->delete_at && now >= *call->delete_at) {
            due.emplace_back(id, "deleted");
            continue;
        }
        SteadyTime last = std::max(call->created, call->last_signal);
        bool on_hold = false;
        for (const auto& stream : call->streams)
            for (const auto& side : stream->sides) {
                last = std::max({last, side.rtp.last_packet, side.rtcp.last_packet});
                on_hold = on_hold || side.on_hold;
            }
        const auto limit = on_hold ? settings_.silent_timeout : settings_.timeout;
        if (now - last >= limit) due.emplace_back(id, on_hold ? "silent timeout" : "timeout");
    }
    std::vector<const Call*> ending;  // the kernel's last figures of them all in one read
    ending.reserve(due.size());
    for (const auto& [id, reason] : due)
        ending.push_back(calls_.at(id).get());
    read_kernel_counts(ending, now);
    for (const auto& [id, reason] : due) {
        if (reason != "deleted") ++totals_.timed_out_calls;
        end_call(id, reason, now, wall_now, ended, false);
    }
}

bool CallTable::terminate(const std::string& call_id, std::string_view reason, SteadyTime now,
                          std::int64_t wall_now, std::vector<EndedCall>& ended) {
    if (calls_.find(call_id) == calls_.end()) return false;
    end_call(call_id, reason, now, wall_now, ended);
    return true;
}

std::optional<CallReport> CallTable::report(const std::string& call_id, SteadyTime now,
                                            std::int64_t wall_now) const {
    const auto it = calls_.find(call_id);
    if (it == calls_.end()) return std::nullopt;
    return report(*it->second, now, wall_now);
}

void CallTable::clear(SteadyTime now, std::int64_t wall_now, std::vector<EndedCall>& ended,
                      std::string_view reason) {
    std::vector<const Call*> all;  // the kernel's last figures of every call in one read
    all.reserve(calls_.size());
    for (const auto& [id, call] : calls_)
        all.push_back(call.get());
    read_kernel_counts(all, now);
    for (const auto& id : call_ids())
        end_call(id, reason, now, wall_now, ended, false);
}

std::vector<std::string> CallTable::call_ids() const {
    std::vector<std::string> ids;
    ids.reserve(calls_.size());
    for (const auto& [id, call] : calls_)
        ids.push_back(id);
    return ids;
}

GlobalStatistics CallTable::statistics() const {
    GlobalStatistics out = totals_;
    out.current_calls = calls_.size();
    out.ports_free = ports_.free_pairs() * 2;
    out.ports_in_use = (ports_.total_pairs() - ports_.free_pairs()) * 2;
    return out;
}

}  // namespace sg::relay

#include "detect/detector.hpp"

#include <algorithm>
#include <cstring>
#include <string_view>
#include <utility>

#include "common/text.hpp"
#include "detect/flow_table.hpp"
#include "detect/sip_message.hpp"
#include "detect/tcp_reassembly.hpp"
#include "rtp/rtp_packet.hpp"
#include "rtsp/message.hpp"
#include "rtsp/transport.hpp"
#include "sdp/sdp.hpp"
#include "sdp/sdp_attributes.hpp"

namespace sg::detect {
namespace {

constexpr std::uint16_t k_max_heuristic_seq_step = 100;  // RFC 3550 A.1's MAX_MISORDER, as a forward step
// Timestamp step allowed per sequence step: two seconds at 90 kHz covers slow video and any audio rate.
constexpr std::uint32_t k_max_heuristic_ts_step = 180000;
constexpr std::size_t k_max_held_packets = std::size_t{2} * k_max_min_packets;
constexpr std::uint16_t k_sip_port = 5060;

std::uint64_t mix(std::uint64_t h) noexcept {
    // splitmix64 finaliser: cheap and spreads every input bit.
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

std::uint64_t hash_address(const IpAddress& a, std::uint64_t seed) noexcept {
    std::uint64_t lo = 0;
    std::uint64_t hi = 0;
    std::memcpy(&lo, a.bytes.data(), 8);
    std::memcpy(&hi, a.bytes.data() + 8, 8);
    return mix(seed ^ lo ^ mix(hi + a.family));
}

std::uint64_t word(const IpAddress& a, std::size_t at) noexcept {
    std::uint64_t w = 0;
    std::memcpy(&w, a.bytes.data() + at, 8);
    return w;
}

// Word-wise: the defaulted comparison called memcmp twice per flow lookup (8 % of `detect`'s time).
bool same_address(const IpAddress& a, const IpAddress& b) noexcept {
    return ((word(a, 0) ^ word(b, 0)) | (word(a, 8) ^ word(b, 8))) == 0 && a.family == b.family;
}

struct FlowKey {
    IpAddress src;
    IpAddress dst;
    std::uint16_t src_port = 0;
    std::uint16_t dst_port = 0;
    friend bool operator==(const FlowKey& a, const FlowKey& b) noexcept {
        return a.src_port == b.src_port && a.dst_port == b.dst_port && same_address(a.src, b.src) &&
               same_address(a.dst, b.dst);
    }
};

struct FlowKeyHash {
    // One finaliser over the key's words, each multiplied by its own odd constant (source and destination
    // differ), rather than four: this runs once per packet.
    std::size_t operator()(const FlowKey& k) const noexcept {
        const std::uint64_t ports =
            (std::uint64_t{k.src_port} << 16) | k.dst_port | (std::uint64_t{k.src.family} << 32);
        const std::uint64_t h = word(k.src, 0) * 0x9e3779b97f4a7c15ULL ^
                                word(k.src, 8) * 0xc2b2ae3d27d4eb4fULL ^
                                word(k.dst, 0) * 0x165667b19e3779f9ULL ^
                                word(k.dst, 8) * 0xd6e8feb86659fd93ULL ^ ports * 0xff51afd7ed558ccdULL;
        return static_cast<std::size_t>(mix(h));
    }
};

struct StreamKeyHash {
    std::size_t operator()(const StreamKey& k) const noexcept {
        const std::uint64_t ports =
            (std::uint64_t{k.src_port} << 48) | (std::uint64_t{k.dst_port} << 32) | k.ssrc;
        return static_cast<std::size_t>(
            hash_address(k.src, hash_address(k.dst, mix(ports) + (k.tcp ? 1 : 0))));
    }
};

struct Endpoint {
    IpAddress address;
    std::uint16_t port = 0;
    friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

struct EndpointHash {
    std::size_t operator()(const Endpoint& e) const noexcept {
        return static_cast<std::size_t>(hash_address(e.address, e.port));
    }
};

// What signalling taught about a media endpoint.
struct MediaHint {
    FoundBy found_by = FoundBy::rtsp;
    std::shared_ptr<const CodecMap> codecs;
    std::int64_t last_used_ns = 0;
};

struct HeldPacket {
    std::uint16_t sequence = 0;
    std::uint32_t timestamp = 0;
    std::int64_t time_ns = 0;
    std::uint32_t size = 0;
};

// A run of packets on one UDP flow that may be an RTP stream (the seed's four features).
struct Candidate {
    std::uint32_t ssrc = 0;
    std::uint8_t payload_type = 0;
    std::uint16_t last_sequence = 0;  // highest in the run
    std::uint32_t last_timestamp = 0;
    unsigned run = 0;  // consecutive in-order packets that passed
    // Packets of the run so far, counted into the stream once it is confirmed. A vector rather than an
    // inline array: most flows (noise) never get past their first packet, and flow entries stay small.
    std::vector<HeldPacket> held;
};

struct UdpFlow {
    std::int64_t last_seen_ns = 0;
    std::uint64_t learned_generation = 0;
    std::optional<MediaHint> hint;
    bool sip = false;
    Candidate candidate;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> streams;  // ssrc, index into streams_
};

enum class TcpKind : std::uint8_t { unknown, rtsp, sip, ignored };

struct TcpDirection {
    TcpReassembly reassembly;
    bool desync = false;
};

struct PendingSetup {
    std::string transport;  // the request's Transport, used when the reply has none
};

struct TcpConnection {
    TcpKind kind = TcpKind::unknown;
    FlowKey forward;  // direction 0: as first seen
    std::int64_t last_seen_ns = 0;
    std::array<TcpDirection, 2> dirs;
    int client_dir = -1;                                     // the direction that sent a request
    std::unordered_map<std::uint32_t, PendingSetup> setups;  // by CSeq
    std::shared_ptr<const CodecMap> codecs;
    std::vector<std::uint8_t> rtcp_channels;
};

constexpr std::array<std::string_view, 13> k_rtsp_starts{
    "RTSP/1.",   "OPTIONS ", "DESCRIBE ", "SETUP ",         "PLAY ",          "PAUSE ", "TEARDOWN ",
    "ANNOUNCE ", "RECORD ",  "REDIRECT ", "GET_PARAMETER ", "SET_PARAMETER ", "RTSP/2."};

bool starts_like_rtsp(std::string_view data) noexcept {
    return std::any_of(k_rtsp_starts.begin(), k_rtsp_starts.end(),
                       [&](std::string_view s) { return data.substr(0, s.size()) == s; });
}

std::string_view as_text(Bytes b) noexcept {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

std::optional<IpAddress> parse_ip(std::string_view text) noexcept;

// Parses dotted IPv4 or RFC 4291 IPv6 text (no zone), for addresses found in Transport and SDP.
std::optional<IpAddress> parse_ip(std::string_view text) noexcept {
    IpAddress out;
    if (text.find(':') == std::string_view::npos) {
        out.family = 4;
        std::string_view rest = text;
        for (std::size_t i = 0; i < 4; ++i) {
            const auto part = pop_token(rest, '.');
            const auto v = parse_uint<unsigned>(part);
            if (!v || *v > 255 || (i < 3 && rest.empty())) return std::nullopt;
            out.bytes[i] = static_cast<std::uint8_t>(*v);
        }
        if (!rest.empty()) return std::nullopt;
        return out;
    }
    out.family = 6;
    std::array<std::uint16_t, 8> head{};
    std::array<std::uint16_t, 8> tail{};
    std::size_t nhead = 0;
    std::size_t ntail = 0;
    bool gap = false;
    std::string_view rest = text;
    if (rest.substr(0, 2) == "::") {
        gap = true;
        rest.remove_prefix(2);
    }
    while (!rest.empty()) {
        const auto part = pop_token(rest, ':');
        if (part.empty()) {
            if (gap) return std::nullopt;
            gap = true;
            continue;
        }
        if (part.find('.') != std::string_view::npos) return std::nullopt;  // embedded IPv4: not needed here
        const auto v = parse_hex<std::uint16_t>(part);
        if (!v) return std::nullopt;
        auto& list = gap ? tail : head;
        auto& n = gap ? ntail : nhead;
        if (n == 8) return std::nullopt;
        list[n++] = *v;
    }
    if (nhead + ntail > 8 || (!gap && nhead != 8) || (gap && nhead + ntail == 8)) return std::nullopt;
    for (std::size_t i = 0; i < nhead; ++i) {
        out.bytes[2 * i] = static_cast<std::uint8_t>(head[i] >> 8);
        out.bytes[2 * i + 1] = static_cast<std::uint8_t>(head[i]);
    }
    for (std::size_t i = 0; i < ntail; ++i) {
        const std::size_t g = 8 - ntail + i;
        out.bytes[2 * g] = static_cast<std::uint8_t>(tail[i] >> 8);
        out.bytes[2 * g + 1] = static_cast<std::uint8_t>(tail[i]);
    }
    return out;
}

std::shared_ptr<const CodecMap> codecs_from_sdp(const sdp::SessionDescription& sd,
                                                const sdp::MediaDescription* only = nullptr) {
    auto map = std::make_shared<CodecMap>();
    for (const auto& media : sd.media) {
        if (only != nullptr && &media != only) continue;
        for (const auto pt : sdp::payload_types(media)) {
            if (pt >= map->by_payload_type.size() || map->by_payload_type[pt]) continue;
            if (auto rtpmap = sdp::find_rtpmap(media, pt))
                map->by_payload_type[pt] = Codec{std::move(rtpmap->encoding), rtpmap->clock_rate};
        }
    }
    return map;
}

}  // namespace

const char* to_string(FoundBy found_by) noexcept {
    switch (found_by) {
        case FoundBy::heuristic:
            return "heuristic";
        case FoundBy::rtsp:
            return "rtsp";
        case FoundBy::rtsp_interleaved:
            return "rtsp-interleaved";
        case FoundBy::sip:
            return "sip";
    }
    return "unknown";
}

struct Detector::State {
    Detector& self;
    FlowTable<FlowKey, UdpFlow> udp;
    std::unordered_map<FlowKey, TcpConnection, FlowKeyHash> tcp;  // keyed by the first-seen direction
    std::unordered_map<StreamKey, std::uint32_t, StreamKeyHash> stream_index;
    std::unordered_multimap<std::uint32_t, std::uint32_t> by_ssrc;
    std::unordered_map<Endpoint, MediaHint, EndpointHash> learned;
    std::uint64_t learned_generation = 1;
    std::int64_t last_sweep_ns = 0;
    // A full pass over the tables every quarter timeout: flows live at most 1.25 timeouts, and the cost of
    // a pass (all flows) is spread over many packets.
    std::int64_t sweep_interval_ns = 1;
    bool swept_once = false;
    std::uint64_t clock_events = 0;  // starts and sweeps
    // What merge_partitions() checks (kept in every run; cheap).
    std::size_t peak_flows = 0;
    std::size_t merged_flows = 0;  // a merged detector: the partitions' tracked flows at their end
    bool learned_any = false;
    bool partitioned = false;               // SSRCs named by RTCP are recorded only in partitioned runs
    std::vector<std::uint32_t> rtcp_ssrcs;  // sorted and deduplicated now and then
    bool rtcp_ssrcs_overflow = false;
    static constexpr std::size_t k_max_rtcp_ssrcs = std::size_t{1} << 22;

    void note_flow_added() noexcept { peak_flows = std::max(peak_flows, udp.size() + tcp.size()); }

    void note_rtcp_ssrc(std::uint32_t ssrc) {
        if (!partitioned || rtcp_ssrcs_overflow) return;
        if (rtcp_ssrcs.size() == rtcp_ssrcs.capacity() && rtcp_ssrcs.size() >= 1024) {
            // Compact before growing: streams send RTCP about the same few SSRCs over and over.
            std::sort(rtcp_ssrcs.begin(), rtcp_ssrcs.end());
            rtcp_ssrcs.erase(std::unique(rtcp_ssrcs.begin(), rtcp_ssrcs.end()), rtcp_ssrcs.end());
            if (rtcp_ssrcs.size() >= k_max_rtcp_ssrcs) {
                rtcp_ssrcs_overflow = true;
                return;
            }
        }
        rtcp_ssrcs.push_back(ssrc);
    }

    explicit State(Detector& d)
        : self(d), sweep_interval_ns(std::max<std::int64_t>(d.config_.flow_timeout_ns / 4, 1'000'000)) {}

    // ----- streams -----

    StreamInfo* stream_for(const StreamKey& key, FoundBy found_by, std::uint8_t payload_type,
                           const CodecMap* codecs, std::uint32_t* index_out) {
        if (const auto it = stream_index.find(key); it != stream_index.end()) {
            if (index_out != nullptr) *index_out = it->second;
            return &self.streams_[it->second];
        }
        if (self.streams_.size() >= self.config_.max_streams) return nullptr;
        StreamInfo info;
        info.key = key;
        info.found_by = found_by;
        info.payload_type = payload_type;
        const Codec* codec = nullptr;
        if (codecs != nullptr && codecs->by_payload_type[payload_type])
            codec = &*codecs->by_payload_type[payload_type];
        std::optional<Codec> fallback;
        if (codec == nullptr) {
            static const sdp::MediaDescription no_rtpmaps;  // find_rtpmap then answers from RFC 3551's table
            if (auto rtpmap = sdp::find_rtpmap(no_rtpmaps, payload_type)) {
                fallback = Codec{std::move(rtpmap->encoding), rtpmap->clock_rate};
                codec = &*fallback;
            }
        }
        if (codec != nullptr) {
            info.codec = codec->name;
            info.clock_rate = codec->clock_rate;
        }
        const auto index = static_cast<std::uint32_t>(self.streams_.size());
        self.streams_.push_back(std::move(info));
        self.stream_first_frame_.push_back(self.frame_index_);
        stream_index.emplace(key, index);
        by_ssrc.emplace(key.ssrc, index);
        auto& c = self.counters_;
        switch (found_by) {
            case FoundBy::heuristic:
                ++c.streams_heuristic;
                break;
            case FoundBy::rtsp:
                ++c.streams_rtsp;
                break;
            case FoundBy::rtsp_interleaved:
                ++c.streams_rtsp_interleaved;
                break;
            case FoundBy::sip:
                ++c.streams_sip;
                break;
        }
        if (index_out != nullptr) *index_out = index;
        return &self.streams_.back();
    }

    void count_rtp(StreamInfo& stream, const rtp::RtpView& rtp, std::int64_t time_ns) {
        stream.stats.on_packet(rtp.sequence(), rtp.timestamp(), time_ns,
                               static_cast<std::uint32_t>(rtp.data().size()), stream.clock_rate);
        ++self.counters_.rtp_packets;
    }

    // ----- RTCP -----

    void on_rtcp(Bytes datagram, bool trusted) {
        const auto compound = trusted ? rtp::parse_compound(datagram) : rtp::validate_compound(datagram);
        if (!compound) return;
        bool counted = false;
        for (const auto& packet : *compound) {
            if (packet.type == rtp::RtcpType::sr) {
                const auto sr = rtp::parse_sender_report(packet);
                if (!sr) continue;
                counted |= on_sender(sr->ssrc, sr->sender);
                for (std::size_t i = 0; i < sr->reports.size(); ++i)
                    counted |= on_report_block(sr->reports[i]);
            } else if (packet.type == rtp::RtcpType::rr) {
                const auto rr = rtp::parse_receiver_report(packet);
                if (!rr) continue;
                for (std::size_t i = 0; i < rr->reports.size(); ++i)
                    counted |= on_report_block(rr->reports[i]);
            }
        }
        if (counted || trusted) ++self.counters_.rtcp_packets;
    }

    bool on_sender(std::uint32_t ssrc, const rtp::SenderInfo& sender) {
        note_rtcp_ssrc(ssrc);
        const auto [first, last] = by_ssrc.equal_range(ssrc);
        for (auto it = first; it != last; ++it) {
            auto& rtcp = self.streams_[it->second].rtcp;
            ++rtcp.packets;
            ++rtcp.sender_reports;
            rtcp.last_sender_info = sender;
        }
        return first != last;
    }

    bool on_report_block(const rtp::ReportBlock& block) {
        note_rtcp_ssrc(block.ssrc);
        const auto [first, last] = by_ssrc.equal_range(block.ssrc);
        for (auto it = first; it != last; ++it) {
            auto& rtcp = self.streams_[it->second].rtcp;
            ++rtcp.packets;
            ++rtcp.receiver_reports;
            rtcp.last_report_block = block;
        }
        return first != last;
    }

    // ----- learned endpoints -----

    void learn(const IpAddress& address, std::uint16_t port, FoundBy found_by,
               const std::shared_ptr<const CodecMap>& codecs, std::int64_t now_ns) {
        if (port == 0) return;
        learned_any = true;
        Endpoint e{address, port};
        auto it = learned.find(e);
        if (it == learned.end()) {
            if (learned.size() >= self.config_.max_learned) return;
            it = learned.emplace(e, MediaHint{}).first;
            ++self.counters_.learned_endpoints;
        }
        it->second = MediaHint{found_by, codecs, now_ns};
        ++learned_generation;
    }

    void learn_range(const IpAddress& address, const rtsp::PortRange& range, FoundBy found_by,
                     const std::shared_ptr<const CodecMap>& codecs, std::int64_t now_ns) {
        learn(address, range.first, found_by, codecs, now_ns);
        // A single port means RTP and RTCP share it (RFC 5761) or RTCP is on the next port (RFC 3550 §11).
        const std::uint16_t second =
            range.is_single() ? static_cast<std::uint16_t>(range.first + 1) : range.last;
        learn(address, second, found_by, codecs, now_ns);
    }

    void learn_from_sdp(const sdp::SessionDescription& sd, FoundBy found_by, std::int64_t now_ns) {
        ++self.counters_.sdp_bodies;
        for (const auto& media : sd.media) {
            const sdp::Connection* c = !media.connections.empty() ? &media.connections.front()
                                       : sd.connection            ? &*sd.connection
                                                                  : nullptr;
            if (c == nullptr || media.port == 0) continue;
            const auto address = parse_ip(c->address);
            if (!address) continue;
            auto codecs = codecs_from_sdp(sd, &media);
            learn_range(*address, rtsp::PortRange{media.port, media.port}, found_by, codecs, now_ns);
        }
    }

    // ----- UDP -----

    void on_udp(const DecodedPacket& p, std::int64_t now_ns) {
        ++self.counters_.udp_packets;
        const FlowKey key{p.src, p.dst, p.src_port, p.dst_port};
        const std::uint64_t hash = FlowKeyHash{}(key);
        UdpFlow* found = udp.find(key, hash);
        if (found == nullptr) {
            if (udp.size() + tcp.size() >= self.config_.max_flows) {
                ++self.counters_.flows_over_cap;
                return;
            }
            found = &udp.insert(key, hash);
            note_flow_added();
            found->sip = p.src_port == k_sip_port || p.dst_port == k_sip_port;
        }
        UdpFlow& flow = *found;
        flow.last_seen_ns = now_ns;
        if (flow.learned_generation != learned_generation) {
            flow.learned_generation = learned_generation;
            auto hint = learned.find(Endpoint{p.dst, p.dst_port});
            if (hint == learned.end()) hint = learned.find(Endpoint{p.src, p.src_port});
            if (hint != learned.end()) flow.hint = hint->second;
        }
        const Bytes payload = p.payload;
        if (flow.sip || (!flow.hint && flow.streams.empty() && looks_like_sip(as_text(payload)))) {
            on_sip_datagram(payload, now_ns);
            return;
        }
        if (rtp::looks_like_rtcp(payload)) {
            on_rtcp(payload, flow.hint.has_value());
            return;
        }
        const auto rtp = rtp::parse_rtp(payload);
        if (!rtp) {
            reset_candidate(flow.candidate);
            return;
        }
        const std::uint32_t ssrc = rtp->ssrc();
        for (const auto& [s, index] : flow.streams) {
            if (s == ssrc) {
                count_rtp(self.streams_[index], *rtp, now_ns);
                return;
            }
        }
        if (flow.hint) {
            const StreamKey skey{p.src, p.dst, p.src_port, p.dst_port, ssrc, false};
            std::uint32_t index = 0;
            StreamInfo* stream =
                stream_for(skey, flow.hint->found_by, rtp->payload_type(), flow.hint->codecs.get(), &index);
            if (stream == nullptr) {
                ++self.counters_.streams_over_cap;
                return;
            }
            flow.streams.emplace_back(ssrc, index);
            count_rtp(*stream, *rtp, now_ns);
            return;
        }
        on_heuristic(flow, p, *rtp, now_ns);
    }

    void reset_candidate(Candidate& c) {
        if (!c.held.empty()) ++self.counters_.heuristic_rejects;
        c.held.clear();
        c.run = 0;
    }

    void start_candidate(Candidate& c, const rtp::RtpView& rtp, std::int64_t now_ns) {
        reset_candidate(c);
        c.ssrc = rtp.ssrc();
        c.payload_type = rtp.payload_type();
        c.last_sequence = rtp.sequence();
        c.last_timestamp = rtp.timestamp();
        c.run = 1;
        c.held.push_back(HeldPacket{rtp.sequence(), rtp.timestamp(), now_ns,
                                    static_cast<std::uint32_t>(rtp.data().size())});
    }

    void on_heuristic(UdpFlow& flow, const DecodedPacket& p, const rtp::RtpView& rtp, std::int64_t now_ns) {
        Candidate& c = flow.candidate;
        if (c.held.empty() || rtp.ssrc() != c.ssrc || rtp.payload_type() != c.payload_type) {
            start_candidate(c, rtp, now_ns);
        } else {
            const auto seq_step = static_cast<std::uint16_t>(rtp.sequence() - c.last_sequence);
            const auto back_step = static_cast<std::uint16_t>(c.last_sequence - rtp.sequence());
            const HeldPacket held{rtp.sequence(), rtp.timestamp(), now_ns,
                                  static_cast<std::uint32_t>(rtp.data().size())};
            if (seq_step >= 1 && seq_step <= k_max_heuristic_seq_step) {
                const std::uint32_t ts_step = rtp.timestamp() - c.last_timestamp;
                // Timestamps that went back or leapt end the run, as does a trial buffer full of duplicates.
                if (ts_step > std::uint32_t{seq_step} * k_max_heuristic_ts_step ||
                    c.held.size() == k_max_held_packets) {
                    start_candidate(c, rtp, now_ns);
                } else {
                    c.held.push_back(held);
                    c.last_sequence = rtp.sequence();
                    c.last_timestamp = rtp.timestamp();
                    ++c.run;
                }
            } else if (back_step <= k_max_heuristic_seq_step && c.held.size() < k_max_held_packets) {
                // A duplicate or a late packet of the same source: kept (it will count), but it does not
                // extend the run of consecutive packets.
                c.held.push_back(held);
            } else {
                start_candidate(c, rtp, now_ns);
            }
        }
        if (c.run < self.config_.min_packets) return;
        const StreamKey skey{p.src, p.dst, p.src_port, p.dst_port, c.ssrc, false};
        std::uint32_t index = 0;
        StreamInfo* stream = stream_for(skey, FoundBy::heuristic, c.payload_type, nullptr, &index);
        if (stream == nullptr) {
            self.counters_.streams_over_cap += c.held.size();
            c.held.clear();
            c.run = 0;
            return;
        }
        flow.streams.emplace_back(c.ssrc, index);
        for (const auto& h : c.held) {
            stream->stats.on_packet(h.sequence, h.timestamp, h.time_ns, h.size, stream->clock_rate);
            ++self.counters_.rtp_packets;
        }
        c.held.clear();
        c.held.shrink_to_fit();  // a confirmed flow does not need the trial buffer any more
        c.run = 0;
    }

    // ----- SIP -----

    void on_sip_message(const SipMessage& message, std::int64_t now_ns) {
        ++self.counters_.sip_messages;
        if (message.body.empty() || !istarts_with(trim(message.content_type), "application/sdp")) return;
        const auto sd = sdp::parse(message.body);
        if (!sd) return;
        learn_from_sdp(*sd, FoundBy::sip, now_ns);
    }

    void on_sip_datagram(Bytes payload, std::int64_t now_ns) {
        const auto parsed = parse_sip_message(as_text(payload), true);
        if (parsed.done()) on_sip_message(parsed.value, now_ns);
    }

    // ----- TCP -----

    void on_tcp(const DecodedPacket& p, std::int64_t now_ns) {
        ++self.counters_.tcp_segments;
        const FlowKey key{p.src, p.dst, p.src_port, p.dst_port};
        int dir = 0;
        auto it = tcp.find(key);
        if (it == tcp.end()) {
            it = tcp.find(FlowKey{p.dst, p.src, p.dst_port, p.src_port});
            dir = 1;
        }
        if (it == tcp.end()) {
            if (p.payload.empty() && (p.tcp_flags & k_tcp_syn) == 0)
                return;  // a lone ACK of an unknown connection
            if (udp.size() + tcp.size() >= self.config_.max_flows) {
                ++self.counters_.flows_over_cap;
                return;
            }
            it = tcp.emplace(key, TcpConnection{}).first;
            note_flow_added();
            it->second.forward = key;
            dir = 0;
        }
        TcpConnection& conn = it->second;
        conn.last_seen_ns = now_ns;
        if (conn.kind == TcpKind::ignored) return;
        if (conn.kind == TcpKind::unknown && !p.payload.empty()) {
            const auto text = as_text(p.payload);
            if (starts_like_rtsp(text) || p.src_port == 554 || p.dst_port == 554) {
                conn.kind = TcpKind::rtsp;
                ++self.counters_.rtsp_connections;
            } else if (looks_like_sip(text) || p.src_port == k_sip_port || p.dst_port == k_sip_port) {
                conn.kind = TcpKind::sip;
            } else {
                // Not signalling we follow: forget the buffers, keep a tombstone so later segments are cheap.
                conn = TcpConnection{};
                conn.kind = TcpKind::ignored;
                conn.last_seen_ns = now_ns;
                conn.forward = it->first;
                return;
            }
        }
        auto& d = conn.dirs[static_cast<std::size_t>(dir)];
        const bool fresh = d.reassembly.on_segment(p.tcp_seq, (p.tcp_flags & k_tcp_syn) != 0, p.payload);
        if (d.reassembly.take_gap()) {
            d.desync = true;
            ++self.counters_.rtsp_resyncs;
        }
        if (!fresh || conn.kind == TcpKind::unknown) return;
        const FlowKey dir_key = dir == 0 ? conn.forward
                                         : FlowKey{conn.forward.dst, conn.forward.src, conn.forward.dst_port,
                                                   conn.forward.src_port};
        if (conn.kind == TcpKind::rtsp)
            drain_rtsp(conn, dir, dir_key, now_ns);
        else
            drain_sip(conn, dir, now_ns);
    }

    void drain_sip(TcpConnection& conn, int dir, std::int64_t now_ns) {
        auto& d = conn.dirs[static_cast<std::size_t>(dir)];
        std::size_t offset = 0;
        const std::string& data = d.reassembly.data();
        while (offset < data.size()) {
            const std::string_view rest = std::string_view(data).substr(offset);
            if (d.desync) {
                const auto at = rest.find("SIP/2.0");
                if (at == std::string_view::npos) {
                    offset = data.size();
                    break;
                }
                // Back up to the start of that line (a request line ends with SIP/2.0).
                const auto line = rest.rfind('\n', at);
                offset += line == std::string_view::npos ? 0 : line + 1;
                d.desync = false;
                continue;
            }
            const auto parsed = parse_sip_message(rest, false);
            if (parsed.need_more()) break;
            if (parsed.failed()) {
                d.desync = true;
                offset += 1;
                continue;
            }
            on_sip_message(parsed.value, now_ns);
            offset += parsed.consumed;
        }
        d.reassembly.consume(offset);
    }

    // Finds where an RTSP item may start after a gap: a "$" with a channel this connection set up, or a
    // line that begins like an RTSP request or response.
    static std::size_t resync_point(std::string_view data, const TcpConnection& conn) {
        for (std::size_t i = 0; i < data.size(); ++i) {
            if (data[i] == '$' && i + 1 < data.size()) {
                // Without SETUP seen, any channel below 16 will do (clients number them from 0).
                if (static_cast<unsigned char>(data[i + 1]) < 16) return i;
            }
            if ((i == 0 || data[i - 1] == '\n') && starts_like_rtsp(data.substr(i))) return i;
        }
        (void)conn;
        return std::string_view::npos;
    }

    void drain_rtsp(TcpConnection& conn, int dir, const FlowKey& dir_key, std::int64_t now_ns) {
        auto& d = conn.dirs[static_cast<std::size_t>(dir)];
        const std::string& data = d.reassembly.data();
        const auto* bytes = reinterpret_cast<const std::uint8_t*>(data.data());
        std::size_t offset = 0;
        while (offset < data.size()) {
            if (d.desync) {
                const auto at = resync_point(std::string_view(data).substr(offset), conn);
                if (at == std::string_view::npos) {
                    offset = data.size() > 16 ? std::max(offset, data.size() - 16) : offset;
                    break;
                }
                offset += at;
                d.desync = false;
            }
            const auto parsed = rtsp::parse_item(Bytes(bytes + offset, data.size() - offset));
            if (parsed.need_more()) break;
            if (parsed.failed()) {
                d.desync = true;
                ++self.counters_.rtsp_resyncs;
                offset += 1;
                continue;
            }
            on_rtsp_item(conn, dir, dir_key, parsed.value, now_ns);
            offset += parsed.consumed;
        }
        d.reassembly.consume(offset);
    }

    void on_rtsp_item(TcpConnection& conn, int dir, const FlowKey& dir_key, const rtsp::Item& item,
                      std::int64_t now_ns) {
        if (const auto* frame = std::get_if<rtsp::InterleavedFrame>(&item)) {
            on_interleaved(conn, dir_key, *frame, now_ns);
            return;
        }
        ++self.counters_.rtsp_messages;
        if (const auto* request = std::get_if<rtsp::Request>(&item)) {
            conn.client_dir = dir;
            const auto* cseq = request->headers.get("CSeq");
            const auto n = cseq != nullptr ? parse_uint<std::uint32_t>(trim(*cseq)) : std::nullopt;
            if (request->method == "SETUP" && n && conn.setups.size() < 64) {
                const auto* transport = request->headers.get("Transport");
                conn.setups[*n] = PendingSetup{transport != nullptr ? *transport : std::string{}};
            }
            on_rtsp_body(conn, request->headers, request->body, now_ns);
            return;
        }
        const auto& response = std::get<rtsp::Response>(item);
        on_rtsp_body(conn, response.headers, response.body, now_ns);
        const auto* cseq = response.headers.get("CSeq");
        const auto n = cseq != nullptr ? parse_uint<std::uint32_t>(trim(*cseq)) : std::nullopt;
        if (!n) return;
        const auto setup = conn.setups.find(*n);
        if (setup == conn.setups.end()) return;
        const std::string request_transport = std::move(setup->second.transport);
        conn.setups.erase(setup);
        if (response.status < 200 || response.status >= 300) return;
        const auto* reply_transport = response.headers.get("Transport");
        const auto specs =
            rtsp::parse_transport(reply_transport != nullptr ? *reply_transport : request_transport);
        if (!specs || specs->empty()) return;
        // The replying side is the server; the connection's addresses stand in for absent destination/source.
        const FlowKey server_to_client = dir_key;
        learn_from_transport(conn, specs->front(), server_to_client, now_ns);
    }

    void learn_from_transport(TcpConnection& conn, const rtsp::TransportSpec& spec,
                              const FlowKey& server_to_client, std::int64_t now_ns) {
        ++self.counters_.rtsp_setups;
        if (spec.is_tcp()) {
            if (spec.interleaved && spec.interleaved->last != spec.interleaved->first &&
                conn.rtcp_channels.size() < 64)
                conn.rtcp_channels.push_back(spec.interleaved->last);
            return;
        }
        IpAddress client = server_to_client.dst;
        IpAddress server = server_to_client.src;
        if (spec.destination && !spec.destination->empty())
            if (const auto a = parse_ip(*spec.destination)) client = *a;
        if (spec.source && !spec.source->empty())
            if (const auto a = parse_ip(*spec.source)) server = *a;
        if (spec.is_multicast() && spec.port) {
            learn_range(client, *spec.port, FoundBy::rtsp, conn.codecs, now_ns);
            return;
        }
        if (spec.client_port) learn_range(client, *spec.client_port, FoundBy::rtsp, conn.codecs, now_ns);
        if (spec.server_port) learn_range(server, *spec.server_port, FoundBy::rtsp, conn.codecs, now_ns);
    }

    void on_rtsp_body(TcpConnection& conn, const rtsp::Headers& headers, const std::string& body,
                      std::int64_t now_ns) {
        if (body.empty()) return;
        const auto* type = headers.get("Content-Type");
        if (type == nullptr || !istarts_with(trim(*type), "application/sdp")) return;
        const auto sd = sdp::parse(body);
        if (!sd) return;
        ++self.counters_.sdp_bodies;
        conn.codecs = codecs_from_sdp(*sd);
        (void)now_ns;
    }

    void on_interleaved(TcpConnection& conn, const FlowKey& dir_key, const rtsp::InterleavedFrame& frame,
                        std::int64_t now_ns) {
        const bool rtcp_channel = std::find(conn.rtcp_channels.begin(), conn.rtcp_channels.end(),
                                            frame.channel) != conn.rtcp_channels.end();
        if (rtcp_channel || rtp::looks_like_rtcp(frame.payload)) {
            on_rtcp(frame.payload, true);
            return;
        }
        const auto rtp = rtp::parse_rtp(frame.payload);
        if (!rtp) return;
        const StreamKey key{dir_key.src, dir_key.dst, dir_key.src_port, dir_key.dst_port, rtp->ssrc(), true};
        StreamInfo* stream =
            stream_for(key, FoundBy::rtsp_interleaved, rtp->payload_type(), conn.codecs.get(), nullptr);
        if (stream == nullptr) {
            ++self.counters_.streams_over_cap;
            return;
        }
        count_rtp(*stream, *rtp, now_ns);
    }

    // ----- expiry -----

    void sweep(std::int64_t now_ns) {
        const std::int64_t horizon = now_ns - self.config_.flow_timeout_ns;
        self.counters_.flows_expired +=
            udp.erase_if([horizon](const UdpFlow& flow) { return flow.last_seen_ns < horizon; });
        for (auto it = tcp.begin(); it != tcp.end();) {
            if (it->second.last_seen_ns < horizon) {
                it = tcp.erase(it);
                ++self.counters_.flows_expired;
            } else {
                ++it;
            }
        }
        // Learned endpoints outlive idle flows (a paused session resumes on the same ports).
        const std::int64_t learned_horizon = now_ns - 10 * self.config_.flow_timeout_ns;
        for (auto it = learned.begin(); it != learned.end();) {
            if (it->second.last_used_ns < learned_horizon)
                it = learned.erase(it);
            else
                ++it;
        }
    }
};

Detector::Detector(DetectorConfig config) : config_(config), state_(std::make_unique<State>(*this)) {
    config_.min_packets = std::clamp(config_.min_packets, 1u, k_max_min_packets);
}

Detector::~Detector() = default;

std::size_t Detector::tracked_flows() const noexcept {
    return state_->udp.size() + state_->tcp.size() + state_->merged_flows;
}

std::size_t Detector::learned_endpoint_count() const noexcept {
    return state_->learned.size();
}

void Detector::on_frame(int link_type, std::int64_t time_ns, Bytes frame) {
    DecodedPacket packet;
    const DecodeStatus status = decode_frame(link_type, frame, packet);
    on_decoded_frame(status, packet, time_ns);
}

void Detector::on_decoded_frame(DecodeStatus status, const DecodedPacket& packet, std::int64_t time_ns) {
    frame_index_ = counters_.frames;
    ++counters_.frames;
    ++counters_.decode[static_cast<std::size_t>(status)];
    if (status == DecodeStatus::ok) on_packet(packet, time_ns);
}

void Detector::prefetch(const DecodedPacket& packet) const noexcept {
    if (packet.protocol != k_ip_proto_udp) return;
    state_->udp.prefetch(FlowKeyHash{}(FlowKey{packet.src, packet.dst, packet.src_port, packet.dst_port}));
}

void Detector::on_packet(const DecodedPacket& packet, std::int64_t time_ns) {
    State& s = *state_;
    on_foreign_packet(time_ns);
    if (packet.protocol == k_ip_proto_udp)
        s.on_udp(packet, time_ns);
    else if (packet.protocol == k_ip_proto_tcp)
        s.on_tcp(packet, time_ns);
}

void Detector::on_foreign_packet(std::int64_t time_ns) {
    State& s = *state_;
    if (!s.swept_once) {
        s.swept_once = true;
        s.last_sweep_ns = time_ns;
        ++s.clock_events;
    } else if (time_ns - s.last_sweep_ns >= s.sweep_interval_ns) {
        s.last_sweep_ns = time_ns;
        s.sweep(time_ns);
        ++s.clock_events;
    }
}

std::uint64_t Detector::clock_events() const noexcept {
    return state_->clock_events;
}

void Detector::on_partition_frame(std::uint64_t frame_index, DecodeStatus status, const DecodedPacket& packet,
                                  std::int64_t time_ns) {
    state_->partitioned = true;
    frame_index_ = frame_index;
    ++counters_.frames;
    ++counters_.decode[static_cast<std::size_t>(status)];
    if (status == DecodeStatus::ok) on_packet(packet, time_ns);
}

bool Detector::learned_any() const noexcept {
    return state_->learned_any;
}

std::size_t flow_partition(const DecodedPacket& packet, std::size_t parts) noexcept {
    // Every thread runs this on every frame of the capture: one finaliser, no division (perf: the first
    // version, four finalisers and a modulo, took 13 % of a two-thread run). A sum is symmetric in the two
    // addresses, so both directions land in the same partition.
    const auto fold = [](const IpAddress& a) noexcept {
        return word(a, 0) * 0x9e3779b97f4a7c15ULL ^ word(a, 8) * 0xc2b2ae3d27d4eb4fULL ^ a.family;
    };
    const std::uint64_t h = mix(fold(packet.src) + fold(packet.dst));
    return static_cast<std::size_t>(((h >> 32) * parts) >> 32);
}

bool merge_partitions(std::vector<std::unique_ptr<Detector>>& parts, Detector& into, std::string& why_not) {
    std::size_t flows = 0;
    std::size_t streams = 0;
    for (const auto& part : parts) {
        const auto& s = *part->state_;
        if (s.learned_any) {
            why_not = "signalling taught media endpoints";
            return false;
        }
        if (s.rtcp_ssrcs_overflow) {
            why_not = "too many SSRCs named by RTCP";
            return false;
        }
        flows += s.peak_flows;
        streams += part->streams_.size();
    }
    if (flows > into.config_.max_flows) {
        why_not = "the flow table could have reached its cap";
        return false;
    }
    if (streams > into.config_.max_streams) {
        why_not = "the stream table could have reached its cap";
        return false;
    }
    // RTCP counts into every stream of the SSRC it names, whichever flow it came on: a partition's RTCP
    // must not name an SSRC that another partition has a stream for.
    std::vector<std::vector<std::uint32_t>> stream_ssrcs(parts.size());
    for (std::size_t p = 0; p < parts.size(); ++p) {
        for (const auto& stream : parts[p]->streams_)
            stream_ssrcs[p].push_back(stream.key.ssrc);
        std::sort(stream_ssrcs[p].begin(), stream_ssrcs[p].end());
    }
    for (std::size_t p = 0; p < parts.size(); ++p) {
        for (const std::uint32_t ssrc : parts[p]->state_->rtcp_ssrcs) {
            for (std::size_t q = 0; q < parts.size(); ++q) {
                if (q != p && std::binary_search(stream_ssrcs[q].begin(), stream_ssrcs[q].end(), ssrc)) {
                    why_not = "RTCP names an SSRC of another partition's stream";
                    return false;
                }
            }
        }
    }

    // Streams in the order a single run creates them: by the frame that created them (a frame belongs to
    // one partition, whose own order is kept for streams created by the same frame).
    struct Source {
        std::uint64_t frame;
        std::size_t part;
        std::size_t index;
    };
    std::vector<Source> order;
    order.reserve(streams);
    for (std::size_t p = 0; p < parts.size(); ++p)
        for (std::size_t i = 0; i < parts[p]->streams_.size(); ++i)
            order.push_back(Source{parts[p]->stream_first_frame_[i], p, i});
    std::stable_sort(order.begin(), order.end(),
                     [](const Source& a, const Source& b) { return a.frame < b.frame; });
    into.streams_.clear();
    into.stream_first_frame_.clear();
    for (const auto& src : order) {
        into.streams_.push_back(std::move(parts[src.part]->streams_[src.index]));
        into.stream_first_frame_.push_back(src.frame);
    }
    for (auto& part : parts) {
        part->streams_.clear();
        part->stream_first_frame_.clear();
    }

    // Counters: every one is a sum over the partitions.
    DetectorCounters& c = into.counters_;
    c = DetectorCounters{};
    for (const auto& part : parts) {
        const DetectorCounters& p = part->counters_;
        c.frames += p.frames;
        c.udp_packets += p.udp_packets;
        c.tcp_segments += p.tcp_segments;
        c.rtp_packets += p.rtp_packets;
        c.rtcp_packets += p.rtcp_packets;
        c.streams_heuristic += p.streams_heuristic;
        c.streams_rtsp += p.streams_rtsp;
        c.streams_rtsp_interleaved += p.streams_rtsp_interleaved;
        c.streams_sip += p.streams_sip;
        c.rtsp_connections += p.rtsp_connections;
        c.rtsp_messages += p.rtsp_messages;
        c.rtsp_setups += p.rtsp_setups;
        c.rtsp_resyncs += p.rtsp_resyncs;
        c.sip_messages += p.sip_messages;
        c.sdp_bodies += p.sdp_bodies;
        c.learned_endpoints += p.learned_endpoints;
        c.heuristic_rejects += p.heuristic_rejects;
        c.flows_expired += p.flows_expired;
        c.flows_over_cap += p.flows_over_cap;
        c.streams_over_cap += p.streams_over_cap;
        c.tcp_bytes_skipped += p.tcp_bytes_skipped;
        for (std::size_t i = 0; i < c.decode.size(); ++i)
            c.decode[i] += p.decode[i];
        into.state_->merged_flows += part->tracked_flows();
    }
    return true;
}

}  // namespace sg::detect

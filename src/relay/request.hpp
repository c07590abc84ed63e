#pragma once
// What a SIP proxy asks of the media relay, independent of the control protocol that carried it. The ng
// codec (rtpengine's bencoded protocol) and the rtpproxy codec both decode into a Request and encode an
// Outcome; the call table (call_table.hpp) acts on Requests and never sees wire formats.
//
// Tags: every command that sets up media names the *speaker* (the party whose media address it carries:
// the caller in an offer, the callee in an answer) and the *peer* (the other party). Codecs normalise the
// protocols' own tag order into these two fields, so the call table has one rule.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sg::relay {

enum class Op {
    ping,
    offer,            // ng "offer", rtpproxy U
    answer,           // ng "answer", rtpproxy L
    remove,           // ng "delete", rtpproxy D
    query,            // ng "query", rtpproxy Q
    list,             // ng "list"
    statistics,       // ng "statistics", rtpproxy I
    start_recording,  // ng "start recording", rtpproxy R
    stop_recording,   // ng "stop recording"
    play_media,       // ng "play media", rtpproxy P
    stop_media,       // ng "stop media", rtpproxy S
    version,          // rtpproxy V
    version_feature,  // rtpproxy VF <date>
};

enum class Family : std::uint8_t { unspecified, ip4, ip6 };

// An IP address and port in network byte order, family-tagged; comparisons are exact.
struct Address {
    Family family = Family::unspecified;
    std::array<std::uint8_t, 16> bytes{};  // IPv4 uses the first 4 bytes
    std::uint16_t port = 0;
    bool operator==(const Address&) const = default;
};

// Flags and keys of ng requests (rtpproxy modifiers map onto the same fields). Defaults are rtpengine's.
struct Options {
    bool sip_source_address = false;  // use received-from instead of the SDP's address
    bool trust_address = false;       // use the SDP's address as is (no latching to the source host)
    bool asymmetric = false;          // do not latch: send to the announced address, accept any source
    bool strict_source = false;       // after latching, drop packets from any other source
    bool port_latching = false;       // latch on the first packet even from an unexpected host
    bool replace_origin = false;      // replace the o= address too
    bool replace_session_connection = false;  // replace the session-level c= (media-level c= always)
    bool ice_remove = false;
    bool ice_force = false;                // strip the peer's candidates and add the relay's own
    bool rtcp_mux_offer = false;           // rtcp-mux: "offer"/"require": answer with one port per media
    bool rtcp_mux_demux = false;           // rtcp-mux: "demux": separate RTCP again on the other side
    bool rtcp_mux_require = false;         // rtcp-mux: "require": no separate RTCP port even in an offer
    bool rtcp_mux_accept = false;          // rtcp-mux: "accept": accept it and offer it on if offered
    bool rtcp_mux_reject = false;          // rtcp-mux: "reject": refuse rtcp-mux if offered
    std::optional<Family> family;          // "address family": the family of the SDP this command returns
    std::vector<std::string> direction;    // interface names, one per side, e.g. "external" "internal"
    std::string transport_protocol;        // e.g. "RTP/AVP"; empty keeps the offer's
    std::string media_address;             // ng "media address": the address the speaker's media comes from
    std::optional<Address> received_from;  // ng "received from": where the SIP message came from
};

struct Request {
    Op op = Op::ping;
    std::string call_id;
    std::string speaker_tag;  // see the note at the top
    std::string peer_tag;     // empty in an initial offer
    std::string via_branch;
    Options options;

    // ng: the speaker's SDP, rewritten in the reply.
    std::string sdp;

    // rtpproxy: one media stream per command instead of an SDP; `media_index` is the ";N" suffix of the
    // speaker's tag (1-based, 1 when absent), `media` the speaker's address and port from the SDP.
    std::optional<Address> media;
    unsigned media_index = 1;

    // play media: the file to play, and for how many times (0 = until stopped).
    std::string file;
    unsigned repeat_times = 1;
    // rtpproxy VF: the capability date asked about.
    std::string feature;
};

// Per-direction counters of one side of one stream, as query and the end-of-call log report them.
struct StreamCounters {
    std::uint64_t packets = 0;
    std::uint64_t bytes = 0;
    std::uint64_t errors = 0;           // dropped: from an unexpected source, unparsable, send failures
    std::int64_t last_packet_unix = 0;  // seconds, 0 = never
};

struct StreamReport {
    unsigned index = 0;                // 1-based media section index
    std::string media;                 // "audio", "video"
    Address local;                     // the relay's port this side talks to
    std::optional<Address> announced;  // from the SDP or the rtpproxy command
    std::optional<Address> latched;    // where media for this side actually goes
    StreamCounters received;           // from this side into the relay
};

struct LegReport {
    std::string tag;
    std::vector<StreamReport> streams;
};

struct CallReport {
    std::string call_id;
    std::int64_t created_unix = 0;
    std::int64_t last_signal_unix = 0;
    std::vector<LegReport> legs;
};

struct GlobalStatistics {
    std::uint64_t current_calls = 0;
    std::uint64_t total_calls = 0;
    std::uint64_t timed_out_calls = 0;
    std::uint64_t relayed_packets = 0;
    std::uint64_t relayed_bytes = 0;
    std::uint64_t dropped_packets = 0;
    std::uint64_t kernel_packets = 0;  // of relayed_packets, those the kernel forwarded (kernel_flow.hpp)
    std::uint64_t kernel_bytes = 0;
    std::uint64_t ports_in_use = 0;
    std::uint64_t ports_free = 0;
};

// What the relay answers. `error` set means failure; rtpproxy encodes it as E<rtpproxy_error>, ng as
// result "error" with error-reason.
struct Outcome {
    std::optional<std::string> error;
    int rtpproxy_error = 0;             // E-code for the rtpproxy protocol (see rtpproxy_codec.hpp)
    std::vector<std::string> warnings;  // ng "warning" (e.g. an unknown flag)

    std::string sdp;                             // offer/answer over ng
    std::optional<Address> media;                // offer/answer over rtpproxy: where the peer must send
    std::optional<CallReport> call;              // query
    std::vector<std::string> call_ids;           // list
    std::optional<GlobalStatistics> statistics;  // statistics / rtpproxy I
    bool feature_supported = false;              // rtpproxy VF
    std::optional<std::int64_t> ttl_seconds;     // rtpproxy Q's first field: seconds until the call times out
};

}  // namespace sg::relay

#pragma once
// SDP session descriptions (RFC 4566): a lossless model, a bounded lenient parser and a serializer.
//
// Implements the RFC 4566 §5 grammar: session level v= o= s= i= u= e= p= c= b= (t= r=*)* z= k= a=*,
// then media sections (§5.14) m= i= c=* b=* k= a=*. Round trip guarantees:
//   parse(to_string(x)) == x  for every x that parse() returned, and
//   to_string(parse(text)) == text  for text in canonical form (CRLF, §5 field order, single spaces).
//
// Leniency, because cameras and servers are sloppy:
// - bare LF line ends, a missing final line end, empty lines, trailing spaces/tabs on structured lines
//   (o= c= m= t= b= v= a=) and runs of spaces between their fields;
// - fields in any order inside a section (to_string writes §5 order);
// - a missing s= becomes " " (§5.3's name for an unnamed session, so the output stays valid) and a
//   missing t= leaves `timings` empty (nothing is written back);
// - RFC 4566 §5 says to ignore a whole description that has an unknown type letter, but GB/T 28181
//   cameras send y= and f=, so unknown letters, session-only letters inside a media section and
//   repeats of single fields (a second s= i= u= k=) are kept verbatim in `extra_lines` and written
//   back after the section's attributes.
// Errors: no leading v=, a second v=, missing o=, a second o= or session c=, o= inside a media
// section, malformed v=/o=/c=/m=/t=/b=, r= before any t=, CR or NUL inside a line, and the limits.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "common/units.hpp"

namespace sg::sdp {

inline constexpr std::size_t k_max_size = 64 * k_kib;  // bytes of SDP text
inline constexpr std::size_t k_max_lines = 4096;       // non-empty lines
inline constexpr std::size_t k_max_media = 64;         // m= sections
inline constexpr std::size_t k_max_attributes = 512;   // a= lines per section (WebRTC offers use ~150)
inline constexpr std::size_t k_max_formats = 256;      // formats on one m= line

// a=<name>[:<value>] (§5.13); property attributes (a=recvonly) have no value.
struct Attribute {
    std::string name;
    std::optional<std::string> value;
    bool operator==(const Attribute&) const = default;
};

// o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address> (§5.2). The ids are
// kept as text: they are opaque, may exceed 64 bits and leading zeros must survive.
struct Origin {
    std::string username;
    std::string session_id;
    std::string session_version;
    std::string nettype;
    std::string addrtype;
    std::string address;
    bool operator==(const Origin&) const = default;
};

// c=<nettype> <addrtype> <address>[/<ttl>][/<count>] (§5.7). For IP4 a single suffix is the TTL and a
// second one the number of addresses; IP6 has no TTL, so its single suffix is the number of addresses.
struct Connection {
    std::string nettype;
    std::string addrtype;  // "IP4" or "IP6" in practice
    std::string address;
    std::optional<std::uint32_t> ttl;
    std::optional<std::uint32_t> count;
    bool operator==(const Connection&) const = default;
};

// b=<bwtype>:<bandwidth> (§5.8), bandwidth in kilobits per second for CT and AS.
struct Bandwidth {
    std::string type;
    std::uint64_t value = 0;
    bool operator==(const Bandwidth&) const = default;
};

// t=<start> <stop> (§5.9) and the r= lines that follow it (§5.10, kept as raw text).
struct Timing {
    std::uint64_t start = 0;
    std::uint64_t stop = 0;
    std::vector<std::string> repeats;
    bool operator==(const Timing&) const = default;
};

// A line the model has no place for (see the leniency notes above), kept verbatim.
struct ExtraLine {
    char type = 'x';  // a lowercase letter
    std::string value;
    bool operator==(const ExtraLine&) const = default;
};

// m=<media> <port>[/<number of ports>] <proto> <fmt> ... (§5.14) and its own fields.
struct MediaDescription {
    std::string media;  // "audio", "video", "application", ...
    std::uint16_t port = 0;
    std::optional<std::uint16_t> port_count;
    std::string proto;                 // "RTP/AVP", ...
    std::vector<std::string> formats;  // RTP payload types for RTP protos
    std::optional<std::string> information;
    std::vector<Connection> connections;
    std::vector<Bandwidth> bandwidths;
    std::optional<std::string> key;
    std::vector<Attribute> attributes;
    std::vector<ExtraLine> extra_lines;
    bool operator==(const MediaDescription&) const = default;
};

struct SessionDescription {
    std::uint32_t version = 0;
    Origin origin;
    std::string session_name = " ";
    std::optional<std::string> information;
    std::optional<std::string> uri;
    std::vector<std::string> emails;
    std::vector<std::string> phones;
    std::optional<Connection> connection;
    std::vector<Bandwidth> bandwidths;
    std::vector<Timing> timings;
    std::vector<std::string> time_zones;  // z= lines, raw (§5.11)
    std::optional<std::string> key;       // k= (§5.12), raw
    std::vector<Attribute> attributes;
    std::vector<ExtraLine> extra_lines;
    std::vector<MediaDescription> media;
    bool operator==(const SessionDescription&) const = default;
};

sg::Result<SessionDescription> parse(std::string_view text);

// Writes CRLF-terminated lines in §5 order. Values must not contain CR, LF or NUL (parse() never
// produces such values; the rewrite helpers refuse to introduce them).
std::string to_string(const SessionDescription& sd);

}  // namespace sg::sdp

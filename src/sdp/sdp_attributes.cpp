#include "sdp/sdp_attributes.hpp"

#include <array>
#include <utility>

#include "common/text.hpp"

namespace sg::sdp {
namespace {

std::optional<std::uint8_t> parse_payload_type(std::string_view s) noexcept {
    const auto pt = parse_uint<std::uint8_t>(s);
    if (!pt || *pt > 127) return std::nullopt;
    return pt;
}

// Splits "<payload type> <rest>" as written at the start of rtpmap and fmtp values.
bool split_payload_type(std::string_view value, std::uint8_t& pt, std::string_view& rest) noexcept {
    std::string_view v = trim(value);
    std::size_t end = 0;
    while (end < v.size() && !is_space_or_tab(v[end]))
        ++end;
    const auto parsed = parse_payload_type(v.substr(0, end));
    if (!parsed) return false;
    pt = *parsed;
    rest = trim(v.substr(end));
    return true;
}

std::optional<std::string_view> trimmed_value(const std::vector<Attribute>& attributes,
                                              std::string_view name) noexcept {
    const Attribute* a = find_attribute(attributes, name);
    if (a == nullptr || !a->value) return std::nullopt;
    return trim(*a->value);
}

struct StaticPayload {
    std::uint8_t pt;
    std::string_view encoding;
    std::uint32_t clock_rate;
    std::uint32_t channels;  // 0: not written in an rtpmap (one channel or video)
};

// RFC 3551 §6, tables 4 and 5 (the assigned, not the reserved or unassigned, numbers).
constexpr std::array<StaticPayload, 24> k_static_payloads{{
    {0, "PCMU", 8000, 0},   {3, "GSM", 8000, 0},    {4, "G723", 8000, 0},   {5, "DVI4", 8000, 0},
    {6, "DVI4", 16000, 0},  {7, "LPC", 8000, 0},    {8, "PCMA", 8000, 0},   {9, "G722", 8000, 0},
    {10, "L16", 44100, 2},  {11, "L16", 44100, 0},  {12, "QCELP", 8000, 0}, {13, "CN", 8000, 0},
    {14, "MPA", 90000, 0},  {15, "G728", 8000, 0},  {16, "DVI4", 11025, 0}, {17, "DVI4", 22050, 0},
    {18, "G729", 8000, 0},  {25, "CelB", 90000, 0}, {26, "JPEG", 90000, 0}, {28, "nv", 90000, 0},
    {31, "H261", 90000, 0}, {32, "MPV", 90000, 0},  {33, "MP2T", 90000, 0}, {34, "H263", 90000, 0},
}};

}  // namespace

const Attribute* find_attribute(const std::vector<Attribute>& attributes, std::string_view name) noexcept {
    for (const auto& a : attributes) {
        if (iequals(a.name, name)) return &a;
    }
    return nullptr;
}

sg::Result<RtpMap> parse_rtpmap(std::string_view value) {
    RtpMap map;
    std::string_view rest;
    if (!split_payload_type(value, map.payload_type, rest)) return fail("rtpmap payload type is not 0..127");
    const std::string_view encoding = pop_token(rest, '/');
    if (encoding.empty()) return fail("rtpmap has no encoding name");
    const std::string_view clock = pop_token(rest, '/');
    const auto rate = parse_uint<std::uint32_t>(clock);
    if (!rate) return fail("rtpmap clock rate is not a number");
    map.encoding = std::string(encoding);
    map.clock_rate = *rate;
    if (!rest.empty()) {
        const auto channels = parse_uint<std::uint32_t>(rest);
        if (!channels) return fail("rtpmap channel count is not a number");
        map.channels = channels;
    }
    return map;
}

std::optional<RtpMap> find_rtpmap(const MediaDescription& media, std::uint8_t payload_type) {
    for (const auto& a : media.attributes) {
        if (!a.value || !iequals(a.name, "rtpmap")) continue;
        auto map = parse_rtpmap(*a.value);
        if (map && map->payload_type == payload_type) return std::move(*map);
    }
    for (const auto& s : k_static_payloads) {
        if (s.pt != payload_type) continue;
        RtpMap map{s.pt, std::string(s.encoding), s.clock_rate, std::nullopt};
        if (s.channels != 0) map.channels = s.channels;
        return map;
    }
    return std::nullopt;
}

sg::Result<Fmtp> parse_fmtp(std::string_view value) {
    Fmtp fmtp;
    std::string_view rest;
    if (!split_payload_type(value, fmtp.payload_type, rest)) return fail("fmtp payload type is not 0..127");
    while (!rest.empty()) {
        const std::string_view item = trim(pop_token(rest, ';'));
        if (item.empty()) continue;  // "a;;b" and the common trailing ';'
        if (fmtp.parameters.size() == k_max_fmtp_parameters) return fail("too many fmtp parameters");
        std::string_view tail = item;
        const std::string_view name = trim(pop_token(tail, '='));
        fmtp.parameters.push_back(FmtpParameter{std::string(name), std::string(trim(tail))});
    }
    return fmtp;
}

std::optional<Fmtp> find_fmtp(const MediaDescription& media, std::uint8_t payload_type) {
    for (const auto& a : media.attributes) {
        if (!a.value || !iequals(a.name, "fmtp")) continue;
        auto fmtp = parse_fmtp(*a.value);
        if (fmtp && fmtp->payload_type == payload_type) return std::move(*fmtp);
    }
    return std::nullopt;
}

std::optional<std::string_view> fmtp_parameter(const Fmtp& fmtp, std::string_view name) noexcept {
    for (const auto& p : fmtp.parameters) {
        if (iequals(p.name, name)) return std::string_view(p.value);
    }
    return std::nullopt;
}

std::optional<std::string_view> control_url(const SessionDescription& sd) noexcept {
    return trimmed_value(sd.attributes, "control");
}
std::optional<std::string_view> control_url(const MediaDescription& media) noexcept {
    return trimmed_value(media.attributes, "control");
}

std::optional<std::string_view> range_value(const SessionDescription& sd) noexcept {
    return trimmed_value(sd.attributes, "range");
}
std::optional<std::string_view> range_value(const MediaDescription& media) noexcept {
    return trimmed_value(media.attributes, "range");
}

MediaKind media_kind(const MediaDescription& media) noexcept {
    if (iequals(media.media, "audio")) return MediaKind::audio;
    if (iequals(media.media, "video")) return MediaKind::video;
    if (iequals(media.media, "application")) return MediaKind::application;
    return MediaKind::other;
}

std::vector<std::uint8_t> payload_types(const MediaDescription& media) {
    std::vector<std::uint8_t> out;
    out.reserve(media.formats.size());
    for (const auto& f : media.formats) {
        if (const auto pt = parse_payload_type(f)) out.push_back(*pt);
    }
    return out;
}

}  // namespace sg::sdp

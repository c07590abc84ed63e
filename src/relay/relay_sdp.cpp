#include "relay/relay_sdp.hpp"

#include <algorithm>
#include <array>
#include <string_view>

#include "common/text.hpp"
#include "relay/address.hpp"
#include "sdp/sdp_attributes.hpp"
#include "sdp/sdp_rewrite.hpp"

namespace sg::relay {
namespace {

constexpr std::array<std::string_view, 8> k_ice_attributes = {
    "candidate", "ice-ufrag",    "ice-pwd",           "ice-options",
    "ice-lite",  "ice-mismatch", "remote-candidates", "end-of-candidates"};

bool is_ice_attribute(const sdp::Attribute& attribute) {
    return std::any_of(k_ice_attributes.begin(), k_ice_attributes.end(),
                       [&](std::string_view name) { return iequals(attribute.name, name); });
}

MediaDirection direction_of(const std::vector<sdp::Attribute>& attributes, MediaDirection fallback) {
    for (const auto& attribute : attributes) {
        if (iequals(attribute.name, "sendonly")) return MediaDirection::sendonly;
        if (iequals(attribute.name, "recvonly")) return MediaDirection::recvonly;
        if (iequals(attribute.name, "inactive")) return MediaDirection::inactive;
        if (iequals(attribute.name, "sendrecv")) return MediaDirection::sendrecv;
    }
    return fallback;
}

// a=rtcp:<port> [IN <addrtype> <address>] (RFC 3605 §2.1).
std::optional<Address> parse_rtcp_attribute(std::string_view value, const Address& rtp) {
    value = trim(value);
    const auto port = parse_uint<std::uint16_t>(pop_token(value, ' '));
    if (!port) return std::nullopt;
    Address rtcp = rtp;
    rtcp.port = *port;
    value = trim(value);
    if (value.empty()) return rtcp;
    if (!iequals(pop_token(value, ' '), "IN")) return std::nullopt;
    pop_token(value, ' ');  // the addrtype: the literal tells the family
    if (auto address = parse_ip(trim(value), *port)) return address;
    return std::nullopt;
}

}  // namespace

sg::Result<std::vector<OfferedMedia>> describe_media(const sdp::SessionDescription& sd) {
    std::vector<OfferedMedia> out;
    const MediaDirection session_direction = direction_of(sd.attributes, MediaDirection::sendrecv);
    for (std::size_t i = 0; i < sd.media.size(); ++i) {
        const auto& section = sd.media[i];
        OfferedMedia media;
        media.index = static_cast<unsigned>(i + 1);
        media.media = section.media;
        media.proto = section.proto;
        media.rejected = section.port == 0;
        media.direction = direction_of(section.attributes, session_direction);
        const sdp::Connection* connection = !section.connections.empty() ? &section.connections.front()
                                            : sd.connection              ? &*sd.connection
                                                                         : nullptr;
        if (connection == nullptr) return fail("a media section has no c= line");
        media.rtp = parse_ip(connection->address, section.port);
        media.rtcp_mux = sdp::find_attribute(section.attributes, "rtcp-mux") != nullptr;
        if (media.rtp && !media.rtcp_mux) {
            const auto* rtcp = sdp::find_attribute(section.attributes, "rtcp");
            if (rtcp != nullptr && rtcp->value) {
                media.rtcp = parse_rtcp_attribute(*rtcp->value, *media.rtp);
            } else {
                media.rtcp = media.rtp;
                media.rtcp->port = static_cast<std::uint16_t>(media.rtp->port + 1U);
            }
        }
        out.push_back(std::move(media));
    }
    return out;
}

sg::Result<bool> rewrite_for_relay(sdp::SessionDescription& sd,
                                   const std::vector<std::optional<RelayPorts>>& ports,
                                   const RewriteOptions& options) {
    if (ports.size() != sd.media.size()) return fail("media sections and relay ports differ in number");
    const auto first = std::find_if(ports.begin(), ports.end(), [](const auto& p) { return p.has_value(); });
    if (first == ports.end()) return fail("no media section to relay");
    const std::string session_ip = ip_to_string((*first)->rtp);
    const std::string_view session_family = family_name((*first)->rtp.family);

    const auto to_connection = [](const Address& address) {
        sdp::Connection c;
        c.nettype = "IN";
        c.addrtype = std::string(family_name(address.family));
        c.address = ip_to_string(address);
        return c;
    };
    if (options.replace_origin) {
        sd.origin.addrtype = std::string(session_family);
        sd.origin.address = session_ip;
    }
    if (sd.connection) sd.connection = to_connection((*first)->rtp);
    std::erase_if(sd.attributes, is_ice_attribute);

    for (std::size_t i = 0; i < sd.media.size(); ++i) {
        auto& section = sd.media[i];
        std::erase_if(section.attributes, is_ice_attribute);
        if (!ports[i]) continue;
        const RelayPorts& relay = *ports[i];
        // A media-level c= is written when the section had one, or when the session-level one does not
        // describe this section's relay address (another family, or no session-level line at all).
        const bool session_fits = sd.connection && sd.connection->address == ip_to_string(relay.rtp);
        section.connections.clear();
        if (!session_fits) section.connections.push_back(to_connection(relay.rtp));
        if (section.port != 0) section.port = relay.rtp.port;
        const std::uint16_t rtcp_port =
            relay.rtcp_mux ? relay.rtp.port : static_cast<std::uint16_t>(relay.rtp.port + 1U);
        for (auto& attribute : section.attributes) {
            if (iequals(attribute.name, "rtcp"))
                attribute.value = std::to_string(rtcp_port) + " IN " +
                                  std::string(family_name(relay.rtp.family)) + " " + ip_to_string(relay.rtp);
        }
        if (!relay.rtcp_mux)
            std::erase_if(section.attributes, [](const auto& a) { return iequals(a.name, "rtcp-mux"); });
    }
    return true;
}

}  // namespace sg::relay

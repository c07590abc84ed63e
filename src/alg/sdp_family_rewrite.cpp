#include "alg/sdp_family_rewrite.hpp"

#include <vector>

#include "common/text.hpp"
#include "sdp/sdp.hpp"
#include "sdp/sdp_rewrite.hpp"

namespace sg::alg {
namespace {

// Multicast sessions are not relayed by the gateway, so their c= lines keep their group.
bool is_multicast(const sdp::Connection& connection) {
    const std::string_view address = connection.address;
    if (iequals(connection.addrtype, "IP6"))
        return address.size() >= 2 && iequals(address.substr(0, 2), "ff");
    const auto dot = address.find('.');
    const auto first = parse_uint<unsigned>(address.substr(0, dot));
    return first && *first >= 224 && *first <= 239;
}

}  // namespace

std::optional<std::string> rewrite_sdp_family(std::string_view sdp, std::string_view address, bool ipv6) {
    auto parsed = sdp::parse(sdp);
    if (!parsed) return std::nullopt;
    const std::string_view addrtype = ipv6 ? "IP6" : "IP4";
    std::vector<const sdp::Connection*> connections;
    if (parsed->connection) connections.push_back(&*parsed->connection);
    for (const auto& media : parsed->media)
        for (const auto& connection : media.connections)
            connections.push_back(&connection);
    bool other_family = false;
    for (const auto* connection : connections) {
        if (is_multicast(*connection)) return std::nullopt;
        if (!iequals(connection->addrtype, addrtype)) other_family = true;
    }
    if (!other_family || !sdp::rewrite_addresses(*parsed, address, addrtype)) return std::nullopt;
    return sdp::to_string(*parsed);
}

}  // namespace sg::alg

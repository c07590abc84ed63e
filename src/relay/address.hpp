#pragma once
// Text forms of relay::Address: what SDP c= lines, rtpproxy commands and ng "received from" carry.

#include <optional>
#include <string>
#include <string_view>

#include "relay/request.hpp"

namespace sg::relay {

// An IPv4 or IPv6 literal (no brackets, no port). nullopt for anything else, host names included: the
// relay never resolves names from the network.
std::optional<Address> parse_ip(std::string_view text, std::uint16_t port = 0);

// "IP4"/"IP6" as SDP and ng write them; nullopt for anything else (case-insensitive).
std::optional<Family> parse_family(std::string_view text);
std::string_view family_name(Family family);  // "IP4", "IP6", "" for unspecified

std::string ip_to_string(const Address& address);  // the literal, no port
std::string to_string(const Address& address);     // 1.2.3.4:5 or [::1]:5

// True for 0.0.0.0 and :: (SDP's "hold" address in old offers, RFC 3264 §8.4).
bool is_unspecified_ip(const Address& address);

}  // namespace sg::relay

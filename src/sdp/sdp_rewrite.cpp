#include "sdp/sdp_rewrite.hpp"

#include <utility>
#include <vector>

#include "common/text.hpp"

namespace sg::sdp {
namespace {

bool is_field_token(std::string_view s) noexcept {
    if (s.empty()) return false;
    for (const char c : s) {
        if (c == ' ' || c == '\t' || c == '/' || c == '\r' || c == '\n' || c == '\0') return false;
    }
    return true;
}

void set_connection(Connection& c, std::string_view address, std::string_view addrtype) {
    c.addrtype = std::string(addrtype);
    c.address = std::string(address);
    c.ttl.reset();
    c.count.reset();
}

std::size_t rewrite_controls(std::vector<Attribute>& attributes, const UrlRewriter& rewrite) {
    std::size_t replaced = 0;
    for (auto& a : attributes) {
        if (!a.value || !iequals(a.name, "control")) continue;
        std::string url = rewrite(trim(*a.value));
        if (url.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) continue;
        while (!url.empty() && is_space_or_tab(url.back()))
            url.pop_back();
        a.value = std::move(url);
        ++replaced;
    }
    return replaced;
}

}  // namespace

bool rewrite_addresses(SessionDescription& sd, std::string_view address, std::string_view addrtype) {
    if (!is_field_token(address) || !is_field_token(addrtype)) return false;
    sd.origin.addrtype = std::string(addrtype);
    sd.origin.address = std::string(address);
    if (sd.connection) set_connection(*sd.connection, address, addrtype);
    for (auto& m : sd.media) {
        for (auto& c : m.connections)
            set_connection(c, address, addrtype);
    }
    return true;
}

bool set_media_port(SessionDescription& sd, std::size_t index, std::uint16_t port) noexcept {
    if (index >= sd.media.size()) return false;
    sd.media[index].port = port;
    return true;
}

std::size_t rewrite_control_urls(SessionDescription& sd, const UrlRewriter& rewrite) {
    if (!rewrite) return 0;
    std::size_t replaced = rewrite_controls(sd.attributes, rewrite);
    for (auto& m : sd.media)
        replaced += rewrite_controls(m.attributes, rewrite);
    return replaced;
}

}  // namespace sg::sdp

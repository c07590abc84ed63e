// libFuzzer target for the pure parts of the RTSP application-level gateway (alg/rtsp_sniff,
// alg/transport_rewrite). The whole input is sniffed as a connection's first bytes and used as a SETUP
// Transport value. Properties checked (a violation traps):
//   - the sniff is consistent: a verdict other than need_more on a prefix is the verdict on the whole input;
//   - a rewritten request still parses, is relayable, and points at the gateway's pair;
//   - a rewritten reply still parses and names the gateway's pair as server_port and the client's ports;
//   - rewritten values never contain CR, LF or other controls (no header injection through the gateway).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "alg/rtsp_sniff.hpp"
#include "alg/transport_rewrite.hpp"
#include "rtsp/simple_headers.hpp"

namespace {

using namespace sg;
using namespace sg::alg;

void check(bool ok) {
    if (!ok) __builtin_trap();
}

void check_sniff(Bytes input) {
    const SniffVerdict whole = sniff_rtsp_request(input);
    for (std::size_t n = 0; n <= input.size(); n += 1 + n / 4) {
        const SniffVerdict part = sniff_rtsp_request(input.first(n));
        if (part != SniffVerdict::need_more) check(part == whole);
    }
}

void check_rewrites(std::string_view value) {
    constexpr std::uint16_t k_port = 30000;
    if (auto request = rewrite_setup_request(value, k_port, "2001:db8::1")) {
        check(!rtsp::has_forbidden_control(*request));
        const auto ports = relayable_client_ports(*request);
        check(ports.ok() && ports->first == k_port && ports->last == k_port + 1);
    }
    const rtsp::PortRange client{5000, 5001};
    if (auto reply = rewrite_setup_reply(value, client, k_port, "198.51.100.1", "198.51.100.2")) {
        check(!rtsp::has_forbidden_control(reply->transport));
        const auto specs = rtsp::parse_transport(reply->transport);
        check(specs.ok());
        bool found = false;
        for (const auto& spec : *specs) {
            if (spec.server_port && spec.server_port->first == k_port && spec.client_port == client)
                found = true;
        }
        check(found);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const Bytes input(data, size);
    check_sniff(input);
    check_rewrites(std::string_view(reinterpret_cast<const char*>(data), size));
    return 0;
}

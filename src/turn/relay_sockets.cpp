#include "turn/relay_sockets.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <algorithm>

#include <asio/ip/v6_only.hpp>

#include "net/asio_endpoint.hpp"

namespace sg::turn {

stun::Address to_stun(const asio::ip::udp::endpoint& ep) {
    const auto address = net::unmap(ep.address());
    if (address.is_v4()) return stun::make_ipv4(address.to_v4().to_uint(), ep.port());
    return stun::make_ipv6(address.to_v6().to_bytes(), ep.port());
}

asio::ip::udp::endpoint to_endpoint(const stun::Address& a) {
    if (a.family == stun::Family::ipv4) {
        const asio::ip::address_v4::bytes_type bytes{a.ip[0], a.ip[1], a.ip[2], a.ip[3]};
        return {asio::ip::address_v4(bytes), a.port};
    }
    asio::ip::address_v6::bytes_type bytes{};
    std::copy(a.ip.begin(), a.ip.end(), bytes.begin());
    return {asio::ip::address_v6(bytes), a.port};
}

RelaySockets::RelaySockets(asio::io_context& io, std::vector<asio::ip::address> relay_ips,
                           std::uint16_t min_port, std::uint16_t max_port, OnOpen on_open)
    : io_(io),
      relay_ips_(std::move(relay_ips)),
      min_port_(min_port),
      max_port_(max_port),
      on_open_(std::move(on_open)) {}

bool RelaySockets::supports(stun::Family family) const {
    return std::any_of(relay_ips_.begin(), relay_ips_.end(), [family](const asio::ip::address& ip) {
        return ip.is_v4() == (family == stun::Family::ipv4);
    });
}

RelaySockets::Socket RelaySockets::bind(const asio::ip::address& ip, std::uint16_t port, bool dont_fragment,
                                        bool& fatal) {
    auto socket = std::make_shared<asio::ip::udp::socket>(io_);
    const asio::ip::udp::endpoint endpoint(ip, port);
    std::error_code ec;
    socket->open(endpoint.protocol(), ec);
    if (ec) {
        fatal = true;  // out of descriptors: no other port helps
        return nullptr;
    }
    if (ip.is_v6()) socket->set_option(asio::ip::v6_only(true), ec);
    socket->bind(endpoint, ec);
    if (ec) return nullptr;  // taken by someone else
    socket->non_blocking(true, ec);
    if (dont_fragment) {
        // DONT-FRAGMENT (RFC 8656 §14.8): what the relay sends to the peer carries DF.
        const int native = socket->native_handle();
        if (ip.is_v4()) {
            const int value = IP_PMTUDISC_DO;
            ::setsockopt(native, IPPROTO_IP, IP_MTU_DISCOVER, &value, sizeof value);
        } else {
            const int value = 1;
            ::setsockopt(native, IPPROTO_IPV6, IPV6_DONTFRAG, &value, sizeof value);
        }
    }
    return socket;
}

std::optional<stun::Address> RelaySockets::open(const RelayRequest& request) {
    const auto ip =
        std::find_if(relay_ips_.begin(), relay_ips_.end(), [&request](const asio::ip::address& a) {
            return a.is_v4() == (request.family == stun::Family::ipv4);
        });
    if (ip == relay_ips_.end()) return std::nullopt;
    const std::uint32_t range = std::uint32_t{max_port_} - min_port_ + 1;
    const bool even = request.even_port || request.reserve_next;
    // Each port of the range is tried once at most, from where the last search ended, so ports are reused
    // as late as possible (a late datagram for an old allocation then finds no socket).
    for (std::uint32_t tried = 0; tried < range; ++tried) {
        const auto port = static_cast<std::uint16_t>(min_port_ + (cursor_++ % range));
        if (even && port % 2 != 0) continue;
        if (request.reserve_next && port == max_port_) continue;
        bool fatal = false;
        auto socket = bind(*ip, port, request.dont_fragment, fatal);
        if (fatal) return std::nullopt;
        if (!socket) continue;
        std::error_code ec;
        const stun::Address relayed = to_stun(socket->local_endpoint(ec));
        if (request.reserve_next) {
            auto held = bind(*ip, static_cast<std::uint16_t>(port + 1), request.dont_fragment, fatal);
            if (fatal) return std::nullopt;
            if (!held) continue;  // the pair is broken: try the next even port
            stun::Address next = relayed;
            ++next.port;
            sockets_[next] = std::move(held);  // held: bound, no receive loop until claimed
        }
        sockets_[relayed] = socket;
        on_open_(socket, relayed);
        return relayed;
    }
    return std::nullopt;
}

bool RelaySockets::claim(const stun::Address& reserved) {
    const auto it = sockets_.find(reserved);
    if (it == sockets_.end()) return false;
    on_open_(it->second, reserved);
    return true;
}

void RelaySockets::close(const stun::Address& relayed) {
    const auto it = sockets_.find(relayed);
    if (it == sockets_.end()) return;
    std::error_code ec;
    it->second->close(ec);  // the receive loop ends with operation_aborted and drops its reference
    sockets_.erase(it);
}

asio::ip::udp::socket* RelaySockets::find(const stun::Address& relayed) const {
    const auto it = sockets_.find(relayed);
    return it == sockets_.end() ? nullptr : it->second.get();
}

}  // namespace sg::turn

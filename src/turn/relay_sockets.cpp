#include "turn/relay_sockets.hpp"

#include <algorithm>

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

// A relayed socket, watched by the reactor while it relays (a held one is bound but not watched).
struct RelaySockets::Socket final : net::EdgeReactor::Reader {
    Socket(Receiver& r, bool ipv6) : receiver(r), port(ipv6) {}
    bool on_readable() override { return receiver.on_relay_readable(port, relayed); }

    Receiver& receiver;
    UdpPort port;
    stun::Address relayed;
    bool watched = false;
};

RelaySockets::RelaySockets(net::EdgeReactor& reactor, std::vector<asio::ip::address> relay_ips,
                           std::uint16_t min_port, std::uint16_t max_port, Receiver& receiver)
    : reactor_(reactor),
      relay_ips_(std::move(relay_ips)),
      min_port_(min_port),
      max_port_(max_port),
      receiver_(receiver) {}

RelaySockets::~RelaySockets() {
    for (auto& [address, socket] : sockets_)
        unwatch(*socket);
}

bool RelaySockets::supports(stun::Family family) const {
    return std::any_of(relay_ips_.begin(), relay_ips_.end(), [family](const asio::ip::address& ip) {
        return ip.is_v4() == (family == stun::Family::ipv4);
    });
}

std::unique_ptr<RelaySockets::Socket> RelaySockets::bind(const asio::ip::address& ip, std::uint16_t port,
                                                         bool dont_fragment, bool& fatal) {
    auto socket = std::make_unique<Socket>(receiver_, ip.is_v6());
    if (!socket->port.valid()) {
        fatal = true;  // out of descriptors: no other port helps
        return nullptr;
    }
    if (socket->port.bind(asio::ip::udp::endpoint(ip, port))) return nullptr;  // taken by someone else
    if (dont_fragment) socket->port.set_dont_fragment(ip.is_v6());
    socket->relayed = to_stun(socket->port.local_endpoint());
    return socket;
}

bool RelaySockets::watch(Socket& socket) {
    if (socket.watched) return true;
    socket.watched = reactor_.add(socket.port.fd(), socket);
    return socket.watched;
}

void RelaySockets::unwatch(Socket& socket) noexcept {
    if (!socket.watched) return;
    reactor_.remove(socket.port.fd(), socket);
    socket.watched = false;
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
        const stun::Address relayed = socket->relayed;
        std::unique_ptr<Socket> held;
        if (request.reserve_next) {
            held = bind(*ip, static_cast<std::uint16_t>(port + 1), request.dont_fragment, fatal);
            if (fatal) return std::nullopt;
            if (!held) continue;  // the pair is broken: try the next even port
        }
        if (!watch(*socket)) return std::nullopt;             // epoll refused: out of memory or descriptors
        if (held) sockets_[held->relayed] = std::move(held);  // held: bound, not watched until claimed
        sockets_[relayed] = std::move(socket);
        return relayed;
    }
    return std::nullopt;
}

bool RelaySockets::claim(const stun::Address& reserved) {
    const auto it = sockets_.find(reserved);
    if (it == sockets_.end()) return false;
    return watch(*it->second);
}

void RelaySockets::close(const stun::Address& relayed) {
    const auto it = sockets_.find(relayed);
    if (it == sockets_.end()) return;
    unwatch(*it->second);
    receiver_.on_relay_closing(it->second->port);
    sockets_.erase(it);  // closes the descriptor
}

UdpPort* RelaySockets::find(const stun::Address& relayed) const {
    const auto it = sockets_.find(relayed);
    return it == sockets_.end() ? nullptr : &it->second->port;
}

}  // namespace sg::turn

#pragma once
// The relayed transport addresses of `streamgate turn`: one UDP socket per allocation, bound to a relay IP of
// the asked family and a port from the configured range (coturn's --min-port/--max-port). This is the I/O
// side of turn::RelayPorts: the pure machine asks for an address, this binds the socket and has the server's
// edge reactor watch it (net/edge_reactor.hpp: one epoll registration for the socket's whole life, no Asio
// wait per datagram); when it is readable, the Receiver reads it. Closing stops the watch first.

#include <asio/ip/udp.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "net/edge_reactor.hpp"
#include "stun/stun_address.hpp"
#include "turn/turn_machine.hpp"
#include "turn/udp_port.hpp"

namespace sg::turn {

stun::Address to_stun(const asio::ip::udp::endpoint& ep);  // IPv4-mapped IPv6 becomes IPv4
asio::ip::udp::endpoint to_endpoint(const stun::Address& a);

class RelaySockets : public RelayPorts {
public:
    class Receiver {
    public:
        // `port` is readable: read at most one batch. True when the batch came back full (more may wait).
        virtual bool on_relay_readable(UdpPort& port, const stun::Address& relayed) = 0;
        // `port` is about to close: forget what was queued for it.
        virtual void on_relay_closing(UdpPort& port) = 0;

    protected:
        ~Receiver() = default;
    };

    RelaySockets(net::EdgeReactor& reactor, std::vector<asio::ip::address> relay_ips, std::uint16_t min_port,
                 std::uint16_t max_port, Receiver& receiver);
    ~RelaySockets() override;
    RelaySockets(const RelaySockets&) = delete;
    RelaySockets& operator=(const RelaySockets&) = delete;

    bool supports(stun::Family family) const override;
    std::optional<stun::Address> open(const RelayRequest& request) override;
    bool claim(const stun::Address& reserved) override;
    void close(const stun::Address& relayed) override;

    // The socket of a live relayed address, or nullptr.
    UdpPort* find(const stun::Address& relayed) const;
    std::size_t open_count() const noexcept { return sockets_.size(); }

private:
    struct Socket;
    // Binds one socket of the relay IP of `family`; nullptr when the port is taken.
    std::unique_ptr<Socket> bind(const asio::ip::address& ip, std::uint16_t port, bool dont_fragment,
                                 bool& fatal);
    bool watch(Socket& socket);
    void unwatch(Socket& socket) noexcept;

    net::EdgeReactor& reactor_;
    std::vector<asio::ip::address> relay_ips_;
    std::uint16_t min_port_;
    std::uint16_t max_port_;
    std::uint32_t cursor_ = 0;  // where the next search for a free port starts
    Receiver& receiver_;
    std::map<stun::Address, std::unique_ptr<Socket>> sockets_;  // relaying and held (reserved) ones
};

}  // namespace sg::turn

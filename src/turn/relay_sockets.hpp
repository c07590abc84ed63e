#pragma once
// The relayed transport addresses of `streamgate turn`: one UDP socket per allocation, bound to a relay IP of
// the asked family and a port from the configured range (coturn's --min-port/--max-port). This is the I/O
// side of turn::RelayPorts: the pure machine asks for an address, this binds the socket and starts its
// receive loop through `on_open`, and closing cancels that loop.

#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "stun/stun_address.hpp"
#include "turn/turn_machine.hpp"

namespace sg::turn {

stun::Address to_stun(const asio::ip::udp::endpoint& ep);  // IPv4-mapped IPv6 becomes IPv4
asio::ip::udp::endpoint to_endpoint(const stun::Address& a);

class RelaySockets : public RelayPorts {
public:
    using Socket = std::shared_ptr<asio::ip::udp::socket>;
    using OnOpen = std::function<void(Socket, const stun::Address& relayed)>;

    RelaySockets(asio::io_context& io, std::vector<asio::ip::address> relay_ips, std::uint16_t min_port,
                 std::uint16_t max_port, OnOpen on_open);

    bool supports(stun::Family family) const override;
    std::optional<stun::Address> open(const RelayRequest& request) override;
    bool claim(const stun::Address& reserved) override;
    void close(const stun::Address& relayed) override;

    // The socket of a live relayed address, or nullptr.
    asio::ip::udp::socket* find(const stun::Address& relayed) const;
    std::size_t open_count() const noexcept { return sockets_.size(); }

private:
    asio::io_context& io_;
    std::vector<asio::ip::address> relay_ips_;
    std::uint16_t min_port_;
    std::uint16_t max_port_;
    std::uint32_t cursor_ = 0;  // where the next search for a free port starts
    OnOpen on_open_;
    // Binds one socket of the relay IP of `family`; nullptr when the port is taken.
    Socket bind(const asio::ip::address& ip, std::uint16_t port, bool dont_fragment, bool& fatal);

    std::map<stun::Address, Socket> sockets_;  // relaying and held (reserved) ones
};

}  // namespace sg::turn

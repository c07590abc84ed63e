#include "multicast/sender_options.hpp"

#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <asio/ip/multicast.hpp>
#include <cerrno>

namespace sg::multicast {

std::error_code set_sender_options(asio::ip::udp::socket& socket, bool v6,
                                   const MulticastSettings& settings) {
    std::error_code ec;
    socket.set_option(asio::ip::multicast::hops(settings.ttl), ec);
    if (ec || settings.interface.empty()) return ec;
    const unsigned index = ::if_nametoindex(settings.interface.c_str());
    if (index == 0) return std::make_error_code(std::errc::no_such_device);
    if (v6) {
        socket.set_option(asio::ip::multicast::outbound_interface(index), ec);
        return ec;
    }
    // asio names an IPv4 outgoing interface by address only; ip_mreqn takes the index.
    ip_mreqn request{};
    request.imr_ifindex = static_cast<int>(index);
    if (::setsockopt(socket.native_handle(), IPPROTO_IP, IP_MULTICAST_IF, &request, sizeof request) != 0)
        return {errno, std::system_category()};
    return {};
}

}  // namespace sg::multicast

#pragma once
// The client side of a SOCKS5 exchange over a socket descriptor, with a deadline: connect to the proxy,
// negotiate the method (no-authentication, or RFC 1929 username/password when configured), send one
// request and read its reply. Reads never go past the reply, so data a server sends right behind it stays
// in the socket for the program. Uses the real (not interposed) socket functions.

#include <string>
#include <string_view>

#include "preload/config.hpp"
#include "socks5/socks5.hpp"

namespace sg::preload {

struct ProxyRequestResult {
    int error = 0;                   // 0 on success, else the errno the program should see
    bool proxy_unreachable = false;  // the proxy itself could not be reached (not the target)
    std::string_view why;            // static text for the diagnostic
    socks::Reply reply = socks::Reply::general_failure;
    socks::Address bound;  // BND.ADDR/BND.PORT of a successful reply
};

// `fd` is a fresh, unconnected stream socket of the proxy's family, blocking or not (its flags are restored
// on return). The timeout covers the whole exchange.
ProxyRequestResult proxy_request(int fd, const Config& config, socks::Command command,
                                 const socks::Address& destination, int timeout_ms);

// The errno a program sees for a failed SOCKS reply (RFC 1928 section 6).
int errno_for_reply(socks::Reply reply) noexcept;

}  // namespace sg::preload

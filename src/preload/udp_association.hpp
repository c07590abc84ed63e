#pragma once
// UDP through the proxy: a datagram socket that sends to a proxied destination gets its own SOCKS5 UDP
// ASSOCIATE (RFC 1928 section 7), made on first use and re-made when the gateway ends it (idle timeout).
// Sockets that only receive, or only talk to direct destinations, are never touched: that is what keeps
// RTP receive sockets announced in an RTSP SETUP alone, which the gateway's RTSP ALG feeds natively.

#include <sys/socket.h>
#include <sys/uio.h>

#include <memory>

#include "preload/state.hpp"

namespace sg::preload {

// The association of `fd`, made if needed; nullptr with errno set on failure. `app_family` is the socket's
// family as the program created it.
std::shared_ptr<UdpAssociation> ensure_association(int fd, int app_family);

// Sends one datagram (the program's iovecs) to `target` through the association of `fd`. `app_destination`
// is remembered so replies can be reported with the address the program used. Returns the payload bytes
// sent or -1 with errno.
ssize_t send_through_relay(int fd, const msghdr& message, int flags, const IpEndpoint& app_destination,
                           const socks::Address& target);

// Receives one datagram on an associated socket into the program's msghdr; datagrams from the relay are
// decapsulated and reported with their real source, others (e.g. RTP the RTSP ALG delivers) pass as they
// came. `connected_only`: the program connect()ed the socket, so relay datagrams from other peers are
// dropped.
ssize_t receive_from_relay(int fd, msghdr& message, int flags, bool connected_only);

}  // namespace sg::preload

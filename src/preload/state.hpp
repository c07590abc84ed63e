#pragma once
// The socksify library's process-wide state: the configuration, the fake-name table and what it knows about
// intercepted descriptors. One mutex guards it all; fork handlers keep the mutex usable in the child.
// Data-path functions first test a lock-free per-descriptor flag byte, so untouched descriptors (nearly
// all of them) cost one atomic load.

#include <netdb.h>
#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "preload/config.hpp"
#include "preload/fake_names.hpp"
#include "socks5/socks5.hpp"

namespace sg::preload {

// A SOCKS5 UDP association (RFC 1928 section 7) owned by one UDP socket and its duplicates.
struct UdpAssociation {
    int control_fd = -1;  // the TCP control connection (a descriptor the program does not know); -1: dead
    IpEndpoint relay;     // where encapsulated datagrams go
    struct Peer {
        IpEndpoint app;         // the destination as the program wrote it (maybe a fake address)
        socks::Address target;  // what went into the UDP request header
    };
    std::vector<Peer> peers;  // destinations used, newest last; maps replies back to the program's view
};

struct FdState {
    int app_family = AF_INET;     // the family the program created the socket with
    int kernel_family = AF_INET;  // differs when the socket was replaced by one in the proxy's family; 0: a
                                  // connected UDP socket not yet prepared for the relay
    int type = SOCK_STREAM;
    bool has_peer = false;  // connect() went through the proxy: getpeername reports `peer`
    IpEndpoint peer;
    socks::Address peer_target;           // UDP: the default destination after connect()
    std::shared_ptr<UdpAssociation> udp;  // UDP sockets that send to proxied destinations
};

inline constexpr std::uint8_t k_flag_tracked = 1;  // an FdState exists
inline constexpr std::uint8_t k_flag_control = 2;  // one of the library's own control connections
inline constexpr std::uint8_t k_flag_udp = 4;      // datagrams are encapsulated
inline constexpr int k_fast_fds = 65536;           // descriptors above this always take the lock

std::uint8_t fd_flags(int fd) noexcept;
void set_fd_flags(int fd, std::uint8_t flags) noexcept;  // caller holds the lock

class State {
public:
    Config config;
    FakeNames names;
    std::unordered_map<int, FdState> fds;
    std::unordered_map<int, std::weak_ptr<UdpAssociation>> controls;  // control descriptor -> association
    std::unordered_set<const addrinfo*> fake_addrinfo;                // lists our getaddrinfo allocated
};

State& state();  // constructed on first use from the environment; never destroyed

// Scoped hold of the state's mutex.
class Lock {
public:
    Lock();
    ~Lock();
    Lock(const Lock&) = delete;
    Lock& operator=(const Lock&) = delete;
};

// Where a destination goes: direct (loopback, --direct networks, the proxy itself), through the proxy (a
// fake address becomes its name), or nowhere (a fake address this process never handed out).
enum class Route : std::uint8_t { direct, proxied, unknown_fake };
struct Destination {
    Route route = Route::direct;
    socks::Address target;
};
Destination classify(const IpEndpoint& endpoint);

// Writes the one-time diagnostic about an unusable proxy to stderr.
void warn_proxy_unusable(std::string_view why, int error) noexcept;

// Removes what the library knows about `fd` (caller holds the lock). Returns a control descriptor that
// must be closed (with the real close) once the lock is released, or -1.
int forget_fd(int fd);

// Keeps `fd` out of the way when the program is about to reuse its number (dup2 onto one of our control
// descriptors): moves the control connection to another number. Caller holds the lock.
void relocate_control(int fd);

socks::Address to_socks_address(const IpEndpoint& endpoint);

}  // namespace sg::preload

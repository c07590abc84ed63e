// Interposed name lookups: names are not resolved here but by the gateway (RFC 3089 section 3.1). The
// program gets fake addresses (fake_names.hpp) in the family it asked for, both families for AF_UNSPEC
// with the proxy's family first; connect() turns them back into the name. Numeric hosts and local names
// (localhost) go to the C library.

#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string_view>

#include "common/text.hpp"
#include "preload/export.hpp"
#include "preload/real.hpp"
#include "preload/state.hpp"

namespace sg::preload {
namespace {

bool resolved_locally(const char* name) {
    if (name == nullptr || *name == '\0') return true;
    std::string_view n(name);
    if (n.back() == '.' && n.size() > 1) n.remove_suffix(1);
    if (parse_ip(n) || n.find('%') != std::string_view::npos) return true;  // literals, scoped IPv6
    if (n.find(':') != std::string_view::npos) return true;  // not a host name: let the C library judge
    // Loopback names must stay local (RFC 6761 section 6.3).
    return sg::iequals(n, "localhost") ||
           (n.size() > 10 && sg::iequals(n.substr(n.size() - 10), ".localhost")) ||
           sg::iequals(n, "ip6-localhost") || sg::iequals(n, "ip6-loopback");
}

std::optional<std::uint32_t> fake_index(const char* name) {
    Lock lock;
    return state().names.intern(name);
}

// The port of a getaddrinfo service argument; -1 when unknown.
int service_port(const char* service, int socktype, bool numeric_only) {
    if (service == nullptr || *service == '\0') return 0;
    if (const auto port = sg::parse_uint<std::uint16_t>(service)) return *port;
    if (numeric_only) return -1;
    servent entry{};
    servent* found = nullptr;
    char buffer[1024];
    if (getservbyname_r(service, socktype == SOCK_DGRAM ? "udp" : "tcp", &entry, buffer, sizeof buffer,
                        &found) != 0 ||
        found == nullptr)
        return -1;
    return ntohs(static_cast<std::uint16_t>(found->s_port));
}

// One allocation per entry: the addrinfo followed by its address (freed by free_fake_list).
struct FakeEntry {
    addrinfo info;
    sockaddr_storage address;
};

// AI_ADDRCONFIG as glibc defines it: a family counts only when some interface other than loopback has an
// address in it (for IPv6, one that is not link-local). A program on an IPv6-only host that asks for
// AF_UNSPEC with AI_ADDRCONFIG (GLib's resolver does) must not get an IPv4 fake address: it would open its
// media sockets in a family the host cannot use (RFC 3089: the fake address is in the family asked for).
bool host_has_family(int family) {
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return true;  // unknown: keep the family, as without AI_ADDRCONFIG
    bool found = false;
    for (const ifaddrs* it = list; it != nullptr && !found; it = it->ifa_next) {
        if (it->ifa_addr == nullptr || it->ifa_addr->sa_family != family ||
            (it->ifa_flags & IFF_LOOPBACK) != 0)
            continue;
        if (family == AF_INET6) {
            const auto* v6 = reinterpret_cast<const sockaddr_in6*>(it->ifa_addr);
            if (IN6_IS_ADDR_LINKLOCAL(&v6->sin6_addr)) continue;
        }
        found = true;
    }
    ::freeifaddrs(list);
    return found;
}

void free_fake_list(addrinfo* list) {
    while (list != nullptr) {
        addrinfo* next = list->ai_next;
        std::free(list->ai_canonname);
        std::free(list);  // NOLINT(cppcoreguidelines-no-malloc): getaddrinfo's C contract
        list = next;
    }
}

int fake_getaddrinfo(const char* node, const char* service, const addrinfo* hints, addrinfo** result) {
    const int family = hints != nullptr ? hints->ai_family : AF_UNSPEC;
    const int flags = hints != nullptr ? hints->ai_flags : 0;
    const int socktype = hints != nullptr ? hints->ai_socktype : 0;
    const int protocol = hints != nullptr ? hints->ai_protocol : 0;
    const int port = service_port(service, socktype, (flags & AI_NUMERICSERV) != 0);
    if (port < 0) return EAI_SERVICE;
    const auto index = fake_index(node);
    if (!index) return EAI_NONAME;  // unusable name (too long) or the table is full

    const int proxy_family = state().config.proxy.address.family;
    int families[2] = {proxy_family, proxy_family == AF_INET ? AF_INET6 : AF_INET};
    std::size_t family_count = 2;
    if (family == AF_INET || family == AF_INET6) {
        families[0] = family;
        family_count = 1;
    } else if ((flags & AI_ADDRCONFIG) != 0) {
        std::size_t kept = 0;
        for (const int candidate : {families[0], families[1]})
            if (host_has_family(candidate)) families[kept++] = candidate;
        // A host with neither (only loopback) keeps both rather than failing every lookup.
        if (kept != 0) family_count = kept;
    }
    int socktypes[2] = {SOCK_STREAM, SOCK_DGRAM};
    std::size_t socktype_count = 2;
    if (socktype != 0) {
        socktypes[0] = socktype;
        socktype_count = 1;
    }

    addrinfo* head = nullptr;
    addrinfo** tail = &head;
    for (std::size_t f = 0; f < family_count; ++f) {
        for (std::size_t t = 0; t < socktype_count; ++t) {
            auto* entry = static_cast<FakeEntry*>(std::calloc(1, sizeof(FakeEntry)));  // NOLINT
            if (entry == nullptr) {
                free_fake_list(head);
                return EAI_MEMORY;
            }
            const IpEndpoint endpoint{FakeNames::address(*index, families[f]),
                                      static_cast<std::uint16_t>(port)};
            entry->info.ai_addrlen = to_sockaddr(endpoint, families[f], entry->address);
            entry->info.ai_addr = reinterpret_cast<sockaddr*>(&entry->address);
            entry->info.ai_family = families[f];
            entry->info.ai_socktype = socktypes[t];
            entry->info.ai_protocol = protocol != 0                 ? protocol
                                      : socktypes[t] == SOCK_STREAM ? IPPROTO_TCP
                                      : socktypes[t] == SOCK_DGRAM  ? IPPROTO_UDP
                                                                    : 0;
            if (head == nullptr && (flags & AI_CANONNAME) != 0) entry->info.ai_canonname = strdup(node);
            *tail = &entry->info;
            tail = &entry->info.ai_next;
        }
    }
    {
        Lock lock;
        state().fake_addrinfo.insert(head);
    }
    *result = head;
    return 0;
}

// Lays out a one-address hostent in the caller's buffer (gethostbyname_r contract); ERANGE if too small.
int fill_hostent(const char* name, int family, std::uint32_t index, hostent* out, char* buffer,
                 std::size_t size) {
    const std::size_t address_size = family == AF_INET ? 4 : 16;
    const std::size_t name_size = std::strlen(name) + 1;
    const std::size_t pointers = 3 * sizeof(char*);  // aliases {NULL}, addr_list {addr, NULL}
    const std::size_t misalignment = reinterpret_cast<std::uintptr_t>(buffer) % alignof(char*);
    const std::size_t skip = misalignment == 0 ? 0 : alignof(char*) - misalignment;
    if (size < skip + pointers + address_size + name_size) return ERANGE;
    auto** slots = reinterpret_cast<char**>(buffer + skip);
    char* address = buffer + skip + pointers;
    char* name_copy = address + address_size;
    const auto fake = FakeNames::address(index, family);
    std::memcpy(address, fake.bytes.data(), address_size);
    std::memcpy(name_copy, name, name_size);
    slots[0] = nullptr;  // no aliases
    slots[1] = address;
    slots[2] = nullptr;
    out->h_name = name_copy;
    out->h_aliases = &slots[0];
    out->h_addrtype = family;
    out->h_length = static_cast<int>(address_size);
    out->h_addr_list = &slots[1];
    return 0;
}

int fake_gethostbyname_r(const char* name, int family, hostent* out, char* buffer, size_t size,
                         hostent** result, int* h_error) {
    *result = nullptr;
    const auto index = fake_index(name);
    if (!index) {
        if (h_error != nullptr) *h_error = HOST_NOT_FOUND;
        return ENOENT;
    }
    if (const int e = fill_hostent(name, family, *index, out, buffer, size); e != 0) {
        if (h_error != nullptr) *h_error = NETDB_INTERNAL;
        return e;
    }
    *result = out;
    if (h_error != nullptr) *h_error = 0;
    return 0;
}

hostent* fake_gethostbyname(const char* name, int family) {
    thread_local hostent entry;
    thread_local char buffer[512];
    hostent* result = nullptr;
    int h_error = 0;
    if (fake_gethostbyname_r(name, family, &entry, buffer, sizeof buffer, &result, &h_error) != 0) {
        h_errno = h_error;
        return nullptr;
    }
    return result;
}

}  // namespace
}  // namespace sg::preload

using namespace sg::preload;

SG_EXPORT int getaddrinfo(const char* node, const char* service, const addrinfo* hints, addrinfo** result) {
    const int family = hints != nullptr ? hints->ai_family : AF_UNSPEC;
    const int flags = hints != nullptr ? hints->ai_flags : 0;
    // AI_PASSIVE does not count: with a node name it is ignored (POSIX), and socat sets it for connects too.
    if (resolved_locally(node) || (flags & AI_NUMERICHOST) != 0 ||
        (family != AF_UNSPEC && family != AF_INET && family != AF_INET6) || result == nullptr)
        return real().getaddrinfo(node, service, hints, result);
    try {
        return fake_getaddrinfo(node, service, hints, result);
    } catch (const std::bad_alloc&) {
        return EAI_MEMORY;
    }
}

SG_EXPORT void freeaddrinfo(addrinfo* list) noexcept {
    bool ours = false;
    if (list != nullptr) {
        Lock lock;
        ours = state().fake_addrinfo.erase(list) != 0;
    }
    if (ours) {
        free_fake_list(list);
    } else {
        real().freeaddrinfo(list);
    }
}

SG_EXPORT int getnameinfo(const sockaddr* address, socklen_t length, char* host, socklen_t host_length,
                          char* service, socklen_t service_length, int flags) {
    const auto endpoint = from_sockaddr(address, length);
    if (!endpoint || host == nullptr || host_length == 0 || (flags & NI_NUMERICHOST) != 0 ||
        !FakeNames::index_of(endpoint->address))
        return real().getnameinfo(address, length, host, host_length, service, service_length, flags);
    std::string name;
    try {
        Lock lock;
        const std::string* known = state().names.name_of(*FakeNames::index_of(endpoint->address));
        if (known == nullptr)
            return real().getnameinfo(address, length, host, host_length, service, service_length, flags);
        name = *known;
    } catch (const std::bad_alloc&) {
        return EAI_MEMORY;
    }
    if (name.size() + 1 > host_length) return EAI_OVERFLOW;
    std::memcpy(host, name.c_str(), name.size() + 1);
    if (service != nullptr && service_length > 0)
        return real().getnameinfo(address, length, nullptr, 0, service, service_length, flags);
    return 0;
}

SG_EXPORT hostent* gethostbyname(const char* name) {
    if (resolved_locally(name)) return real().gethostbyname(name);
    try {
        return fake_gethostbyname(name, AF_INET);
    } catch (const std::bad_alloc&) {
        h_errno = NO_RECOVERY;
        return nullptr;
    }
}

SG_EXPORT hostent* gethostbyname2(const char* name, int family) {
    if (resolved_locally(name) || (family != AF_INET && family != AF_INET6))
        return real().gethostbyname2(name, family);
    try {
        return fake_gethostbyname(name, family);
    } catch (const std::bad_alloc&) {
        h_errno = NO_RECOVERY;
        return nullptr;
    }
}

SG_EXPORT int gethostbyname_r(const char* name, hostent* out, char* buffer, size_t size, hostent** result,
                              int* h_error) {
    if (resolved_locally(name)) return real().gethostbyname_r(name, out, buffer, size, result, h_error);
    try {
        return fake_gethostbyname_r(name, AF_INET, out, buffer, size, result, h_error);
    } catch (const std::bad_alloc&) {
        return ENOMEM;
    }
}

SG_EXPORT int gethostbyname2_r(const char* name, int family, hostent* out, char* buffer, size_t size,
                               hostent** result, int* h_error) {
    if (resolved_locally(name) || (family != AF_INET && family != AF_INET6))
        return real().gethostbyname2_r(name, family, out, buffer, size, result, h_error);
    try {
        return fake_gethostbyname_r(name, family, out, buffer, size, result, h_error);
    } catch (const std::bad_alloc&) {
        return ENOMEM;
    }
}

// Process-wide state of the socksify library (see state.hpp).

#include "preload/state.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "preload/real.hpp"

namespace sg::preload {
namespace {

// Zero-initialised at load time: no constructor runs before the C library is ready.
std::atomic<std::uint8_t> g_flags[k_fast_fds];
pthread_mutex_t g_mutex = PTHREAD_MUTEX_INITIALIZER;
std::atomic<bool> g_warned{false};

void lock_before_fork() {
    pthread_mutex_lock(&g_mutex);
}
void unlock_after_fork() {
    pthread_mutex_unlock(&g_mutex);
}
void reset_in_child() {
    // The child has one thread: whoever held the mutex in the parent does not exist here.
    g_mutex = PTHREAD_MUTEX_INITIALIZER;
}

State* make_state() {
    auto* s = new State;
    // Read once, on first use; a program that changes these variables concurrently races the C library too.
    // NOLINTBEGIN(concurrency-mt-unsafe)
    s->config = config_from_environment(std::getenv("STREAMGATE_PROXY"), std::getenv("STREAMGATE_USER"),
                                        std::getenv("STREAMGATE_DIRECT"));
    // NOLINTEND(concurrency-mt-unsafe)
    pthread_atfork(lock_before_fork, unlock_after_fork, reset_in_child);
    return s;
}

}  // namespace

std::uint8_t fd_flags(int fd) noexcept {
    if (fd < 0) return 0;
    if (fd < k_fast_fds) return g_flags[fd].load(std::memory_order_acquire);
    return k_flag_tracked | k_flag_control | k_flag_udp;  // unknown: callers look it up under the lock
}

void set_fd_flags(int fd, std::uint8_t flags) noexcept {
    if (fd >= 0 && fd < k_fast_fds) g_flags[fd].store(flags, std::memory_order_release);
}

State& state() {
    static State* const s = make_state();
    return *s;
}

Lock::Lock() {
    (void)state();  // construct outside the mutex: the constructor registers fork handlers
    pthread_mutex_lock(&g_mutex);
}
Lock::~Lock() {
    pthread_mutex_unlock(&g_mutex);
}

socks::Address to_socks_address(const IpEndpoint& endpoint) {
    if (endpoint.address.family == AF_INET) {
        std::array<std::uint8_t, 4> v4{};
        std::copy_n(endpoint.address.bytes.begin(), 4, v4.begin());
        return socks::Address::from_ipv4(v4, endpoint.port);
    }
    return socks::Address::from_ipv6(endpoint.address.bytes, endpoint.port);
}

Destination classify(const IpEndpoint& endpoint) {
    const State& s = state();
    if (const auto index = FakeNames::index_of(endpoint.address)) {
        Lock lock;
        const std::string* name = s.names.name_of(*index);
        if (name == nullptr) return {Route::unknown_fake, {}};
        auto address = socks::Address::from_domain(*name, endpoint.port);
        if (!address) return {Route::unknown_fake, {}};
        return {Route::proxied, std::move(*address)};
    }
    if (endpoint.address == s.config.proxy.address || is_direct(s.config, endpoint.address))
        return {Route::direct, {}};
    return {Route::proxied, to_socks_address(endpoint)};
}

void warn_proxy_unusable(std::string_view why, int error) noexcept {
    if (g_warned.exchange(true)) return;
    const Config& c = state().config;
    char address[64] = "?";
    char text[INET6_ADDRSTRLEN] = "";
    if (inet_ntop(c.proxy.address.family, c.proxy.address.bytes.data(), text, sizeof text) != nullptr)
        snprintf(address, sizeof address, c.proxy.address.family == AF_INET6 ? "[%s]:%u" : "%s:%u", text,
                 static_cast<unsigned>(c.proxy.port));
    char message[512];
    char error_text[128] = "";
    const char* error_string = strerror_r(error, error_text, sizeof error_text);
    const int n =
        c.error.empty()
            ? snprintf(message, sizeof message,
                       "streamgate-socksify: cannot use the SOCKS5 proxy %s: %.*s (%s); connections "
                       "through it fail with ECONNREFUSED\n",
                       address, static_cast<int>(why.size()), why.data(), error_string)
            : snprintf(message, sizeof message,
                       "streamgate-socksify: %s; connections through the proxy fail with "
                       "ECONNREFUSED\n",
                       c.error.c_str());
    if (n > 0)
        (void)!real().write(STDERR_FILENO, message,
                            std::min<std::size_t>(static_cast<std::size_t>(n), sizeof message - 1));
}

int forget_fd(int fd) {
    State& s = state();
    int to_close = -1;
    if (const auto it = s.fds.find(fd); it != s.fds.end()) {
        auto& udp = it->second.udp;
        if (udp && udp.use_count() == 1 && udp->control_fd >= 0) {
            to_close = udp->control_fd;
            s.controls.erase(to_close);
            set_fd_flags(to_close, 0);
        }
        s.fds.erase(it);
    }
    if (const auto it = s.controls.find(fd); it != s.controls.end()) {
        // The program closes a descriptor it never opened (a close-everything loop): the association is
        // dead, and its number must never be closed by us again since the program may reuse it.
        if (auto association = it->second.lock()) association->control_fd = -1;
        s.controls.erase(it);
    }
    set_fd_flags(fd, 0);
    return to_close;
}

void relocate_control(int fd) {
    State& s = state();
    const auto it = s.controls.find(fd);
    if (it == s.controls.end()) return;
    auto association = it->second.lock();
    s.controls.erase(it);
    set_fd_flags(fd, 0);
    if (!association) return;
    const int moved = fcntl(fd, F_DUPFD_CLOEXEC, 512);
    association->control_fd = moved;  // -1 if out of descriptors: the association is re-made on next use
    if (moved >= 0) {
        s.controls[moved] = association;
        set_fd_flags(moved, k_flag_control);
    }
}

}  // namespace sg::preload

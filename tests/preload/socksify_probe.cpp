// A small program the preload test runs with libstreamgate-socksify.so preloaded. It uses the socket API the
// way real programs do and prints what it observes, one fact per line, for the test to check.
//   socksify_probe tcp NAME PORT FAMILY         getaddrinfo, blocking connect, getpeername, echo
//   socksify_probe nonblocking NAME PORT FAMILY non-blocking connect + poll + SO_ERROR, echo
//   socksify_probe dup NAME PORT                dup2 to 100, close the original, use the copy
//   socksify_probe fork NAME PORT               the child connects (state and lock survive fork)
//   socksify_probe threads NAME PORT COUNT      COUNT threads each resolve NAME-<i> and echo
//   socksify_probe udp NAME PORT FAMILY COUNT   sendto/recvfrom COUNT datagrams, prints their sources
//   socksify_probe udp-connected NAME PORT FAMILY  connect(); a direct datagram arrives untouched; then
//                                               send/recv through the relay
//   socksify_probe refused NAME PORT            two connects, prints the errno names

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

std::string address_text(const sockaddr* sa) {
    char host[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, host, sizeof host);
    if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, host, sizeof host);
    return host;
}

int family_of(const char* text) {
    return std::strcmp(text, "6") == 0 ? AF_INET6 : AF_INET;
}

addrinfo* resolve(const char* name, const char* port, int family, int socktype) {
    addrinfo hints{};
    hints.ai_family = family;
    hints.ai_socktype = socktype;
    addrinfo* result = nullptr;
    if (const int e = getaddrinfo(name, port, &hints, &result); e != 0) {
        std::printf("gai-error %s\n", gai_strerror(e));
        std::exit(2);
    }
    return result;
}

bool echo(int fd, const char* message) {
    const std::size_t size = std::strlen(message);
    if (send(fd, message, size, MSG_NOSIGNAL) != static_cast<ssize_t>(size)) return false;
    std::string reply;
    while (reply.size() < size) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, 10000) != 1) return false;
        char buffer[256];
        const auto n = recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0) return false;
        reply.append(buffer, static_cast<std::size_t>(n));
    }
    return reply == message;
}

void print_peer(int fd) {
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) {
        std::printf("peer-error %s\n", std::strerror(errno));
        return;
    }
    std::printf("peer %s %u\n", address_text(reinterpret_cast<sockaddr*>(&peer)).c_str(),
                ntohs(reinterpret_cast<sockaddr_in*>(&peer)->sin_port));
}

int connect_blocking(const char* name, const char* port, int family) {
    addrinfo* list = resolve(name, port, family, SOCK_STREAM);
    std::printf("address %s\n", address_text(list->ai_addr).c_str());
    const int fd = socket(list->ai_family, SOCK_STREAM, 0);
    const int rc = connect(fd, list->ai_addr, list->ai_addrlen);
    freeaddrinfo(list);
    if (rc != 0) {
        std::printf("connect-error %s\n", std::strerror(errno));
        std::exit(3);
    }
    return fd;
}

int run_tcp(char** argv) {
    const int fd = connect_blocking(argv[2], argv[3], family_of(argv[4]));
    print_peer(fd);
    std::printf("echo %s\n", echo(fd, "ping-tcp") ? "ok" : "failed");
    close(fd);
    return 0;
}

int run_nonblocking(char** argv) {
    addrinfo* list = resolve(argv[2], argv[3], family_of(argv[4]), SOCK_STREAM);
    const int fd = socket(list->ai_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
    const int rc = connect(fd, list->ai_addr, list->ai_addrlen);
    freeaddrinfo(list);
    if (rc != 0 && errno != EINPROGRESS) {
        std::printf("connect-error %s\n", std::strerror(errno));
        return 3;
    }
    pollfd p{fd, POLLOUT, 0};
    std::printf("writable %d\n", poll(&p, 1, 10000) == 1 && (p.revents & POLLOUT) != 0 ? 1 : 0);
    int error = -1;
    socklen_t len = sizeof error;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len);
    std::printf("so_error %d\n", error);
    std::printf("nonblocking %d\n", (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0 ? 1 : 0);
    print_peer(fd);
    std::printf("echo %s\n", echo(fd, "ping-nonblocking") ? "ok" : "failed");
    close(fd);
    return 0;
}

int run_dup(char** argv) {
    const int fd = connect_blocking(argv[2], argv[3], AF_UNSPEC);
    if (dup2(fd, 100) != 100) return 4;
    close(fd);
    print_peer(100);
    std::printf("echo %s\n", echo(100, "ping-dup") ? "ok" : "failed");
    close(100);
    return 0;
}

int run_fork(char** argv) {
    const pid_t child = fork();
    if (child == 0) {
        const int fd = connect_blocking(argv[2], argv[3], AF_UNSPEC);
        print_peer(fd);
        std::printf("echo %s\n", echo(fd, "ping-child") ? "ok" : "failed");
        std::fflush(stdout);
        _exit(0);
    }
    int status = 0;
    waitpid(child, &status, 0);
    std::printf("child-exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 0;
}

int run_threads(char** argv) {
    const int count = std::atoi(argv[4]);
    std::vector<int> ok(static_cast<std::size_t>(count), 0);
    std::vector<std::thread> threads;
    for (int i = 0; i < count; ++i) {
        threads.emplace_back([&, i] {
            const std::string name = std::string(argv[2]) + "-" + std::to_string(i);
            addrinfo* list = resolve(name.c_str(), argv[3], i % 2 == 0 ? AF_INET : AF_INET6, SOCK_STREAM);
            const int fd = socket(list->ai_family, SOCK_STREAM, 0);
            const bool connected = connect(fd, list->ai_addr, list->ai_addrlen) == 0;
            freeaddrinfo(list);
            ok[static_cast<std::size_t>(i)] = connected && echo(fd, ("ping-" + name).c_str()) ? 1 : 0;
            close(fd);
        });
    }
    for (auto& t : threads)
        t.join();
    int total = 0;
    for (const int v : ok)
        total += v;
    std::printf("threads-ok %d\n", total);
    return 0;
}

int run_udp(char** argv) {
    const int family = family_of(argv[4]);
    const int count = std::atoi(argv[5]);
    addrinfo* list = resolve(argv[2], argv[3], family, SOCK_DGRAM);
    std::printf("address %s\n", address_text(list->ai_addr).c_str());
    const int fd = socket(family, SOCK_DGRAM, 0);
    int matched = 0;
    for (int i = 0; i < count; ++i) {
        const std::string message = "datagram-" + std::to_string(i);
        if (sendto(fd, message.data(), message.size(), 0, list->ai_addr, list->ai_addrlen) < 0) {
            std::printf("sendto-error %s\n", std::strerror(errno));
            return 3;
        }
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, 10000) != 1) break;
        char buffer[512];
        sockaddr_storage source{};
        socklen_t len = sizeof source;
        const auto n = recvfrom(fd, buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&source), &len);
        if (n < 0) break;
        matched += std::string(buffer, static_cast<std::size_t>(n)) == message ? 1 : 0;
        std::printf("source %s %u\n", address_text(reinterpret_cast<sockaddr*>(&source)).c_str(),
                    ntohs(reinterpret_cast<sockaddr_in*>(&source)->sin_port));
    }
    freeaddrinfo(list);
    std::printf("matched %d\n", matched);
    close(fd);
    return 0;
}

bool receive_line(int fd, const char* label) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 10000) != 1) return false;
    char buffer[512];
    const auto n = recv(fd, buffer, sizeof buffer, 0);
    if (n < 0) return false;
    std::printf("%s %s\n", label, std::string(buffer, static_cast<std::size_t>(n)).c_str());
    return true;
}

int run_udp_connected(char** argv) {
    const int family = family_of(argv[4]);
    addrinfo* list = resolve(argv[2], argv[3], family, SOCK_DGRAM);
    const int fd = socket(family, SOCK_DGRAM, 0);
    sockaddr_storage local{};
    local.ss_family = static_cast<sa_family_t>(family);
    socklen_t len = family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    bind(fd, reinterpret_cast<sockaddr*>(&local), len);
    std::printf("connect %d\n", connect(fd, list->ai_addr, list->ai_addrlen));
    freeaddrinfo(list);
    print_peer(fd);
    // Only receiving so far: a datagram from elsewhere (as the RTSP ALG delivers RTP) arrives as it came.
    len = sizeof local;
    getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len);
    const int other = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = reinterpret_cast<sockaddr_in*>(&local)->sin_port;
    sendto(other, "direct", 6, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    if (!receive_line(fd, "received")) std::printf("received nothing\n");
    // The first send makes the association; the echo comes back through the relay.
    if (send(fd, "via-relay", 9, 0) != 9) std::printf("send-error %s\n", std::strerror(errno));
    if (!receive_line(fd, "received")) std::printf("received nothing\n");
    close(other);
    close(fd);
    return 0;
}

int run_refused(char** argv) {
    for (int i = 0; i < 2; ++i) {
        addrinfo* list = resolve(argv[2], argv[3], AF_UNSPEC, SOCK_STREAM);
        const int fd = socket(list->ai_family, SOCK_STREAM, 0);
        const int rc = connect(fd, list->ai_addr, list->ai_addrlen);
        freeaddrinfo(list);
        std::printf("connect %s\n", rc == 0                 ? "ok"
                                    : errno == ECONNREFUSED ? "ECONNREFUSED"
                                                            : std::strerror(errno));
        close(fd);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    setvbuf(stdout, nullptr, _IOLBF, 0);
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "tcp" && argc == 5) return run_tcp(argv);
    if (mode == "nonblocking" && argc == 5) return run_nonblocking(argv);
    if (mode == "dup" && argc == 4) return run_dup(argv);
    if (mode == "fork" && argc == 4) return run_fork(argv);
    if (mode == "threads" && argc == 5) return run_threads(argv);
    if (mode == "udp" && argc == 6) return run_udp(argv);
    if (mode == "udp-connected" && argc == 5) return run_udp_connected(argv);
    if (mode == "refused" && argc == 4) return run_refused(argv);
    std::fprintf(stderr, "usage: see the comment at the top of socksify_probe.cpp\n");
    return 64;
}

// libstreamgate-socksify.so inside a real process: socksify_probe runs with the library preloaded against a
// small SOCKS5 server in this test (CONNECT echoes, UDP ASSOCIATE echoes datagrams back from their
// destination), which records every request it gets. Nothing leaves loopback: proxied targets are fake
// names the server never resolves.

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "socks5/socks5.hpp"

extern char** environ;

namespace {

using sg::socks::Address;
using sg::socks::Command;
using sg::socks::Reply;

bool read_exact(int fd, std::vector<std::uint8_t>& buffer, std::size_t size) {
    const std::size_t want = buffer.size() + size;
    while (buffer.size() < want) {
        std::uint8_t byte[512];
        const auto n = recv(fd, byte, std::min(sizeof byte, want - buffer.size()), 0);
        if (n <= 0) return false;
        buffer.insert(buffer.end(), byte, byte + n);
    }
    return true;
}

void send_all(int fd, const std::vector<std::uint8_t>& data) {
    std::size_t sent = 0;
    while (sent < data.size()) {
        const auto n = send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) return;
        sent += static_cast<std::size_t>(n);
    }
}

Address loopback(std::uint16_t port) {
    return Address::from_ipv4({127, 0, 0, 1}, port);
}

// A minimal SOCKS5 server on 127.0.0.1 (no authentication), one thread per connection.
class TestSocksServer {
public:
    TestSocksServer() {
        listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_EQ(bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
        EXPECT_EQ(listen(listener_, 64), 0);
        socklen_t len = sizeof address;
        getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &len);
        port_ = ntohs(address.sin_port);
        acceptor_ = std::thread([this] { accept_loop(); });
    }
    ~TestSocksServer() {
        stop_ = true;
        shutdown(listener_, SHUT_RDWR);
        acceptor_.join();
        for (auto& t : sessions_)
            t.join();
        close(listener_);
    }
    TestSocksServer(const TestSocksServer&) = delete;
    TestSocksServer& operator=(const TestSocksServer&) = delete;

    std::uint16_t port() const { return port_; }
    std::vector<std::string> requests() {
        std::lock_guard lock(mutex_);
        return requests_;
    }

private:
    void accept_loop() {
        for (;;) {
            const int fd = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) return;
            if (stop_) {
                close(fd);
                return;
            }
            sessions_.emplace_back([this, fd] {
                serve(fd);
                close(fd);
            });
        }
    }

    void record(const std::string& text) {
        std::lock_guard lock(mutex_);
        requests_.push_back(text);
    }

    void serve(int fd) {
        std::vector<std::uint8_t> in;
        if (!read_exact(fd, in, 2) || !read_exact(fd, in, in[1])) return;
        if (!sg::socks::parse_method_request(in).done()) return;
        std::vector<std::uint8_t> out;
        sg::socks::build_method_selection(out, sg::socks::Method::no_auth);
        send_all(fd, out);
        in.clear();
        if (!read_exact(fd, in, 5)) return;
        const std::size_t rest = in[3] == 1 ? 5 : in[3] == 4 ? 17 : static_cast<std::size_t>(in[4]) + 2;
        if (!read_exact(fd, in, rest)) return;
        const auto request = sg::socks::parse_request(in);
        if (!request.done()) return;
        record(std::string(to_string(request.value.command)) + " " + request.value.destination.to_string());
        if (request.value.command == Command::connect) {
            out.clear();
            sg::socks::build_reply(out, Reply::succeeded, loopback(4242));
            send_all(fd, out);
            char buffer[1024];
            for (;;) {  // echo until the client closes
                const auto n = recv(fd, buffer, sizeof buffer, 0);
                if (n <= 0) return;
                send_all(fd, std::vector<std::uint8_t>(buffer, buffer + n));
            }
        }
        if (request.value.command == Command::udp_associate) serve_udp(fd);
    }

    // Echoes each datagram back as if its destination had answered (RFC 1928 section 7 headers).
    void serve_udp(int control) {
        const int relay = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bind(relay, reinterpret_cast<sockaddr*>(&address), sizeof address);
        socklen_t len = sizeof address;
        getsockname(relay, reinterpret_cast<sockaddr*>(&address), &len);
        std::vector<std::uint8_t> out;
        sg::socks::build_reply(out, Reply::succeeded, loopback(ntohs(address.sin_port)));
        send_all(control, out);
        for (;;) {
            pollfd p[2] = {{control, POLLIN, 0}, {relay, POLLIN, 0}};
            if (poll(p, 2, 30000) <= 0 || p[0].revents != 0) break;
            std::uint8_t datagram[2048];
            sockaddr_storage from{};
            socklen_t from_len = sizeof from;
            const auto n =
                recvfrom(relay, datagram, sizeof datagram, 0, reinterpret_cast<sockaddr*>(&from), &from_len);
            if (n <= 0) continue;
            const auto parsed =
                sg::socks::parse_udp_datagram(sg::Bytes(datagram, static_cast<std::size_t>(n)));
            if (!parsed) continue;
            record("datagram " + parsed->header.destination.to_string());
            out.clear();
            sg::socks::build_udp_datagram(out, parsed->header, parsed->data);
            sendto(relay, out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&from), from_len);
        }
        close(relay);
    }

    int listener_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::thread acceptor_;
    std::vector<std::thread> sessions_;
    std::mutex mutex_;
    std::vector<std::string> requests_;
};

struct ProbeResult {
    int status = -1;
    std::vector<std::string> lines;
    std::string stderr_text;
    bool has(const std::string& line) const {
        return std::find(lines.begin(), lines.end(), line) != lines.end();
    }
};

std::string read_all(int fd) {
    std::string text;
    char buffer[4096];
    for (;;) {
        const auto n = read(fd, buffer, sizeof buffer);
        if (n <= 0) return text;
        text.append(buffer, static_cast<std::size_t>(n));
    }
}

// Runs the probe with the library preloaded and the proxy at 127.0.0.1:`proxy_port`.
ProbeResult run_probe(std::uint16_t proxy_port, const std::vector<std::string>& args) {
    std::vector<std::string> env_strings = {
        std::string("LD_PRELOAD=") + SG_SOCKSIFY_LIBRARY,
        "STREAMGATE_PROXY=127.0.0.1:" + std::to_string(proxy_port),
        // The sanitizer build instruments the library too; its runtime is loaded by the probe itself.
        "ASAN_OPTIONS=verify_asan_link_order=0",
    };
    for (char** e = environ; *e != nullptr; ++e) {
        const std::string entry(*e);
        if (entry.rfind("LD_PRELOAD=", 0) != 0 && entry.rfind("STREAMGATE_", 0) != 0 &&
            entry.rfind("ASAN_OPTIONS=", 0) != 0)
            env_strings.push_back(entry);
    }
    std::vector<char*> envp;
    for (auto& s : env_strings)
        envp.push_back(s.data());
    envp.push_back(nullptr);
    std::vector<std::string> argv_strings = {SG_SOCKSIFY_PROBE};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : argv_strings)
        argv.push_back(s.data());
    argv.push_back(nullptr);

    int out_pipe[2];
    int err_pipe[2];
    EXPECT_EQ(pipe2(out_pipe, O_CLOEXEC), 0);
    EXPECT_EQ(pipe2(err_pipe, O_CLOEXEC), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
    pid_t pid = -1;
    const int spawned = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    close(out_pipe[1]);
    close(err_pipe[1]);
    ProbeResult result;
    EXPECT_EQ(spawned, 0);
    std::string err_text;
    std::thread err_reader([&] { err_text = read_all(err_pipe[0]); });
    const std::string out_text = read_all(out_pipe[0]);
    err_reader.join();
    close(out_pipe[0]);
    close(err_pipe[0]);
    int status = 0;
    if (spawned == 0) waitpid(pid, &status, 0);
    result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    result.stderr_text = err_text;
    std::size_t start = 0;
    while (start < out_text.size()) {
        const auto end = out_text.find('\n', start);
        result.lines.push_back(out_text.substr(start, end - start));
        if (end == std::string::npos) break;
        start = end + 1;
    }
    return result;
}

std::string dump(const ProbeResult& r) {
    std::string text = "status " + std::to_string(r.status) + "\n";
    for (const auto& l : r.lines)
        text += l + "\n";
    return text + r.stderr_text;
}

class Preload : public ::testing::Test {
protected:
    TestSocksServer server;
};

TEST_F(Preload, BlockingConnectByNameSendsTheNameToTheProxyInEitherFamily) {
    for (const char* family : {"4", "6"}) {
        const auto r = run_probe(server.port(), {"tcp", "media.example", "8554", family});
        ASSERT_EQ(r.status, 0) << dump(r);
        const std::string fake = std::string(family) == "4" ? "240.0.0.1" : "64:ff9b:1::1";
        EXPECT_TRUE(r.has("address " + fake)) << dump(r);
        EXPECT_TRUE(r.has("peer " + fake + " 8554")) << dump(r);  // getpeername shows the target's address
        EXPECT_TRUE(r.has("echo ok")) << dump(r);
    }
    const auto requests = server.requests();
    EXPECT_EQ(std::count(requests.begin(), requests.end(), "connect media.example:8554"), 2);
}

TEST_F(Preload, LiteralAddressesOutsideDirectNetworksAreProxied) {
    const auto r = run_probe(server.port(), {"tcp", "192.0.2.55", "80", "4"});
    ASSERT_EQ(r.status, 0) << dump(r);
    EXPECT_TRUE(r.has("peer 192.0.2.55 80")) << dump(r);
    EXPECT_TRUE(r.has("echo ok")) << dump(r);
    EXPECT_EQ(server.requests(), std::vector<std::string>{"connect 192.0.2.55:80"});
}

TEST_F(Preload, NonBlockingConnectIsWritableAndStaysNonBlocking) {
    const auto r = run_probe(server.port(), {"nonblocking", "live.example", "1935", "6"});
    ASSERT_EQ(r.status, 0) << dump(r);
    EXPECT_TRUE(r.has("writable 1")) << dump(r);
    EXPECT_TRUE(r.has("so_error 0")) << dump(r);
    EXPECT_TRUE(r.has("nonblocking 1")) << dump(r);
    EXPECT_TRUE(r.has("peer 64:ff9b:1::1 1935")) << dump(r);
    EXPECT_TRUE(r.has("echo ok")) << dump(r);
    EXPECT_EQ(server.requests(), std::vector<std::string>{"connect live.example:1935"});
}

TEST_F(Preload, DuplicatedDescriptorKeepsItsPeer) {
    const auto r = run_probe(server.port(), {"dup", "dup.example", "443"});
    ASSERT_EQ(r.status, 0) << dump(r);
    EXPECT_TRUE(r.has("peer 240.0.0.1 443") || r.has("peer 64:ff9b:1::1 443")) << dump(r);
    EXPECT_TRUE(r.has("echo ok")) << dump(r);
}

TEST_F(Preload, ForkedChildIsSocksifiedToo) {
    const auto r = run_probe(server.port(), {"fork", "child.example", "80"});
    ASSERT_EQ(r.status, 0) << dump(r);
    EXPECT_TRUE(r.has("echo ok")) << dump(r);
    EXPECT_TRUE(r.has("child-exit 0")) << dump(r);
    EXPECT_EQ(server.requests(), std::vector<std::string>{"connect child.example:80"});
}

TEST_F(Preload, ConcurrentThreadsEachReachTheirOwnName) {
    const auto r = run_probe(server.port(), {"threads", "t.example", "7000", "16"});
    ASSERT_EQ(r.status, 0) << dump(r);
    EXPECT_TRUE(r.has("threads-ok 16")) << dump(r);
    auto requests = server.requests();
    std::sort(requests.begin(), requests.end());
    ASSERT_EQ(requests.size(), 16U);
    for (int i = 0; i < 16; ++i) {
        const std::string want = "connect t.example-" + std::to_string(i) + ":7000";
        EXPECT_TRUE(std::binary_search(requests.begin(), requests.end(), want)) << want;
    }
}

TEST_F(Preload, UdpDatagramsAreEncapsulatedAndRepliesShowTheFakeSource) {
    for (const char* family : {"4", "6"}) {
        const auto r = run_probe(server.port(), {"udp", "dns.example", "53", family, "3"});
        ASSERT_EQ(r.status, 0) << dump(r);
        const std::string fake = std::string(family) == "4" ? "240.0.0.1" : "64:ff9b:1::1";
        EXPECT_TRUE(r.has("matched 3")) << dump(r);
        EXPECT_EQ(std::count(r.lines.begin(), r.lines.end(), "source " + fake + " 53"), 3) << dump(r);
    }
    const auto requests = server.requests();
    EXPECT_EQ(std::count(requests.begin(), requests.end(), "datagram dns.example:53"), 6);
    EXPECT_EQ(std::count_if(requests.begin(), requests.end(),
                            [](const std::string& s) { return s.rfind("udp_associate ", 0) == 0; }),
              2);
}

TEST_F(Preload, ConnectedUdpSocketIsAssociatedOnlyWhenItSends) {
    for (const char* family : {"4", "6"}) {
        const auto r = run_probe(server.port(), {"udp-connected", "rtp.example", "5004", family});
        ASSERT_EQ(r.status, 0) << dump(r);
        const std::string fake = std::string(family) == "4" ? "240.0.0.1" : "64:ff9b:1::1";
        EXPECT_TRUE(r.has("connect 0")) << dump(r);
        EXPECT_TRUE(r.has("peer " + fake + " 5004")) << dump(r);
        EXPECT_TRUE(r.has("received direct")) << dump(r);
        EXPECT_TRUE(r.has("received via-relay")) << dump(r);
    }
    const auto requests = server.requests();
    EXPECT_EQ(std::count(requests.begin(), requests.end(), "datagram rtp.example:5004"), 2);
    EXPECT_EQ(std::count_if(requests.begin(), requests.end(),
                            [](const std::string& s) { return s.rfind("udp_associate ", 0) == 0; }),
              2);
}

TEST(PreloadWithoutProxy, ConnectionsAreRefusedWithOneMessage) {
    // A port nothing listens on: bind one, note it, close it.
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    socklen_t len = sizeof address;
    getsockname(fd, reinterpret_cast<sockaddr*>(&address), &len);
    close(fd);
    const auto r = run_probe(ntohs(address.sin_port), {"refused", "gone.example", "80"});
    ASSERT_EQ(r.status, 0) << dump(r);
    EXPECT_EQ(std::count(r.lines.begin(), r.lines.end(), "connect ECONNREFUSED"), 2) << dump(r);
    std::size_t messages = 0;
    for (std::size_t at = 0; (at = r.stderr_text.find("streamgate-socksify:", at)) != std::string::npos; ++at)
        ++messages;
    EXPECT_EQ(messages, 1U) << r.stderr_text;
}

}  // namespace

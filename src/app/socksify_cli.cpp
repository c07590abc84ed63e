// `streamgate socksify [--proxy ADDR] [--user NAME:PASSWORD] [--direct CIDR]... -- CMD ARGS...`: runs CMD
// with libstreamgate-socksify.so preloaded, so its TCP connections, UDP datagrams and name lookups go
// through a SOCKS5 gateway (see src/preload/). The settings travel in the environment, so children CMD
// starts (fork/exec) are socksified too.

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "app/subcommand.hpp"
#include "net/cidr.hpp"
#include "net/endpoint.hpp"

namespace sg::app {
namespace {

constexpr const char* k_library_name = "libstreamgate-socksify.so";

struct SocksifyFlags {
    std::string proxy;
    std::string user;
    std::vector<std::string> direct;
    std::string library;
    std::vector<std::string> command;
};

// The library sits next to the executable in the build tree, or in ../lib/streamgate when installed.
std::string find_library(const std::string& explicit_path) {
    namespace fs = std::filesystem;
    if (!explicit_path.empty()) return fs::absolute(explicit_path).string();
    // NOLINTNEXTLINE(concurrency-mt-unsafe): the CLI is single-threaded
    if (const char* env = std::getenv("STREAMGATE_SOCKSIFY_LIBRARY"); env != nullptr && *env != '\0')
        return fs::absolute(env).string();
    std::error_code ec;
    const auto exe = fs::read_symlink("/proc/self/exe", ec);
    if (ec) return {};
    for (const auto& candidate : {exe.parent_path() / k_library_name,
                                  exe.parent_path().parent_path() / "lib" / "streamgate" / k_library_name}) {
        if (fs::exists(candidate, ec)) return candidate.string();
    }
    return {};
}

// The library takes only address literals (it must not resolve names itself, those lookups would be its
// own interposed ones): resolve a proxy given by name here, once.
std::optional<std::string> proxy_literal(const std::string& text) {
    const auto hp = net::parse_host_port(text);
    if (!hp) {
        std::cerr << "streamgate socksify: --proxy " << text << ": " << hp.error() << '\n';
        return std::nullopt;
    }
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    addrinfo* found = nullptr;
    if (const int e = getaddrinfo(hp->host.c_str(), nullptr, &hints, &found); e != 0 || found == nullptr) {
        std::cerr << "streamgate socksify: --proxy " << text << ": " << gai_strerror(e) << '\n';
        return std::nullopt;
    }
    char host[NI_MAXHOST];
    const int e =
        getnameinfo(found->ai_addr, found->ai_addrlen, host, sizeof host, nullptr, 0, NI_NUMERICHOST);
    const bool v6 = found->ai_family == AF_INET6;
    freeaddrinfo(found);
    if (e != 0) return std::nullopt;
    return (v6 ? "[" + std::string(host) + "]" : std::string(host)) + ":" + std::to_string(hp->port);
}

int run_socksify(const SocksifyFlags& flags) {
    std::string proxy = flags.proxy;
    if (proxy.empty()) {
        const char* env = std::getenv("STREAMGATE_PROXY");  // NOLINT(concurrency-mt-unsafe): single-threaded
        proxy = env != nullptr && *env != '\0' ? env : "127.0.0.1:1080";
    }
    const auto literal = proxy_literal(proxy);
    if (!literal) return 2;
    if (!flags.user.empty() && flags.user.find(':') == std::string::npos) {
        std::cerr << "streamgate socksify: --user must be NAME:PASSWORD\n";
        return 2;
    }
    std::string direct;
    for (const auto& text : flags.direct) {
        if (const auto cidr = net::Cidr::parse(text); !cidr) {
            std::cerr << "streamgate socksify: --direct " << text << ": " << cidr.error() << '\n';
            return 2;
        }
        direct += (direct.empty() ? "" : ",") + text;
    }
    const auto library = find_library(flags.library);
    if (library.empty()) {
        std::cerr << "streamgate socksify: cannot find " << k_library_name
                  << " next to the executable; use --library or STREAMGATE_SOCKSIFY_LIBRARY\n";
        return 2;
    }

    // The environment is changed right before exec, while this process has a single thread.
    // NOLINTBEGIN(concurrency-mt-unsafe)
    std::string preload = library;
    if (const char* existing = std::getenv("LD_PRELOAD"); existing != nullptr && *existing != '\0')
        preload = std::string(existing) + ":" + library;  // keep what the caller preloads; ours goes last
    setenv("LD_PRELOAD", preload.c_str(), 1);
    setenv("STREAMGATE_PROXY", literal->c_str(), 1);
    if (!flags.user.empty()) setenv("STREAMGATE_USER", flags.user.c_str(), 1);
    if (!direct.empty()) {
        // Networks named by the caller's environment stay direct too.
        const char* existing = std::getenv("STREAMGATE_DIRECT");
        if (existing != nullptr && *existing != '\0') direct = std::string(existing) + "," + direct;
        setenv("STREAMGATE_DIRECT", direct.c_str(), 1);
    }
    // NOLINTEND(concurrency-mt-unsafe)

    std::vector<char*> argv;
    argv.reserve(flags.command.size() + 1);
    for (const auto& arg : flags.command)
        argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    const int error = errno;
    std::cerr << "streamgate socksify: " << flags.command.front() << ": "
              << std::generic_category().message(error) << '\n';
    return error == ENOENT ? 127 : 126;  // the shell's conventions
}

}  // namespace

Subcommand add_socksify_command(CLI::App& app) {
    auto* socksify = app.add_subcommand(
        "socksify", "Run a program with its TCP, UDP and name lookups sent through a SOCKS5 gateway");
    auto flags = std::make_shared<SocksifyFlags>();
    socksify->add_option(
        "--proxy", flags->proxy,
        "SOCKS5 gateway HOST:PORT or [IPV6]:PORT (default: $STREAMGATE_PROXY, else 127.0.0.1:1080)");
    socksify->add_option("--user", flags->user, "RFC 1929 account NAME:PASSWORD for the gateway");
    socksify
        ->add_option("--direct", flags->direct,
                     "Reach this network without the gateway, CIDR (repeatable; loopback always is)")
        ->allow_extra_args(false);  // one CIDR per --direct, so the command after it is never swallowed
    socksify->add_option("--library", flags->library,
                         "Path of libstreamgate-socksify.so (default: beside streamgate)");
    socksify->add_option("command", flags->command, "The program and its arguments (after --)")->required();
    return {socksify, [flags]() -> int { return run_socksify(*flags); }};
}

}  // namespace sg::app

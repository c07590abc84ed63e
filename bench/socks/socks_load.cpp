// socks_load: the load generator and target of the SOCKS5 gateway benchmark (bench/socks/run.sh).
//   socks_load sink --listen HOST:PORT [--max-seconds S]
//   socks_load rate [--proxy HOST:PORT] --target HOST:PORT [--concurrency C] [--seconds T] [--no-pipeline]
//   socks_load hold [--proxy HOST:PORT] --target HOST:PORT [--count N] [--concurrency C] [--hold-seconds S]
//                   [--payload BYTES] [--echo-every-ms MS] [--no-pipeline]
// Without --proxy the client connects straight to the target: the baseline the proxies are compared with.

#include <sys/resource.h>

#include <asio/ip/address.hpp>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/text.hpp"
#include "echo_sink.hpp"
#include "load.hpp"

namespace {

using asio::ip::tcp;

constexpr std::string_view k_usage =
    "usage: socks_load sink --listen HOST:PORT [--max-seconds S]\n"
    "       socks_load rate [--proxy HOST:PORT] --target HOST:PORT [--concurrency C] [--seconds T]"
    " [--no-pipeline]\n"
    "       socks_load hold [--proxy HOST:PORT] --target HOST:PORT [--count N] [--concurrency C]"
    " [--hold-seconds S] [--payload BYTES] [--echo-every-ms MS] [--no-pipeline]\n";

// "127.0.0.1:1080" or "[::1]:1080", literal addresses only.
std::optional<tcp::endpoint> parse_endpoint(std::string_view text) {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    std::string_view host = text.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    const auto port = sg::parse_uint<std::uint16_t>(text.substr(colon + 1));
    asio::error_code ec;
    const auto address = asio::ip::make_address(std::string(host), ec);
    if (ec || !port) return std::nullopt;
    return tcp::endpoint(address, *port);
}

// The tool holds one descriptor per tunnel: take whatever the hard limit allows.
void raise_descriptor_limit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
}

struct Args {
    std::map<std::string, std::string, std::less<>> values;
    bool no_pipeline = false;

    std::optional<std::size_t> count(std::string_view key, std::size_t fallback) const {
        const auto it = values.find(key);
        if (it == values.end()) return fallback;
        const auto n = sg::parse_uint<std::size_t>(it->second);
        if (!n || *n == 0) return std::nullopt;
        return n;
    }
};

int usage_error(const char* why) {
    std::fprintf(stderr, "socks_load: %s\n%.*s", why, static_cast<int>(k_usage.size()), k_usage.data());
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) return usage_error("no mode");
    const std::string_view mode = argv[1];
    Args args;
    for (int i = 2; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--no-pipeline") {
            args.no_pipeline = true;
        } else if (arg.starts_with("--") && i + 1 < argc) {
            args.values[std::string(arg.substr(2))] = argv[++i];
        } else {
            return usage_error("bad argument");
        }
    }
    raise_descriptor_limit();

    if (mode == "sink") {
        const auto it = args.values.find("listen");
        const auto listen = it == args.values.end() ? std::nullopt : parse_endpoint(it->second);
        const auto max_seconds = args.count("max-seconds", 3600);
        if (!listen || !max_seconds) return usage_error("sink needs --listen HOST:PORT");
        return sg::bench::run_echo_sink(*listen, std::chrono::seconds(*max_seconds));
    }
    if (mode != "rate" && mode != "hold") return usage_error("unknown mode");

    std::optional<tcp::endpoint> proxy;
    if (const auto it = args.values.find("proxy"); it != args.values.end()) {
        proxy = parse_endpoint(it->second);
        if (!proxy) return usage_error("bad --proxy");
    }
    const auto target_it = args.values.find("target");
    const auto target = target_it == args.values.end() ? std::nullopt : parse_endpoint(target_it->second);
    if (!target) return usage_error("needs --target HOST:PORT");
    auto plan = sg::bench::make_plan(proxy, *target, !args.no_pipeline);

    if (mode == "rate") {
        const auto concurrency = args.count("concurrency", 50);
        const auto seconds = args.count("seconds", 5);
        if (!concurrency || !seconds) return usage_error("bad number");
        sg::bench::RateOptions options;
        options.plan = std::move(plan);
        options.concurrency = *concurrency;
        options.duration = std::chrono::seconds(*seconds);
        return sg::bench::run_rate(options);
    }
    const auto count = args.count("count", 10000);
    const auto concurrency = args.count("concurrency", 100);
    const auto hold = args.count("hold-seconds", 120);
    std::optional<std::size_t> payload = 0;
    if (args.values.contains("payload")) payload = args.count("payload", 0);
    std::optional<std::size_t> echo_every_ms = 0;
    if (args.values.contains("echo-every-ms")) echo_every_ms = args.count("echo-every-ms", 0);
    if (!count || !concurrency || !hold || !payload || *payload > (std::size_t{1} << 20) || !echo_every_ms)
        return usage_error("bad number");
    sg::bench::HoldOptions options;
    options.plan = std::move(plan);
    options.count = *count;
    options.concurrency = *concurrency;
    options.hold = std::chrono::seconds(*hold);
    options.payload = *payload;
    options.echo_every = std::chrono::milliseconds(*echo_every_ms);
    return sg::bench::run_hold(options);
}

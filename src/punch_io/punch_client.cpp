#include "punch_io/punch_client.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <vector>

#include "net/asio_endpoint.hpp"
#include "net/use_tuple.hpp"
#include "punch/nat_classifier.hpp"
#include "punch/punch_machine.hpp"

namespace sg::punch {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t k_max_datagram = 65536;
// While allocating or relaying the TURN client's retransmissions and refreshes are due at most this often.
constexpr auto k_turn_tick = std::chrono::milliseconds{100};

// The same conversions as src/turn/relay_sockets (IPv4-mapped IPv6 becomes IPv4).
stun::Address to_stun(const asio::ip::udp::endpoint& ep) {
    const auto address = net::unmap(ep.address());
    if (address.is_v4()) return stun::make_ipv4(address.to_v4().to_uint(), ep.port());
    return stun::make_ipv6(address.to_v6().to_bytes(), ep.port());
}

asio::ip::udp::endpoint to_endpoint(const stun::Address& a) {
    if (a.family == stun::Family::ipv4) {
        const asio::ip::address_v4::bytes_type bytes{a.ip[0], a.ip[1], a.ip[2], a.ip[3]};
        return {asio::ip::address_v4(bytes), a.port};
    }
    asio::ip::address_v6::bytes_type bytes{};
    std::copy(a.ip.begin(), a.ip.end(), bytes.begin());
    return {asio::ip::address_v6(bytes), a.port};
}

bool of_family(const asio::ip::address& address, int family) {
    const auto a = net::unmap(address);
    return family == 0 || (family == 4 && a.is_v4()) || (family == 6 && a.is_v6());
}

// The first address of `family` (0: any) that `hp` resolves to.
std::optional<asio::ip::udp::endpoint> resolve(asio::io_context& io, const net::HostPort& hp,
                                               const char* what, int family = 0) {
    asio::ip::udp::resolver resolver(io);
    std::error_code ec;
    const auto results = resolver.resolve(hp.host, std::to_string(hp.port), ec);
    if (!ec)
        for (const auto& result : results)
            if (of_family(result.endpoint().address(), family)) return result.endpoint();
    std::cerr << "streamgate: punch: " << what << ' ' << net::to_string(hp) << ": "
              << (ec            ? ec.message()
                  : family == 0 ? std::string("no address")
                                : "no IPv" + std::to_string(family) + " address")
              << '\n';
    return std::nullopt;
}

std::string text(const std::optional<stun::Address>& a) {
    return a ? stun::to_string(*a) : std::string("-");
}

std::string step_text(const std::optional<int>& step) {
    return step ? std::to_string(*step) : std::string("-");
}

class Client {
public:
    Client(asio::io_context& io, const PunchClientConfig& config, PunchOptions options,
           const asio::ip::udp::endpoint& forward)
        : io_(io),
          config_(config),
          classifier_(options.rendezvous, options.seed + 1),
          machine_(std::move(options)),
          network_(io),
          local_(io),
          forward_(forward) {}

    bool open(const asio::ip::udp::endpoint& rendezvous, const asio::ip::udp::endpoint& local) {
        std::error_code ec;
        network_.open(rendezvous.protocol(), ec);
        if (!ec) network_.bind(asio::ip::udp::endpoint(rendezvous.protocol(), 0), ec);
        if (ec) {
            std::cerr << "streamgate: punch: network socket: " << ec.message() << '\n';
            return false;
        }
        local_.open(local.protocol(), ec);
        if (!ec) local_.bind(local, ec);
        if (ec) {
            std::cerr << "streamgate: punch: --listen " << net::to_string(local) << ": " << ec.message()
                      << '\n';
            return false;
        }
        return true;
    }

    void start() {
        std::vector<Datagram> out;
        machine_.start(Clock::now(), out);
        classifier_.start(Clock::now(), out);
        send(out);
        const auto on_end = [this](const std::exception_ptr& e) { ended(e); };
        asio::co_spawn(io_, network_loop(), on_end);
        asio::co_spawn(io_, local_loop(), on_end);
        asio::co_spawn(io_, timer_loop(), on_end);
        spdlog::info("punch: {} looking for {} through the rendezvous; local port {}", config_.id,
                     config_.peer, net::to_string(local_.local_endpoint()));
    }

    void stop() {
        stopping_ = true;
        std::error_code ec;
        network_.close(ec);
        local_.close(ec);
        timer_.cancel();
    }

    int status() const noexcept { return machine_.state() == PunchState::failed ? 1 : 0; }

private:
    void ended(const std::exception_ptr& e) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                spdlog::error("punch: unhandled exception: {}", ex.what());
            }
        }
        if (!stopping_) {
            stop();
            io_.stop();
        }
    }

    void send(std::vector<Datagram>& out) {
        for (const auto& d : out) {
            std::error_code ec;  // a refused or unreachable peer is what punching expects at first
            network_.send_to(asio::buffer(d.bytes), to_endpoint(d.to), 0, ec);
        }
        out.clear();
    }

    asio::awaitable<void> network_loop() {
        std::vector<std::uint8_t> buffer(k_max_datagram);
        std::vector<Datagram> out;
        asio::ip::udp::endpoint from;
        while (!stopping_) {
            const auto [ec, n] =
                co_await network_.async_receive_from(asio::buffer(buffer), from, net::k_use_tuple);
            if (stopping_) co_return;
            if (ec) continue;  // ICMP errors from probes that met a closed NAT surface here
            const Bytes datagram(buffer.data(), n);
            if (classified(datagram, out)) {
                own_nat_to_machine(out);
                send(out);
                report();
                continue;
            }
            const auto data = machine_.on_datagram(Clock::now(), to_stun(from), datagram, out);
            send(out);
            if (data) {
                std::error_code send_ec;
                local_.send_to(asio::buffer(data->data(), data->size()), forward_, 0, send_ec);
            }
            report();
        }
    }

    asio::awaitable<void> local_loop() {
        std::vector<std::uint8_t> buffer(k_max_datagram);
        std::vector<Datagram> out;
        asio::ip::udp::endpoint from;
        while (!stopping_) {
            const auto [ec, n] =
                co_await local_.async_receive_from(asio::buffer(buffer), from, net::k_use_tuple);
            if (stopping_) co_return;
            if (ec) continue;
            // Before a path is chosen local data is dropped: a live stream has nowhere to wait.
            machine_.send_data(Bytes(buffer.data(), n), out);
            send(out);
        }
    }

    asio::awaitable<void> timer_loop() {
        std::vector<Datagram> out;
        while (!stopping_) {
            const auto now = Clock::now();
            auto wake = machine_.next_wakeup();
            if (wake == Clock::time_point{}) wake = now + k_turn_tick;
            if (!classifier_.done()) wake = std::min(wake, now + k_turn_tick);
            timer_.expires_at(std::max(wake, now + std::chrono::milliseconds{1}));
            co_await timer_.async_wait(net::k_use_tuple);  // cancelled only by stop()
            if (stopping_) co_return;
            machine_.tick(Clock::now(), out);
            classifier_.tick(Clock::now(), out);
            own_nat_to_machine(out);
            send(out);
            report();
            if (machine_.state() == PunchState::failed) {
                spdlog::error("punch: {}", machine_.failure());
                co_return;  // ends the run (status 1)
            }
        }
    }

    // A Binding answer to the classifier (the machine never sends Bindings).
    bool classified(Bytes datagram, std::vector<Datagram>& out) {
        if (classifier_.done() || !stun::looks_like_stun(datagram)) return false;
        const auto m = stun::parse_message(datagram);
        return m && m->method() == stun::method::binding && classifier_.on_message(Clock::now(), *m, out);
    }

    // Once, when the classification ends: a sequential symmetric NAT's step goes to the peer.
    void own_nat_to_machine(std::vector<Datagram>& out) {
        if (!classifier_.done() || nat_given_) return;
        nat_given_ = true;
        const auto mapping = classifier_.result().mapping;
        const bool symmetric =
            mapping == Behaviour::address_dependent || mapping == Behaviour::address_and_port_dependent;
        machine_.set_own_nat(Clock::now(), symmetric, classifier_.port_step(), out);
        if (const auto step = classifier_.port_step())
            spdlog::info("punch: the NAT allocates ports in steps of {}: the peer will predict them", *step);
    }

    // One line (or JSON object) whenever the path changes: registered, punching, direct, relayed, failed.
    void report() {
        const auto state = machine_.state();
        const bool registered = machine_.mapped().has_value();
        if (state == reported_ && registered == reported_registered_ &&
            classifier_.done() == reported_classified_)
            return;
        reported_ = state;
        reported_registered_ = registered;
        reported_classified_ = classifier_.done();
        const NatClass& nat = classifier_.result();
        if (config_.json) {
            nlohmann::ordered_json j;
            j["event"] = "path";
            j["state"] = std::string(to_string(state));
            j["id"] = config_.id;
            j["peer"] = config_.peer;
            j["mapped"] = text(machine_.mapped());
            j["peer_mapped"] = text(machine_.peer_mapped());
            j["peer_direct"] = text(machine_.peer_direct());
            j["relayed"] = text(machine_.relayed());
            j["peer_relayed"] = text(machine_.peer_relayed());
            j["nat"] = std::string(classifier_.done() ? nat_name(nat) : "classifying");
            j["nat_mapping"] = std::string(to_string(nat.mapping));
            j["nat_filtering"] = std::string(to_string(nat.filtering));
            j["port_step"] = step_text(machine_.port_step());
            j["peer_port_step"] = step_text(machine_.peer_port_step());
            j["predicting"] = machine_.predicting();
            if (state == PunchState::failed) j["error"] = std::string(machine_.failure());
            std::cout << j.dump() << std::endl;
            return;
        }
        std::cout << "punch: state=" << to_string(state) << " mapped=" << text(machine_.mapped())
                  << " peer_mapped=" << text(machine_.peer_mapped());
        if (state == PunchState::direct) std::cout << " peer=" << text(machine_.peer_direct());
        if (state == PunchState::relaying)
            std::cout << " relayed=" << text(machine_.relayed())
                      << " peer_relayed=" << text(machine_.peer_relayed());
        std::cout << " nat=\"" << (classifier_.done() ? nat_name(nat) : "classifying") << '"';
        if (state == PunchState::failed) std::cout << " error=\"" << machine_.failure() << '"';
        std::cout << std::endl;
    }

    asio::io_context& io_;
    const PunchClientConfig& config_;
    NatClassifier classifier_;
    PunchMachine machine_;
    asio::ip::udp::socket network_;
    asio::ip::udp::socket local_;
    asio::ip::udp::endpoint forward_;
    asio::steady_timer timer_{io_};
    bool stopping_ = false;
    std::optional<PunchState> reported_;
    bool reported_registered_ = false;
    bool reported_classified_ = false;
    bool nat_given_ = false;
};

}  // namespace

int run_punch(const PunchClientConfig& config) {
    asio::io_context io;
    const auto rendezvous = resolve(io, config.rendezvous, "--rendezvous", config.family);
    const auto forward = resolve(io, config.forward, "--forward");
    if (!rendezvous || !forward) return 2;
    PunchOptions options;
    options.id = config.id;
    options.peer = config.peer;
    options.rendezvous = to_stun(*rendezvous);
    options.deadline = config.deadline;
    options.secret = config.rendezvous_secret;
    if (config.turn) {
        // The socket's family, whatever --family said: the TURN server is reached from the same socket.
        const auto turn = resolve(io, *config.turn, "--turn", rendezvous->address().is_v4() ? 4 : 6);
        if (!turn) return 2;
        options.turn_server = to_stun(*turn);
        options.turn_user = config.turn_user;
        options.turn_password = config.turn_password;
    }
    std::random_device random;
    options.seed = (std::uint64_t{random()} << 32) | random();
    asio::ip::udp::endpoint local(forward->address().is_v4()
                                      ? asio::ip::address(asio::ip::address_v4::loopback())
                                      : asio::ip::address(asio::ip::address_v6::loopback()),
                                  0);
    if (config.listen) {
        const auto listen = resolve(io, *config.listen, "--listen");
        if (!listen) return 2;
        local = *listen;
    }
    Client client(io, config, std::move(options), *forward);
    if (!client.open(*rendezvous, local)) return 2;
    client.start();
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const std::error_code& ec, int) {
        if (ec) return;
        client.stop();
        io.stop();
    });
    io.run();
    return client.status();
}

}  // namespace sg::punch

#include "socks/connector.hpp"

#include <algorithm>
#include <array>
#include <asio/co_spawn.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ip/address.hpp>
#include <asio/this_coro.hpp>
#include <deque>
#include <list>
#include <memory>
#include <optional>
#include <utility>

#include "net/asio_endpoint.hpp"
#include "net/clock.hpp"
#include "net/unhandled.hpp"
#include "net/use_tuple.hpp"

namespace sg::socks {
namespace {

using asio::ip::tcp;
using net::Clock;  // a test may drive Happy Eyeballs on manual time

// The session log gets this many failure reasons; the rest are counted.
constexpr std::size_t k_max_logged_errors = 8;

constexpr std::size_t index_of(Family f) noexcept {
    return f == Family::ipv4 ? 0 : 1;
}
constexpr Family other(Family f) noexcept {
    return f == Family::ipv4 ? Family::ipv6 : Family::ipv4;
}
constexpr std::string_view record_name(Family f) noexcept {
    return f == Family::ipv4 ? "A" : "AAAA";
}

Family preferred_family(FamilyPolicy policy) noexcept {
    return policy == FamilyPolicy::ipv4_only || policy == FamilyPolicy::prefer_ipv4 ? Family::ipv4
                                                                                    : Family::ipv6;
}

bool allows(FamilyPolicy policy, Family f) noexcept {
    if (policy == FamilyPolicy::ipv4_only) return f == Family::ipv4;
    if (policy == FamilyPolicy::ipv6_only) return f == Family::ipv6;
    return true;
}

// IPv4-mapped addresses are dialled as plain IPv4: that is the traffic they carry, and an AF_INET socket
// works even where IPv6 is disabled.
tcp::endpoint unmapped(const tcp::endpoint& endpoint) {
    return {net::unmap(endpoint.address()), endpoint.port()};
}

Family family_of(const tcp::endpoint& endpoint) noexcept {
    return endpoint.address().is_v4() ? Family::ipv4 : Family::ipv6;
}

// How far an attempt got, for choosing the REP when all of them failed (see connector.hpp).
int informativeness(Reply reply) noexcept {
    switch (reply) {
        case Reply::not_allowed:
            return 4;  // the operator's rules refused every address there was: say so
        case Reply::connection_refused:
            return 3;
        case Reply::host_unreachable:
            return 2;
        case Reply::network_unreachable:
            return 1;
        default:
            return 0;
    }
}

struct Attempt {
    Attempt(const asio::any_io_executor& executor, const tcp::endpoint& ep)
        : socket(executor), endpoint(ep) {}
    tcp::socket socket;
    tcp::endpoint endpoint;
    bool running = true;
    asio::error_code error;
};

struct FamilyState {
    bool asked = false;
    bool answered = false;
    asio::error_code error;
    bool denied = false;  // every address it answered was refused by the access rules
    std::deque<tcp::endpoint> untried;
    std::size_t accepted = 0;  // addresses taken from the answers, bounded by k_max_addresses_per_family
};

// Shared by the coordinating coroutine and the resolution and attempt coroutines it spawns. Those may
// outlive connect_to (an abandoned getaddrinfo), so they own it together.
struct State {
    State(const asio::any_io_executor& executor, Dialer d, FamilyPolicy p, HappyEyeballsTiming t)
        : dialer(std::move(d)),
          policy(p),
          timing(t),
          preferred(preferred_family(p)),
          wake(executor),
          stop(executor) {}

    Dialer dialer;
    FamilyPolicy policy;
    HappyEyeballsTiming timing;
    Family preferred;
    net::Timer wake;  // the coordinator sleeps on it; children cancel it to report progress
    net::Timer stop;  // expires at the deadline, cancelled when done: children race against it
    bool finished = false;

    std::array<FamilyState, 2> families;
    std::optional<Clock::time_point> other_family_answered;  // starts the Resolution Delay
    bool attempting = false;
    Clock::time_point next_attempt{};
    std::optional<Family> last_family;
    std::list<Attempt> attempts;  // std::list: attempt coroutines hold pointers to their element
    std::size_t running = 0;
    Attempt* winner = nullptr;

    FamilyState& family(Family f) { return families[index_of(f)]; }
    bool pending(Family f) { return family(f).asked && !family(f).answered; }
    bool has_untried() { return !families[0].untried.empty() || !families[1].untried.empty(); }

    void take_answer(Family asked_for, const Resolution& resolution) {
        FamilyState& fs = family(asked_for);
        fs.answered = true;
        fs.error = resolution.error;
        fs.denied = resolution.denied;
        bool positive = false;
        for (const auto& raw : resolution.endpoints) {
            const auto endpoint = unmapped(raw);
            const Family f = family_of(endpoint);
            FamilyState& target = family(f);
            if (!allows(policy, f) || target.accepted >= k_max_addresses_per_family) continue;
            const bool seen =
                std::find(target.untried.begin(), target.untried.end(), endpoint) != target.untried.end() ||
                std::any_of(attempts.begin(), attempts.end(),
                            [&](const Attempt& a) { return a.endpoint == endpoint; });
            if (seen) continue;
            target.untried.push_back(endpoint);
            ++target.accepted;
            positive = true;
        }
        if (positive && asked_for != preferred && !other_family_answered)
            other_family_answered = Clock::now();
    }

    // RFC 8305 section 3: go once the preferred family has answered, or the Resolution Delay has passed
    // since the other one did.
    bool may_begin(Clock::time_point now) {
        if (!has_untried()) return false;
        if (!pending(preferred)) return true;
        return other_family_answered && now >= *other_family_answered + timing.resolution_delay;
    }

    // RFC 8305 section 4: alternate families, preferred first.
    tcp::endpoint next_endpoint() {
        Family f = last_family ? other(*last_family) : preferred;
        if (family(f).untried.empty()) f = other(f);
        auto& queue = family(f).untried;
        auto endpoint = queue.front();
        queue.pop_front();
        last_family = f;
        return endpoint;
    }
};

asio::awaitable<void> wait_stop(net::Timer& stop) {
    co_await stop.async_wait(net::k_use_tuple);
}

asio::awaitable<void> run_resolution(std::shared_ptr<State> st, Family f) {
    auto resolution = co_await st->dialer.resolve(f);
    if (st->finished) co_return;
    st->take_answer(f, resolution);
    st->wake.cancel();
}

asio::awaitable<void> run_attempt(std::shared_ptr<State> st, Attempt* attempt) {
    using namespace asio::experimental::awaitable_operators;
    auto connecting = st->dialer.connect(attempt->socket, attempt->endpoint);
    auto stopping = wait_stop(st->stop);
    auto result = co_await (std::move(connecting) || std::move(stopping));
    attempt->running = false;
    attempt->error = result.index() == 0 ? std::get<0>(result) : asio::error_code(asio::error::timed_out);
    --st->running;
    if (st->finished) co_return;
    if (!attempt->error) {
        if (st->winner == nullptr) st->winner = attempt;
    } else {
        st->next_attempt = std::min(st->next_attempt, Clock::now());  // a failure starts the next at once
    }
    st->wake.cancel();
}

void start_attempt(const std::shared_ptr<State>& st, const asio::any_io_executor& executor) {
    Attempt& attempt = st->attempts.emplace_back(executor, st->next_endpoint());
    ++st->running;
    asio::co_spawn(executor, run_attempt(st, &attempt), net::log_unhandled(net::Unhandled::socks_connector));
}

class ErrorSummary {
public:
    void add(std::string_view what, const asio::error_code& ec) {
        if (++count_ > k_max_logged_errors) return;
        if (!text_.empty()) text_ += "; ";
        text_ += what;
        text_ += ": ";
        text_ += ec.message();
    }
    std::string take() {
        if (count_ > k_max_logged_errors)
            text_ += "; and " + std::to_string(count_ - k_max_logged_errors) + " more";
        return std::move(text_);
    }

private:
    std::string text_;
    std::size_t count_ = 0;
};

void fill_failure(State& st, ConnectOutcome& out) {
    ErrorSummary summary;
    asio::error_code best;
    int best_rank = -1;
    bool denied = false;  // the best error is the rules refusing every address
    for (const Family f : {st.preferred, other(st.preferred)}) {
        const FamilyState& fs = st.family(f);
        if (!fs.asked) continue;
        asio::error_code ec = fs.answered ? fs.error : asio::error::timed_out;
        if (!ec && fs.accepted == 0) ec = asio::error::host_not_found;
        if (!ec) continue;
        summary.add(std::string("resolve ") + std::string(record_name(f)) +
                        (fs.denied ? " (every address denied by the rules)" : ""),
                    ec);
        // A resolution error decides only when there was nothing to connect to.
        const Reply reply = fs.denied ? Reply::not_allowed : reply_for(ec);
        if (st.attempts.empty() && informativeness(reply) > best_rank) {
            best = ec;
            best_rank = informativeness(reply);
            denied = fs.denied;
        }
    }
    for (Attempt& attempt : st.attempts) {
        if (attempt.running) attempt.error = asio::error::timed_out;  // still going at the deadline
        const auto where = net::to_string(attempt.endpoint);
        summary.add("connect " + where, attempt.error);
        if (informativeness(reply_for(attempt.error)) > best_rank) {
            best = attempt.error;
            best_rank = informativeness(reply_for(attempt.error));
            out.resolved = where;
        }
    }
    out.error = summary.take();
    if (!best) {
        // Addresses were found, but the deadline came before the first attempt (a tiny timeout).
        best = asio::error::timed_out;
        out.error = "timed out before the first attempt";
    }
    out.reply = denied ? Reply::not_allowed : reply_for(best);
}

asio::awaitable<Resolution> resolve_family(std::string host, std::uint16_t port, Family f) {
    const auto executor = co_await asio::this_coro::executor;
    tcp::resolver resolver(executor);
    const std::string service = std::to_string(port);
    const tcp protocol = f == Family::ipv4 ? tcp::v4() : tcp::v6();
    auto [ec, results] = co_await resolver.async_resolve(protocol, host, service,
                                                         tcp::resolver::numeric_service, net::k_use_tuple);
    Resolution out{ec, {}};
    for (const auto& entry : results)
        out.endpoints.push_back(entry.endpoint());
    co_return out;
}

asio::awaitable<asio::error_code> connect_socket(tcp::socket& socket, tcp::endpoint endpoint) {
    auto [ec] = co_await socket.async_connect(endpoint, net::k_use_tuple);
    co_return ec;
}

asio::awaitable<Resolution> literal_resolution(tcp::endpoint endpoint, Family f) {
    Resolution out;
    if (family_of(endpoint) == f) out.endpoints.push_back(endpoint);
    co_return out;
}

}  // namespace

std::string_view to_string(FamilyPolicy policy) noexcept {
    switch (policy) {
        case FamilyPolicy::any:
            return "any";
        case FamilyPolicy::ipv4_only:
            return "ipv4-only";
        case FamilyPolicy::ipv6_only:
            return "ipv6-only";
        case FamilyPolicy::prefer_ipv4:
            return "prefer-ipv4";
    }
    return "any";
}

sg::Result<FamilyPolicy> parse_family_policy(std::string_view text) noexcept {
    for (const auto policy :
         {FamilyPolicy::any, FamilyPolicy::ipv4_only, FamilyPolicy::ipv6_only, FamilyPolicy::prefer_ipv4}) {
        if (text == to_string(policy)) return policy;
    }
    return sg::fail("must be one of any, ipv4-only, ipv6-only, prefer-ipv4");
}

Reply reply_for(const asio::error_code& ec) noexcept {
    if (ec == asio::error::connection_refused) return Reply::connection_refused;
    if (ec == asio::error::network_unreachable || ec == asio::error::address_family_not_supported) {
        return Reply::network_unreachable;
    }
    if (ec == asio::error::host_unreachable || ec == asio::error::timed_out ||
        ec == asio::error::host_not_found || ec == asio::error::host_not_found_try_again ||
        ec == asio::error::no_data) {
        return Reply::host_unreachable;
    }
    return Reply::general_failure;
}

Dialer system_dialer(std::string host, std::uint16_t port) {
    return Dialer{
        [host = std::move(host), port](Family f) { return resolve_family(host, port, f); },
        [](tcp::socket& socket, tcp::endpoint endpoint) {
            return connect_socket(socket, std::move(endpoint));
        },
    };
}

namespace {

asio::awaitable<Resolution> filtered_resolution(std::function<asio::awaitable<Resolution>(Family)> resolve,
                                                AddressFilter admit, Family f) {
    Resolution resolution = co_await resolve(f);
    const auto refused =
        std::remove_if(resolution.endpoints.begin(), resolution.endpoints.end(),
                       [&](const tcp::endpoint& e) { return !admit(net::unmap(e.address())); });
    const bool all_refused = refused == resolution.endpoints.begin() && !resolution.endpoints.empty();
    resolution.endpoints.erase(refused, resolution.endpoints.end());
    if (all_refused) {
        resolution.error = asio::error::access_denied;  // for the log line: "Permission denied"
        resolution.denied = true;
    }
    co_return resolution;
}

}  // namespace

Dialer filter_addresses(Dialer dialer, AddressFilter admit) {
    if (!admit) return dialer;
    dialer.resolve = [resolve = std::move(dialer.resolve), admit = std::move(admit)](Family f) {
        return filtered_resolution(resolve, admit, f);
    };
    return dialer;
}

asio::awaitable<ConnectOutcome> happy_eyeballs(Dialer dialer, FamilyPolicy policy, Clock::duration timeout,
                                               HappyEyeballsTiming timing) {
    const auto deadline = Clock::now() + timeout;
    const auto executor = co_await asio::this_coro::executor;
    auto st = std::make_shared<State>(executor, std::move(dialer), policy, timing);
    st->stop.expires_at(deadline);
    for (const Family f : {st->preferred, other(st->preferred)}) {
        if (!allows(policy, f)) continue;
        st->family(f).asked = true;
        asio::co_spawn(executor, run_resolution(st, f), net::log_unhandled(net::Unhandled::socks_connector));
    }

    for (;;) {
        if (st->winner != nullptr) break;
        const auto now = Clock::now();
        if (now >= deadline) break;
        if (!st->attempting && st->may_begin(now)) {
            st->attempting = true;
            st->next_attempt = now;
        }
        if (st->attempting && st->has_untried() && now >= st->next_attempt) {
            start_attempt(st, executor);
            st->next_attempt = now + st->timing.attempt_delay;
            continue;
        }
        if (st->running == 0 && !st->has_untried() && !st->pending(Family::ipv4) &&
            !st->pending(Family::ipv6)) {
            break;  // everything failed
        }
        auto wake_at = deadline;
        if (st->has_untried()) {
            if (st->attempting) {
                wake_at = std::min(wake_at, st->next_attempt);
            } else if (st->other_family_answered) {
                wake_at = std::min(wake_at, *st->other_family_answered + st->timing.resolution_delay);
            }
        }
        st->wake.expires_at(wake_at);
        co_await st->wake.async_wait(net::k_use_tuple);
    }

    st->finished = true;
    ConnectOutcome out{Reply::general_failure, tcp::socket(executor), {}, {}};
    for (Attempt& attempt : st->attempts) {
        if (&attempt == st->winner) continue;
        asio::error_code ignored;
        attempt.socket.close(ignored);  // losers and stragglers: their pending connects end now
    }
    st->stop.cancel();
    if (st->winner != nullptr) {
        out.reply = Reply::succeeded;
        out.resolved = net::to_string(st->winner->endpoint);
        out.socket = std::move(st->winner->socket);
        asio::error_code ignored;
        out.socket.set_option(tcp::no_delay(true), ignored);  // relayed RTSP/RTP must not be Nagle-delayed
        co_return out;
    }
    fill_failure(*st, out);
    co_return out;
}

asio::awaitable<ConnectOutcome> connect_to(const Address& target, Clock::duration timeout,
                                           FamilyPolicy policy, AddressFilter admit) {
    Dialer dialer;
    if (target.is_domain()) {
        dialer =
            filter_addresses(system_dialer(std::string(target.domain()), target.port()), std::move(admit));
    } else {
        const asio::ip::address address = target.is_ipv4()
                                              ? asio::ip::address(asio::ip::address_v4(target.ipv4()))
                                              : asio::ip::address(asio::ip::address_v6(target.ipv6()));
        const auto endpoint = unmapped(tcp::endpoint(address, target.port()));
        if (!allows(policy, family_of(endpoint))) {
            const auto executor = co_await asio::this_coro::executor;
            ConnectOutcome refused{Reply::network_unreachable, tcp::socket(executor), {}, {}};
            refused.error = std::string(family_of(endpoint) == Family::ipv4 ? "IPv4" : "IPv6") +
                            " target excluded by family policy " + std::string(to_string(policy));
            co_return refused;
        }
        dialer.resolve = [endpoint](Family f) { return literal_resolution(endpoint, f); };
        dialer.connect = [](tcp::socket& socket, tcp::endpoint ep) {
            return connect_socket(socket, std::move(ep));
        };
        // One attempt, and no lookup of the other family (whose absence is not an error here).
        policy = family_of(endpoint) == Family::ipv4 ? FamilyPolicy::ipv4_only : FamilyPolicy::ipv6_only;
    }
    const HappyEyeballsTiming timing{};
    auto outcome = co_await happy_eyeballs(std::move(dialer), policy, timeout, timing);
    co_return outcome;
}

}  // namespace sg::socks

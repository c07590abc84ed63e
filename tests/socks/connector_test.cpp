// The CONNECT connector: Happy Eyeballs (RFC 8305) driven through its Dialer seam with scripted resolvers
// and connects, then real connects on loopback for literals, refusals and the family policy.
#include "socks/connector.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "net/clock.hpp"

namespace sg::socks {
namespace {

using asio::ip::tcp;
using net::Clock;
using namespace std::chrono_literals;
constexpr auto k_use = asio::experimental::as_tuple(asio::use_awaitable);

tcp::endpoint ep(const char* address, std::uint16_t port = 80) {
    return {asio::ip::make_address(address), port};
}

// Documentation addresses (RFC 3849, RFC 5737): the fakes never touch the network.
const tcp::endpoint a1 = ep("2001:db8::1");
const tcp::endpoint a2 = ep("2001:db8::2");
const tcp::endpoint a3 = ep("2001:db8::3");
const tcp::endpoint b1 = ep("198.51.100.1");
const tcp::endpoint b2 = ep("198.51.100.2");

constexpr auto k_forever = std::chrono::hours{1};

// A scripted network: when each family answers and with what, and how each connect ends. Records what the
// algorithm did, with times relative to the start.
struct FakeNet {
    struct Answer {
        Clock::duration after = 0ms;
        asio::error_code error;
        std::vector<tcp::endpoint> endpoints;
    };
    struct Behaviour {
        Clock::duration after = k_forever;  // default: a blackhole, the connect never completes
        asio::error_code result;
    };
    struct Started {
        tcp::endpoint endpoint;
        Clock::duration at;
    };

    // The algorithm and the fakes run on manual time: every figure below is exact, however loaded the
    // machine.
    net::ManualTime time;
    asio::io_context io;  // declared before any outcome in a test, so it outlives the outcome's socket
    std::map<Family, Answer> answers;
    std::map<tcp::endpoint, Behaviour> behaviours;
    AddressFilter filter;  // the access rules on resolved addresses; empty: none

    Clock::time_point t0 = Clock::now();
    std::vector<Family> asked;
    std::vector<Started> started;
    std::vector<tcp::endpoint> cancelled;
    std::vector<tcp::endpoint> closed_when_cancelled;

    Dialer dialer() {
        return filter_addresses(Dialer{[this](Family f) { return resolve(this, f); },
                                       [this](tcp::socket& socket, tcp::endpoint endpoint) {
                                           return connect(this, socket, endpoint);
                                       }},
                                filter);
    }

    std::vector<tcp::endpoint> order() const {
        std::vector<tcp::endpoint> out;
        for (const auto& s : started)
            out.push_back(s.endpoint);
        return out;
    }
    Clock::duration started_at(const tcp::endpoint& e) const {
        for (const auto& s : started) {
            if (s.endpoint == e) return s.at;
        }
        ADD_FAILURE() << "never attempted: " << e;
        return k_forever;
    }

    static asio::awaitable<Resolution> resolve(FakeNet* net, Family f) {
        net->asked.push_back(f);
        const auto it = net->answers.find(f);
        const Answer answer =
            it == net->answers.end() ? Answer{0ms, asio::error::host_not_found, {}} : it->second;
        net::Timer timer(co_await asio::this_coro::executor, answer.after);
        co_await timer.async_wait(k_use);
        co_return Resolution{answer.error, answer.endpoints};
    }

    static asio::awaitable<asio::error_code> connect(FakeNet* net, tcp::socket& socket,
                                                     tcp::endpoint endpoint) {
        net->started.push_back({endpoint, Clock::now() - net->t0});
        socket.open(endpoint.protocol());  // so the test can see whether the algorithm closes it
        const auto it = net->behaviours.find(endpoint);
        const Behaviour behaviour = it == net->behaviours.end() ? Behaviour{} : it->second;
        net::Timer timer(co_await asio::this_coro::executor, behaviour.after);
        auto [ec] = co_await timer.async_wait(k_use);
        if (ec) {
            net->cancelled.push_back(endpoint);
            if (!socket.is_open()) net->closed_when_cancelled.push_back(endpoint);
            co_return ec;
        }
        co_return behaviour.result;
    }
};

FakeNet::Behaviour after(Clock::duration d, asio::error_code result = {}) {
    return {d, result};
}
FakeNet::Behaviour fails(asio::error_code result) {
    return {0ms, result};
}

struct Run {
    ConnectOutcome outcome;
    Clock::duration elapsed;  // until happy_eyeballs returned (abandoned lookups may run longer)
};

asio::awaitable<void> drive(FakeNet* net, FamilyPolicy policy, Clock::duration timeout,
                            HappyEyeballsTiming timing, std::optional<Run>* out) {
    auto outcome = co_await happy_eyeballs(net->dialer(), policy, timeout, timing);
    const auto elapsed = Clock::now() - net->t0;
    out->emplace(Run{std::move(outcome), elapsed});
}

// Runs until every coroutine the algorithm started has finished, moving the manual clock a millisecond at a
// time whenever nothing is left to do now. A fake connect that was never cancelled fails the test.
Run run_happy_eyeballs(FakeNet& net, FamilyPolicy policy, Clock::duration timeout,
                       HappyEyeballsTiming timing) {
    asio::io_context& io = net.io;
    std::optional<Run> run;
    net.t0 = Clock::now();
    asio::co_spawn(io, drive(&net, policy, timeout, timing, &run),
                   [](std::exception_ptr e) { ASSERT_FALSE(e); });
    const bool finished = net.time.run_for(io, 1min, [&] { return io.stopped(); });
    EXPECT_TRUE(finished) << "a coroutine was still waiting after a minute";
    EXPECT_TRUE(run.has_value());
    if (!run) return Run{ConnectOutcome{Reply::general_failure, tcp::socket(io), {}, {}}, 0ms};
    return std::move(*run);
}

HappyEyeballsTiming timing(Clock::duration resolution_delay, Clock::duration attempt_delay) {
    return {resolution_delay, attempt_delay};
}

std::string str(const tcp::endpoint& e) {
    std::ostringstream out;
    out << e;
    return out.str();
}

// --- policy names and REP mapping ---------------------------------------------------------------------

TEST(FamilyPolicyTest, NamesRoundTrip) {
    const std::pair<FamilyPolicy, std::string_view> cases[] = {
        {FamilyPolicy::any, "any"},
        {FamilyPolicy::ipv4_only, "ipv4-only"},
        {FamilyPolicy::ipv6_only, "ipv6-only"},
        {FamilyPolicy::prefer_ipv4, "prefer-ipv4"},
    };
    for (const auto& [policy, name] : cases) {
        EXPECT_EQ(to_string(policy), name);
        const auto parsed = parse_family_policy(name);
        ASSERT_TRUE(parsed.ok()) << name;
        EXPECT_EQ(*parsed, policy);
    }
    for (const std::string_view bad : {"", "IPv4-only", "ipv4_only", "both", "any ", "prefer-ipv6"})
        EXPECT_FALSE(parse_family_policy(bad).ok()) << bad;
}

TEST(ReplyForTest, MapsSocketAndResolverErrors) {
    const std::pair<asio::error_code, Reply> cases[] = {
        {asio::error::connection_refused, Reply::connection_refused},
        {asio::error::network_unreachable, Reply::network_unreachable},
        {asio::error::address_family_not_supported, Reply::network_unreachable},
        {asio::error::host_unreachable, Reply::host_unreachable},
        {asio::error::timed_out, Reply::host_unreachable},
        {asio::error::host_not_found, Reply::host_unreachable},
        {asio::error::host_not_found_try_again, Reply::host_unreachable},
        {asio::error::access_denied, Reply::general_failure},
        {asio::error::operation_aborted, Reply::general_failure},
    };
    for (const auto& [ec, reply] : cases)
        EXPECT_EQ(reply_for(ec), reply) << ec.message();
}

// --- RFC 8305 section 4: order ------------------------------------------------------------------------

TEST(HappyEyeballsTest, InterleavesFamiliesAccordingToPolicy) {
    struct Case {
        FamilyPolicy policy;
        std::vector<tcp::endpoint> order;
        std::vector<Family> asked;
    };
    const Case cases[] = {
        {FamilyPolicy::any, {a1, b1, a2, b2, a3}, {Family::ipv6, Family::ipv4}},
        {FamilyPolicy::prefer_ipv4, {b1, a1, b2, a2, a3}, {Family::ipv4, Family::ipv6}},
        {FamilyPolicy::ipv6_only, {a1, a2, a3}, {Family::ipv6}},
        {FamilyPolicy::ipv4_only, {b1, b2}, {Family::ipv4}},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(std::string(to_string(c.policy)));
        FakeNet net;
        net.answers[Family::ipv6] = {0ms, {}, {a1, a2, a3}};
        net.answers[Family::ipv4] = {0ms, {}, {b1, b2}};
        for (const auto& e : {a1, a2, a3, b1, b2})
            net.behaviours[e] = fails(asio::error::connection_refused);
        // A failure starts the next attempt at once: with a 5 s attempt delay, only that keeps this fast.
        const auto run = run_happy_eyeballs(net, c.policy, 10s, timing(50ms, 5s));
        EXPECT_EQ(net.order(), c.order);
        EXPECT_EQ(net.asked, c.asked);
        EXPECT_EQ(run.outcome.reply, Reply::connection_refused);
        EXPECT_FALSE(run.outcome.socket.is_open());
        EXPECT_EQ(run.elapsed, 0ms);
    }
}

TEST(HappyEyeballsTest, DropsDuplicatesAndBoundsAddressesPerFamily) {
    FakeNet net;
    std::vector<tcp::endpoint> many = {a1, a1, ep("::ffff:198.51.100.1")};  // the mapped one is b1
    for (int i = 0; i < 40; ++i)
        many.push_back(ep(("2001:db8::1:" + std::to_string(i)).c_str()));
    net.answers[Family::ipv6] = {0ms, {}, many};
    net.answers[Family::ipv4] = {0ms, {}, {b1, b1}};
    const auto run = run_happy_eyeballs(net, FamilyPolicy::any, 300ms, timing(50ms, 0ms));  // all hang
    EXPECT_EQ(run.outcome.reply, Reply::host_unreachable);  // every attempt timed out
    const auto order = net.order();
    EXPECT_EQ(std::count(order.begin(), order.end(), a1), 1);
    EXPECT_EQ(std::count(order.begin(), order.end(), b1), 1);
    EXPECT_EQ(order.size(), k_max_addresses_per_family + 1);  // 16 IPv6 (a1 and 15 more) and b1
    EXPECT_EQ(order[1], b1);                                  // the mapped address was dialled as IPv4
    EXPECT_NE(run.outcome.error.find("and 9 more"), std::string::npos) << run.outcome.error;
    EXPECT_EQ(net.closed_when_cancelled.size(), order.size());
}

// --- RFC 8305 section 5: attempts ---------------------------------------------------------------------

TEST(HappyEyeballsTest, BlackholedFirstAddressLosesToTheNextFamilyAfterTheAttemptDelay) {
    FakeNet net;
    net.answers[Family::ipv6] = {0ms, {}, {a1}};
    net.answers[Family::ipv4] = {0ms, {}, {b1}};
    net.behaviours[b1] = after(10ms);
    const auto run = run_happy_eyeballs(net, FamilyPolicy::any, 10s, timing(50ms, 200ms));
    ASSERT_EQ(run.outcome.reply, Reply::succeeded) << run.outcome.error;
    EXPECT_EQ(run.outcome.resolved, "198.51.100.1:80");
    EXPECT_TRUE(run.outcome.socket.is_open());
    EXPECT_EQ(net.order(), (std::vector<tcp::endpoint>{a1, b1}));
    EXPECT_EQ(net.started_at(a1), 0ms);
    EXPECT_EQ(net.started_at(b1), 200ms);
    EXPECT_EQ(run.elapsed, 210ms);
    // The loser was cancelled and its socket closed.
    EXPECT_EQ(net.cancelled, std::vector<tcp::endpoint>{a1});
    EXPECT_EQ(net.closed_when_cancelled, std::vector<tcp::endpoint>{a1});
}

TEST(HappyEyeballsTest, EarlierAttemptsKeepRunningAndMayStillWin) {
    FakeNet net;
    net.answers[Family::ipv6] = {0ms, {}, {a1, a2}};
    net.answers[Family::ipv4] = {0ms, {}, {b1}};
    net.behaviours[a1] = after(350ms);  // slow, but still first to finish
    const auto run = run_happy_eyeballs(net, FamilyPolicy::any, 10s, timing(50ms, 100ms));
    ASSERT_EQ(run.outcome.reply, Reply::succeeded) << run.outcome.error;
    EXPECT_EQ(run.outcome.resolved, "[2001:db8::1]:80");
    EXPECT_EQ(net.order(), (std::vector<tcp::endpoint>{a1, b1, a2}));
    EXPECT_EQ(net.started_at(b1), 100ms);
    EXPECT_EQ(net.started_at(a2), 200ms);
    EXPECT_EQ(run.elapsed, 350ms);
    EXPECT_EQ(net.cancelled, (std::vector<tcp::endpoint>{b1, a2}));
    EXPECT_EQ(net.closed_when_cancelled, (std::vector<tcp::endpoint>{b1, a2}));
}

TEST(HappyEyeballsTest, FailureStartsTheNextAttemptAtOnce) {
    FakeNet net;
    net.answers[Family::ipv6] = {0ms, {}, {a1}};
    net.answers[Family::ipv4] = {0ms, {}, {b1}};
    net.behaviours[a1] = after(30ms, asio::error::host_unreachable);
    net.behaviours[b1] = after(0ms);
    const auto run = run_happy_eyeballs(net, FamilyPolicy::any, 10s, timing(50ms, 5s));
    ASSERT_EQ(run.outcome.reply, Reply::succeeded) << run.outcome.error;
    EXPECT_EQ(run.outcome.resolved, "198.51.100.1:80");
    EXPECT_EQ(net.started_at(b1), 30ms);
}

// --- RFC 8305 section 3: resolution -------------------------------------------------------------------

TEST(HappyEyeballsTest, AnswerForTheOtherFamilyWaitsTheResolutionDelayForThePreferredOne) {
    FakeNet net;
    net.answers[Family::ipv4] = {0ms, {}, {b1}};
    net.answers[Family::ipv6] = {40ms, {}, {a1}};
    net.behaviours[a1] = after(0ms);
    net.behaviours[b1] = after(0ms);
    const auto run = run_happy_eyeballs(net, FamilyPolicy::any, 10s, timing(1s, 200ms));
    ASSERT_EQ(run.outcome.reply, Reply::succeeded) << run.outcome.error;
    EXPECT_EQ(net.order(), std::vector<tcp::endpoint>{a1});  // AAAA came within the delay: IPv6 first
    EXPECT_EQ(net.started_at(a1), 40ms);                     // not the whole 1 s delay
}

TEST(HappyEyeballsTest, ResolutionDelayExpiresAndALateAnswerJoinsTheList) {
    FakeNet net;
    net.answers[Family::ipv4] = {0ms, {}, {b1}};
    net.answers[Family::ipv6] = {600ms, {}, {a1}};
    net.behaviours[a1] = after(0ms);
    const auto run = run_happy_eyeballs(net, FamilyPolicy::any, 10s, timing(100ms, 200ms));
    ASSERT_EQ(run.outcome.reply, Reply::succeeded) << run.outcome.error;
    EXPECT_EQ(run.outcome.resolved, "[2001:db8::1]:80");
    EXPECT_EQ(net.order(), (std::vector<tcp::endpoint>{b1, a1}));
    EXPECT_EQ(net.started_at(b1), 100ms);
    EXPECT_EQ(net.started_at(a1), 600ms);
}

TEST(HappyEyeballsTest, PreferredAnswerStartsAtOnceAndTheOtherJoinsLater) {
    FakeNet net;
    net.answers[Family::ipv6] = {0ms, {}, {a1}};
    net.answers[Family::ipv4] = {100ms, {}, {b1}};
    net.behaviours[b1] = after(0ms);
    const auto run = run_happy_eyeballs(net, FamilyPolicy::any, 10s, timing(1s, 300ms));
    ASSERT_EQ(run.outcome.reply, Reply::succeeded) << run.outcome.error;
    EXPECT_EQ(net.order(), (std::vector<tcp::endpoint>{a1, b1}));
    EXPECT_EQ(net.started_at(a1), 0ms);
    EXPECT_EQ(net.started_at(b1), 300ms);
}

TEST(HappyEyeballsTest, NegativePreferredAnswerEndsTheResolutionDelay) {
    FakeNet net;
    net.answers[Family::ipv4] = {0ms, {}, {b1}};
    net.answers[Family::ipv6] = {50ms, asio::error::host_not_found, {}};
    net.behaviours[b1] = after(0ms);
    const auto run = run_happy_eyeballs(net, FamilyPolicy::any, 10s, timing(2s, 200ms));
    ASSERT_EQ(run.outcome.reply, Reply::succeeded) << run.outcome.error;
    EXPECT_EQ(net.started_at(b1), 50ms);
}

TEST(HappyEyeballsTest, FailedResolutionGivesHostUnreachableWithoutAttempts) {
    FakeNet net;  // no answers scripted: both families say host not found
    const auto run = run_happy_eyeballs(net, FamilyPolicy::any, 10s, timing(50ms, 200ms));
    EXPECT_EQ(run.outcome.reply, Reply::host_unreachable);
    EXPECT_TRUE(net.started.empty());
    EXPECT_TRUE(run.outcome.resolved.empty());
    EXPECT_NE(run.outcome.error.find("resolve AAAA: "), std::string::npos) << run.outcome.error;
    EXPECT_NE(run.outcome.error.find("resolve A: "), std::string::npos) << run.outcome.error;
}

TEST(HappyEyeballsTest, AddressesOnlyOfAnExcludedFamilyCountAsNoAddress) {
    FakeNet net;
    net.answers[Family::ipv6] = {0ms, {}, {ep("::ffff:198.51.100.1")}};  // IPv4 in disguise
    const auto run = run_happy_eyeballs(net, FamilyPolicy::ipv6_only, 10s, timing(50ms, 200ms));
    EXPECT_EQ(run.outcome.reply, Reply::host_unreachable);
    EXPECT_TRUE(net.started.empty());
    EXPECT_EQ(net.asked, std::vector<Family>{Family::ipv6});
}

TEST(HappyEyeballsTest, AddressesTheRulesRefuseAreNeverDialled) {
    FakeNet net;
    net.answers[Family::ipv6] = {0ms, {}, {ep("2001:db8::1"), ep("fd00::1")}};
    net.answers[Family::ipv4] = {0ms, {}, {ep("10.0.0.1"), ep("192.0.2.1")}};
    net.behaviours[ep("2001:db8::1")] = fails(asio::error::connection_refused);
    net.behaviours[ep("192.0.2.1")] = after(0ms);
    net.filter = [](const asio::ip::address& a) {
        return a.to_string() != "fd00::1" && a.to_string() != "10.0.0.1";
    };
    const auto run = run_happy_eyeballs(net, FamilyPolicy::any, 10s, timing(50ms, 200ms));
    EXPECT_EQ(run.outcome.reply, Reply::succeeded);
    EXPECT_EQ(net.order(), (std::vector<tcp::endpoint>{ep("2001:db8::1"), ep("192.0.2.1")}));
}

TEST(HappyEyeballsTest, NameWhoseEveryAddressTheRulesRefuseGetsRep02) {
    FakeNet net;
    net.answers[Family::ipv6] = {0ms, asio::error::host_not_found, {}};
    net.answers[Family::ipv4] = {0ms, {}, {ep("10.0.0.1"), ep("10.0.0.2")}};
    net.filter = [](const asio::ip::address& a) { return !a.is_v4(); };
    const auto run = run_happy_eyeballs(net, FamilyPolicy::any, 10s, timing(50ms, 200ms));
    EXPECT_EQ(run.outcome.reply, Reply::not_allowed);
    EXPECT_TRUE(net.started.empty());
}

// --- deadline and the REP for total failure -----------------------------------------------------------

TEST(HappyEyeballsTest, DeadlineEndsHangingAttempts) {
    FakeNet net;
    net.answers[Family::ipv6] = {0ms, {}, {a1}};
    net.answers[Family::ipv4] = {0ms, {}, {b1}};
    const auto run = run_happy_eyeballs(net, FamilyPolicy::any, 300ms, timing(50ms, 100ms));
    EXPECT_EQ(run.outcome.reply, Reply::host_unreachable);
    EXPECT_EQ(run.elapsed, 300ms);
    EXPECT_NE(run.outcome.error.find("connect [2001:db8::1]:80: "), std::string::npos) << run.outcome.error;
    EXPECT_NE(run.outcome.error.find("connect 198.51.100.1:80: "), std::string::npos) << run.outcome.error;
    EXPECT_EQ(net.closed_when_cancelled, (std::vector<tcp::endpoint>{a1, b1}));
}

TEST(HappyEyeballsTest, DeadlineAbandonsALookupThatDoesNotAnswer) {
    FakeNet net;
    net.answers[Family::ipv6] = {1500ms, {}, {a1}};
    net.answers[Family::ipv4] = {1500ms, {}, {b1}};
    const auto run = run_happy_eyeballs(net, FamilyPolicy::any, 200ms, timing(50ms, 100ms));
    EXPECT_EQ(run.outcome.reply, Reply::host_unreachable);
    EXPECT_EQ(run.elapsed, 200ms);
    EXPECT_TRUE(net.started.empty());  // the late answers were ignored
    EXPECT_NE(run.outcome.error.find("resolve AAAA: "), std::string::npos) << run.outcome.error;
}

TEST(HappyEyeballsTest, MostInformativeErrorDecidesTheReply) {
    const auto hang = FakeNet::Behaviour{};
    struct Case {
        FakeNet::Behaviour first, second;  // a1 (IPv6, tried first), b1
        Reply reply;
        tcp::endpoint decisive;
    };
    const Case cases[] = {
        {fails(asio::error::network_unreachable), fails(asio::error::connection_refused),
         Reply::connection_refused, b1},
        {fails(asio::error::connection_refused), hang, Reply::connection_refused, a1},
        {fails(asio::error::network_unreachable), hang, Reply::host_unreachable, b1},
        {fails(asio::error::host_unreachable), fails(asio::error::network_unreachable),
         Reply::host_unreachable, a1},
        {fails(asio::error::access_denied), fails(asio::error::network_unreachable),
         Reply::network_unreachable, b1},
        {fails(asio::error::access_denied), fails(asio::error::access_denied), Reply::general_failure, a1},
    };
    for (std::size_t i = 0; i < std::size(cases); ++i) {
        SCOPED_TRACE(i);
        FakeNet net;
        net.answers[Family::ipv6] = {0ms, {}, {a1}};
        net.answers[Family::ipv4] = {0ms, {}, {b1}};
        net.behaviours[a1] = cases[i].first;
        net.behaviours[b1] = cases[i].second;
        const auto run = run_happy_eyeballs(net, FamilyPolicy::any, 300ms, timing(50ms, 50ms));
        EXPECT_EQ(run.outcome.reply, cases[i].reply) << run.outcome.error;
        EXPECT_EQ(run.outcome.resolved, str(cases[i].decisive));
        EXPECT_EQ(net.order(), (std::vector<tcp::endpoint>{a1, b1}));
    }
}

// --- connect_to on loopback ---------------------------------------------------------------------------

asio::awaitable<void> drive_connect_to(Address target, FamilyPolicy policy, Clock::duration timeout,
                                       std::optional<ConnectOutcome>* out) {
    auto outcome = co_await connect_to(target, timeout, policy);
    out->emplace(std::move(outcome));
}

ConnectOutcome run_connect_to(asio::io_context& io, const Address& target, FamilyPolicy policy,
                              Clock::duration timeout = 5s) {
    std::optional<ConnectOutcome> result;
    asio::co_spawn(io, drive_connect_to(target, policy, timeout, &result),
                   [](std::exception_ptr e) { ASSERT_FALSE(e); });
    io.run();
    EXPECT_TRUE(result.has_value());
    if (!result) return ConnectOutcome{Reply::general_failure, tcp::socket(io), {}, {}};
    return std::move(*result);
}

Address literal(const tcp::endpoint& e) {
    if (e.address().is_v4()) return Address::from_ipv4(e.address().to_v4().to_bytes(), e.port());
    return Address::from_ipv6(e.address().to_v6().to_bytes(), e.port());
}

// A loopback address that nothing listens on (bound and released, so the port was free a moment ago).
tcp::endpoint closed_port(asio::io_context& io, const char* address) {
    tcp::acceptor acceptor(io, ep(address, 0));
    const auto endpoint = acceptor.local_endpoint();
    acceptor.close();
    return endpoint;
}

TEST(ConnectToTest, ConnectsToLoopbackLiteralsOfBothFamilies) {
    for (const char* address : {"127.0.0.1", "::1"}) {
        SCOPED_TRACE(address);
        asio::io_context io;
        tcp::acceptor acceptor(io, ep(address, 0));
        const auto outcome = run_connect_to(io, literal(acceptor.local_endpoint()), FamilyPolicy::any);
        ASSERT_EQ(outcome.reply, Reply::succeeded) << outcome.error;
        EXPECT_EQ(outcome.resolved, str(acceptor.local_endpoint()));
        EXPECT_EQ(outcome.socket.remote_endpoint(), acceptor.local_endpoint());
        EXPECT_TRUE(outcome.socket.is_open());
        tcp::socket accepted = acceptor.accept();
        EXPECT_EQ(accepted.remote_endpoint(), outcome.socket.local_endpoint());
        tcp::no_delay no_delay;
        outcome.socket.get_option(no_delay);
        EXPECT_TRUE(no_delay.value());
    }
}

TEST(ConnectToTest, RefusedLiteralGetsRep05) {
    asio::io_context io;
    const auto target = closed_port(io, "127.0.0.1");
    const auto outcome = run_connect_to(io, literal(target), FamilyPolicy::any);
    EXPECT_EQ(outcome.reply, Reply::connection_refused);
    EXPECT_EQ(outcome.resolved, str(target));
    EXPECT_FALSE(outcome.socket.is_open());
    EXPECT_EQ(outcome.error.find("resolve"), std::string::npos)
        << outcome.error;  // a literal is not looked up
    EXPECT_NE(outcome.error.find("connect " + str(target) + ": "), std::string::npos) << outcome.error;
}

TEST(ConnectToTest, IpV4MappedLiteralIsDialledAsIpV4) {
    asio::io_context io;
    tcp::acceptor acceptor(io, ep("127.0.0.1", 0));
    const auto target = ep("::ffff:127.0.0.1", acceptor.local_endpoint().port());
    const auto outcome = run_connect_to(io, literal(target), FamilyPolicy::ipv4_only);
    ASSERT_EQ(outcome.reply, Reply::succeeded) << outcome.error;
    EXPECT_EQ(outcome.resolved, str(acceptor.local_endpoint()));
    EXPECT_TRUE(outcome.socket.remote_endpoint().address().is_v4());
}

TEST(ConnectToTest, LiteralOfAnExcludedFamilyGetsRep03WithoutAnAttempt) {
    struct Case {
        const char* listen;
        const char* target;  // same port as the listener
        FamilyPolicy policy;
    };
    const Case cases[] = {
        {"::1", "::1", FamilyPolicy::ipv4_only},
        {"127.0.0.1", "127.0.0.1", FamilyPolicy::ipv6_only},
        {"127.0.0.1", "::ffff:127.0.0.1", FamilyPolicy::ipv6_only},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(std::string(c.target) + " " + std::string(to_string(c.policy)));
        asio::io_context io;
        tcp::acceptor acceptor(io, ep(c.listen, 0));
        acceptor.non_blocking(true);
        const auto outcome =
            run_connect_to(io, literal(ep(c.target, acceptor.local_endpoint().port())), c.policy);
        EXPECT_EQ(outcome.reply, Reply::network_unreachable);
        EXPECT_TRUE(outcome.resolved.empty());
        EXPECT_NE(outcome.error.find("family policy " + std::string(to_string(c.policy))), std::string::npos)
            << outcome.error;
        asio::error_code ec;
        acceptor.accept(ec);
        EXPECT_EQ(ec, asio::error::would_block);  // nobody knocked
    }
}

TEST(ConnectToTest, NameResolvesThroughTheSystemResolver) {
    // ipv4_only: `localhost` is answered from /etc/hosts; no query leaves the machine.
    asio::io_context io;
    tcp::acceptor acceptor(io, ep("127.0.0.1", 0));
    const auto target = Address::from_domain("localhost", acceptor.local_endpoint().port());
    ASSERT_TRUE(target.ok());
    const auto outcome = run_connect_to(io, *target, FamilyPolicy::ipv4_only);
    ASSERT_EQ(outcome.reply, Reply::succeeded) << outcome.error;
    EXPECT_EQ(outcome.resolved, str(acceptor.local_endpoint()));
}

}  // namespace
}  // namespace sg::socks

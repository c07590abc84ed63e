#include "alg/alg_machine.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace sg::alg {
namespace {

constexpr Direction k_up = Direction::client_to_origin;
constexpr Direction k_down = Direction::origin_to_client;

AlgMachineConfig config(std::size_t max_relays = 16) {
    AlgMachineConfig out;
    out.max_relays = max_relays;
    out.origin_facing_host = "198.18.3.1";
    out.client_facing_host = "2001:2:0:2::1";
    out.client_host = "2001:2:0:2::2";
    out.rewrite_sdp_family = true;
    out.client_facing_ipv6 = true;
    return out;
}

Bytes bytes_of(std::string_view text) {
    return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

std::string text_of(const std::vector<std::uint8_t>& bytes) {
    return {bytes.begin(), bytes.end()};
}

std::string setup(int cseq, std::string_view transport = "RTP/AVP;unicast;client_port=5000-5001") {
    return "SETUP rtsp://198.18.3.2/cam/trackID=0 RTSP/1.0\r\nCSeq: " + std::to_string(cseq) +
           "\r\nTransport: " + std::string(transport) + "\r\n\r\n";
}

std::string reply(int cseq, std::string_view extra = "", int status = 200) {
    return "RTSP/1.0 " + std::to_string(status) + " OK\r\nCSeq: " + std::to_string(cseq) + "\r\n" +
           std::string(extra) + "\r\n";
}

class AlgMachineTest : public ::testing::Test {
protected:
    // Feeds `text` from `from`, answering every question with the next port pairs (or "none free"), and
    // returns all the bytes to forward; `actions` collects every action.
    std::string feed(Direction from, std::string_view text) {
        std::string out;
        Bytes input = bytes_of(text);
        for (;;) {
            machine_.feed(from, input, step_);
            input = {};
            out += text_of(step_.bytes);
            actions_.insert(actions_.end(), step_.actions.begin(), step_.actions.end());
            if (!step_.open) return out;
            opened_.push_back(*step_.open);
            if (ports_free_) {
                machine_.relay_opened(step_.open->id, next_port_, static_cast<std::uint16_t>(next_port_ + 2));
                next_port_ = static_cast<std::uint16_t>(next_port_ + 4);
            } else {
                machine_.relay_unavailable(step_.open->id);
            }
        }
    }

    template <class Action>
    std::vector<Action> all() const {
        std::vector<Action> out;
        for (const AlgAction& action : actions_) {
            if (const auto* a = std::get_if<Action>(&action)) out.push_back(*a);
        }
        return out;
    }

    AlgMachine machine_{config()};
    AlgStep step_;
    std::vector<AlgAction> actions_;
    std::vector<OpenRelay> opened_;
    bool ports_free_ = true;
    std::uint16_t next_port_ = 30000;
};

TEST_F(AlgMachineTest, OtherMessagesPassAsTheExactBytesReceived) {
    // Bare LF line endings, an interleaved frame, a server-to-client request: nothing is re-serialized.
    const std::string options = "OPTIONS * RTSP/1.0\nCSeq: 1\n\n";
    const std::string frame(
        "$\x00\x00\x03"
        "abc",
        7);
    EXPECT_EQ(feed(k_up, options + frame), options + frame);
    const std::string announce = "GET_PARAMETER rtsp://x/ RTSP/1.0\r\nCSeq: 9\r\n\r\n";
    EXPECT_EQ(feed(k_down, reply(1) + frame + announce), reply(1) + frame + announce);
    EXPECT_TRUE(all<StartRelay>().empty());
    EXPECT_FALSE(all<TouchRelays>().empty());  // control traffic keeps paused relays alive
    EXPECT_TRUE(opened_.empty());
}

TEST_F(AlgMachineTest, IncompleteMessagesWaitForTheirRest) {
    const std::string options = "OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n";
    EXPECT_EQ(feed(k_up, options.substr(0, 10)), "");
    EXPECT_EQ(machine_.buffered(k_up), 10u);
    EXPECT_EQ(feed(k_up, options.substr(10)), options);
    EXPECT_EQ(machine_.buffered(k_up), 0u);
}

TEST_F(AlgMachineTest, UdpSetupAsksForARelayThenPointsTheOriginAtIt) {
    machine_.feed(k_up, bytes_of(setup(2)), step_);
    ASSERT_TRUE(step_.open.has_value());
    EXPECT_TRUE(step_.bytes.empty());  // nothing goes out before the ports are known
    EXPECT_EQ(step_.open->client_ports.first, 5000);
    EXPECT_EQ(step_.open->client_ports.last, 5001);
    const RelayId id = step_.open->id;
    machine_.relay_opened(id, 30000, 30002);
    machine_.feed(k_up, {}, step_);
    EXPECT_FALSE(step_.open.has_value());
    EXPECT_NE(text_of(step_.bytes).find("Transport: RTP/AVP;unicast;client_port=30000-30001\r\n"),
              std::string::npos);
    EXPECT_EQ(machine_.live_relays(), 1u);

    const std::string down =
        feed(k_down, reply(2,
                           "Session: 12345678;timeout=60\r\n"
                           "Transport: RTP/AVP;unicast;client_port=30000-30001;server_port=6970-6971;"
                           "source=198.18.3.9\r\n"));
    EXPECT_NE(down.find("client_port=5000-5001"), std::string::npos) << down;
    EXPECT_NE(down.find("server_port=30002-30003"), std::string::npos) << down;
    EXPECT_NE(down.find("source=2001:2:0:2::1"), std::string::npos) << down;
    const auto starts = all<StartRelay>();
    ASSERT_EQ(starts.size(), 1u);
    EXPECT_EQ(starts[0].id, id);
    EXPECT_EQ(starts[0].session_id, "12345678");
    ASSERT_TRUE(starts[0].origin.server_ports.has_value());
    EXPECT_EQ(starts[0].origin.server_ports->first, 6970);
    EXPECT_EQ(starts[0].origin.source, "198.18.3.9");
    EXPECT_EQ(machine_.media_relays(), 1u);
}

TEST_F(AlgMachineTest, PipelinedRequestsKeepTheirOrderAroundTheSetup) {
    const std::string options = "OPTIONS * RTSP/1.0\r\nCSeq: 3\r\n\r\n";
    const std::string out = feed(k_up, setup(2) + options);
    ASSERT_EQ(opened_.size(), 1u);
    const auto setup_at = out.find("SETUP");
    const auto options_at = out.find("OPTIONS");
    ASSERT_NE(setup_at, std::string::npos);
    ASSERT_NE(options_at, std::string::npos);
    EXPECT_LT(setup_at, options_at);
}

TEST_F(AlgMachineTest, AnUnansweredQuestionHoldsTheClientDirection) {
    machine_.feed(k_up, bytes_of(setup(2)), step_);
    ASSERT_TRUE(step_.open.has_value());
    const RelayId id = step_.open->id;
    machine_.feed(k_up, bytes_of("OPTIONS * RTSP/1.0\r\nCSeq: 3\r\n\r\n"), step_);
    EXPECT_TRUE(step_.bytes.empty());
    ASSERT_TRUE(step_.open.has_value());
    EXPECT_EQ(step_.open->id, id);
    machine_.relay_opened(id + 1, 1, 3);  // not the question asked: ignored
    machine_.feed(k_up, {}, step_);
    EXPECT_TRUE(step_.open.has_value());
}

TEST_F(AlgMachineTest, NoFreePortsTurnsTheSetupInto453InOrder) {
    ports_free_ = false;
    const std::string up = feed(k_up, setup(2, "RTP/AVP;unicast;client_port=5000-5001\r\nSession: abc"));
    // The origin gets a harmless stand-in with the same CSeq, so the replies stay in pipelined order.
    EXPECT_EQ(up.rfind("OPTIONS rtsp://198.18.3.2/cam/trackID=0 RTSP/1.0\r\n", 0), 0u) << up;
    EXPECT_EQ(up.find("Transport"), std::string::npos);
    EXPECT_NE(up.find("Session: abc"), std::string::npos);
    const auto refusals = all<SetupRefused>();
    ASSERT_EQ(refusals.size(), 1u);
    EXPECT_EQ(refusals[0].cause, RefusalCause::no_free_ports);
    const std::string down = feed(k_down, reply(2, "Public: OPTIONS\r\n"));
    EXPECT_EQ(down, "RTSP/1.0 453 Not Enough Bandwidth\r\nCSeq: 2\r\n\r\n");
    EXPECT_EQ(machine_.refused_setups(), 1u);
    EXPECT_EQ(machine_.live_relays(), 0u);
}

TEST_F(AlgMachineTest, TooManyRelaysAreRefusedWithoutAskingForPorts) {
    machine_ = AlgMachine(config(1));
    feed(k_up, setup(2));
    feed(k_up, setup(3, "RTP/AVP;unicast;client_port=5002-5003"));
    EXPECT_EQ(opened_.size(), 1u);
    const auto refusals = all<SetupRefused>();
    ASSERT_EQ(refusals.size(), 1u);
    EXPECT_EQ(refusals[0].cause, RefusalCause::too_many_relays);
}

TEST_F(AlgMachineTest, ARelayThatEndedOnItsOwnFreesItsPlace) {
    machine_ = AlgMachine(config(1));
    feed(k_up, setup(2));
    feed(
        k_down,
        reply(2,
              "Session: s1\r\nTransport: RTP/AVP;unicast;client_port=30000-30001;server_port=7000-7001\r\n"));
    ASSERT_EQ(all<StartRelay>().size(), 1u);
    machine_.relay_ended(opened_[0].id);
    feed(k_up, setup(3, "RTP/AVP;unicast;client_port=5002-5003"));
    EXPECT_EQ(opened_.size(), 2u);
    EXPECT_TRUE(all<SetupRefused>().empty());
}

TEST_F(AlgMachineTest, AFailedSetupReplyStopsItsRelayAndPassesUntouched) {
    feed(k_up, setup(2));
    const std::string failed = reply(2, "", 461);
    EXPECT_EQ(feed(k_down, failed), failed);
    const auto stops = all<StopRelay>();
    ASSERT_EQ(stops.size(), 1u);
    EXPECT_EQ(stops[0].id, opened_[0].id);
    EXPECT_EQ(stops[0].reason, "setup refused");
    EXPECT_EQ(machine_.live_relays(), 0u);
}

TEST_F(AlgMachineTest, TeardownStopsTheRelaysOfItsSessionOnSuccess) {
    feed(k_up, setup(2));
    feed(
        k_down,
        reply(2,
              "Session: s1\r\nTransport: RTP/AVP;unicast;client_port=30000-30001;server_port=7000-7001\r\n"));
    feed(k_up, setup(3, "RTP/AVP;unicast;client_port=5002-5003\r\nSession: s2"));
    feed(
        k_down,
        reply(3,
              "Session: s2\r\nTransport: RTP/AVP;unicast;client_port=30004-30005;server_port=7002-7003\r\n"));
    ASSERT_EQ(all<StartRelay>().size(), 2u);
    feed(k_up, "TEARDOWN rtsp://198.18.3.2/cam RTSP/1.0\r\nCSeq: 4\r\nSession: s1\r\n\r\n");
    EXPECT_TRUE(all<StopRelay>().empty());  // not before the origin agrees
    feed(k_down, reply(4));
    const auto stops = all<StopRelay>();
    ASSERT_EQ(stops.size(), 1u);
    EXPECT_EQ(stops[0].id, opened_[0].id);
    EXPECT_EQ(stops[0].reason, "teardown");
    EXPECT_EQ(machine_.live_relays(), 1u);
}

TEST_F(AlgMachineTest, StopRelaysStopsPendingAndRunningRelays) {
    feed(k_up, setup(2));
    feed(k_down, reply(2, "Transport: RTP/AVP;unicast;client_port=30000-30001;server_port=7000-7001\r\n"));
    feed(k_up, setup(3, "RTP/AVP;unicast;client_port=5002-5003"));
    std::vector<AlgAction> actions;
    machine_.stop_relays("client closed", actions);
    ASSERT_EQ(actions.size(), 2u);
    for (const AlgAction& action : actions)
        EXPECT_EQ(std::get<StopRelay>(action).reason, "client closed");
    EXPECT_EQ(machine_.live_relays(), 0u);
}

TEST_F(AlgMachineTest, DescribeRepliesAcrossFamiliesNameTheGateway) {
    const std::string sdp =
        "v=0\r\no=- 1 1 IN IP4 198.18.3.2\r\ns=-\r\nc=IN IP4 198.18.3.2\r\nt=0 0\r\n"
        "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n";
    const std::string described =
        reply(1, "Content-Type: application/sdp\r\nContent-Length: " + std::to_string(sdp.size()) + "\r\n") +
        sdp;
    const std::string out = feed(k_down, described);
    EXPECT_NE(out.find("c=IN IP6 2001:2:0:2::1"), std::string::npos) << out;
    EXPECT_EQ(out.find("198.18.3.2"), std::string::npos) << out;

    AlgMachineConfig same_family = config();
    same_family.rewrite_sdp_family = false;
    machine_ = AlgMachine(same_family);
    EXPECT_EQ(feed(k_down, described), described);
}

TEST_F(AlgMachineTest, AStreamThatStopsParsingPassesThroughUntouched) {
    const std::string garbage = "\x16\x03\x01 not rtsp at all\r\n\r\n";
    EXPECT_EQ(feed(k_up, garbage), garbage);
    const auto fallbacks = all<ParseFallback>();
    ASSERT_EQ(fallbacks.size(), 1u);
    EXPECT_EQ(fallbacks[0].from, k_up);
    EXPECT_FALSE(machine_.parsing(k_up));
    EXPECT_TRUE(machine_.fell_back());
    // Even a SETUP is not touched any more, and nothing is buffered.
    EXPECT_EQ(feed(k_up, setup(2)), setup(2));
    EXPECT_TRUE(opened_.empty());
    EXPECT_EQ(machine_.buffered(k_up), 0u);
    EXPECT_TRUE(machine_.parsing(k_down));
}

// The bytes out do not depend on how the input was cut into reads.
TEST_F(AlgMachineTest, OutputDoesNotDependOnChunking) {
    const std::string up = "OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n" + setup(2) +
                           "PLAY rtsp://198.18.3.2/cam RTSP/1.0\r\nCSeq: 3\r\nSession: s1\r\n\r\n";
    const std::string whole = feed(k_up, up);
    machine_ = AlgMachine(config());
    next_port_ = 30000;
    std::string pieces;
    for (const char c : up)
        pieces += feed(k_up, std::string_view(&c, 1));
    EXPECT_EQ(pieces, whole);
}

}  // namespace
}  // namespace sg::alg

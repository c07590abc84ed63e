#include "relay/call_table.hpp"

#include <gtest/gtest.h>

#include <set>

#include "relay/address.hpp"
#include "relay/rtpproxy_codec.hpp"

namespace sg::relay {
namespace {

using namespace std::chrono_literals;

// Records which ports are bound; ports listed in `busy` fail to bind, as another program's would.
class FakeSockets : public MediaSockets {
public:
    std::optional<Pair> open(const Address& local) override {
        if (busy.count(local.port) != 0) return std::nullopt;
        const Pair pair{next_id, next_id + 1};
        next_id += 2;
        open_ports[pair.rtp] = local;
        Address rtcp = local;
        rtcp.port = static_cast<std::uint16_t>(local.port + 1U);
        open_ports[pair.rtcp] = rtcp;
        return pair;
    }
    void close(std::uint32_t id) override { open_ports.erase(id); }

    std::uint32_t id_of(const Address& local) const {
        for (const auto& [id, address] : open_ports)
            if (address == local) return id;
        return 0;
    }

    std::set<std::uint16_t> busy;
    std::map<std::uint32_t, Address> open_ports;
    std::uint32_t next_id = 1;
};

Address ip(std::string_view text, std::uint16_t port = 0) {
    return *parse_ip(text, port);
}

std::string sdp_from(std::string_view address, std::uint16_t port, std::string_view extra = "") {
    const std::string family = address.find(':') != std::string_view::npos ? "IP6" : "IP4";
    return "v=0\r\no=ua 1 1 IN " + family + " " + std::string(address) + "\r\ns=-\r\nc=IN " + family + " " +
           std::string(address) + "\r\nt=0 0\r\nm=audio " + std::to_string(port) +
           " RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n" + std::string(extra);
}

std::vector<std::uint8_t> rtp_packet(std::uint32_t ssrc, std::uint16_t sequence) {
    std::vector<std::uint8_t> p(12 + 160, 0);
    p[0] = 0x80;
    p[1] = 8;
    p[2] = static_cast<std::uint8_t>(sequence >> 8U);
    p[3] = static_cast<std::uint8_t>(sequence);
    p[8] = static_cast<std::uint8_t>(ssrc >> 24U);
    p[9] = static_cast<std::uint8_t>(ssrc >> 16U);
    p[10] = static_cast<std::uint8_t>(ssrc >> 8U);
    p[11] = static_cast<std::uint8_t>(ssrc);
    return p;
}

class CallTableTest : public ::testing::Test {
protected:
    explicit CallTableTest(CallRecorder* recorder = nullptr, KernelForwarder* kernel = nullptr)
        : table(settings(), sockets, recorder, kernel) {}

    static RelaySettings settings() {
        RelaySettings s;
        s.interfaces = {{"", ip("203.0.113.1")}, {"", ip("2001:db8::1")}};
        s.port_min = 30000;
        s.port_max = 30011;  // six pairs
        s.timeout = 10s;
        s.silent_timeout = 30s;
        return s;
    }

    Outcome send(Request request) { return table.handle(request, now, 1'700'000'000, ended); }

    Outcome offer(std::string_view sdp, std::string call = "c1") {
        Request r;
        r.op = Op::offer;
        r.call_id = std::move(call);
        r.speaker_tag = "caller";
        r.sdp = std::string(sdp);
        return send(r);
    }
    Outcome answer(std::string_view sdp, std::string call = "c1") {
        Request r;
        r.op = Op::answer;
        r.call_id = std::move(call);
        r.speaker_tag = "callee";
        r.peer_tag = "caller";
        r.sdp = std::string(sdp);
        return send(r);
    }

    // The relay port named in an SDP's first m= line.
    static std::uint16_t media_port(const std::string& sdp) {
        const auto parsed = sdp::parse(sdp);
        return parsed ? parsed->media.at(0).port : 0;
    }

    FakeSockets sockets;
    CallTable table;
    SteadyTime now = SteadyTime{} + 1000s;
    std::vector<EndedCall> ended;
};

TEST_F(CallTableTest, OfferAndAnswerPutTheRelayInBothSdps) {
    const auto o = offer(sdp_from("10.0.0.5", 4000));
    ASSERT_FALSE(o.error) << *o.error;
    EXPECT_NE(o.sdp.find("c=IN IP4 203.0.113.1\r\n"), std::string::npos) << o.sdp;
    EXPECT_NE(o.sdp.find("m=audio "), std::string::npos);
    const auto a = answer(sdp_from("10.1.0.9", 5000));
    ASSERT_FALSE(a.error) << *a.error;
    EXPECT_NE(a.sdp.find("c=IN IP4 203.0.113.1\r\n"), std::string::npos);
    // Two sides, each with its own pair: the caller sends to the port in the answer, the callee to the
    // offer's.
    EXPECT_NE(media_port(o.sdp), media_port(a.sdp));
    EXPECT_EQ(sockets.open_ports.size(), 4U);
}

TEST_F(CallTableTest, OriginIsReplacedOnlyWhenAsked) {
    auto o = offer(sdp_from("10.0.0.5", 4000));
    EXPECT_NE(o.sdp.find("o=ua 1 1 IN IP4 10.0.0.5"), std::string::npos);
    Request r;
    r.op = Op::offer;
    r.call_id = "c2";
    r.speaker_tag = "t";
    r.sdp = sdp_from("10.0.0.5", 4000);
    r.options.replace_origin = true;
    o = send(r);
    EXPECT_NE(o.sdp.find("o=ua 1 1 IN IP4 203.0.113.1"), std::string::npos) << o.sdp;
}

TEST_F(CallTableTest, MediaLatchesToTheNatAddressAndFlowsBothWays) {
    const auto o = offer(sdp_from("10.0.0.5", 4000));
    const auto a = answer(sdp_from("10.1.0.9", 5000));
    const auto callee_side = sockets.id_of(ip("203.0.113.1", media_port(o.sdp)));  // the callee sends here
    const auto caller_side = sockets.id_of(ip("203.0.113.1", media_port(a.sdp)));  // the caller sends here
    ASSERT_NE(callee_side, 0U);
    ASSERT_NE(caller_side, 0U);

    // The caller's NAT maps 10.0.0.5:4000 to 198.51.100.7:61000. Its first packet latches the caller side.
    const auto packet = rtp_packet(0x1111, 1);
    auto forward = table.on_packet(caller_side, ip("198.51.100.7", 61000), packet, now);
    ASSERT_TRUE(forward);
    EXPECT_EQ(forward->socket_id, callee_side);  // out of the callee's port...
    EXPECT_EQ(forward->destination,
              ip("10.1.0.9", 5000));  // ...to the callee's announced address (not latched yet)

    // The callee answers from its NAT; its packet goes back to where the caller really is.
    forward = table.on_packet(callee_side, ip("192.0.2.20", 62000), rtp_packet(0x2222, 7), now);
    ASSERT_TRUE(forward);
    EXPECT_EQ(forward->socket_id, caller_side);
    EXPECT_EQ(forward->destination, ip("198.51.100.7", 61000));

    // An injected packet from elsewhere is dropped and counted.
    EXPECT_FALSE(table.on_packet(caller_side, ip("198.51.100.66", 1234), rtp_packet(0x9999, 1), now));
    EXPECT_EQ(table.statistics().dropped_packets, 1U);
    EXPECT_EQ(table.statistics().relayed_packets, 2U);
}

TEST_F(CallTableTest, SameSsrcContinuingFromANewPortRelatches) {
    const auto o = offer(sdp_from("10.0.0.5", 4000));
    const auto a = answer(sdp_from("10.1.0.9", 5000));
    const auto caller_side = sockets.id_of(ip("203.0.113.1", media_port(a.sdp)));
    const auto callee_side = sockets.id_of(ip("203.0.113.1", media_port(o.sdp)));
    ASSERT_TRUE(table.on_packet(caller_side, ip("198.51.100.7", 61000), rtp_packet(0x1111, 10), now));
    // The NAT rebinds: the next packets of the same stream come from a new port.
    ASSERT_TRUE(table.on_packet(caller_side, ip("198.51.100.7", 61002), rtp_packet(0x1111, 11), now));
    const auto back = table.on_packet(callee_side, ip("192.0.2.20", 62000), rtp_packet(0x2222, 1), now);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->destination, ip("198.51.100.7", 61002));
    // Another SSRC, or a sequence number far away, does not move it.
    EXPECT_FALSE(table.on_packet(caller_side, ip("198.51.100.7", 61004), rtp_packet(0x3333, 12), now));
    EXPECT_FALSE(table.on_packet(caller_side, ip("198.51.100.7", 61004), rtp_packet(0x1111, 5000), now));
}

TEST_F(CallTableTest, StrictSourceLatchesOnlyToTheExpectedHost) {
    Request r;
    r.op = Op::offer;
    r.call_id = "c1";
    r.speaker_tag = "caller";
    r.sdp = sdp_from("10.0.0.5", 4000);
    r.options.strict_source = true;
    r.options.sip_source_address = true;
    r.options.received_from = ip("198.51.100.7", 5060);
    const auto o = send(r);
    const auto a = answer(sdp_from("10.1.0.9", 5000));
    const auto caller_side = sockets.id_of(ip("203.0.113.1", media_port(a.sdp)));
    EXPECT_FALSE(table.on_packet(caller_side, ip("198.51.100.99", 61000), rtp_packet(1, 1), now));
    EXPECT_TRUE(table.on_packet(caller_side, ip("198.51.100.7", 61000), rtp_packet(1, 2), now));
    (void)o;
}

TEST_F(CallTableTest, SipSourceAddressSendsToTheNatBeforeLatching) {
    Request r;
    r.op = Op::offer;
    r.call_id = "c1";
    r.speaker_tag = "caller";
    r.sdp = sdp_from("10.0.0.5", 4000);
    r.options.sip_source_address = true;
    r.options.received_from = ip("198.51.100.7", 5060);
    send(r);
    const auto a = answer(sdp_from("10.1.0.9", 5000));
    Request q;
    q.op = Op::query;
    q.call_id = "c1";
    const auto report = send(q).call;
    ASSERT_TRUE(report);
    ASSERT_FALSE(report->legs.empty());
    EXPECT_EQ(report->legs[0].streams.at(0).announced, ip("198.51.100.7", 4000));
    (void)a;
}

TEST_F(CallTableTest, BridgesIpv6CallerToIpv4Callee) {
    Request r;
    r.op = Op::offer;
    r.call_id = "c1";
    r.speaker_tag = "caller";
    r.sdp = sdp_from("fd00::5", 4000);
    r.options.family = Family::ip4;  // the callee speaks IPv4
    const auto o = send(r);
    ASSERT_FALSE(o.error) << *o.error;
    EXPECT_NE(o.sdp.find("c=IN IP4 203.0.113.1"), std::string::npos) << o.sdp;
    r.op = Op::answer;
    r.speaker_tag = "callee";
    r.peer_tag = "caller";
    r.sdp = sdp_from("10.1.0.9", 5000);
    r.options.family = Family::ip6;  // the caller speaks IPv6
    const auto a = send(r);
    ASSERT_FALSE(a.error) << *a.error;
    EXPECT_NE(a.sdp.find("c=IN IP6 2001:db8::1"), std::string::npos) << a.sdp;

    const auto v6_side = sockets.id_of(ip("2001:db8::1", media_port(a.sdp)));
    const auto v4_side = sockets.id_of(ip("203.0.113.1", media_port(o.sdp)));
    ASSERT_NE(v6_side, 0U);
    ASSERT_NE(v4_side, 0U);
    const auto forward = table.on_packet(v6_side, ip("fd00::5", 4000), rtp_packet(1, 1), now);
    ASSERT_TRUE(forward);
    EXPECT_EQ(forward->socket_id, v4_side);
    EXPECT_EQ(forward->destination, ip("10.1.0.9", 5000));
}

TEST_F(CallTableTest, RtpproxyDirectionsBridgeTheFamiliesOfUnnamedInterfaces) {
    // Kamailio's rtpproxy_offer("ei") from an IPv6 caller: "UEI6 call fd00::5 4000 tag".
    Request u;
    u.op = Op::offer;
    u.call_id = "c1";
    u.speaker_tag = "caller";
    u.media = ip("fd00::5", 4000);
    u.options.direction = {"external", "internal"};
    const auto offered = send(u);
    ASSERT_TRUE(offered.media);
    EXPECT_EQ(offered.media->family, Family::ip4);  // the callee's side is the other network
    Request l;
    l.op = Op::answer;
    l.call_id = "c1";
    l.speaker_tag = "callee";
    l.peer_tag = "caller";
    l.media = ip("10.1.0.9", 5000);
    l.options.direction = {"internal", "external"};
    const auto answered = send(l);
    ASSERT_TRUE(answered.media);
    EXPECT_EQ(answered.media->family, Family::ip6);
    // The same direction twice is no bridge.
    u.call_id = "c2";
    u.options.direction = {"internal", "internal"};
    EXPECT_EQ(send(u).media->family, Family::ip6);
}

TEST_F(CallTableTest, NamedInterfacesDecideTheirSidesFamily) {
    RelaySettings s = settings();
    s.interfaces = {{"pub", ip("203.0.113.1")}, {"priv", ip("fd00:1::1")}};
    FakeSockets named_sockets;
    CallTable named(s, named_sockets);
    Request r;
    r.op = Op::offer;
    r.call_id = "c1";
    r.speaker_tag = "a";
    r.sdp = sdp_from("198.51.100.7", 4000);
    r.options.direction = {"pub", "priv"};
    const auto o = named.handle(r, now, 0, ended);
    ASSERT_FALSE(o.error) << *o.error;
    EXPECT_NE(o.sdp.find("c=IN IP6 fd00:1::1"), std::string::npos) << o.sdp;
}

TEST_F(CallTableTest, DeleteFreesEveryPortAtOnce) {
    offer(sdp_from("10.0.0.5", 4000));
    answer(sdp_from("10.1.0.9", 5000));
    Request r;
    r.op = Op::remove;
    r.call_id = "c1";
    r.speaker_tag = "caller";
    EXPECT_FALSE(send(r).error);
    EXPECT_TRUE(sockets.open_ports.empty());
    ASSERT_EQ(ended.size(), 1U);
    EXPECT_EQ(ended[0].reason, "deleted");
    EXPECT_EQ(table.calls(), 0U);
    EXPECT_TRUE(send(r).error);  // a second delete: unknown call, answered, not ignored
}

TEST_F(CallTableTest, NoMediaForTheTimeoutEndsTheCall) {
    offer(sdp_from("10.0.0.5", 4000));
    answer(sdp_from("10.1.0.9", 5000));
    table.expire(now + 9s, 0, ended);
    EXPECT_TRUE(ended.empty());
    table.expire(now + 10s, 0, ended);
    ASSERT_EQ(ended.size(), 1U);
    EXPECT_EQ(ended[0].reason, "timeout");
    EXPECT_TRUE(sockets.open_ports.empty());
    EXPECT_EQ(table.statistics().timed_out_calls, 1U);
}

TEST_F(CallTableTest, HoldUsesTheSilentTimeoutAndReinviteKeepsThePorts) {
    const auto o = offer(sdp_from("10.0.0.5", 4000));
    answer(sdp_from("10.1.0.9", 5000));
    const auto ports_before = sockets.open_ports;
    // Re-INVITE to hold: same call, same tags, a=sendonly.
    const auto hold = offer(sdp_from("10.0.0.5", 4000, "a=sendonly\r\n"));
    ASSERT_FALSE(hold.error);
    EXPECT_EQ(media_port(hold.sdp), media_port(o.sdp));
    EXPECT_EQ(sockets.open_ports, ports_before);
    table.expire(now + 20s, 0, ended);
    EXPECT_TRUE(ended.empty());
    table.expire(now + 30s, 0, ended);
    ASSERT_EQ(ended.size(), 1U);
    EXPECT_EQ(ended[0].reason, "silent timeout");
}

TEST_F(CallTableTest, DeleteDelayKeepsTheCallUntilDue) {
    RelaySettings s = settings();
    s.delete_delay = 5s;
    FakeSockets delayed_sockets;
    CallTable delayed(s, delayed_sockets);
    Request r;
    r.op = Op::offer;
    r.call_id = "c1";
    r.speaker_tag = "a";
    r.sdp = sdp_from("10.0.0.5", 4000);
    ASSERT_FALSE(delayed.handle(r, now, 0, ended).error);
    r.op = Op::remove;
    ASSERT_FALSE(delayed.handle(r, now, 0, ended).error);
    EXPECT_EQ(delayed.calls(), 1U);
    delayed.expire(now + 5s, 0, ended);
    EXPECT_EQ(delayed.calls(), 0U);
    EXPECT_TRUE(delayed_sockets.open_ports.empty());
}

TEST_F(CallTableTest, BusyPortsAreSkippedAndExhaustionIsAnError) {
    sockets.busy = {30000, 30004};
    const auto o = offer(sdp_from("10.0.0.5", 4000));
    ASSERT_FALSE(o.error);
    EXPECT_EQ(sockets.open_ports.size(), 4U);
    // Six pairs, two busy, two taken: the second call needs two more and gets them; the third finds none.
    EXPECT_FALSE(offer(sdp_from("10.0.0.6", 4000), "c2").error);
    const auto third = offer(sdp_from("10.0.0.7", 4000), "c3");
    ASSERT_TRUE(third.error);
    EXPECT_EQ(third.rtpproxy_error, k_rtpp_e_no_ports);
}

TEST_F(CallTableTest, RtpproxyStyleCommandsUseOneStreamEach) {
    Request u;
    u.op = Op::offer;
    u.call_id = "c1";
    u.speaker_tag = "caller";
    u.media = ip("10.0.0.5", 4000);
    u.media_index = 1;
    const auto offered = send(u);
    ASSERT_FALSE(offered.error);
    ASSERT_TRUE(offered.media);
    EXPECT_EQ(offered.media->family, Family::ip4);
    Request l = u;
    l.op = Op::answer;
    l.speaker_tag = "callee";
    l.peer_tag = "caller";
    l.media = ip("10.1.0.9", 5000);
    const auto answered = send(l);
    ASSERT_TRUE(answered.media);
    EXPECT_NE(answered.media->port, offered.media->port);
    Request q;
    q.op = Op::query;
    q.call_id = "c1";
    const auto queried = send(q);
    ASSERT_TRUE(queried.call);
    EXPECT_EQ(queried.call->legs.size(), 2U);
    EXPECT_EQ(queried.ttl_seconds, 10);
}

TEST_F(CallTableTest, PlaybackReplacesTheOtherSideUntilItEnds) {
    const auto o = offer(sdp_from("10.0.0.5", 4000));
    const auto a = answer(sdp_from("10.1.0.9", 5000));
    const auto caller_side = sockets.id_of(ip("203.0.113.1", media_port(a.sdp)));
    const auto callee_side = sockets.id_of(ip("203.0.113.1", media_port(o.sdp)));
    Request play;
    play.op = Op::play_media;
    play.call_id = "c1";
    play.speaker_tag = "caller";  // the caller hears the prompt
    std::uint64_t generation = 0;
    ASSERT_FALSE(table.start_playback(play, generation).error);
    const auto target = table.playback_target("c1", "caller", generation);
    ASSERT_TRUE(target);
    EXPECT_EQ(target->socket_id, caller_side);
    EXPECT_EQ(target->destination, ip("10.0.0.5", 4000));
    // The callee's media no longer reaches the caller; the caller's still reaches the callee.
    EXPECT_FALSE(table.on_packet(callee_side, ip("192.0.2.20", 62000), rtp_packet(2, 1), now));
    EXPECT_TRUE(table.on_packet(caller_side, ip("198.51.100.7", 61000), rtp_packet(1, 1), now));
    EXPECT_EQ(table.playback_target("c1", "caller", generation)->destination, ip("198.51.100.7", 61000));
    // A newer playback replaces this one; the end of the old one changes nothing.
    std::uint64_t newer = 0;
    ASSERT_FALSE(table.start_playback(play, newer).error);
    EXPECT_FALSE(table.playback_target("c1", "caller", generation));
    table.end_playback("c1", "caller", generation);
    EXPECT_FALSE(table.on_packet(callee_side, ip("192.0.2.20", 62000), rtp_packet(2, 2), now));
    table.end_playback("c1", "caller", newer);
    EXPECT_TRUE(table.on_packet(callee_side, ip("192.0.2.20", 62000), rtp_packet(2, 3), now));
    // stop media, and unknown calls or tags.
    ASSERT_FALSE(table.start_playback(play, generation).error);
    ASSERT_FALSE(table.stop_playback(play).error);
    EXPECT_FALSE(table.playback_target("c1", "caller", generation));
    play.speaker_tag = "nobody";
    EXPECT_TRUE(table.start_playback(play, generation).error);
    play.call_id = "nope";
    EXPECT_TRUE(table.start_playback(play, generation).error);
}

TEST_F(CallTableTest, AnswerForAnUnknownCallFails) {
    const auto a = answer(sdp_from("10.1.0.9", 5000), "nope");
    ASSERT_TRUE(a.error);
    EXPECT_EQ(a.rtpproxy_error, k_rtpp_e_session_not_found);
}

TEST_F(CallTableTest, BadSdpIsAnErrorNotACall) {
    EXPECT_TRUE(offer("v=0\r\nnonsense").error);
    EXPECT_EQ(table.calls(), 0U);
    EXPECT_TRUE(sockets.open_ports.empty());
}

// Kernel forwarding: which directions the call table hands to the kernel, and when it takes them back.
class FakeKernel : public KernelForwarder {
public:
    void install(const KernelFlow& flow) override { flows[flow.socket_id] = flow; }
    void remove(std::uint32_t socket_id) override {
        ASSERT_EQ(flows.erase(socket_id), 1U) << "removed a flow that was not installed";
    }
    std::vector<KernelCount> read(std::span<const std::uint32_t> socket_ids) override {
        std::vector<KernelCount> out;
        for (const auto id : socket_ids)
            if (flows.count(id) != 0 && counts.count(id) != 0) out.push_back(counts[id]);
        return out;
    }
    std::map<std::uint32_t, KernelFlow> flows;
    std::map<std::uint32_t, KernelCount> counts;  // what read() reports
};

class CountingRecorder : public CallRecorder {
public:
    bool start(const std::string&, std::int64_t) override { return true; }
    void record(const std::string&, const Address&, const Address&, Bytes) override { ++packets; }
    void stop(const std::string&) override {}
    int packets = 0;
};

// Built before CallTableTest, whose table refers to them.
struct KernelFixtureParts {
    FakeKernel kernel;
    CountingRecorder recorder;
};

class KernelForwardingTest : protected KernelFixtureParts, public CallTableTest {
protected:
    explicit KernelForwardingTest(bool recording = false)
        : CallTableTest(recording ? &recorder : nullptr, &kernel) {}

    // A call whose two sides latched behind their NATs (RTP only).
    void latched_call() {
        o = offer(sdp_from("10.0.0.5", 4000));
        a = answer(sdp_from("10.1.0.9", 5000));
        caller_side = sockets.id_of(ip("203.0.113.1", media_port(a.sdp)));
        callee_side = sockets.id_of(ip("203.0.113.1", media_port(o.sdp)));
        ASSERT_TRUE(table.on_packet(caller_side, ip("198.51.100.7", 61000), rtp_packet(1, 1), now));
        ASSERT_TRUE(table.on_packet(callee_side, ip("192.0.2.20", 62000), rtp_packet(2, 1), now));
    }

    Outcome o, a;
    std::uint32_t caller_side = 0, callee_side = 0;
};

class RecordedKernelForwardingTest : public KernelForwardingTest {
protected:
    RecordedKernelForwardingTest() : KernelForwardingTest(true) {}
};

TEST_F(KernelForwardingTest, ALatchedDirectionGoesToTheKernelWithBothEndsRewritten) {
    o = offer(sdp_from("10.0.0.5", 4000));
    a = answer(sdp_from("10.1.0.9", 5000));
    EXPECT_TRUE(kernel.flows.empty()) << "nothing is latched yet: no source to match";
    caller_side = sockets.id_of(ip("203.0.113.1", media_port(a.sdp)));
    callee_side = sockets.id_of(ip("203.0.113.1", media_port(o.sdp)));
    ASSERT_TRUE(table.on_packet(caller_side, ip("198.51.100.7", 61000), rtp_packet(1, 1), now));
    // The caller's direction: from its NAT to the relay's caller-side port, out of the callee-side port to
    // the callee's announced address.
    ASSERT_EQ(kernel.flows.size(), 1U);
    const KernelFlow& flow = kernel.flows.at(caller_side);
    EXPECT_EQ(flow.source, ip("198.51.100.7", 61000));
    EXPECT_EQ(flow.local, ip("203.0.113.1", media_port(a.sdp)));
    EXPECT_EQ(flow.out_local, ip("203.0.113.1", media_port(o.sdp)));
    EXPECT_EQ(flow.destination, ip("10.1.0.9", 5000));
    // The callee latches: its own direction goes to the kernel, and the caller's follows it to the NAT.
    ASSERT_TRUE(table.on_packet(callee_side, ip("192.0.2.20", 62000), rtp_packet(2, 1), now));
    ASSERT_EQ(kernel.flows.size(), 2U);
    EXPECT_EQ(kernel.flows.at(caller_side).destination, ip("192.0.2.20", 62000));
    EXPECT_EQ(kernel.flows.at(callee_side).destination, ip("198.51.100.7", 61000));
    EXPECT_EQ(table.kernel_flows(), 2U);
}

TEST_F(KernelForwardingTest, RtcpGoesToTheKernelOnItsOwnPorts) {
    latched_call();
    ASSERT_TRUE(table.on_packet(caller_side + 1, ip("198.51.100.7", 61001), rtp_packet(1, 1), now));
    ASSERT_TRUE(kernel.flows.count(caller_side + 1));
    const KernelFlow& flow = kernel.flows.at(caller_side + 1);
    EXPECT_EQ(flow.local.port, media_port(a.sdp) + 1);
    EXPECT_EQ(flow.out_local.port, media_port(o.sdp) + 1);
    EXPECT_EQ(flow.destination, ip("10.1.0.9", 5001));  // the callee's RTCP is not latched yet
}

TEST_F(KernelForwardingTest, KernelCountsAreTheCallsCountsAndKeepItAlive) {
    latched_call();
    now += 8s;
    table.kernel_counted(caller_side, 400, 400 * 172, now);
    table.kernel_counted(caller_side, 400, 400 * 172, now);  // the same report again adds nothing
    now += 8s;  // 16 s after the last packet userspace saw, but the kernel forwarded some 8 s ago
    table.expire(now, 1'700'000'016, ended);
    EXPECT_TRUE(ended.empty()) << "the kernel's packets count as media";
    table.kernel_counted(caller_side, 500, 500 * 172, now);
    const auto stats = table.statistics();
    EXPECT_EQ(stats.kernel_packets, 500U);
    EXPECT_EQ(stats.kernel_bytes, 500U * 172);
    EXPECT_EQ(stats.relayed_packets, 502U);  // two latching packets in userspace, 500 in the kernel
    const auto report = table.report("c1", now, 1'700'000'016);
    ASSERT_TRUE(report);
    EXPECT_EQ(report->legs.at(0).streams.at(0).received.packets, 501U);
    now += 11s;                                                           // then silence
    kernel.counts[callee_side] = KernelCount{callee_side, 30, 30 * 172};  // not polled before the end
    table.expire(now, 1'700'000'027, ended);
    ASSERT_EQ(ended.size(), 1U);
    EXPECT_EQ(ended[0].reason, "timeout");
    EXPECT_EQ(ended[0].report.legs.at(1).streams.at(0).received.packets, 31U)
        << "the call's last report reads the kernel's figures";
    EXPECT_TRUE(kernel.flows.empty()) << "an ended call leaves nothing in the kernel";
}

TEST_F(KernelForwardingTest, ANatRebindingComesToUserspaceAndMovesTheFlow) {
    latched_call();
    // The kernel forwarded many packets meanwhile, so the sequence number userspace last saw is stale: the
    // same SSRC from a new port still moves the latch, and the flow with it.
    EXPECT_TRUE(table.on_packet(caller_side, ip("198.51.100.7", 61002), rtp_packet(1, 9000), now));
    EXPECT_EQ(kernel.flows.at(caller_side).source, ip("198.51.100.7", 61002));
    EXPECT_EQ(kernel.flows.at(callee_side).destination, ip("198.51.100.7", 61002));
    // Another SSRC from elsewhere is still an injection.
    EXPECT_FALSE(table.on_packet(caller_side, ip("198.51.100.66", 1), rtp_packet(7, 9001), now));
    EXPECT_EQ(kernel.flows.at(caller_side).source, ip("198.51.100.7", 61002));
}

TEST_F(KernelForwardingTest, RecordingAndPromptsTakeTheirDirectionsBack) {
    latched_call();
    ASSERT_EQ(kernel.flows.size(), 2U);
    Request play;
    play.op = Op::play_media;
    play.call_id = "c1";
    play.speaker_tag = "caller";  // the caller hears a prompt: the callee's media must not reach it
    std::uint64_t generation = 0;
    ASSERT_FALSE(table.start_playback(play, generation).error);
    EXPECT_EQ(kernel.flows.count(callee_side), 0U);
    EXPECT_EQ(kernel.flows.count(caller_side), 1U);
    table.end_playback("c1", "caller", generation);
    EXPECT_EQ(kernel.flows.count(callee_side), 1U);

    // A recording without a recorder fails and changes nothing.
    Request record;
    record.op = Op::start_recording;
    record.call_id = "c1";
    EXPECT_TRUE(send(record).error);
    EXPECT_EQ(kernel.flows.size(), 2U);
}

TEST_F(RecordedKernelForwardingTest, ARecordedCallIsForwardedInUserspace) {
    o = offer(sdp_from("10.0.0.5", 4000));
    a = answer(sdp_from("10.1.0.9", 5000));
    const auto side = sockets.id_of(ip("203.0.113.1", media_port(a.sdp)));
    ASSERT_TRUE(table.on_packet(side, ip("198.51.100.7", 61000), rtp_packet(1, 1), now));
    ASSERT_EQ(kernel.flows.count(side), 1U);
    Request record;
    record.op = Op::start_recording;
    record.call_id = "c1";
    ASSERT_FALSE(send(record).error);
    EXPECT_EQ(kernel.flows.count(side), 0U) << "the recorder must see every packet";
    ASSERT_TRUE(table.on_packet(side, ip("198.51.100.7", 61000), rtp_packet(1, 2), now));
    EXPECT_EQ(recorder.packets, 1);
    record.op = Op::stop_recording;
    ASSERT_FALSE(send(record).error);
    EXPECT_EQ(kernel.flows.count(side), 1U);
}

TEST_F(KernelForwardingTest, HoldAndDeleteTakeTheFlowsBack) {
    latched_call();
    // The callee puts the call on hold with 0.0.0.0: nothing goes to it any more.
    a = answer(sdp_from("0.0.0.0", 5000));
    EXPECT_EQ(kernel.flows.count(caller_side), 0U);
    a = answer(sdp_from("10.1.0.9", 5000));  // and back
    // The callee's latch was forgotten on hold: the caller's media goes to its announced address until the
    // callee's next packet shows where it is.
    EXPECT_EQ(kernel.flows.at(caller_side).destination, ip("10.1.0.9", 5000));
    EXPECT_EQ(kernel.flows.count(callee_side), 0U);
    ASSERT_TRUE(table.on_packet(callee_side, ip("192.0.2.20", 62000), rtp_packet(2, 50), now));
    EXPECT_EQ(kernel.flows.size(), 2U);
    Request del;
    del.op = Op::remove;
    del.call_id = "c1";
    ASSERT_FALSE(send(del).error);
    EXPECT_TRUE(kernel.flows.empty());
    EXPECT_EQ(table.kernel_flows(), 0U);
}

TEST_F(KernelForwardingTest, BridgesAndAsymmetricSidesStayInUserspace) {
    Request r;
    r.op = Op::offer;
    r.call_id = "c1";
    r.speaker_tag = "caller";
    r.sdp = sdp_from("fd00::5", 4000);
    r.options.family = Family::ip4;
    o = send(r);
    r.op = Op::answer;
    r.speaker_tag = "callee";
    r.peer_tag = "caller";
    r.sdp = sdp_from("10.1.0.9", 5000);
    r.options.family = Family::ip6;
    a = send(r);
    const auto v6_side = sockets.id_of(ip("2001:db8::1", media_port(a.sdp)));
    ASSERT_TRUE(table.on_packet(v6_side, ip("fd00::5", 4000), rtp_packet(1, 1), now));
    EXPECT_TRUE(kernel.flows.empty()) << "the kernel does not translate between the families";

    r = Request{};
    r.op = Op::offer;
    r.call_id = "k2";
    r.speaker_tag = "caller";
    r.sdp = sdp_from("10.0.0.5", 4000);
    r.options.asymmetric = true;
    o = send(r);
    r.op = Op::answer;
    r.speaker_tag = "callee";
    r.peer_tag = "caller";
    r.sdp = sdp_from("10.1.0.9", 5000);
    a = send(r);
    const auto asymmetric_side = sockets.id_of(ip("203.0.113.1", media_port(a.sdp)));
    ASSERT_TRUE(table.on_packet(asymmetric_side, ip("10.0.0.5", 4000), rtp_packet(1, 1), now));
    EXPECT_TRUE(kernel.flows.empty()) << "an asymmetric side accepts any source: no one source to match";
}

}  // namespace
}  // namespace sg::relay

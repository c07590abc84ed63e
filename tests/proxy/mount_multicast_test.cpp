// A fed mount offered on multicast (RFC 2326 §12.39): members' SETUPs get one group of the configured range
// (destination, port pair, ttl, the group's SSRC), a later member gets the same group and the stream's
// current numbers in RTP-Info, a session cannot mix multicast and unicast, the group's address goes back to
// the range when its last member leaves, and a proxy without a range refuses multicast (461).
#include <gtest/gtest.h>

#include <asio/ip/address.hpp>
#include <optional>
#include <regex>
#include <string>

#include "h264_rtp_packet.hpp"
#include "metrics/registry.hpp"
#include "proxy/mount.hpp"
#include "proxy/rtsp_proxy.hpp"
#include "proxy_fixture.hpp"
#include "raw_rtsp_client.hpp"

namespace sg::proxy {
namespace {

using testing::h264_rtp_packet;
using testing::RawRtspClient;

class MountMulticastTest : public testing::ProxyFixture {
protected:
    void start(bool with_range, std::optional<asio::ip::address> fixed_group = std::nullopt) {
        RtspProxyOptions options;
        MountConfig mount;
        mount.name = "live";
        mount.fed = true;
        mount.multicast_group = fixed_group;
        mount.multicast_port = 40000;
        options.mounts.push_back(mount);
        if (with_range) {
            options.multicast.v4 = multicast::MulticastRange::parse("239.255.77.0/24").value();
            options.multicast.port_first = 31000;
            options.multicast.port_last = 31099;
            options.multicast.ttl = 3;
        }
        start_proxy(options, &registry_);
        mount_ = proxy_->find_mount("live");
        ASSERT_TRUE(mount_);
        on_io([this] { mount_->feed_start(testing::h264_mount_description()); });
    }
    void TearDown() override {
        ProxyFixture::TearDown();
        mount_.reset();
    }
    std::string url() const { return proxy_url("live"); }
    std::string setup(RawRtspClient& client, int cseq, const std::string& transport,
                      const std::string& session = "") {
        std::string headers = "Transport: " + transport + "\r\n";
        if (!session.empty()) headers += "Session: " + session + "\r\n";
        return client.request("SETUP " + url() + "/track0", cseq, headers);
    }
    static std::string field(const std::string& reply, const std::string& pattern) {
        std::smatch match;
        return std::regex_search(reply, match, std::regex(pattern)) ? match[1].str() : "";
    }

    // The value of a series in the registry's exposition ("" when absent).
    std::string exposed(const std::string& series) {
        const auto text = on_io([this] { return registry_.expose(); });
        return field(text,
                     "\n" + std::regex_replace(series, std::regex(R"([{}."])"), R"(\$&)") + R"( (\S+))");
    }

    metrics::Registry registry_;
    std::shared_ptr<Mount> mount_;
};

TEST_F(MountMulticastTest, MembersShareOneGroupAndJoinTheRunningStream) {
    start(true);
    RawRtspClient a(client_io_, endpoint_);
    const auto setup_a = setup(a, 1, "RTP/AVP;multicast");
    ASSERT_EQ(setup_a.rfind("RTSP/1.0 200", 0), 0u) << setup_a;
    const std::string transport_re = R"(Transport: (RTP/AVP;multicast;destination=239\.255\.77\.\d+;ttl=3;)"
                                     R"(port=310\d\d-310\d\d;ssrc=[0-9A-F]{8}))";
    const auto transport_a = field(setup_a, transport_re);
    ASSERT_FALSE(transport_a.empty()) << setup_a;
    const auto session_a = RawRtspClient::header(setup_a, "Session");
    const auto play_a = a.request("PLAY " + url(), 2, "Session: " + session_a + "\r\n");
    ASSERT_EQ(play_a.rfind("RTSP/1.0 200", 0), 0u) << play_a;
    const auto first_seq = std::stoul(field(play_a, R"(seq=(\d+))"));

    // The stream runs: three packets go to the group.
    on_io([this] {
        for (std::uint16_t i = 0; i < 3; ++i)
            mount_->feed_rtp(
                0, h264_rtp_packet(static_cast<std::uint16_t>(500 + i), 9000U + 3600U * i, 0x41, true));
    });

    RawRtspClient b(client_io_, endpoint_);
    const auto setup_b = setup(b, 1, "RTP/AVP;multicast;destination=239.1.1.1;port=4000-4001");
    ASSERT_EQ(setup_b.rfind("RTSP/1.0 200", 0), 0u) << setup_b;
    // The same group, port and SSRC: the player's own destination wish is overridden.
    EXPECT_EQ(field(setup_b, transport_re), transport_a);
    const auto session_b = RawRtspClient::header(setup_b, "Session");
    const auto play_b = b.request("PLAY " + url(), 2, "Session: " + session_b + "\r\n");
    ASSERT_EQ(play_b.rfind("RTSP/1.0 200", 0), 0u) << play_b;
    // It joins where the stream is: after the three packets.
    EXPECT_EQ(std::stoul(field(play_b, R"(seq=(\d+))")), (first_seq + 3) % 65536) << play_b;

    // One delivery per session.
    const auto mixed = setup(b, 3, "RTP/AVP;unicast;client_port=5000-5001", session_b);
    EXPECT_EQ(mixed.rfind("RTSP/1.0 4", 0), 0u) << mixed;

    // The last member gone, the group's address is free again: a new member gets the first address anew.
    ASSERT_EQ(a.request("TEARDOWN " + url(), 3, "Session: " + session_a + "\r\n").rfind("RTSP/1.0 200", 0),
              0u);
    ASSERT_EQ(b.request("TEARDOWN " + url(), 4, "Session: " + session_b + "\r\n").rfind("RTSP/1.0 200", 0),
              0u);
    on_io([] {});  // the group session is released by a handler posted at its end
    EXPECT_EQ(exposed(R"(streamgate_rtsp_proxy_multicast_groups{mount="live"})"), "0");
    EXPECT_EQ(exposed(R"(streamgate_rtsp_proxy_multicast_groups_total{mount="live"})"), "1");
    EXPECT_EQ(exposed(R"(streamgate_rtsp_proxy_multicast_members_total{mount="live"})"), "2");
    RawRtspClient c(client_io_, endpoint_);
    const auto setup_c = setup(c, 1, "RTP/AVP;multicast");
    EXPECT_EQ(field(setup_c, R"(destination=([^;]+))"), field(setup_a, R"(destination=([^;]+))")) << setup_c;
    EXPECT_NE(field(setup_c, R"(ssrc=([0-9A-F]+))"), field(setup_a, R"(ssrc=([0-9A-F]+))")) << setup_c;
}

// The mount ends (its feed stops): the group's stream and every member end with it, members' connections
// close.
TEST_F(MountMulticastTest, AMountThatEndsEndsItsGroupAndMembers) {
    start(true);
    RawRtspClient a(client_io_, endpoint_);
    RawRtspClient b(client_io_, endpoint_);
    for (auto* client : {&a, &b}) {
        const auto reply = setup(*client, 1, "RTP/AVP;multicast");
        ASSERT_EQ(reply.rfind("RTSP/1.0 200", 0), 0u) << reply;
        const auto session = RawRtspClient::header(reply, "Session");
        ASSERT_EQ(
            client->request("PLAY " + url(), 2, "Session: " + session + "\r\n").rfind("RTSP/1.0 200", 0), 0u);
    }
    on_io([this] {
        mount_->feed_rtp(0, h264_rtp_packet(700, 9000, 0x65, true));
        mount_->stop("feed ended");
    });
    EXPECT_TRUE(a.closed_by_peer());
    EXPECT_TRUE(b.closed_by_peer());
    on_io([] {});  // the posted release of the group's session runs
}

// A mount with a configured group answers it (and its port) without any range; it is never given back to a
// range.
TEST_F(MountMulticastTest, AConfiguredGroupNeedsNoRange) {
    start(false, asio::ip::make_address("239.1.2.3"));
    for (int round = 0; round < 2; ++round) {
        RawRtspClient client(client_io_, endpoint_);
        const auto reply = setup(client, 1, "RTP/AVP;multicast");
        ASSERT_EQ(reply.rfind("RTSP/1.0 200", 0), 0u) << reply;
        EXPECT_NE(reply.find("RTP/AVP;multicast;destination=239.1.2.3;ttl=16;port=40000-40001;ssrc="),
                  std::string::npos)
            << reply;
        const auto session = RawRtspClient::header(reply, "Session");
        EXPECT_EQ(
            client.request("TEARDOWN " + url(), 2, "Session: " + session + "\r\n").rfind("RTSP/1.0 200", 0),
            0u);
        on_io([] {});
    }
}

TEST_F(MountMulticastTest, WithoutARangeMulticastIsRefusedAndUnicastStillServed) {
    start(false);
    RawRtspClient client(client_io_, endpoint_);
    const auto refused = setup(client, 1, "RTP/AVP;multicast");
    EXPECT_EQ(refused.rfind("RTSP/1.0 461", 0), 0u) << refused;
    const auto unicast = setup(client, 2, "RTP/AVP;multicast,RTP/AVP/TCP;unicast;interleaved=0-1");
    EXPECT_EQ(unicast.rfind("RTSP/1.0 200", 0), 0u) << unicast;
    EXPECT_NE(unicast.find("interleaved=0-1"), std::string::npos) << unicast;
}

}  // namespace
}  // namespace sg::proxy

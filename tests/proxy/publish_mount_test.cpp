// Publish mounts (MountConfig::publish) on 127.0.0.1:0, driven by raw RTSP clients: a publisher ANNOUNCEs,
// SETUPs with mode=record over interleaved TCP and RECORDs; a player of the mount gets the publisher's
// packets; a mount that is not publishable answers 405, a second publisher 455 (or takes over when the
// mount allows it), wrong or missing publish credentials 401; the publisher's TEARDOWN ends the player.
#include <gtest/gtest.h>

#include <asio/post.hpp>
#include <future>
#include <string>
#include <thread>

#include "h264_rtp_packet.hpp"
#include "proxy/rtsp_proxy.hpp"
#include "proxy_fixture.hpp"
#include "raw_rtsp_client.hpp"
#include "rtsp/auth.hpp"

namespace sg::proxy {
namespace {

using asio::ip::tcp;
using testing::RawRtspClient;
using namespace std::chrono_literals;

// What ffmpeg announces: controls relative to the ANNOUNCE URI.
constexpr std::string_view k_sdp =
    "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=No Name\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:streamid=0\r\n";

const std::vector<std::uint8_t> k_idr = testing::h264_idr_packet();

class PublishMount : public testing::ProxyFixture {
protected:
    void SetUp() override {
        RtspProxyOptions options;
        for (const auto* name : {"open", "locked", "handover"}) {
            MountConfig mount;
            mount.name = name;
            mount.publish = true;
            options.mounts.push_back(mount);
        }
        options.mounts[1].publish_user = "encoder";
        options.mounts[1].publish_password = "s3cret";
        options.mounts[2].publish_takeover = true;
        MountConfig pulled;
        pulled.name = "pulled";
        pulled.url = *rtsp::parse_url("rtsp://127.0.0.1:9/nothing");
        options.mounts.push_back(pulled);
        options.timing.first_media = 300ms;
        start_proxy(options);
    }
    std::string url(const std::string& mount) const { return proxy_url(mount); }
    // ANNOUNCE, SETUP (record, interleaved 0-1) and RECORD; the session id, or "" with the failing reply in
    // `failed`.
    std::string publish(RawRtspClient& client, const std::string& mount, std::string& failed,
                        const std::string& auth_headers = "") {
        failed.clear();
        const auto announce =
            client.request("ANNOUNCE " + url(mount), 1, auth_headers + "Content-Type: application/sdp\r\n",
                           std::string(k_sdp));
        if (announce.rfind("RTSP/1.0 200", 0) != 0) {
            failed = announce;
            return "";
        }
        const auto setup =
            client.request("SETUP " + url(mount) + "/streamid=0", 2,
                           auth_headers + "Transport: RTP/AVP/TCP;unicast;interleaved=0-1;mode=record\r\n");
        const auto session = RawRtspClient::header(setup, "Session");
        if (setup.rfind("RTSP/1.0 200", 0) != 0 || session.empty()) {
            failed = setup;
            return "";
        }
        const auto record =
            client.request("RECORD " + url(mount), 3, auth_headers + "Session: " + session + "\r\n");
        if (record.rfind("RTSP/1.0 200", 0) != 0) {
            failed = record;
            return "";
        }
        return session;
    }
    // DESCRIBE, SETUP and PLAY of a player over interleaved TCP; false with the failing reply in `failed`.
    bool play(RawRtspClient& client, const std::string& mount, std::string& failed) {
        failed.clear();
        for (const auto& [line, headers] :
             {std::pair{"DESCRIBE " + url(mount), std::string()},
              std::pair{"SETUP " + url(mount) + "/track0",
                        std::string("Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n")}}) {
            const auto reply = client.request(line, ++cseq_, headers);
            if (reply.rfind("RTSP/1.0 200", 0) != 0) {
                failed = reply;
                return false;
            }
            if (line.starts_with("SETUP")) player_session_ = RawRtspClient::header(reply, "Session");
        }
        const auto reply =
            client.request("PLAY " + url(mount), ++cseq_, "Session: " + player_session_ + "\r\n");
        if (reply.rfind("RTSP/1.0 200", 0) != 0) failed = reply;
        return failed.empty();
    }
    // What the admin API says of the mount's publisher (read on the proxy's loop).
    std::string publisher_of(const std::string& mount) {
        return on_io([&] {
            for (const auto& m : proxy_->mounts())
                if (m.name == mount) return m.publisher;
            return std::string("no such mount");
        });
    }
    // What the mount's receive batches wrote to its TCP players so far (read on the proxy's loop).
    std::uint64_t batched_tcp_writes(const std::string& mount) {
        return on_io([&] {
            const auto m = proxy_->find_mount(mount);
            return m ? m->batched_tcp_writes() : 0;
        });
    }
    // `publisher` records on `mount`, `player` plays it, and the publisher's first key frame reached it.
    ::testing::AssertionResult publishing_to(RawRtspClient& publisher, RawRtspClient& player,
                                             const std::string& mount = "open") {
        std::string failed;
        if (publish(publisher, mount, failed).empty()) return ::testing::AssertionFailure() << failed;
        if (!play(player, mount, failed)) return ::testing::AssertionFailure() << failed;
        if (!player_receives(publisher, player))
            return ::testing::AssertionFailure() << "the player got no media";
        return ::testing::AssertionSuccess();
    }
    // The publisher's packets reach a playing player: sends one IDR packet at a time until one arrives.
    static bool player_receives(RawRtspClient& publisher, RawRtspClient& player) {
        publisher.write_frame(0, k_idr);
        const auto frame = player.read_frame_on(0);
        return frame && frame->substr(12) == std::string(k_idr.begin() + 12, k_idr.end());
    }

    int cseq_ = 0;
    std::string player_session_;
};

TEST_F(PublishMount, APlayerGetsThePublishersPacketsAndEndsWithThePublisher) {
    RawRtspClient publisher(client_io_, endpoint_);
    std::string failed;
    const auto session = publish(publisher, "open", failed);
    ASSERT_FALSE(session.empty()) << failed;
    RawRtspClient player(client_io_, endpoint_);
    ASSERT_TRUE(play(player, "open", failed)) << failed;
    EXPECT_TRUE(player_receives(publisher, player));
    // The admin API names the publisher while it publishes, and nobody once it is gone.
    EXPECT_EQ(publisher_of("open").rfind("127.0.0.1:", 0), 0u);

    const auto teardown = publisher.request("TEARDOWN " + url("open"), 4, "Session: " + session + "\r\n");
    EXPECT_EQ(teardown.rfind("RTSP/1.0 200", 0), 0u) << teardown;
    // The player hears an RTCP BYE and its connection closes.
    EXPECT_TRUE(player.closed_by_peer());
    // The mount waits for the next publisher: DESCRIBE fails after the wait, then a new publisher works.
    RawRtspClient late(client_io_, endpoint_);
    EXPECT_EQ(late.request("DESCRIBE " + url("open"), 1).rfind("RTSP/1.0 502", 0), 0u);
    EXPECT_EQ(publisher_of("open"), "");
    RawRtspClient again(client_io_, endpoint_);
    EXPECT_FALSE(publish(again, "open", failed).empty()) << failed;
}

// The frames of one read of the publisher's connection are a receive batch, as an upstream's: the TCP
// player gets them, in order, in one write made at the end of the read (Mount::end_batch), not one each.
TEST_F(PublishMount, TheFramesOfOneReadReachATcpPlayerInOneWrite) {
    RawRtspClient publisher(client_io_, endpoint_);
    RawRtspClient player(client_io_, endpoint_);
    ASSERT_TRUE(publishing_to(publisher, player));
    const auto writes_before = batched_tcp_writes("open");
    EXPECT_GE(writes_before, 1u);
    publisher.write_frames(
        0, {testing::h264_rtp_packet(200, 9000, 0x41, true), testing::h264_rtp_packet(201, 12600, 0x41, true),
            testing::h264_rtp_packet(202, 16200, 0x41, true)});
    std::uint16_t first = 0;
    for (int k = 0; k < 3; ++k) {
        const auto frame = player.read_frame_on(0);
        ASSERT_TRUE(frame && frame->size() >= 13u) << k;
        EXPECT_EQ(static_cast<std::uint8_t>((*frame)[12]), 0x41) << k;
        if (k == 0) first = testing::seq_of(*frame);
        EXPECT_EQ(testing::seq_of(*frame), static_cast<std::uint16_t>(first + k)) << k;
    }
    // One read on loopback, so one write; two if the kernel split the publisher's write.
    const auto writes = batched_tcp_writes("open") - writes_before;
    EXPECT_GE(writes, 1u);
    EXPECT_LE(writes, 2u);
}

// One connection publishes the mount and plays it too, and never reads: its player falls so far behind
// that it is cut off as too slow, from inside the publisher's own media (ending the connection's
// publishers while their frames are being handled). The connection closes cleanly and the mount is free
// for the next publisher.
TEST_F(PublishMount, APublisherThatPlaysItsOwnMountAndDoesNotReadIsCutOffCleanly) {
    RawRtspClient both(client_io_, endpoint_);
    std::string failed;
    ASSERT_FALSE(publish(both, "open", failed).empty()) << failed;
    ASSERT_EQ(both.request("DESCRIBE " + url("open"), 4).rfind("RTSP/1.0 200", 0), 0u);
    const auto setup = both.request("SETUP " + url("open") + "/track0", 5,
                                    "Transport: RTP/AVP/TCP;unicast;interleaved=2-3\r\n");
    ASSERT_EQ(setup.rfind("RTSP/1.0 200", 0), 0u) << setup;
    const auto play = both.request("PLAY " + url("open"), 6,
                                   "Session: " + RawRtspClient::header(setup, "Session") + "\r\n");
    ASSERT_EQ(play.rfind("RTSP/1.0 200", 0), 0u) << play;

    std::uint16_t seq = 1000;
    std::uint32_t timestamp = 90000;
    const auto packet = [&](std::uint8_t nal) {
        auto p = testing::h264_rtp_packet(seq++, timestamp, nal, true);
        timestamp += 3600;
        p.resize(1400, 0x5a);
        return p;
    };
    bool open = both.write_frames(0, {packet(0x65)});
    // Far more than the player's 2 MiB queue and 2,000 drops in a row.
    for (int burst = 0; open && burst < 400; ++burst) {
        std::vector<std::vector<std::uint8_t>> frames;
        for (int i = 0; i < 50; ++i)
            frames.push_back(packet(0x41));
        open = both.write_frames(0, frames);
    }
    EXPECT_TRUE(both.closed_by_peer());
    EXPECT_EQ(publisher_of("open"), "");
    RawRtspClient next(client_io_, endpoint_);
    EXPECT_FALSE(publish(next, "open", failed).empty()) << failed;
}

TEST_F(PublishMount, ThePublishersConnectionLostEndsThePlayer) {
    auto publisher = std::make_unique<RawRtspClient>(client_io_, endpoint_);
    RawRtspClient player(client_io_, endpoint_);
    ASSERT_TRUE(publishing_to(*publisher, player));
    publisher.reset();
    EXPECT_TRUE(player.closed_by_peer());
}

TEST_F(PublishMount, TheOperatorEndsThePublisherAndItsPlayers) {
    RawRtspClient publisher(client_io_, endpoint_);
    RawRtspClient player(client_io_, endpoint_);
    ASSERT_TRUE(publishing_to(publisher, player));
    EXPECT_FALSE(on_io([this] { return proxy_->end_publisher("locked"); }));  // nobody publishes there
    EXPECT_TRUE(on_io([this] { return proxy_->end_publisher("open"); }));
    EXPECT_TRUE(publisher.closed_by_peer());
    EXPECT_TRUE(player.closed_by_peer());
    EXPECT_EQ(publisher_of("open"), "");
    EXPECT_FALSE(on_io([this] { return proxy_->end_publisher("open"); }));
    // The mount takes the next publisher.
    RawRtspClient again(client_io_, endpoint_);
    std::string failed;
    EXPECT_FALSE(publish(again, "open", failed).empty()) << failed;
}

TEST_F(PublishMount, AMountThatIsNotPublishableAnswers405) {
    RawRtspClient client(client_io_, endpoint_);
    std::string failed;
    EXPECT_TRUE(publish(client, "pulled", failed).empty());
    EXPECT_EQ(failed.rfind("RTSP/1.0 405", 0), 0u) << failed;
    EXPECT_NE(failed.find("Allow: OPTIONS, DESCRIBE"), std::string::npos) << failed;
    RawRtspClient unknown(client_io_, endpoint_);
    EXPECT_TRUE(publish(unknown, "nosuch", failed).empty());
    EXPECT_EQ(failed.rfind("RTSP/1.0 404", 0), 0u) << failed;
}

TEST_F(PublishMount, ASecondPublisherGets455UnlessTheMountAllowsATakeover) {
    RawRtspClient first(client_io_, endpoint_);
    std::string failed;
    ASSERT_FALSE(publish(first, "open", failed).empty()) << failed;
    RawRtspClient second(client_io_, endpoint_);
    EXPECT_TRUE(publish(second, "open", failed).empty());
    EXPECT_EQ(failed.rfind("RTSP/1.0 455", 0), 0u) << failed;

    RawRtspClient holder(client_io_, endpoint_);
    ASSERT_FALSE(publish(holder, "handover", failed).empty()) << failed;
    RawRtspClient player(client_io_, endpoint_);
    ASSERT_TRUE(play(player, "handover", failed)) << failed;
    RawRtspClient newcomer(client_io_, endpoint_);
    EXPECT_FALSE(publish(newcomer, "handover", failed).empty()) << failed;
    // The old publisher and its players are ended.
    EXPECT_TRUE(holder.closed_by_peer());
    EXPECT_TRUE(player.closed_by_peer());
}

TEST_F(PublishMount, PublishCredentialsAreRequiredWhereConfigured) {
    RawRtspClient client(client_io_, endpoint_);
    std::string failed;
    EXPECT_TRUE(publish(client, "locked", failed).empty());
    ASSERT_EQ(failed.rfind("RTSP/1.0 401", 0), 0u) << failed;
    const auto at = failed.find("WWW-Authenticate: ");
    ASSERT_NE(at, std::string::npos);
    const auto challenge =
        rtsp::find_digest_challenge(failed.substr(at + 18, failed.find("\r\n", at) - at - 18));
    ASSERT_TRUE(challenge);
    const auto answer = [&](std::string_view password, std::string_view method, const std::string& uri) {
        rtsp::DigestClientInput input{"encoder", password, method, uri, "0a4f113b", 1};
        const auto credentials = rtsp::make_digest_credentials(*challenge, input);
        return "Authorization: " + rtsp::to_header_value(*credentials) + "\r\n";
    };
    RawRtspClient wrong(client_io_, endpoint_);
    const auto refused = wrong.request(
        "ANNOUNCE " + url("locked"), 1,
        answer("guess", "ANNOUNCE", url("locked")) + "Content-Type: application/sdp\r\n", std::string(k_sdp));
    EXPECT_EQ(refused.rfind("RTSP/1.0 401", 0), 0u) << refused;
    RawRtspClient right(client_io_, endpoint_);
    const auto accepted =
        right.request("ANNOUNCE " + url("locked"), 1,
                      answer("s3cret", "ANNOUNCE", url("locked")) + "Content-Type: application/sdp\r\n",
                      std::string(k_sdp));
    EXPECT_EQ(accepted.rfind("RTSP/1.0 200", 0), 0u) << accepted;
    // The record SETUP needs the credentials too.
    const auto setup = right.request("SETUP " + url("locked") + "/streamid=0", 2,
                                     "Transport: RTP/AVP/TCP;unicast;interleaved=0-1;mode=record\r\n");
    EXPECT_EQ(setup.rfind("RTSP/1.0 401", 0), 0u) << setup;
}

TEST_F(PublishMount, AnAnnounceWithoutAnSdpIsRefused) {
    RawRtspClient client(client_io_, endpoint_);
    const auto text = client.request("ANNOUNCE " + url("open"), 1, "Content-Type: text/plain\r\n", "hello");
    EXPECT_EQ(text.rfind("RTSP/1.0 415", 0), 0u) << text;
    const auto garbage =
        client.request("ANNOUNCE " + url("open"), 2, "Content-Type: application/sdp\r\n", "v=0\r\n");
    EXPECT_EQ(garbage.rfind("RTSP/1.0 400", 0), 0u) << garbage;
    // RECORD without a session.
    const auto record = client.request("RECORD " + url("open"), 3);
    EXPECT_EQ(record.rfind("RTSP/1.0 454", 0), 0u) << record;
}

}  // namespace
}  // namespace sg::proxy

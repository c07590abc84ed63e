// A fed mount (MountConfig::fed, what `mssr recv --serve` uses) on 127.0.0.1:0: a player's DESCRIBE waits for
// the description the process feeds, gets the mount's SDP, and a PLAYing player over interleaved TCP receives
// the RTP packets fed to the mount; with nothing fed, DESCRIBE fails after the wait instead of hanging. A
// player joining mid-GOP gets the cached GOP first (the GOP cache), then the live packets.
#include <gtest/gtest.h>
#include <poll.h>

#include <algorithm>
#include <array>
#include <asio/ip/udp.hpp>
#include <asio/post.hpp>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "h264_rtp_packet.hpp"
#include "net/fork_join_pool.hpp"
#include "proxy/rtsp_proxy.hpp"
#include "proxy_fixture.hpp"
#include "raw_rtsp_client.hpp"

namespace sg::proxy {
namespace {

using asio::ip::tcp;
using testing::h264_idr_packet;
using testing::h264_rtp_packet;
using testing::RawRtspClient;
using testing::seq_of;
using namespace std::chrono_literals;

class FedMount : public testing::ProxyFixture {
protected:
    // The mount's MountConfig::gop_burst_rate: its late joiners' GOP burst at once.
    virtual std::uint64_t gop_burst_rate() const { return 0; }
    // RtspProxyOptions::fanout_pool: none, the loop sends alone.
    virtual net::ForkJoinPool* fanout_pool() { return nullptr; }

    void SetUp() override {
        RtspProxyOptions options;
        MountConfig mount;
        mount.name = "live";
        mount.fed = true;
        mount.gop_burst_rate = gop_burst_rate();
        options.mounts.push_back(mount);
        options.timing.first_media = 300ms;
        options.fanout_pool = fanout_pool();
        start_proxy(options);
        mount_ = proxy_->find_mount("live");
        ASSERT_TRUE(mount_);
        EXPECT_FALSE(proxy_->find_mount("other"));
    }
    void TearDown() override {
        ProxyFixture::TearDown();
        mount_.reset();
    }
    void feed_description() {
        on_io([this] { mount_->feed_start(testing::h264_mount_description()); });
    }
    std::string url() const { return proxy_url("live"); }
    // DESCRIBE, SETUP over interleaved TCP, PLAY; the PLAY reply.
    std::string play_interleaved(RawRtspClient& client) {
        if (client.request("DESCRIBE " + url(), 1).rfind("RTSP/1.0 200", 0) != 0) return "";
        const auto setup = client.request("SETUP " + url() + "/track0", 2,
                                          "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n");
        const auto session = RawRtspClient::header(setup, "Session");
        if (session.empty()) return "";
        return client.request("PLAY " + url(), 3, "Session: " + session + "\r\n");
    }

    std::shared_ptr<Mount> mount_;
};

TEST_F(FedMount, DescribeFailsAfterTheWaitWhenNothingIsFed) {
    RawRtspClient client(client_io_, endpoint_);
    const auto reply = client.request("DESCRIBE " + url(), 1);
    EXPECT_EQ(reply.rfind("RTSP/1.0 ", 0), 0u) << reply;
    EXPECT_EQ(reply.find("RTSP/1.0 200"), std::string::npos) << reply;
}

TEST_F(FedMount, APlayerGetsTheFedDescriptionAndPackets) {
    RawRtspClient client(client_io_, endpoint_);
    // DESCRIBE before the feed waits for it.
    auto described = std::async(std::launch::async, [&] { return client.request("DESCRIBE " + url(), 1); });
    std::this_thread::sleep_for(50ms);
    feed_description();
    const auto reply = described.get();
    ASSERT_EQ(reply.rfind("RTSP/1.0 200", 0), 0u) << reply;
    EXPECT_NE(reply.find("a=rtpmap:96 H264/90000"), std::string::npos) << reply;
    const auto setup =
        client.request("SETUP " + url() + "/track0", 2, "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n");
    ASSERT_EQ(setup.rfind("RTSP/1.0 200", 0), 0u) << setup;
    const auto session = RawRtspClient::header(setup, "Session");
    ASSERT_FALSE(session.empty()) << setup;
    const auto play = client.request("PLAY " + url(), 3, "Session: " + session + "\r\n");
    ASSERT_EQ(play.rfind("RTSP/1.0 200", 0), 0u) << play;

    const auto packet = h264_idr_packet();
    on_io([this, &packet] { mount_->feed_rtp(0, packet); });
    // The frame may follow an RTCP report on channel 1.
    const auto frame = client.read_frame_on(0);
    ASSERT_TRUE(frame);
    ASSERT_EQ(frame->size(), packet.size());
    // The payload and timestamp as fed (SSRC and sequence are the player's own).
    EXPECT_EQ(frame->substr(12), std::string(packet.begin() + 12, packet.end()));
}

std::uint32_t timestamp_of(const std::string& frame) {
    std::uint32_t out = 0;
    for (int i = 4; i < 8; ++i)
        out = (out << 8) | static_cast<std::uint8_t>(frame[static_cast<std::size_t>(i)]);
    return out;
}

// A player joining in the middle of a GOP gets the GOP from its key frame at once, after its PLAY reply, with
// the numbers RTP-Info announced, and then the live packets continuing them.
TEST_F(FedMount, ALateJoinerGetsTheCachedGopThenTheLivePackets) {
    feed_description();
    // SPS, IDR (two packets of one picture), two P frames: fed before anyone plays.
    on_io([this] {
        mount_->feed_rtp(0,
                         h264_rtp_packet(99, 1000, 0x41, true));  // the end of the previous GOP: not cached
        mount_->feed_rtp(0, h264_rtp_packet(100, 4600, 0x67, false));
        mount_->feed_rtp(0, h264_rtp_packet(101, 4600, 0x65, false));
        mount_->feed_rtp(0, h264_rtp_packet(102, 4600, 0x65, true));
        mount_->feed_rtp(0, h264_rtp_packet(103, 8200, 0x41, true));
        mount_->feed_rtp(0, h264_rtp_packet(104, 11800, 0x41, true));
    });
    RawRtspClient client(client_io_, endpoint_);
    const auto play = play_interleaved(client);
    ASSERT_EQ(play.rfind("RTSP/1.0 200", 0), 0u) << play;
    const auto seq_at = play.find("seq=");
    const auto rtptime_at = play.find("rtptime=");
    ASSERT_NE(seq_at, std::string::npos) << play;
    ASSERT_NE(rtptime_at, std::string::npos) << play;
    const auto announced_seq = static_cast<std::uint16_t>(std::stoul(play.substr(seq_at + 4)));
    const auto announced_rtptime = static_cast<std::uint32_t>(std::stoul(play.substr(rtptime_at + 8)));
    on_io([this] { mount_->feed_rtp(0, h264_rtp_packet(105, 15400, 0x41, true)); });  // live

    std::vector<std::string> frames;
    for (int i = 0; i < 6; ++i) {
        frames.push_back(client.read_frame_on(0).value_or(""));
        ASSERT_GE(frames.back().size(), 13u) << i;
    }
    EXPECT_EQ(seq_of(frames[0]), announced_seq);
    EXPECT_EQ(timestamp_of(frames[0]), announced_rtptime);
    const std::uint8_t nals[] = {0x67, 0x65, 0x65, 0x41, 0x41, 0x41};
    const std::uint32_t upstream_timestamps[] = {4600, 4600, 4600, 8200, 11800, 15400};
    for (std::size_t i = 0; i < frames.size(); ++i) {
        EXPECT_EQ(static_cast<std::uint8_t>(frames[i][12]), nals[i]) << i;
        EXPECT_EQ(seq_of(frames[i]), static_cast<std::uint16_t>(announced_seq + i)) << i;
        EXPECT_EQ(timestamp_of(frames[i]) - announced_rtptime, upstream_timestamps[i] - 4600) << i;
    }
}

// The same mount with a fan-out helper thread.
class BatchedFedMount : public FedMount {
protected:
    net::ForkJoinPool* fanout_pool() override { return &pool_; }
    net::ForkJoinPool pool_{1};
};

// A receive batch's media for interleaved TCP players is written at the batch's end (Mount::end_batch), one
// send per player instead of a woken writer each, split between the loop and the helper when there are many
// players: every player gets every packet, in order, and the helper took part.
TEST_F(BatchedFedMount, ABatchsTcpWritesAreSharedWithTheHelpers) {
    feed_description();
    constexpr std::size_t k_players = 2 * Mount::k_tcp_writes_per_part + 2;  // three parts
    std::vector<std::unique_ptr<RawRtspClient>> players;
    for (std::size_t i = 0; i < k_players; ++i) {
        players.push_back(std::make_unique<RawRtspClient>(client_io_, endpoint_));
        ASSERT_EQ(play_interleaved(*players.back()).rfind("RTSP/1.0 200", 0), 0u) << i;
    }
    const auto jobs_before = pool_.shared_jobs();
    const bool batching = on_io([this] {
        mount_->begin_batch();
        mount_->feed_rtp(0, h264_rtp_packet(100, 4600, 0x67, false));
        mount_->feed_rtp(0, h264_rtp_packet(101, 4600, 0x65, true));
        mount_->feed_rtp(0, h264_rtp_packet(102, 8200, 0x41, true));
        const bool was = mount_->batching();
        mount_->end_batch();
        return was && !mount_->batching();
    });
    EXPECT_TRUE(batching);
    EXPECT_EQ(pool_.shared_jobs(), jobs_before + 1);
    const std::uint8_t nals[] = {0x67, 0x65, 0x41};
    for (std::size_t i = 0; i < players.size(); ++i) {
        std::uint16_t first = 0;
        for (std::size_t k = 0; k < 3; ++k) {
            const auto frame = players[i]->read_frame_on(0);
            ASSERT_TRUE(frame && frame->size() >= 13u) << i;
            EXPECT_EQ(static_cast<std::uint8_t>((*frame)[12]), nals[k]) << i;
            if (k == 0) first = seq_of(*frame);
            EXPECT_EQ(seq_of(*frame), static_cast<std::uint16_t>(first + k)) << i;
        }
    }
}

// The same mount with its GOP bursts paced at the lowest rate (one share of 1,500 bytes per 5 ms tick).
class PacedFedMount : public FedMount {
protected:
    std::uint64_t gop_burst_rate() const override { return 1; }
};

// A packet of `size` bytes: the header and NAL byte of h264_rtp_packet, then filler the cache never reads.
std::vector<std::uint8_t> big_packet(std::uint16_t seq, std::uint32_t timestamp, std::uint8_t nal,
                                     bool marker, std::size_t size) {
    const auto head = h264_rtp_packet(seq, timestamp, nal, marker);
    std::vector<std::uint8_t> packet(std::max(size, head.size()), 0x5a);
    std::copy(head.begin(), head.end(), packet.begin());
    return packet;
}

// A UDP player's paced burst takes several ticks (1,000-byte packets, two per share). Live packets fed
// meanwhile wait behind it, a new GOP beginning meanwhile does not cut it short (the cache keeps the previous
// GOP readable), and once it has caught up the live packets flow directly: one continuous stream.
TEST_F(PacedFedMount, APacedBurstKeepsTheLivePacketsBehindIt) {
    feed_description();
    on_io([this] {
        mount_->feed_rtp(0, big_packet(100, 4600, 0x67, false, 1000));
        mount_->feed_rtp(0, big_packet(101, 4600, 0x65, false, 1000));
        mount_->feed_rtp(0, big_packet(102, 4600, 0x65, true, 1000));
        mount_->feed_rtp(0, big_packet(103, 8200, 0x41, true, 1000));
        mount_->feed_rtp(0, big_packet(104, 11800, 0x41, true, 1000));
    });
    RawRtspClient client(client_io_, endpoint_);
    asio::ip::udp::socket rtp(client_io_, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const auto port = rtp.local_endpoint().port();
    ASSERT_EQ(client.request("DESCRIBE " + url(), 1).rfind("RTSP/1.0 200", 0), 0u);
    const auto setup = client.request("SETUP " + url() + "/track0", 2,
                                      "Transport: RTP/AVP;unicast;client_port=" + std::to_string(port) + "-" +
                                          std::to_string(port + 1) + "\r\n");
    ASSERT_EQ(setup.rfind("RTSP/1.0 200", 0), 0u) << setup;
    const auto play =
        client.request("PLAY " + url(), 3, "Session: " + RawRtspClient::header(setup, "Session") + "\r\n");
    ASSERT_EQ(play.rfind("RTSP/1.0 200", 0), 0u) << play;
    // While the burst is paced out: a live P frame, then the next GOP's first packets.
    on_io([this] {
        mount_->feed_rtp(0, big_packet(105, 15400, 0x41, true, 1000));
        mount_->feed_rtp(0, big_packet(106, 19000, 0x67, false, 1000));
        mount_->feed_rtp(0, big_packet(107, 19000, 0x65, true, 1000));
    });
    const auto receive = [&rtp]() -> std::string {
        pollfd ready{rtp.native_handle(), POLLIN, 0};
        if (::poll(&ready, 1, 5000) != 1) return "";
        std::array<char, 2048> buffer{};
        asio::ip::udp::endpoint from;
        const auto n = rtp.receive_from(asio::buffer(buffer), from);
        return {buffer.data(), n};
    };
    std::vector<std::string> frames;
    for (int i = 0; i < 8; ++i) {
        frames.push_back(receive());
        ASSERT_EQ(frames.back().size(), 1000U) << i;
    }
    on_io([this] { mount_->feed_rtp(0, big_packet(108, 22600, 0x41, true, 1000)); });  // after the catch-up
    frames.push_back(receive());
    ASSERT_EQ(frames.back().size(), 1000U);
    const std::uint8_t nals[] = {0x67, 0x65, 0x65, 0x41, 0x41, 0x41, 0x67, 0x65, 0x41};
    const std::uint32_t upstream_timestamps[] = {4600, 4600, 4600, 8200, 11800, 15400, 19000, 19000, 22600};
    for (std::size_t i = 0; i < frames.size(); ++i) {
        EXPECT_EQ(static_cast<std::uint8_t>(frames[i][12]), nals[i]) << i;
        EXPECT_EQ(seq_of(frames[i]), static_cast<std::uint16_t>(seq_of(frames[0]) + i)) << i;
        EXPECT_EQ(timestamp_of(frames[i]) - timestamp_of(frames[0]), upstream_timestamps[i] - 4600) << i;
    }
}

std::uint32_t ssrc_of(const std::string& frame) {
    std::uint32_t out = 0;
    for (int i = 8; i < 12; ++i)
        out = (out << 8) | static_cast<std::uint8_t>(frame[static_cast<std::size_t>(i)]);
    return out;
}

struct UdpPlayer {
    std::unique_ptr<RawRtspClient> rtsp;
    std::unique_ptr<asio::ip::udp::socket> rtp;
    std::string session;
    std::string server_port;
};

// DESCRIBE, SETUP over UDP, PLAY for a new player; its RTSP connection and RTP socket.
void play_udp(asio::io_context& io, const tcp::endpoint& server, const std::string& url, UdpPlayer& player) {
    player.rtsp = std::make_unique<RawRtspClient>(io, server);
    player.rtp = std::make_unique<asio::ip::udp::socket>(
        io, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const auto port = player.rtp->local_endpoint().port();
    ASSERT_EQ(player.rtsp->request("DESCRIBE " + url, 1).rfind("RTSP/1.0 200", 0), 0u);
    const auto setup = player.rtsp->request("SETUP " + url + "/track0", 2,
                                            "Transport: RTP/AVP;unicast;client_port=" + std::to_string(port) +
                                                "-" + std::to_string(port + 1) + "\r\n");
    ASSERT_EQ(setup.rfind("RTSP/1.0 200", 0), 0u) << setup;
    const auto at = setup.find("server_port=");
    ASSERT_NE(at, std::string::npos) << setup;
    player.server_port = setup.substr(at + 12, setup.find_first_of(";\r", at) - at - 12);
    player.session = RawRtspClient::header(setup, "Session");
    const auto play = player.rtsp->request("PLAY " + url, 3, "Session: " + player.session + "\r\n");
    ASSERT_EQ(play.rfind("RTSP/1.0 200", 0), 0u) << play;
}

// The next datagram on `socket` (blocking) and the port it came from.
std::pair<std::string, std::uint16_t> receive_datagram(asio::ip::udp::socket& socket) {
    std::array<char, 2048> buffer{};
    socket.non_blocking(false);
    asio::ip::udp::endpoint from;
    const auto n = socket.receive_from(asio::buffer(buffer), from);
    return {std::string(buffer.data(), n), from.port()};
}

// UDP players of one track share the mount's server port pair (one sendmmsg per upstream packet), yet each
// gets its own SSRC and sequence numbers in front of the same payload, and one leaving does not stop the
// other.
TEST_F(FedMount, UdpPlayersShareOneServerPortAndKeepTheirOwnNumbers) {
    feed_description();
    std::vector<UdpPlayer> players(2);
    for (auto& player : players) {
        play_udp(client_io_, endpoint_, url(), player);
        if (HasFatalFailure()) return;
    }
    EXPECT_EQ(players[0].server_port, players[1].server_port);

    const auto receive = receive_datagram;
    const auto first = h264_rtp_packet(200, 9000, 0x65, true);
    const auto second = h264_rtp_packet(201, 12600, 0x41, true);
    on_io([&] {
        mount_->feed_rtp(0, first);
        mount_->feed_rtp(0, second);
    });
    std::vector<std::string> got[2];
    for (std::size_t p = 0; p < 2; ++p) {
        for (int i = 0; i < 2; ++i) {
            auto [datagram, from_port] = receive(*players[p].rtp);
            EXPECT_EQ(std::to_string(from_port),
                      players[p].server_port.substr(0, players[p].server_port.find('-')));
            got[p].push_back(datagram);
        }
        ASSERT_EQ(got[p][0].size(), first.size());
        EXPECT_EQ(got[p][0].substr(12), std::string(first.begin() + 12, first.end()));
        EXPECT_EQ(got[p][1].substr(12), std::string(second.begin() + 12, second.end()));
        EXPECT_EQ(seq_of(got[p][1]), static_cast<std::uint16_t>(seq_of(got[p][0]) + 1));
        EXPECT_EQ(timestamp_of(got[p][1]) - timestamp_of(got[p][0]), 3600u);
        EXPECT_EQ(ssrc_of(got[p][0]), ssrc_of(got[p][1]));
    }
    EXPECT_NE(ssrc_of(got[0][0]), ssrc_of(got[1][0]));

    // The first player leaves; the second still gets the next packet.
    const auto teardown =
        players[0].rtsp->request("TEARDOWN " + url(), 4, "Session: " + players[0].session + "\r\n");
    ASSERT_EQ(teardown.rfind("RTSP/1.0 200", 0), 0u) << teardown;
    const auto third = h264_rtp_packet(202, 16200, 0x41, true);
    on_io([&] { mount_->feed_rtp(0, third); });
    const auto [datagram, from_port] = receive(*players[1].rtp);
    EXPECT_EQ(seq_of(datagram), static_cast<std::uint16_t>(seq_of(got[1][1]) + 1));
    EXPECT_EQ(datagram.substr(12), std::string(third.begin() + 12, third.end()));
}

// A receive burst whose packets stay readable until its end (Mount::begin_batch(true), as net::take_burst
// reads them) sends the UDP players' datagrams once, at the end: nothing leaves before, then each player gets
// every packet whole and in order with its own numbers. A frame's equal-sized packets to one player leave
// as one segmented message; the player cannot tell.
TEST_F(FedMount, AHeldBurstsUdpDatagramsLeaveAtItsEndWholeAndInOrder) {
    feed_description();
    std::vector<UdpPlayer> players(3);
    for (auto& player : players) {
        play_udp(client_io_, endpoint_, url(), player);
        if (HasFatalFailure()) return;
    }
    // A key frame in three packets of 1,000 octets and a shorter last one, then a P frame.
    const std::vector<std::vector<std::uint8_t>> burst{
        big_packet(300, 9000, 0x67, false, 1000), big_packet(301, 9000, 0x65, false, 1000),
        big_packet(302, 9000, 0x65, false, 1000), big_packet(303, 9000, 0x65, true, 400),
        big_packet(304, 12600, 0x41, true, 700)};
    const bool held = on_io([&] {
        mount_->begin_batch(true);
        for (const auto& packet : burst)
            mount_->feed_rtp(0, packet);
        bool none_yet = true;
        for (auto& player : players)
            none_yet = none_yet && player.rtp->available() == 0;
        mount_->end_batch();
        return none_yet;
    });
    EXPECT_TRUE(held);
    for (std::size_t p = 0; p < players.size(); ++p) {
        std::vector<std::string> got;
        for (std::size_t i = 0; i < burst.size(); ++i)
            got.push_back(receive_datagram(*players[p].rtp).first);
        for (std::size_t i = 0; i < burst.size(); ++i) {
            ASSERT_EQ(got[i].size(), burst[i].size()) << p << " " << i;
            EXPECT_EQ(got[i].substr(12), std::string(burst[i].begin() + 12, burst[i].end())) << p << " " << i;
            EXPECT_EQ(seq_of(got[i]), static_cast<std::uint16_t>(seq_of(got[0]) + i)) << p << " " << i;
            EXPECT_EQ(ssrc_of(got[i]), ssrc_of(got[0])) << p << " " << i;
        }
        EXPECT_EQ(timestamp_of(got[4]) - timestamp_of(got[0]), 3600u) << p;
    }
}

}  // namespace
}  // namespace sg::proxy

// The shapes of the gateway's admin API objects (docs/api.md), from snapshots made by hand.
#include "gateway_api/gateway_json.hpp"

#include <gtest/gtest.h>

namespace sg::gateway_api {
namespace {

using namespace std::chrono_literals;

TEST(GatewayJson, SessionNamesItsFieldsAndNullsWhatIsUnknown) {
    socks::SessionSnapshot s;
    s.id = 7;
    s.client = "[2001:2::2]:40512";
    s.user = "-";
    s.command = "connect";
    s.target = "origin4.test:80";
    s.resolved = "198.18.3.2:80";
    s.bytes_up = 78;
    s.bytes_down = 1534;
    s.age = 1500ms;
    const auto j = session_json(s);
    EXPECT_EQ(j["id"], 7);
    EXPECT_EQ(j["client"], "[2001:2::2]:40512");
    EXPECT_TRUE(j["user"].is_null());
    EXPECT_EQ(j["command"], "connect");
    EXPECT_EQ(j["target"], "origin4.test:80");
    EXPECT_EQ(j["resolved"], "198.18.3.2:80");
    EXPECT_EQ(j["bytes_up"], 78);
    EXPECT_EQ(j["bytes_down"], 1534);
    EXPECT_DOUBLE_EQ(j["age_s"].get<double>(), 1.5);
    s.user = "alice";
    s.resolved = "-";
    EXPECT_EQ(session_json(s)["user"], "alice");
    EXPECT_TRUE(session_json(s)["resolved"].is_null());
}

TEST(GatewayJson, MountWithoutUpstreamHasNullTransportAndError) {
    proxy::MountSnapshot m;
    m.name = "cam";
    m.url = "rtsp://198.18.3.2/live";
    m.transport = "auto";
    m.state = "idle";
    const auto j = mount_json(m);
    EXPECT_EQ(j["name"], "cam");
    EXPECT_EQ(j["state"], "idle");
    EXPECT_TRUE(j["upstream_transport"].is_null());
    EXPECT_TRUE(j["last_error"].is_null());
    EXPECT_TRUE(j["publisher"].is_null());
    EXPECT_EQ(j["players"], 0);
    m.state = "playing";
    m.upstream_transport = "tcp";
    m.players = 3;
    m.bitrate_bps = 2'000'000;
    m.last_error = "no media over udp";
    const auto playing = mount_json(m);
    EXPECT_EQ(playing["upstream_transport"], "tcp");
    EXPECT_EQ(playing["players"], 3);
    EXPECT_EQ(playing["bitrate_bps"], 2'000'000);
    EXPECT_EQ(playing["last_error"], "no media over udp");
    m.publisher = "198.18.3.2:40514 user encoder";
    EXPECT_EQ(mount_json(m)["publisher"], "198.18.3.2:40514 user encoder");
}

TEST(GatewayJson, PlayerAndAlgRelay) {
    proxy::PlayerSnapshot p{"00ab", "cam", "[::1]:5000", "", "udp", true, 10, 12000, 1, 2s};
    const auto player = player_json(p);
    EXPECT_EQ(player["id"], "00ab");
    EXPECT_EQ(player["mount"], "cam");
    EXPECT_TRUE(player["user"].is_null());
    EXPECT_EQ(player["playing"], true);
    EXPECT_EQ(player["bytes"], 12000);

    alg::MediaRelaySnapshot r;
    r.client = "198.18.1.2:5000";
    r.origin = "[2001:3::2]:6970";
    r.counters.packets_to_client = {100, 2};
    r.counters.bytes_to_client = 120000;
    const auto relay = alg_relay_json(r);
    EXPECT_TRUE(relay["session_id"].is_null());
    EXPECT_EQ(relay["packets_to_client"]["rtp"], 100);
    EXPECT_EQ(relay["packets_to_client"]["rtcp"], 2);
    EXPECT_EQ(relay["bytes_to_client"], 120000);
}

TEST(GatewayJson, PageHoldsTheTotalAndOnlyItsSlice) {
    const std::vector<int> items = {1, 2, 3, 4, 5};
    const auto to_json = [](int i) { return nlohmann::json(i); };
    const auto page = page_json("things", items, metrics::PageRequest{1, 2}, to_json);
    EXPECT_EQ(page["total"], 5);
    EXPECT_EQ(page["offset"], 1);
    EXPECT_EQ(page["things"], nlohmann::json::array({2, 3}));
    EXPECT_TRUE(page_json("things", items, metrics::PageRequest{9, 2}, to_json)["things"].empty());
}

}  // namespace
}  // namespace sg::gateway_api

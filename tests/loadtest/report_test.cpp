// Percentiles and the run summary: the numbers a user and the integration tests read.
#include "loadtest/report.hpp"
#include "loadtest/runner.hpp"

#include <gtest/gtest.h>

namespace sg::loadtest {
namespace {

TEST(Percentiles, NearestRank) {
    std::vector<double> values;
    for (int i = 100; i >= 1; --i)
        values.push_back(i);  // unsorted on purpose
    const auto p = percentiles(values);
    EXPECT_EQ(p.count, 100u);
    EXPECT_DOUBLE_EQ(p.p50, 50);
    EXPECT_DOUBLE_EQ(p.p95, 95);
    EXPECT_DOUBLE_EQ(p.p99, 99);
    EXPECT_DOUBLE_EQ(p.max, 100);
    const auto one = percentiles({7.5});
    EXPECT_DOUBLE_EQ(one.p50, 7.5);
    EXPECT_DOUBLE_EQ(one.p99, 7.5);
    EXPECT_EQ(percentiles({}).count, 0u);
    const auto three = percentiles({3, 1, 2});
    EXPECT_DOUBLE_EQ(three.p50, 2);
    EXPECT_DOUBLE_EQ(three.p95, 3);
}

PlayerResult ok_player(std::uint64_t packets, double setup_ms, double jitter_ms) {
    PlayerResult p;
    p.ok = true;
    p.describe_ms = 1;
    p.setup_ms = setup_ms;
    p.play_ms = 2;
    p.first_rtp_ms = 10;
    p.rtp_packets = packets;
    p.rtp_bytes = packets * 1000;
    p.rtp_lost = 1;
    p.rtcp_packets = 2;
    p.jitter_ms = jitter_ms;
    return p;
}

TEST(Summary, AddsPlayersUpAndCountsErrorReasons) {
    std::vector<PlayerResult> players{ok_player(100, 5, 1), ok_player(200, 15, 3)};
    for (const char* reason : {"DESCRIBE 404", "DESCRIBE 404", "connect refused"}) {
        PlayerResult failed;
        failed.error = reason;
        players.push_back(failed);
    }
    const auto s = summarize(players, 2.0);
    EXPECT_EQ(s.sessions, 5u);
    EXPECT_EQ(s.succeeded, 2u);
    EXPECT_EQ(s.failed, 3u);
    EXPECT_EQ(s.rtp_packets, 300u);
    EXPECT_EQ(s.rtp_bytes, 300000u);
    EXPECT_EQ(s.rtp_lost, 2);
    EXPECT_EQ(s.players_with_rtcp, 2u);
    EXPECT_EQ(s.setup_ms.count, 2u);  // players that never got there do not count as zeros
    EXPECT_DOUBLE_EQ(s.setup_ms.max, 15);
    EXPECT_DOUBLE_EQ(s.jitter_mean_ms, 2);
    EXPECT_DOUBLE_EQ(s.jitter_max_ms, 3);
    EXPECT_DOUBLE_EQ(s.mbit_per_s, 300000.0 * 8 / 2.0 / 1e6);
    EXPECT_EQ(s.errors.at("DESCRIBE 404"), 2u);
    EXPECT_EQ(s.errors.at("connect refused"), 1u);

    const auto json = to_json(s);
    for (const char* key : {"sessions", "succeeded", "failed", "rtp_packets", "rtp_bytes", "rtp_lost",
                            "setup_ms", "first_rtp_ms", "jitter_ms", "errors"})
        EXPECT_TRUE(json.contains(key)) << key;
    EXPECT_EQ(json["errors"]["DESCRIBE 404"], 2);
    EXPECT_EQ(json["setup_ms"]["p50"], 5.0);
    EXPECT_EQ(json["jitter_ms"]["max"], 3.0);
    const auto text = to_text(s);
    EXPECT_NE(text.find("2 x DESCRIBE 404"), std::string::npos) << text;
}

TEST(Summary, KeyFrameTimesOfVideoPlayers) {
    auto a = ok_player(10, 1, 1);
    a.first_key_frame_ms = 40;
    a.first_packet_key = true;
    auto b = ok_player(10, 1, 1);
    b.first_key_frame_ms = 900;
    b.first_packet_key = false;
    const auto audio_only = ok_player(10, 1, 1);
    const auto s = summarize({a, b, audio_only}, 1.0);
    EXPECT_EQ(s.first_key_frame_ms.count, 2u);
    EXPECT_DOUBLE_EQ(s.first_key_frame_ms.max, 900);
    EXPECT_EQ(s.players_first_packet_not_key, 1u);
    EXPECT_EQ(to_json(s)["players_first_packet_not_key"], 1);
    EXPECT_EQ(to_json(b)["first_packet_key"], false);
    EXPECT_TRUE(to_json(audio_only)["first_packet_key"].is_null());
    EXPECT_NE(to_text(s).find("1 players began mid-GOP"), std::string::npos) << to_text(s);
}

TEST(Summary, PlayerJsonKeepsAbsentTimesAbsent) {
    PlayerResult p;
    p.error = "connect refused";
    const auto json = to_json(p);
    EXPECT_TRUE(json["setup_ms"].is_null());
    EXPECT_EQ(json["error"], "connect refused");
    EXPECT_FALSE(json["ok"].get<bool>());
}

}  // namespace
}  // namespace sg::loadtest

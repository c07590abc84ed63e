// `streamgate ctl`'s tables, and the percent-encoding of the IDs it puts in paths.
#include "ctl/ctl_tables.hpp"

#include <gtest/gtest.h>

#include "common/percent.hpp"

namespace sg::ctl {
namespace {

using nlohmann::json;

TEST(CtlTables, ColumnsAreAlignedWithoutTrailingBlanks) {
    EXPECT_EQ(format_table({"ID", "TARGET"}, {{"1", "a.test:80"}, {"22", "b:1"}}),
              "ID  TARGET\n"
              "1   a.test:80\n"
              "22  b:1\n");
}

TEST(CtlTables, SessionsTableShowsEveryListedSessionAndTheCount) {
    const auto body = json::parse(R"({"total": 3, "offset": 1, "sessions": [
        {"id": 2, "client": "127.0.0.1:5000", "user": null, "command": "connect", "target": "t:80",
         "bytes_up": 10, "bytes_down": 2048, "age_s": 75.5},
        {"id": 3, "client": "[::1]:5001", "user": "bob", "command": "udp_associate", "target": "0.0.0.0:0",
         "bytes_up": 0, "bytes_down": 0, "age_s": 1.25}]})");
    const auto text = render("sessions", body);
    EXPECT_NE(text.find("ID  CLIENT"), std::string::npos) << text;
    EXPECT_NE(text.find("2   127.0.0.1:5000  -     connect        t:80       10 B  2.0 KiB  1m15s"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("bob"), std::string::npos);
    EXPECT_NE(text.find("2 shown of 3 (from offset 1)"), std::string::npos) << text;
}

TEST(CtlTables, MountStateCarriesTheUpstreamTransport) {
    const auto body = json::parse(R"({"total": 1, "offset": 0, "mounts": [
        {"name": "cam", "state": "playing", "upstream_transport": "tcp", "transport": "auto", "players": 2,
         "bitrate_bps": 1500000, "url": "rtsp://o/live", "last_error": null}]})");
    const auto text = render("mounts", body);
    EXPECT_NE(text.find("cam    playing/tcp  auto       2        1.5 Mbit/s  rtsp://o/live  -"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("1 in all"), std::string::npos);
}

TEST(CtlTables, CallsSumTheirStreams) {
    const auto body = json::parse(R"({"total": 1, "offset": 0, "calls": [{"call_id": "c1@h", "legs": [
        {"tag": "a", "streams": [{"packets": 5, "bytes": 500}]},
        {"tag": "b", "streams": [{"packets": 7, "bytes": 700}]}]}]})");
    const auto text = render("calls", body);
    EXPECT_NE(text.find("c1@h     2     2        12       1.2 KiB"), std::string::npos) << text;
}

TEST(CtlTables, AllocationsShowBothRelayedAddressesAndTraffic) {
    const auto body = json::parse(R"({"total": 1, "offset": 0, "allocations": [
        {"id": "198.18.3.1:50012", "user": "alice", "client": "198.18.1.2:40001", "transport": "udp",
         "relayed": "198.18.3.1:50012", "relayed_other": "[2001:3::1]:50013", "permissions": 1, "channels": 0,
         "to_peer": {"packets": 2, "bytes": 340}, "to_client": {"packets": 2, "bytes": 2048}, "age_s": 5}]})");
    const auto text = render("allocations", body);
    EXPECT_NE(text.find("198.18.3.1:50012,[2001:3::1]:50013"), std::string::npos) << text;
    EXPECT_NE(text.find("340 B"), std::string::npos) << text;
    EXPECT_NE(text.find("2.0 KiB"), std::string::npos) << text;
}

TEST(CtlTables, UnknownListsGetTheirScalarFieldsAsColumns) {
    const auto body =
        json::parse(R"({"total": 1, "offset": 0, "widgets": [{"id": "x", "client": "c", "peers": [1, 2]}]})");
    const auto text = render("widgets", body);
    EXPECT_NE(text.find("client  id"), std::string::npos) << text;
    EXPECT_EQ(text.find("peers"), std::string::npos) << text;
}

TEST(CtlTables, StatusIsKeyValueLines) {
    const auto body = json::parse(R"({"service": "gateway", "uptime_s": 3700,
        "listeners": ["socks 127.0.0.1:1080", "admin 127.0.0.1:9131"],
        "last_reload": {"at": 1, "applied": false, "error": "f.toml: bad"}})");
    const auto text = render("status", body);
    EXPECT_NE(text.find("listeners    socks 127.0.0.1:1080, admin 127.0.0.1:9131\n"), std::string::npos)
        << text;
    EXPECT_NE(text.find("uptime       1h01m\n"), std::string::npos) << text;
    EXPECT_NE(text.find("last_reload  refused: f.toml: bad\n"), std::string::npos) << text;
}

TEST(CtlTables, HumanUnits) {
    EXPECT_EQ(human_bytes(1023), "1023 B");
    EXPECT_EQ(human_bytes(1536), "1.5 KiB");
    EXPECT_EQ(human_bitrate(999), "999 bit/s");
    EXPECT_EQ(human_bitrate(64000), "64.0 kbit/s");
    EXPECT_EQ(human_duration(59.95), "60.0s");
    EXPECT_EQ(human_duration(90000), "1d01h");
}

TEST(PercentEncode, AnyCallIdIsOnePathSegmentThatDecodesBack) {
    for (const std::string& id :
         std::vector<std::string>{"1-2044@10.0.1.2", "a/b c%d", "plain", std::string("\x01\xff", 2)}) {
        const auto encoded = percent_encode(id);
        EXPECT_EQ(encoded.find('/'), std::string::npos);
        EXPECT_EQ(encoded.find('@'), std::string::npos);
        EXPECT_EQ(percent_decode(encoded, EncodedNul::keep), id);
    }
}

}  // namespace
}  // namespace sg::ctl

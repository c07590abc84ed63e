#include <gtest/gtest.h>

#include "app/config.hpp"

namespace sg::app {
namespace {

std::optional<GatewayConfig> parse(std::string_view text, std::string& error) {
    return parse_config(text, "test", error);
}

TEST(RtspConfig, OffByDefault) {
    std::string error;
    const auto config = parse(default_config_text(), error);
    ASSERT_TRUE(config) << error;
    EXPECT_TRUE(config->rtsp_listeners.empty());
    EXPECT_TRUE(config->rtsp_mounts.empty());
    EXPECT_EQ(config->rtsp_session_timeout, std::chrono::seconds(60));
    EXPECT_EQ(config->rtsp_max_connections, 4096U);
    EXPECT_EQ(config->rtsp_max_connections_per_client, 256U);
}

TEST(RtspConfig, ReadsConnectionCaps) {
    std::string error;
    const auto config = parse("[rtsp]\nmax_connections = 10\nmax_connections_per_client = 0\n", error);
    ASSERT_TRUE(config) << error;
    EXPECT_EQ(config->rtsp_max_connections, 10U);
    EXPECT_EQ(config->rtsp_max_connections_per_client, 0U);
    EXPECT_FALSE(parse("[rtsp]\nmax_connections = -1\n", error));
}

TEST(RtspConfig, WebSocketOriginsAreClosedByDefaultAndChecked) {
    std::string error;
    const auto closed = parse(default_config_text(), error);
    ASSERT_TRUE(closed) << error;
    EXPECT_TRUE(closed->rtsp_websocket_origins.empty());
    const auto config = parse(
        "[rtsp]\nwebsocket_origins = [\"https://viewer.example\", \"http://127.0.0.1:9131\", \"null\"]\n",
        error);
    ASSERT_TRUE(config) << error;
    EXPECT_EQ(config->rtsp_websocket_origins,
              (std::vector<std::string>{"https://viewer.example", "http://127.0.0.1:9131", "null"}));
    for (const char* bad : {"[\"viewer.example\"]", "[\"https://viewer.example/page\"]", "[\"https://\"]",
                            "[\"https://a b\"]", "\"*\""}) {
        error.clear();
        EXPECT_FALSE(parse(std::string("[rtsp]\nwebsocket_origins = ") + bad + "\n", error)) << bad;
        EXPECT_NE(error.find("[rtsp] websocket_origins"), std::string::npos) << bad << ": " << error;
    }
}

TEST(RtspConfig, TheVodCacheIsOffByDefaultAndNeedsItsDirectory) {
    std::string error;
    const auto off = parse(default_config_text(), error);
    ASSERT_TRUE(off) << error;
    EXPECT_TRUE(off->rtsp_vod_cache_dir.empty());

    const auto config = parse(R"([rtsp]
vod_cache_dir = "/var/cache/streamgate/vod"
vod_cache_max_mb = 512
vod_cache_fresh_s = 30
[[rtsp.mount]]
name = "film"
url = "rtsp://192.0.2.1/film.mp4"
vod_cache = true
)",
                              error);
    ASSERT_TRUE(config) << error;
    EXPECT_EQ(config->rtsp_vod_cache_dir, "/var/cache/streamgate/vod");
    EXPECT_EQ(config->rtsp_vod_cache_max_mb, 512U);
    EXPECT_EQ(config->rtsp_vod_cache_fresh, std::chrono::seconds(30));
    ASSERT_EQ(config->rtsp_mounts.size(), 1U);
    EXPECT_TRUE(config->rtsp_mounts[0].vod_cache);

    // A mount asking for the cache without a directory, a publish mount asking for it, and a wrong type.
    EXPECT_FALSE(
        parse("[[rtsp.mount]]\nname = \"film\"\nurl = \"rtsp://192.0.2.1/f\"\nvod_cache = true\n", error));
    EXPECT_NE(error.find("vod_cache: needs [rtsp] vod_cache_dir"), std::string::npos) << error;
    EXPECT_FALSE(
        parse("[rtsp]\nvod_cache_dir = \"/tmp/v\"\n[[rtsp.mount]]\nname = \"s\"\npublish = true\n"
              "vod_cache = true\n",
              error));
    EXPECT_NE(error.find("vod_cache"), std::string::npos) << error;
    EXPECT_FALSE(parse("[rtsp]\nvod_cache_dir = \"\"\n", error));
    EXPECT_FALSE(parse("[rtsp]\nvod_cache_fresh_s = 0\n", error));
}

TEST(RtspConfig, MulticastIsClosedByDefaultAndReadsItsFourKeys) {
    std::string error;
    const auto closed = parse(default_config_text(), error);
    ASSERT_TRUE(closed) << error;
    EXPECT_FALSE(closed->rtsp_multicast.enabled_for(false));
    EXPECT_FALSE(closed->rtsp_multicast.enabled_for(true));

    const auto config = parse(R"([rtsp]
multicast_ranges = ["239.255.42.0/24", "ff15::42:0/112"]
multicast_ports = "31000-31099"
multicast_ttl = 4
multicast_interface = "eth1"
)",
                              error);
    ASSERT_TRUE(config) << error;
    EXPECT_EQ(config->rtsp_multicast.to_string(),
              "239.255.42.0/24 ff15::42:0/112 ports 31000-31099 ttl 4 interface eth1");

    for (const char* bad :
         {"multicast_ranges = [\"10.0.0.0/8\"]",                      // not multicast
          "multicast_ranges = [\"239.1.0.0/16\", \"239.2.0.0/16\"]",  // two of one family
          "multicast_ranges = \"239.1.0.0/16\"", "multicast_ports = \"30000\"", "multicast_ports = \"0-10\"",
          "multicast_ttl = 0", "multicast_ttl = 256", "multicast_interface = \"\"", "multicast_group = 1"}) {
        error.clear();
        EXPECT_FALSE(parse(std::string("[rtsp]\n") + bad + "\n", error)) << bad;
        EXPECT_NE(error.find("[rtsp]"), std::string::npos) << bad << ": " << error;
    }
}

TEST(RtspConfig, AMountMayHaveAFixedMulticastGroupOutsideTheRanges) {
    std::string error;
    const auto config = parse(R"([rtsp]
multicast_ranges = ["239.255.42.0/24"]
[[rtsp.mount]]
name = "tv1"
url = "rtsp://192.0.2.1/tv1"
multicast_group = "239.1.2.3"
multicast_port = 40000
)",
                              error);
    ASSERT_TRUE(config) << error;
    EXPECT_EQ(config->rtsp_mounts.at(0).multicast_group, "239.1.2.3");
    EXPECT_EQ(config->rtsp_mounts.at(0).multicast_port, 40000U);
    for (const char* bad : {"multicast_group = \"10.1.2.3\"\nmulticast_port = 40000",         // not multicast
                            "multicast_group = \"239.1.2.3\"",                                // no port
                            "multicast_group = \"239.1.2.3\"\nmulticast_port = 40001",        // odd
                            "multicast_port = 40000",                                         // no group
                            "multicast_group = \"239.255.42.7\"\nmulticast_port = 40000"}) {  // in the range
        error.clear();
        const std::string text = std::string(
                                     "[rtsp]\nmulticast_ranges = [\"239.255.42.0/24\"]\n[[rtsp.mount]]\n"
                                     "name = \"tv1\"\nurl = \"rtsp://192.0.2.1/tv1\"\n") +
                                 bad + "\n";
        EXPECT_FALSE(parse(text, error)) << bad;
        EXPECT_NE(error.find("multicast_"), std::string::npos) << bad << ": " << error;
    }
}

TEST(RtspConfig, ReadsListenersTimeoutAndMounts) {
    std::string error;
    const auto config = parse(R"(
[rtsp]
listen = ["127.0.0.1:8554", "[::]:8554"]
session_timeout_s = 30
[[rtsp.mount]]
name = "cam1"
url = "rtsp://198.18.0.5:8554/live"
transport = "tcp"
user = "alice"
password = "secret"
always_on = true
[[rtsp.mount]]
name = "movie"
url = "rtsp://bob:pw@[2001:2::5]/m.mp4"
)",
                              error);
    ASSERT_TRUE(config) << error;
    ASSERT_EQ(config->rtsp_listeners.size(), 2U);
    EXPECT_EQ(config->rtsp_listeners[0].host, "127.0.0.1");
    EXPECT_EQ(config->rtsp_listeners[1].port, 8554);
    EXPECT_EQ(config->rtsp_session_timeout, std::chrono::seconds(30));
    ASSERT_EQ(config->rtsp_mounts.size(), 2U);
    const auto& cam = config->rtsp_mounts[0];
    EXPECT_EQ(cam.name, "cam1");
    EXPECT_EQ(cam.url, "rtsp://198.18.0.5:8554/live");
    EXPECT_EQ(cam.transport, "tcp");
    EXPECT_EQ(cam.user, "alice");
    EXPECT_EQ(cam.password, "secret");
    EXPECT_TRUE(cam.always_on);
    const auto& movie = config->rtsp_mounts[1];
    EXPECT_EQ(movie.transport, "auto");
    EXPECT_FALSE(movie.always_on);
    EXPECT_TRUE(movie.user.empty());
}

TEST(RtspConfig, GopCacheLimitsGloballyAndPerMount) {
    std::string error;
    const auto defaults = parse(default_config_text(), error);
    ASSERT_TRUE(defaults) << error;
    EXPECT_EQ(defaults->rtsp_gop_cache_bytes, 1U << 20U);
    EXPECT_EQ(defaults->rtsp_gop_cache_packets, 1024U);
    EXPECT_EQ(defaults->rtsp_gop_burst_kbps, 20000U);
    const auto config = parse(R"(
[rtsp]
gop_cache_bytes = 0
gop_cache_packets = 300
gop_burst_kbps = 0
[[rtsp.mount]]
name = "cam"
url = "rtsp://x/"
gop_cache_bytes = 4194304
gop_burst_kbps = 8000
[[rtsp.mount]]
name = "other"
url = "rtsp://y/"
)",
                              error);
    ASSERT_TRUE(config) << error;
    EXPECT_EQ(config->rtsp_gop_cache_bytes, 0U);
    EXPECT_EQ(config->rtsp_gop_cache_packets, 300U);
    ASSERT_EQ(config->rtsp_mounts.size(), 2U);
    EXPECT_EQ(config->rtsp_mounts[0].gop_cache_bytes, 4194304U);
    EXPECT_FALSE(config->rtsp_mounts[0].gop_cache_packets);
    EXPECT_FALSE(config->rtsp_mounts[1].gop_cache_bytes);
    EXPECT_EQ(config->rtsp_gop_burst_kbps, 0U);
    EXPECT_EQ(config->rtsp_mounts[0].gop_burst_kbps, 8000U);
    EXPECT_FALSE(config->rtsp_mounts[1].gop_burst_kbps);
    EXPECT_FALSE(parse("[rtsp]\ngop_cache_bytes = -1\n", error));
    EXPECT_FALSE(defaults->rtsp_fanout_threads);
    const auto helpers = parse("[rtsp]\nfanout_threads = 0\n", error);
    ASSERT_TRUE(helpers) << error;
    EXPECT_EQ(helpers->rtsp_fanout_threads, 0U);
    EXPECT_FALSE(parse("[rtsp]\nfanout_threads = 5000\n", error));
    EXPECT_NE(error.find("fanout_threads"), std::string::npos) << error;
    EXPECT_FALSE(parse("[rtsp]\ngop_burst_kbps = \"fast\"\n", error));
    EXPECT_FALSE(
        parse("[[rtsp.mount]]\nname = \"a\"\nurl = \"rtsp://x/\"\ngop_cache_packets = \"many\"\n", error));
}

TEST(RtspConfig, AcceptsAnUpstreamTunnelledInHttp) {
    std::string error;
    const auto config =
        parse("[[rtsp.mount]]\nname = \"a\"\nurl = \"rtsp://x/\"\ntransport = \"http\"\n", error);
    ASSERT_TRUE(config) << error;
    ASSERT_EQ(config->rtsp_mounts.size(), 1U);
    EXPECT_EQ(config->rtsp_mounts[0].transport, "http");
}

TEST(RtspConfig, RefusesBadMounts) {
    const char* bad[] = {
        "[rtsp]\nlisten = [\"nonsense\"]\n",
        "[rtsp]\nsession_timeout_s = 0\n",
        "[rtsp]\nport = 1\n",
        "[[rtsp.mount]]\nname = \"a\"\n",
        "[[rtsp.mount]]\nname = \"a\"\nurl = \"http://x/\"\n",
        "[[rtsp.mount]]\nname = \"a/b\"\nurl = \"rtsp://x/\"\n",
        "[[rtsp.mount]]\nname = \"track1\"\nurl = \"rtsp://x/\"\n",
        "[[rtsp.mount]]\nname = \"a\"\nurl = \"rtsp://x/\"\ntransport = \"quic\"\n",
        "[[rtsp.mount]]\nname = \"a\"\nurl = \"rtsp://x/\"\nalways_on = 1\n",
        "[[rtsp.mount]]\nname = \"a\"\nurl = \"rtsp://x/\"\nextra = 1\n",
        // A publish mount has no upstream; publish credentials come in pairs and need publish = true.
        "[[rtsp.mount]]\nname = \"a\"\npublish = true\nurl = \"rtsp://x/\"\n",
        "[[rtsp.mount]]\nname = \"a\"\npublish = true\nalways_on = true\n",
        "[[rtsp.mount]]\nname = \"a\"\npublish = true\npublish_user = \"enc\"\n",
        "[[rtsp.mount]]\nname = \"a\"\npublish = \"yes\"\n",
        "[[rtsp.mount]]\nname = \"a\"\nurl = \"rtsp://x/\"\npublish_user = \"enc\"\npublish_password = "
        "\"p\"\n",
        "[[rtsp.mount]]\nname = \"a\"\nurl = \"rtsp://x/\"\npublish_takeover = true\n",
        "[[rtsp.mount]]\nname = \"a\"\nurl = \"rtsp://x/\"\n[[rtsp.mount]]\nname = \"a\"\nurl = "
        "\"rtsp://y/\"\n",
    };
    for (const char* text : bad) {
        std::string error;
        EXPECT_FALSE(parse(text, error)) << text;
        EXPECT_FALSE(error.empty()) << text;
    }
}

TEST(RtspConfig, MountSpecOfTheCommandLine) {
    const auto mount = parse_mount_spec("cam=rtsp://u:p@192.0.2.1:554/stream?x=1");
    ASSERT_TRUE(mount.ok()) << mount.error();
    EXPECT_EQ(mount->name, "cam");
    EXPECT_EQ(mount->url, "rtsp://u:p@192.0.2.1:554/stream?x=1");
    EXPECT_EQ(mount->transport, "auto");
    EXPECT_FALSE(mount->always_on);
    EXPECT_FALSE(parse_mount_spec("cam").ok());
    EXPECT_FALSE(parse_mount_spec("=rtsp://x/").ok());
    EXPECT_FALSE(parse_mount_spec("cam=ftp://x/").ok());
}

TEST(RtspConfig, PublishMounts) {
    std::string error;
    const auto config = parse(R"(
[[rtsp.mount]]
name = "studio"
publish = true
publish_user = "encoder"
publish_password = "s3cret"
publish_takeover = true

[[rtsp.mount]]
name = "open"
publish = true
)",
                              error);
    ASSERT_TRUE(config) << error;
    ASSERT_EQ(config->rtsp_mounts.size(), 2u);
    const auto& studio = config->rtsp_mounts[0];
    EXPECT_TRUE(studio.publish);
    EXPECT_TRUE(studio.url.empty());
    EXPECT_EQ(studio.publish_user, "encoder");
    EXPECT_EQ(studio.publish_password, "s3cret");
    EXPECT_TRUE(studio.publish_takeover);
    EXPECT_TRUE(config->rtsp_mounts[1].publish);
    EXPECT_TRUE(config->rtsp_mounts[1].publish_user.empty());
    EXPECT_FALSE(config->rtsp_mounts[1].publish_takeover);

    const auto spec = parse_mount_spec("live=publish");
    ASSERT_TRUE(spec.ok()) << spec.error();
    EXPECT_TRUE(spec->publish);
    EXPECT_TRUE(spec->url.empty());
}

TEST(RtspConfig, PlayerAccountsAndRealm) {
    std::string error;
    const auto off = parse(default_config_text(), error);
    ASSERT_TRUE(off) << error;
    EXPECT_TRUE(off->rtsp_users.empty());
    EXPECT_EQ(off->rtsp_realm, "streamgate");

    const auto config = parse(R"(
[rtsp]
users = ["alice:wonder:land", "bob:pw"]
realm = "cameras"
)",
                              error);
    ASSERT_TRUE(config) << error;
    ASSERT_EQ(config->rtsp_users.size(), 2U);
    EXPECT_EQ(config->rtsp_users[0], (std::pair<std::string, std::string>{"alice", "wonder:land"}));
    EXPECT_EQ(config->rtsp_users[1], (std::pair<std::string, std::string>{"bob", "pw"}));
    EXPECT_EQ(config->rtsp_realm, "cameras");

    for (const char* text :
         {"[rtsp]\nusers = [\"alice\"]", "[rtsp]\nusers = [\"alice:\"]", "[rtsp]\nusers = [\":pw\"]",
          "[rtsp]\nusers = [\"a:1\", \"a:2\"]", "[rtsp]\nusers = \"a:1\"", "[rtsp]\nrealm = \"\"",
          "[rtsp]\nrealm = \"a\\\"b\"", "[rtsp]\nrealm = 3"}) {
        EXPECT_FALSE(parse(text, error)) << text;
    }
    // The error names the entry's problem, never the password.
    EXPECT_FALSE(parse("[rtsp]\nusers = [\"alice:secret\", \"alice:other-secret\"]", error));
    EXPECT_EQ(error.find("secret"), std::string::npos) << error;
}

TEST(RtspConfig, RtspUserSpecOfTheCommandLine) {
    std::vector<std::pair<std::string, std::string>> users;
    EXPECT_TRUE(add_rtsp_user("carol:c", users).ok());
    EXPECT_FALSE(add_rtsp_user("carol:d", users).ok());
    EXPECT_FALSE(add_rtsp_user("nocolon", users).ok());
    ASSERT_EQ(users.size(), 1U);
    EXPECT_EQ(users[0].second, "c");
}

TEST(RtspConfig, ReadsRtspsListenersAndUpstreams) {
    std::string error;
    const auto config = parse(R"(
[rtsp]
tls_listen = ["127.0.0.1:8322", "[::1]:8322"]
tls_cert = "/etc/streamgate/rtsps.pem"
tls_key = "/etc/streamgate/rtsps.key"
[[rtsp.mount]]
name = "camera"
url = "rtsps://198.18.0.5/live"
tls_ca = "/etc/streamgate/cameras-ca.pem"
[[rtsp.mount]]
name = "lab"
url = "rtsps://198.18.0.6/live"
tls_verify = false
)",
                              error);
    ASSERT_TRUE(config) << error;
    ASSERT_EQ(config->rtsp_tls_listeners.size(), 2U);
    EXPECT_EQ(config->rtsp_tls_listeners[1].port, 8322);
    EXPECT_EQ(config->rtsp_tls_certificate, "/etc/streamgate/rtsps.pem");
    EXPECT_EQ(config->rtsp_tls_key, "/etc/streamgate/rtsps.key");
    ASSERT_EQ(config->rtsp_mounts.size(), 2U);
    EXPECT_EQ(config->rtsp_mounts[0].tls_ca, "/etc/streamgate/cameras-ca.pem");
    EXPECT_TRUE(config->rtsp_mounts[0].tls_verify);
    EXPECT_FALSE(config->rtsp_mounts[1].tls_verify);
}

TEST(RtspConfig, RefusesTlsSettingsThatCannotApply) {
    std::string error;
    // TLS settings on a plain rtsp:// upstream, and the HTTP tunnel with rtsps://, would be silently ignored.
    EXPECT_FALSE(
        parse("[[rtsp.mount]]\nname = \"a\"\nurl = \"rtsp://192.0.2.1/x\"\ntls_verify = false\n", error));
    EXPECT_NE(error.find("tls_verify and tls_ca are for rtsps:// URLs"), std::string::npos) << error;
    EXPECT_FALSE(
        parse("[[rtsp.mount]]\nname = \"a\"\nurl = \"rtsps://192.0.2.1/x\"\ntransport = \"http\"\n", error));
    EXPECT_NE(error.find("does not go with an rtsps:// URL"), std::string::npos) << error;
    EXPECT_FALSE(parse("[rtsp]\ntls_cert = \"\"\n", error));
}

}  // namespace
}  // namespace sg::app

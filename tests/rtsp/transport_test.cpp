#include "rtsp/transport.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sg::rtsp {
namespace {

TransportSpec parse_one(std::string_view text) {
    const auto specs = parse_transport(text);
    EXPECT_TRUE(specs.ok()) << text << ": " << specs.error();
    if (!specs.ok()) return {};
    EXPECT_EQ(specs->size(), 1u) << text;
    return specs->front();
}

TEST(Transport, Rfc2326MulticastAndUnicastExample) {
    // RFC 2326 §12.39.
    const auto specs = parse_transport(
        R"(RTP/AVP;multicast;ttl=127;mode="PLAY",RTP/AVP;unicast;client_port=3456-3457;mode="PLAY")");
    ASSERT_TRUE(specs.ok()) << specs.error();
    ASSERT_EQ(specs->size(), 2u);
    const auto& m = (*specs)[0];
    EXPECT_EQ(m.protocol, "RTP");
    EXPECT_EQ(m.profile, "AVP");
    EXPECT_EQ(m.lower, "");
    EXPECT_TRUE(m.is_udp());
    EXPECT_FALSE(m.is_tcp());
    EXPECT_TRUE(m.is_multicast());
    EXPECT_EQ(m.ttl, 127);
    EXPECT_EQ(m.modes, std::vector<std::string>{"PLAY"});
    EXPECT_TRUE(m.mode_quoted);
    const auto& u = (*specs)[1];
    EXPECT_EQ(u.delivery, Delivery::unicast);
    EXPECT_EQ(u.client_port, (PortRange{3456, 3457}));
    EXPECT_FALSE(u.server_port.has_value());
    EXPECT_EQ(to_header_value(*specs),
              R"(RTP/AVP;multicast;ttl=127;mode="PLAY",RTP/AVP;unicast;client_port=3456-3457;mode="PLAY")");
}

TEST(Transport, InterleavedTcp) {
    // live555 / ffmpeg.
    const auto t = parse_one(R"(RTP/AVP/TCP;unicast;interleaved=0-1;ssrc=1B2C3D4E;mode="PLAY")");
    EXPECT_TRUE(t.is_rtp());
    EXPECT_TRUE(t.is_tcp());
    EXPECT_FALSE(t.is_udp());
    EXPECT_EQ(t.interleaved, (ChannelRange{0, 1}));
    EXPECT_EQ(t.ssrc, 0x1B2C3D4Eu);
    EXPECT_TRUE(t.more_ssrcs.empty());
    EXPECT_EQ(to_header_value(t), R"(RTP/AVP/TCP;unicast;interleaved=0-1;ssrc=1B2C3D4E;mode="PLAY")");
}

TEST(Transport, ServerReplyWithSource) {
    const auto t = parse_one(
        "RTP/AVP;unicast;client_port=5000-5001;server_port=6970-6971;ssrc=DEADBEEF;source=198.18.3.2");
    EXPECT_EQ(t.client_port, (PortRange{5000, 5001}));
    EXPECT_EQ(t.server_port, (PortRange{6970, 6971}));
    EXPECT_EQ(t.ssrc, 0xDEADBEEFu);
    EXPECT_EQ(t.source, "198.18.3.2");
    EXPECT_TRUE(t.modes.empty());
    EXPECT_EQ(to_header_value(t),
              "RTP/AVP;unicast;source=198.18.3.2;client_port=5000-5001;server_port=6970-6971;ssrc=DEADBEEF");
}

TEST(Transport, GatewayRewritesPortsAndKeepsTheRest) {
    auto t = parse_one(
        "RTP/AVP/UDP;unicast;destination=10.0.0.5;client_port=5000-5001;RTCP-mux;"
        "x-vendor=\"a;b,c\";mode=PLAY");
    ASSERT_EQ(t.extensions.size(), 2u);
    EXPECT_EQ(t.extensions[0], (TransportParam{"RTCP-mux", std::nullopt}));
    EXPECT_EQ(t.extensions[1], (TransportParam{"x-vendor", R"("a;b,c")"}));
    ASSERT_NE(t.find_extension("rtcp-MUX"), nullptr);
    EXPECT_FALSE(t.mode_quoted);
    EXPECT_TRUE(t.is_udp());
    t.client_port = PortRange{40000, 40001};
    t.destination = "192.0.2.1";
    EXPECT_EQ(to_header_value(t),
              "RTP/AVP/UDP;unicast;destination=192.0.2.1;client_port=40000-40001;mode=PLAY;RTCP-mux;"
              "x-vendor=\"a;b,c\"");
}

TEST(Transport, AllRfc2326Parameters) {
    const auto t =
        parse_one(R"(RTP/AVP;multicast;destination=224.2.0.1;append;ttl=16;layers=3;port=3456-3457;)"
                  R"(mode="PLAY,RECORD")");
    EXPECT_EQ(t.destination, "224.2.0.1");
    EXPECT_TRUE(t.append);
    EXPECT_EQ(t.ttl, 16);
    EXPECT_EQ(t.layers, 3u);
    EXPECT_EQ(t.port, (PortRange{3456, 3457}));
    EXPECT_EQ(t.modes, (std::vector<std::string>{"PLAY", "RECORD"}));
    EXPECT_EQ(
        to_header_value(t),
        R"(RTP/AVP;multicast;destination=224.2.0.1;append;ttl=16;layers=3;port=3456-3457;mode="PLAY,RECORD")");
}

TEST(Transport, LenientSyntax) {
    // Spaces after separators, case-insensitive names, bare destination, single ports, stray ';'.
    const auto t = parse_one(
        " RTP/AVP ; Unicast ; Destination ; CLIENT_PORT = 5000 ; interleaved=7; mode = \" play \";");
    EXPECT_EQ(t.delivery, Delivery::unicast);
    EXPECT_EQ(t.destination, "");
    EXPECT_EQ(t.client_port, (PortRange{5000, 5000}));
    EXPECT_TRUE(t.client_port->is_single());
    EXPECT_EQ(t.interleaved, (ChannelRange{7, 7}));
    EXPECT_EQ(t.modes, std::vector<std::string>{"play"});
    EXPECT_EQ(to_header_value(t),
              R"(RTP/AVP;unicast;destination;interleaved=7;client_port=5000;mode="play")");
}

TEST(Transport, Rfc7826Additions) {
    // RFC 7826 §18.54-style values: address lists, SSRC lists, other profiles, connection setup params.
    const auto t = parse_one(R"(RTP/SAVPF;unicast;dest_addr="192.0.2.5:3456"/"192.0.2.5:3457";)"
                             R"(src_addr="[2001:db8::1]:6970"/":6971";ssrc=0A13C760/1234abcd;setup=passive;)"
                             R"(connection=new;MIKEY=AQAFgM0XflABAAAAAAAAAAAAAAY)");
    EXPECT_EQ(t.profile, "SAVPF");
    ASSERT_EQ(t.dest_addr.size(), 2u);
    EXPECT_EQ(t.dest_addr[0], (TransportAddress{"192.0.2.5", 3456}));
    EXPECT_EQ(t.dest_addr[1], (TransportAddress{"192.0.2.5", 3457}));
    ASSERT_EQ(t.src_addr.size(), 2u);
    EXPECT_EQ(t.src_addr[0], (TransportAddress{"2001:db8::1", 6970}));
    EXPECT_EQ(t.src_addr[1], (TransportAddress{"", 6971}));
    EXPECT_EQ(t.ssrc, 0x0A13C760u);
    EXPECT_EQ(t.more_ssrcs, std::vector<std::uint32_t>{0x1234ABCDu});
    ASSERT_EQ(t.extensions.size(), 3u);
    EXPECT_EQ(t.extensions[0].name, "setup");
    EXPECT_EQ(t.extensions[2].value, "AQAFgM0XflABAAAAAAAAAAAAAAY");
    EXPECT_EQ(
        to_header_value(t),
        R"(RTP/SAVPF;unicast;ssrc=0A13C760/1234ABCD;dest_addr="192.0.2.5:3456"/"192.0.2.5:3457";)"
        R"(src_addr="[2001:db8::1]:6970"/":6971";setup=passive;connection=new;MIKEY=AQAFgM0XflABAAAAAAAAAAAAAAY)");

    const auto h = parse_one(R"(RTP/AVP/TCP;unicast;dest_addr="example.com";interleaved=2-3)");
    EXPECT_EQ(h.dest_addr, (std::vector<TransportAddress>{TransportAddress{"example.com", std::nullopt}}));
    const auto z = parse_one(R"(RTP/AVP;unicast;dest_addr="[fe80::1%eth0]")");
    EXPECT_EQ(z.dest_addr[0].host, "fe80::1%eth0");
    EXPECT_EQ(to_header_value(z), R"(RTP/AVP;unicast;dest_addr="[fe80::1%eth0]")");
}

TEST(Transport, OtherTransportIds) {
    const auto raw = parse_one("RAW/RAW/UDP;unicast;client_port=1");
    EXPECT_FALSE(raw.is_rtp());
    EXPECT_TRUE(raw.is_udp());
    const auto one = parse_one("x-custom;unicast");
    EXPECT_EQ(one.protocol, "x-custom");
    EXPECT_EQ(one.profile, "");
    EXPECT_EQ(to_header_value(one), "x-custom;unicast");
    const auto tcp = parse_one("rtp/avp/tcp;interleaved=0");
    EXPECT_TRUE(tcp.is_tcp());
}

TEST(Transport, RejectsBadValues) {
    const std::string_view bad[] = {
        "",
        ",",
        ";unicast",
        "RTP/;unicast",
        "RTP/AVP/;unicast",
        "RTP/AVP/TCP/X",
        "RTP AVP",
        "RTP/AVP;unicast;multicast",
        "RTP/AVP;unicast;unicast",
        "RTP/AVP;unicast=1",
        "RTP/AVP;append=yes",
        "RTP/AVP;client_port=65536-65537",
        "RTP/AVP;client_port=5001-5000",
        "RTP/AVP;client_port=5000-",
        "RTP/AVP;client_port=-5000",
        "RTP/AVP;client_port=",
        "RTP/AVP;client_port",
        "RTP/AVP;client_port=1-2;client_port=3-4",
        "RTP/AVP;server_port=abc",
        "RTP/AVP;port=99999",
        "RTP/AVP/TCP;interleaved=256-257",
        "RTP/AVP/TCP;interleaved=1-0",
        "RTP/AVP;ttl=256",
        "RTP/AVP;ttl=-1",
        "RTP/AVP;layers=x",
        "RTP/AVP;ssrc=123456789",
        "RTP/AVP;ssrc=XYZ",
        "RTP/AVP;ssrc=",
        "RTP/AVP;ssrc=1/",
        "RTP/AVP;ssrc=1;ssrc=2",
        "RTP/AVP;mode=\"PLAY",
        "RTP/AVP;mode=\"PLAY,\"",
        "RTP/AVP;mode=\"\"",
        "RTP/AVP;mode=PL AY",
        "RTP/AVP;mode=PLAY;mode=RECORD",
        "RTP/AVP;destination=",
        "RTP/AVP;destination=a b",
        "RTP/AVP;destination=a\"b\"",
        "RTP/AVP;source",
        "RTP/AVP;source=1.2.3.4;source=1.2.3.5",
        "RTP/AVP;dest_addr=1.2.3.4:5",
        "RTP/AVP;dest_addr=\"2001:db8::1\"",
        "RTP/AVP;dest_addr=\"[2001:db8::1\"",
        "RTP/AVP;dest_addr=\"[2001:db8::1]x\"",
        "RTP/AVP;dest_addr=\"[]:5\"",
        "RTP/AVP;dest_addr=\"\"",
        "RTP/AVP;dest_addr=\"h:99999\"",
        "RTP/AVP;dest_addr=\"a\"/",
        "RTP/AVP;dest_addr=\"a\";dest_addr=\"b\"",
        "RTP/AVP;x-ext=",
        "RTP/AVP;bad name=1",
        "RTP/AVP;x=\"unterminated",
        "RTP/AVP;unicast;client_port=1-2\r\nInjected: yes",
        "RTP/AVP;x=a\x01",
    };
    for (const auto text : bad)
        EXPECT_FALSE(parse_transport(text).ok()) << text;
}

TEST(Transport, SingleSpecParser) {
    const auto spec = parse_transport_spec(R"(RTP/AVP;unicast;mode="PLAY, RECORD")");
    ASSERT_TRUE(spec.ok()) << spec.error();
    EXPECT_EQ(spec->modes, (std::vector<std::string>{"PLAY", "RECORD"}));
    // Fuzzer finding: an unquoted mode is a single method, not a list (it would format back quoted).
    EXPECT_FALSE(parse_transport_spec("RTPncw;u;mode=RE, P, U;R").ok());
    EXPECT_FALSE(parse_transport_spec("RTP/AVP;mode=PLAY,RECORD").ok());
    // Stray semicolons are tolerated but still count towards the parameter limit.
    EXPECT_TRUE(parse_transport_spec("RTP/AVP;;;unicast;").ok());
    EXPECT_FALSE(parse_transport_spec("RTP/AVP" + std::string(k_max_transport_params + 1, ';')).ok());
}

TEST(Transport, BoundsSpecsAndParams) {
    std::string specs;
    for (std::size_t i = 0; i < k_max_transport_specs; ++i)
        specs += "RTP/AVP;unicast,";
    EXPECT_TRUE(parse_transport(specs.substr(0, specs.size() - 1)).ok());
    EXPECT_FALSE(parse_transport(specs + "RTP/AVP").ok());

    std::string params = "RTP/AVP";
    for (std::size_t i = 0; i < k_max_transport_params; ++i)
        params += ";x" + std::to_string(i);
    EXPECT_TRUE(parse_transport(params).ok());
    EXPECT_FALSE(parse_transport(params + ";y").ok());

    std::string ssrcs = "RTP/AVP;ssrc=1";
    for (std::size_t i = 1; i < k_max_transport_ssrcs; ++i)
        ssrcs += "/1";
    EXPECT_TRUE(parse_transport(ssrcs).ok());
    EXPECT_FALSE(parse_transport(ssrcs + "/1").ok());

    std::string addrs = "RTP/AVP;dest_addr=\"a\"";
    for (std::size_t i = 1; i < k_max_transport_addresses; ++i)
        addrs += "/\"a\"";
    EXPECT_TRUE(parse_transport(addrs).ok());
    EXPECT_FALSE(parse_transport(addrs + "/\"a\"").ok());

    EXPECT_FALSE(parse_transport("RTP/AVP;x=" + std::string(k_max_transport_length, 'a')).ok());
}

TEST(Transport, RoundTripsEveryExample) {
    for (const std::string_view text : {
             R"(RTP/AVP;multicast;ttl=127;mode="PLAY",RTP/AVP;unicast;client_port=3456-3457;mode="PLAY")",
             R"(RTP/AVP/TCP;unicast;interleaved=0-1;ssrc=1B2C3D4E;mode="PLAY")",
             "RTP/AVP;unicast;client_port=5000-5001;server_port=6970-6971;ssrc=DEADBEEF;source=198.18.3.2",
             R"(RTP/AVP;unicast;destination;mode=play;x="y\"z";flag)",
             R"(RTP/SAVP;unicast;src_addr="[::1]:5"/"h";dest_addr=":7";ssrc=1/2/3)",
             "RTP/AVP;multicast;destination=224.2.0.1;append;ttl=0;layers=4294967295;port=0",
         }) {
        const auto specs = parse_transport(text);
        ASSERT_TRUE(specs.ok()) << text;
        const std::string formatted = to_header_value(*specs);
        const auto back = parse_transport(formatted);
        ASSERT_TRUE(back.ok()) << formatted;
        EXPECT_EQ(*back, *specs) << text << " -> " << formatted;
    }
}

// Truncation at every byte: each prefix either fails or parses to a value that round-trips; cutting
// inside the quoted mode can never parse.
TEST(Transport, EveryPrefixFailsOrRoundTrips) {
    const std::string full =
        R"(RTP/AVP/TCP;unicast;interleaved=0-1;ssrc=1B2C3D4E;mode="PLAY,RECORD";x="a,b")";
    std::size_t parsed = 0;
    for (std::size_t n = 0; n <= full.size(); ++n) {
        const std::string prefix = full.substr(0, n);
        const auto r = parse_transport(prefix);
        const bool inside_mode =
            prefix.find("mode=\"") != std::string::npos && prefix.find("RECORD\"") == std::string::npos;
        if (inside_mode) {
            EXPECT_FALSE(r.ok()) << prefix;
        }
        if (!r.ok()) continue;
        ++parsed;
        const auto back = parse_transport(to_header_value(*r));
        ASSERT_TRUE(back.ok()) << prefix;
        EXPECT_EQ(*back, *r) << prefix;
    }
    EXPECT_TRUE(parse_transport(full).ok());
    EXPECT_GT(parsed, 10u);
}

}  // namespace
}  // namespace sg::rtsp

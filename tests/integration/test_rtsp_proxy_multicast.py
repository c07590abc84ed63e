"""A gateway mount delivered to a multicast group (RFC 2326 §12.39 `multicast`), issue 13.

`streamgate serve --loop` on origin4 is the mount's upstream; the gateway on gw offers the mount on multicast
groups from `[rtsp] multicast_ranges` (IPv4 239.255.77.0/24 and IPv6 ff15::77:0/112), and a second mount on its
configured group (`multicast_group`, `multicast_port`); ffmpeg players on client4
and client6 ask for `-rtsp_transport udp_multicast`, with a unicast ffmpeg beside them. gw routes the groups
out of its veths to the clients (the route the kernel needs to pick the interface). nftables counters on gw
count the RTP datagrams the gateway sends to the groups (with the configured TTL) and the RTP datagrams the
mount receives from its origin: two members playing together cost one copy of each packet, not two. A
gateway without a range answers a multicast SETUP 461 (closed by default).
"""

from __future__ import annotations

import json
import re
import threading
import time
import unittest

from testnet import PEERS, PYTHON, TestNetwork, make_test_clip, require_tools, streamgate_bin

GW_PORT = 8554
CLOSED_PORT = 8555  # a second gateway, without multicast_ranges
ORIGIN_PORT = 8560          # the origin of mount "live"
CHANNEL_ORIGIN_PORT = 8561  # the origin of mount "channel1"
LIVE_RTP_PORTS = "20000-20999"  # the ports "live"'s origin sends RTP from
FRAMES = 75  # 3 s at 25 fps
RANGES = {4: "239.255.77.0/24", 6: "ff15::77:0/112"}
TTL = 4
FIXED_GROUP, FIXED_PORT = "239.1.2.3", 34000  # the configured group of mount "channel1"
GOP_PACKETS = 80  # the group's start from the GOP cache: at most 1 s of the clip (25 video frames, ~43 audio packets)

SETUP_PROBE = PEERS / "rtsp_setup_probe.py"  # HOST PORT URL TRANSPORT: one SETUP, the reply head printed


class RtspProxyMulticast(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_tools("ffmpeg", "nft")
        cls.bin = streamgate_bin()
        cls.net = TestNetwork().start()
        cls.addClassCleanup(cls.net.close)  # runs when _start fails too
        cls._start()

    @classmethod
    def _start(cls):
        net = cls.net
        o4 = net.addr("origin4", 4)
        media = net.make_dir("media")
        make_test_clip(media / "clip.mp4", seconds=4, fps=25)
        # Two origins, so the counter of what mount "live" receives can tell its packets by their source ports.
        for port, rtp_ports in ((ORIGIN_PORT, LIVE_RTP_PORTS), (CHANNEL_ORIGIN_PORT, "21000-21999")):
            net.start_peer("origin4", [cls.bin, "serve", str(media), "--loop", "--listen", f"{o4}:{port}",
                                       "--rtp-ports", rtp_ports], name=f"serve-{port}", ready=None)
            net.wait_port("origin4", o4, port)
        cls.gw4 = net.addr("gw", 4, peer="client4")
        cls.gw6 = net.addr("gw", 6, peer="client6")
        cls.gateway = cls.start_gateway(GW_PORT, multicast=True)
        cls.closed = cls.start_gateway(CLOSED_PORT, multicast=False)
        # Groups leave gw by the veth to their family's client; the clients join through their eth0. An IPv6
        # join without an interface follows the local table, where every interface has its ff00::/8: the more
        # specific route goes there.
        net.ip_batch("gw", ["route add 239.255.77.0/24 dev to-client4", f"route add {FIXED_GROUP}/32 dev to-client4",
                            "route add multicast ff15::/16 dev to-client6 table local"])
        net.ip_batch("client4", ["route add 239.0.0.0/8 dev eth0"])
        net.ip_batch("client6", ["route add multicast ff15::/16 dev eth0 table local"])
        # RTP to the groups (even ports, the configured TTL) and RTP from the origin to the mount.
        for table, ttl, family in (("ip", "ttl", 4), ("ip6", "hoplimit", 6)):
            net.nft("gw", f"table {table} mcast {{\n counter group {{}}\n chain out {{\n"
                          f"  type filter hook output priority 0; policy accept;\n"
                          f"  {table} daddr {RANGES[family]} {table} {ttl} {TTL} udp dport & 1 == 0 "
                          f"counter name group\n }}\n}}\n")
        net.nft("gw", f"table ip upstream {{\n counter rtp {{}}\n chain in {{\n"
                      f"  type filter hook input priority 0; policy accept;\n"
                      f"  ip saddr {o4} udp sport {LIVE_RTP_PORTS} udp dport & 1 == 0 counter name rtp\n }}\n}}\n")

    @classmethod
    def start_gateway(cls, port: int, multicast: bool):
        net = cls.net
        config = net.tmpdir / f"gateway-{port}.toml"
        ranges = ""
        if multicast:
            ranges = (f'multicast_ranges = ["{RANGES[4]}", "{RANGES[6]}"]\nmulticast_ports = "33000-33099"\n'
                      f"multicast_ttl = {TTL}\n")
        config.write_text(f"""
[gateway]
socks = ["127.0.0.1:{port + 1000}"]
admin = ""
allow = ["198.18.0.0/15", "2001:2::/48"]

[rtsp]
listen = ["{cls.gw4}:{port}", "[{cls.gw6}]:{port}"]
{ranges}
[[rtsp.mount]]
name = "live"
url = "rtsp://{net.addr('origin4', 4)}:{ORIGIN_PORT}/clip.mp4"
transport = "udp"

[[rtsp.mount]]
name = "channel1"
url = "rtsp://{net.addr('origin4', 4)}:{CHANNEL_ORIGIN_PORT}/clip.mp4"
transport = "udp"
multicast_group = "{FIXED_GROUP}"
multicast_port = {FIXED_PORT}
""")
        peer = net.start_peer("gw", [cls.bin, "gateway", "--config", str(config), "--log-level", "debug"],
                              name=f"gateway-{port}", ready=None)
        net.wait_port("gw", cls.gw4, port)
        return peer

    # ----- helpers -----

    def url(self, family: int, port: int = GW_PORT, mount: str = "live") -> str:
        host = f"[{self.gw6}]" if family == 6 else self.gw4
        return f"rtsp://{host}:{port}/{mount}"

    def counter(self, table: str, name: str) -> int:
        cp = self.net.run("gw", ["nft", "-j", "list", "counter", table.split()[0], table.split()[1], name])
        for item in json.loads(cp.stdout)["nftables"]:
            if "counter" in item:
                return int(item["counter"]["packets"])
        raise AssertionError(cp.stdout)

    def play_together(self, family: int, transports: list[str], mount: str = "live") -> list[tuple[int, int, str]]:
        """ffmpeg players on the family's client, started together: (exit status, frames decoded, stderr)."""
        client = "client4" if family == 4 else "client6"
        results: list = [None] * len(transports)

        def play(i: int) -> None:
            cp = self.net.run(client, ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "info",
                                       "-rtsp_transport", transports[i], "-timeout", "10000000",
                                       "-i", self.url(family, mount=mount), "-map", "0:v", "-frames:v", str(FRAMES),
                                       "-f", "null", "-"], timeout=90, check=False)
            counts = re.findall(r"frame=\s*(\d+)", cp.stderr)
            results[i] = (cp.returncode, int(counts[-1]) if counts else 0, cp.stderr)

        threads = [threading.Thread(target=play, args=(i,)) for i in range(len(transports))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return results

    def wait_groups_ended(self, timeout: float = 10.0) -> None:
        """A group ends when its last member leaves (ffmpeg's TEARDOWN as it exits)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.gateway.log_text()
            started = len(re.findall(r"multicast group \S+ started", text))
            ended = len(re.findall(r"rtsp player multicast \S+ .* ended: last member left", text))
            if started == ended:
                return
            time.sleep(0.2)
        self.fail(f"a multicast group did not end:\n{self.gateway.log_text()[-3000:]}")

    # ----- tests -----

    def test_setup_answers_a_group_and_a_gateway_without_range_refuses(self):
        for family in (4, 6):
            with self.subTest(family=family):
                host = self.gw4 if family == 4 else self.gw6
                client = "client4" if family == 4 else "client6"
                probe = [PYTHON, str(SETUP_PROBE), host, str(GW_PORT), self.url(family) + "/track0",
                         "RTP/AVP;multicast"]
                reply = self.net.run(client, probe, timeout=30).stdout
                self.assertTrue(reply.startswith("RTSP/1.0 200"), reply)
                group = r"239\.255\.77\.\d+" if family == 4 else r"ff15::77:[0-9a-f]+"
                self.assertRegex(reply, rf"Transport: RTP/AVP;multicast;destination={group};ttl={TTL};"
                                        r"port=330\d\d-330\d\d;ssrc=[0-9A-F]{8}\r?\n")
                # Defaults are closed: no range, no multicast; the same gateway still answers unicast.
                probe[3] = str(CLOSED_PORT)
                probe[4] = self.url(family, CLOSED_PORT) + "/track0"
                reply = self.net.run(client, probe, timeout=30).stdout
                self.assertTrue(reply.startswith("RTSP/1.0 461"), reply)
                probe[5] = "RTP/AVP;unicast;client_port=5000-5001"
                reply = self.net.run(client, probe, timeout=30).stdout
                self.assertTrue(reply.startswith("RTSP/1.0 200"), reply)
        self.wait_groups_ended()  # the probes' sessions time out or end with their connections

    def test_a_configured_group_is_answered_and_decodes(self):
        probe = [PYTHON, str(SETUP_PROBE), self.gw4, str(GW_PORT), self.url(4, mount="channel1") + "/track0",
                 "RTP/AVP;multicast"]
        reply = self.net.run("client4", probe, timeout=30).stdout
        self.assertRegex(reply, rf"Transport: RTP/AVP;multicast;destination={re.escape(FIXED_GROUP)};ttl={TTL};"
                                rf"port={FIXED_PORT}-{FIXED_PORT + 1};ssrc=[0-9A-F]{{8}}\r?\n")
        ((rc, frames, err),) = self.play_together(4, transports=["udp_multicast"], mount="channel1")
        self.assertEqual(rc, 0, err[-3000:] + "\n" + self.gateway.log_text()[-3000:])
        self.assertEqual(frames, FRAMES, err[-3000:])
        self.wait_groups_ended()

    def test_two_members_cost_one_copy_and_decode_beside_a_unicast_player(self):
        for family in (4, 6):
            with self.subTest(family=family):
                group_before, upstream_before = self.counter(f"{'ip' if family == 4 else 'ip6'} mcast", "group"), \
                    self.counter("ip upstream", "rtp")
                results = self.play_together(family, transports=["udp_multicast", "udp_multicast", "udp"])
                for rc, frames, err in results:
                    self.assertEqual(rc, 0, err[-3000:] + "\n" + self.gateway.log_text()[-3000:])
                    self.assertEqual(frames, FRAMES, err[-3000:])
                self.wait_groups_ended()
                sent = self.counter(f"{'ip' if family == 4 else 'ip6'} mcast", "group") - group_before
                received = self.counter("ip upstream", "rtp") - upstream_before
                # Each upstream packet went to the group at most once while members played, after the GOP
                # cache's burst that started the group (at most one GOP: 1 s of the clip). Two copies would
                # be about twice what the mount received while the members played (3 s of the window).
                self.assertGreater(sent, FRAMES, f"sent {sent} to the group, mount received {received}")
                self.assertLessEqual(sent, received + GOP_PACKETS,
                                     f"sent {sent} to the group, mount received {received}")
        log = self.gateway.log_text()
        self.assertRegex(log, r"rtsp mount live multicast group 239\.255\.77\.\d+ started: ports 330\d\d-330\d\d "
                              rf"ttl {TTL}")
        self.assertRegex(log, r"rtsp player \S+ mount live session \S+ transport multicast ended: teardown")


if __name__ == "__main__":
    unittest.main()

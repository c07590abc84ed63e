"""`streamgate serve` delivering a file to a multicast group (RFC 2326 §12.39 `multicast`).

serve runs on origin4 (IPv4, --multicast-range 239.255.42.0/24) and origin6 (IPv6, ff15::42:0/112); the
players run on gw, across the veth, with a route for the multicast space on that veth (the route the
kernel needs to pick the interface of a join). An nftables counter on serve's own host counts the RTP
datagrams it sends to the groups with the configured TTL: two players joined to one presentation must cost exactly what one
player costs (one copy of each packet on the wire), not twice as much. ffprobe (`-rtsp_transport
udp_multicast`) and GStreamer (`protocols=udp-mcast`) are the players; a unicast ffprobe plays beside the
group; a serve without a range answers a multicast SETUP 461.
"""

from __future__ import annotations

import json
import re
import threading
import time
import unittest

from testnet import PEERS, PYTHON, TestNetwork, make_test_clip, require_tools, streamgate_bin

PORT = 8554
CLOSED_PORT = 8555  # a serve without --multicast-range
ADMIN_PORT = 9100
CLIP_SECONDS = 4
FPS = 25
GROUP_PORTS = "30000-30999"
RANGES = {4: "239.255.42.0/24", 6: "ff15::42:0/112"}

SETUP_PROBE = PEERS / "rtsp_setup_probe.py"  # HOST PORT URL TRANSPORT: one SETUP, the reply head printed

# Two raw players on two connections: the first PLAY starts the group, the second joins it later where it
# is; a session cannot mix multicast and unicast. Prints one JSON object.
JOIN_PROBE = r"""
import json, re, socket, sys, time
host, port, url = sys.argv[1], int(sys.argv[2]), sys.argv[3]

class Conn:
    def __init__(self):
        self.s = socket.create_connection((host, port), timeout=10)
        self.cseq = 0
        self.buf = b""
    def request(self, method, uri, **headers):
        self.cseq += 1
        head = f"{method} {uri} RTSP/1.0\r\nCSeq: {self.cseq}\r\n"
        head += "".join(f"{k.replace('_', '-')}: {v}\r\n" for k, v in headers.items())
        self.s.sendall((head + "\r\n").encode())
        while b"\r\n\r\n" not in self.buf:
            self.buf += self.s.recv(4096)
        reply, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = reply.decode().split("\r\n")
        fields = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:]}
        return int(lines[0].split()[1]), fields

out = {}
a, b = Conn(), Conn()
status, fa = a.request("SETUP", url + "/trackID=0", Transport="RTP/AVP;multicast")
sa = fa["session"].split(";")[0]
out["a_transport"] = fa["transport"]
status, pa = a.request("PLAY", url, Session=sa, Range="npt=0-")
out["a_play"], out["a_range"], out["a_rtpinfo"] = status, pa.get("range"), pa.get("rtp-info")
time.sleep(1.5)
status, fb = b.request("SETUP", url + "/trackID=0", Transport="RTP/AVP;multicast")
sb = fb["session"].split(";")[0]
out["b_transport"] = fb["transport"]
status, pb = b.request("PLAY", url, Session=sb, Range="npt=0-")
out["b_play"], out["b_range"], out["b_rtpinfo"] = status, pb.get("range"), pb.get("rtp-info")
out["b_mix"] = b.request("SETUP", url + "/trackID=1", Session=sb,
                         Transport="RTP/AVP;unicast;client_port=5000-5001")[0]
out["a_pause"] = a.request("PAUSE", url, Session=sa)[0]
out["a_teardown"] = a.request("TEARDOWN", url, Session=sa)[0]
out["b_teardown"] = b.request("TEARDOWN", url, Session=sb)[0]
print(json.dumps(out))
"""


class ServeMulticast(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_tools("ffmpeg", "ffprobe", "nft", "curl")
        cls.bin = streamgate_bin()
        cls.net = TestNetwork().start()
        cls.addClassCleanup(cls.net.close)  # runs when _start_servers fails too
        cls.media = cls.net.make_dir("media")
        make_test_clip(cls.media / "clip.mp4", seconds=CLIP_SECONDS, fps=FPS)
        cls._start_servers()

    @classmethod
    def _start_servers(cls):
        net = cls.net
        cls.servers = {}
        for host, family, rtp_ports in (("origin4", 4, "20000-20999"), ("origin6", 6, "21000-21999")):
            addr = net.url_host(host, family)
            admin = ["--admin", f"{addr}:{ADMIN_PORT}"] if family == 4 else []
            cls.servers[family] = net.start_peer(
                host, [cls.bin, "serve", str(cls.media), "--listen", f"{addr}:{PORT}", "--rtp-ports", rtp_ports,
                       "--multicast-range", RANGES[family], "--multicast-ports", GROUP_PORTS,
                       "--multicast-ttl", "4", "--multicast-interface", "eth0", "--threads", "2",
                       "--log-level", "debug", *admin], name=f"serve-{host}", ready=None)
            net.wait_port(host, net.addr(host, family), PORT)
            # Count what serve sends to its groups: RTP only (even ports), every group of the range, and only
            # with the configured TTL / hop limit (the kernel's default for multicast is 1).
            table, ttl = ("ip", "ttl") if family == 4 else ("ip6", "hoplimit")
            net.nft(host, f"table {table} mcast {{\n counter rtp {{}}\n chain out {{\n"
                          f"  type filter hook output priority 0; policy accept;\n"
                          f"  {table} daddr {RANGES[family]} {table} {ttl} 4 udp dport & 1 == 0 counter name rtp\n"
                          f" }}\n}}\n")
        # The players' host joins groups through the veth to the origins. An IPv6 join without an interface
        # follows the local table, where every interface has its ff00::/8: the more specific route goes there.
        net.ip_batch("gw", ["route add 239.0.0.0/8 dev to-origin4",
                            "route add multicast ff15::/16 dev to-origin6 table local"])
        cls.closed = net.start_peer(
            "origin4", [cls.bin, "serve", str(cls.media), "--listen", f"{net.addr('origin4', 4)}:{CLOSED_PORT}",
                        "--rtp-ports", "22000-22099"], name="serve-closed", ready=None)
        net.wait_port("origin4", net.addr("origin4", 4), CLOSED_PORT)

    def url(self, family: int, path: str = "clip.mp4", port: int = PORT) -> str:
        host = "origin4" if family == 4 else "origin6"
        return f"rtsp://{self.net.url_host(host, family)}:{port}/{path}"

    def rtp_sent(self, family: int) -> int:
        host = "origin4" if family == 4 else "origin6"
        table = "ip" if family == 4 else "ip6"
        cp = self.net.run(host, ["nft", "-j", "list", "counter", table, "mcast", "rtp"])
        for item in json.loads(cp.stdout)["nftables"]:
            if "counter" in item:
                return int(item["counter"]["packets"])
        raise AssertionError(cp.stdout)

    def ffprobe(self, family: int, transport: str, path: str = "clip.mp4") -> dict:
        cp = self.net.run("gw", ["ffprobe", "-v", "error", "-rtsp_transport", transport, "-count_frames",
                                 "-show_entries", "stream=codec_name,nb_read_frames", "-of", "json",
                                 self.url(family, path)], timeout=90)
        return {s["codec_name"]: int(s.get("nb_read_frames", 0)) for s in json.loads(cp.stdout)["streams"]}

    def ffprobe_together(self, family: int, transports: list[str]) -> list[dict]:
        results: list = [None] * len(transports)

        def play(i: int) -> None:
            try:
                results[i] = self.ffprobe(family, transports[i])
            except Exception as exc:  # reported by the assertion below
                results[i] = exc

        threads = [threading.Thread(target=play, args=(i,)) for i in range(len(transports))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for result in results:
            self.assertIsInstance(result, dict, result)
        return results

    def metrics(self) -> dict:
        cp = self.net.run("gw", ["curl", "-sf", f"http://{self.net.addr('origin4', 4)}:{ADMIN_PORT}/metrics"])
        return {line.split()[0]: float(line.split()[1]) for line in cp.stdout.splitlines()
                if line and not line.startswith("#")}

    def wait_groups_ended(self, family: int, timeout: float = 10.0) -> None:
        """A group ends when its last member leaves (TEARDOWN reaches serve after the player exits)."""
        log = self.servers[family]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._open_groups(log.log_text()) == 0:
                return
            time.sleep(0.2)
        self.fail(f"a multicast group did not end:\n{log.log_text()[-3000:]}")

    @staticmethod
    def _open_groups(text: str) -> int:
        # Every group logs its end as a session line with client=group.
        started = len(re.findall(r"multicast group \S+ started", text))
        ended = len(re.findall(r"client=group ", text))
        return started - ended

    def setup_reply(self, port: int, transport: str, path: str = "clip.mp4/trackID=0") -> str:
        cp = self.net.run("gw", [PYTHON, str(SETUP_PROBE), self.net.addr("origin4", 4), str(port),
                                 self.url(4, path, port), transport], timeout=30)
        return cp.stdout

    def test_setup_answers_a_group_and_closed_serve_refuses(self):
        reply = self.setup_reply(PORT, "RTP/AVP;multicast")
        self.assertTrue(reply.startswith("RTSP/1.0 200"), reply)
        self.assertRegex(reply, r"Transport: RTP/AVP;multicast;destination=239\.255\.42\.\d+;ttl=4;"
                                r"port=30\d\d[02468]-30\d\d[13579];ssrc=[0-9A-F]{8}\r?\n")
        # Defaults are closed: no range, no multicast.
        reply = self.setup_reply(CLOSED_PORT, "RTP/AVP;multicast")
        self.assertTrue(reply.startswith("RTSP/1.0 461"), reply)
        # The same serve still answers unicast.
        reply = self.setup_reply(CLOSED_PORT, "RTP/AVP;unicast;client_port=5000-5001")
        self.assertTrue(reply.startswith("RTSP/1.0 200"), reply)
        self.assertIn("server_port=", reply)

    def test_a_later_player_joins_the_running_stream(self):
        cp = self.net.run("gw", [PYTHON, "-c", JOIN_PROBE, self.net.addr("origin4", 4), str(PORT), self.url(4)],
                          timeout=30)
        r = json.loads(cp.stdout)
        group = re.search(r"destination=([^;]+);.*port=(\d+)-", r["a_transport"]).groups()
        self.assertEqual(re.search(r"destination=([^;]+);.*port=(\d+)-", r["b_transport"]).groups(), group)
        self.assertEqual((r["a_play"], r["b_play"]), (200, 200))
        self.assertEqual(r["a_range"], "npt=0.000-")
        # The second player joins the stream where it is: no seek back to 0, later sequence numbers.
        self.assertGreater(float(re.match(r"npt=([\d.]+)-", r["b_range"]).group(1)), 1.0, r)
        seq = [int(re.search(r"seq=(\d+)", r[k]).group(1)) for k in ("a_rtpinfo", "b_rtpinfo")]
        self.assertGreater((seq[1] - seq[0]) % 65536, 10, r)
        self.assertEqual(r["b_mix"], 461)  # one delivery per session
        self.assertEqual((r["a_pause"], r["a_teardown"], r["b_teardown"]), (200, 200, 200))

    def test_two_players_share_one_copy_of_each_packet(self):
        for family in (4, 6):
            with self.subTest(family=family):
                self.wait_groups_ended(family)
                before = self.rtp_sent(family)
                (alone,) = self.ffprobe_together(family, transports=["udp_multicast"])
                self.assertGreaterEqual(alone.get("h264", 0), CLIP_SECONDS * FPS - 1, alone)
                self.wait_groups_ended(family)
                one_player = self.rtp_sent(family) - before
                self.assertGreater(one_player, CLIP_SECONDS * FPS)

                before = self.rtp_sent(family)
                first, second, unicast = self.ffprobe_together(
                    family, transports=["udp_multicast", "udp_multicast", "udp"])
                # The group starts with the first PLAY: a player that joins a moment later may miss the
                # first key frame and decode from the next one (one a second).
                for player in (first, second):
                    self.assertGreaterEqual(player.get("h264", 0), (CLIP_SECONDS - 1) * FPS, (first, second))
                self.assertEqual(unicast.get("h264"), CLIP_SECONDS * FPS)  # unicast beside them
                self.wait_groups_ended(family)
                # One copy of each RTP packet for two players: exactly what one player cost.
                self.assertEqual(self.rtp_sent(family) - before, one_player)

    def test_metrics_and_log_count_multicast_sessions(self):
        self.wait_groups_ended(4)
        before = self.metrics()
        self.ffprobe_together(4, transports=["udp_multicast", "udp_multicast"])
        self.wait_groups_ended(4)
        after = self.metrics()
        self.assertEqual(after["streamgate_serve_multicast_sessions_total"]
                         - before["streamgate_serve_multicast_sessions_total"], 2)
        self.assertEqual(after["streamgate_serve_multicast_groups_started_total"]
                         - before["streamgate_serve_multicast_groups_started_total"], 1)
        self.assertEqual(after["streamgate_serve_multicast_groups"], 0)
        self.assertIn("transport=multicast", self.servers[4].log_text())

    def test_gstreamer_rtspsrc_plays_udp_mcast(self):
        require_tools("gst-launch-1.0")
        self.wait_groups_ended(4)
        cp = self.net.run("gw", [PYTHON, str(PEERS / "gst_rtsp_count.py"), self.url(4), "udp-mcast", "30"],
                          timeout=60, check=False)
        result = json.loads(cp.stdout)
        self.assertEqual(cp.returncode, 0, result)
        self.assertGreaterEqual(result["video_frames"], (CLIP_SECONDS - 1) * FPS, result)


if __name__ == "__main__":
    unittest.main()

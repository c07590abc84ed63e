"""200 TestPlayers through the SOCKS gateway (issue 5: zero loss on the test network).

`streamgate serve` runs on the IPv4-only origin4; `streamgate testplayer -n 200 --socks` runs on the IPv6-only
client6 and reaches the origin through the dual-stack gateway, whose forwarding is off. Over UDP the media can
only arrive because the gateway's RTSP ALG rewrites every SETUP and relays RTP/RTCP from IPv4 to IPv6 (two
port pairs per track); over TCP it is interleaved in the CONNECT relay. Every player plays the whole clip.
What the players counted is checked against serve's Prometheus counters (packets handed to the kernel or to
the TCP queue, nothing dropped) and, for UDP, against the gateway's ALG counters; afterwards the gateway
holds no port pair.
"""

from __future__ import annotations

import json
import subprocess
import time
import unittest

from testnet import TestNetwork, require_tools, streamgate_bin

RTSP_PORT = 8554
SERVE_ADMIN_PORT = 9100
SOCKS_PORT = 1080
GATEWAY_ADMIN = "127.0.0.1:9132"
PLAYERS = 200
CLIP_SECONDS = 4


class TestplayerSocks(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_tools("ffmpeg", "curl")
        cls.bin = streamgate_bin()
        cls.net = TestNetwork().start()
        try:
            cls._make_clip()
            cls._start_peers()
        except BaseException:
            cls.net.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.net.close()

    @classmethod
    def _make_clip(cls):
        cls.media = cls.net.make_dir("media")
        # Small frames (~300 kbit/s) and two tracks: 200 players stay well within two shared cores.
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
                        "-f", "lavfi", "-i", f"testsrc=size=320x240:rate=25:duration={CLIP_SECONDS}",
                        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=16000:duration={CLIP_SECONDS}",
                        "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p",
                        "-c:a", "aac", "-b:a", "32k", "-shortest", str(cls.media / "clip.mp4")],
                       check=True, timeout=120)

    @classmethod
    def _start_peers(cls):
        net = cls.net
        origin = net.addr("origin4", 4)
        # All 200 players reach serve from the gateway's one address: no per-client cap.
        net.start_peer("origin4", [cls.bin, "serve", str(cls.media), "--listen", f"{origin}:{RTSP_PORT}",
                                   "--admin", f"{origin}:{SERVE_ADMIN_PORT}", "--max-connections-per-client", "0"],
                       name="serve", ready=None)
        cls.gw6 = net.addr("gw", 6, peer="client6")
        net.start_peer("gw", [cls.bin, "gateway", "--socks", f"[{cls.gw6}]:{SOCKS_PORT}", "--allow", "2001:2::/48",
                              "--admin", GATEWAY_ADMIN], name="streamgate", ready=None)
        net.wait_port("origin4", origin, RTSP_PORT)
        net.wait_port("origin4", origin, SERVE_ADMIN_PORT)
        net.wait_port("gw", cls.gw6, SOCKS_PORT)
        net.wait_port("gw", "127.0.0.1", int(GATEWAY_ADMIN.rsplit(":", 1)[1]))
        cls.url = f"rtsp://{origin}:{RTSP_PORT}/clip.mp4"

    @staticmethod
    def _parse(text: str) -> dict:
        values = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                values[name] = float(value)
        return values

    def serve_metrics(self) -> dict:
        url = f"http://{self.net.addr('origin4', 4)}:{SERVE_ADMIN_PORT}/metrics"
        return self._parse(self.net.run("origin4", ["curl", "-sf", url]).stdout)

    def gateway_metrics(self) -> dict:
        return self._parse(self.net.run("gw", ["curl", "-sf", f"http://{GATEWAY_ADMIN}/metrics"]).stdout)

    def wait_for(self, read, key: str, want: float, timeout: float = 30.0) -> dict:
        """Counters move when sessions end (after TEARDOWN or a disconnect): wait, bounded."""
        deadline = time.monotonic() + timeout
        while True:
            values = read()
            if values.get(key, 0) == want or time.monotonic() > deadline:
                return values
            time.sleep(0.2)

    def play(self, transport: str) -> None:
        serve_before = self.serve_metrics()
        gateway_before = self.gateway_metrics()
        report_path = self.net.tmpdir / f"report-{transport}.json"
        cp = self.net.run("client6", [self.bin, "testplayer", self.url, "-n", str(PLAYERS), "--ramp", "100",
                                      "--duration", "auto", "--transport", transport,
                                      "--socks", f"[{self.gw6}]:{SOCKS_PORT}", "--json", str(report_path), "-q"],
                          check=False, timeout=180)
        self.assertEqual(cp.returncode, 0, f"{cp.stdout}\n{cp.stderr[-3000:]}\n{self.net.peer_logs()[-3000:]}")
        report = json.loads(report_path.read_text())
        ended = serve_before["streamgate_serve_sessions_ended_total"] + PLAYERS
        serve_after = self.wait_for(self.serve_metrics, "streamgate_serve_sessions_ended_total", ended)
        gateway_after = self.wait_for(self.gateway_metrics, "streamgate_alg_port_pairs_in_use", 0)

        self.assertEqual(report["sessions"], PLAYERS)
        self.assertEqual(report["succeeded"], PLAYERS, report["errors"])
        self.assertEqual(report["errors"], {})
        self.assertEqual(report["socks"], f"[{self.gw6}]:{SOCKS_PORT}")
        self.assertEqual(report["rtp_lost"], 0)
        self.assertEqual(report["rtp_invalid"], 0)
        self.assertEqual(report["rtp_duplicates"], 0)
        self.assertTrue(all(p["tracks"] == 2 for p in report["players"]), report["players"][:3])

        def delta(after, before, key):
            return after.get(key, 0) - before.get(key, 0)

        self.assertEqual(delta(serve_after, serve_before, "streamgate_serve_sessions_ended_total"), PLAYERS)
        self.assertEqual(delta(serve_after, serve_before, "streamgate_serve_dropped_total"), 0)
        sent = delta(serve_after, serve_before, "streamgate_serve_rtp_packets_total")
        self.assertGreater(sent, PLAYERS * CLIP_SECONDS * 25 * 0.9)
        self.assertEqual(report["rtp_packets"], sent)
        self.assertEqual([p["rtp_packets"] for p in report["players"]], [sent // PLAYERS] * PLAYERS)

        relays = delta(gateway_after, gateway_before, "streamgate_alg_media_relays_total")
        to_client = delta(gateway_after, gateway_before, 'streamgate_alg_media_packets_total{direction="to_client"}')
        self.assertEqual(gateway_after["streamgate_alg_port_pairs_in_use"], 0)
        if transport == "udp":
            self.assertEqual(relays, 2 * PLAYERS)  # one per track of every player
            # RTP plus serve's RTCP sender reports and BYEs: every RTP packet crossed the ALG's relays.
            self.assertGreaterEqual(to_client, sent)
            self.assertEqual(delta(gateway_after, gateway_before, "streamgate_alg_media_dropped_total"), 0)
        else:
            self.assertEqual(relays, 0)  # interleaved: the ALG leaves it in the TCP relay
        print(f"{transport}: {PLAYERS} players through SOCKS, {int(sent) // PLAYERS} RTP packets each, "
              f"serve sent {int(sent)}, the ALG relayed {int(to_client)} datagrams to the players")

    def test_udp_through_the_rtsp_alg(self):
        self.play("udp")

    def test_tcp_interleaved(self):
        self.play("tcp")


if __name__ == "__main__":
    unittest.main()

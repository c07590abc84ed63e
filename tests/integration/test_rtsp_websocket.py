"""RTSP over WebSocket (ONVIF Streaming Specification section 5.1.1.5, subprotocol rtsp.onvif.org) on the RTSP
port of `streamgate serve` and of the gateway's RTSP proxy listener (issue 13, first bullet, the WebSocket
half).

A player nobody here wrote: Chromium's own WebSocket client, driven by a page script
(peers/websocket_rtsp_player.py), plays a clip from serve to its end (every RTP packet serve's session-end
line counts arrives, in sequence) and a live mount through the gateway; the page's origin is the one each
listener lists (--websocket-origin, [rtsp] websocket_origins). A hand-made client
(peers/websocket_refusal_probe.py) checks what browsers never send: a page of another origin (403), version
8 (426), an unmasked frame (close 1002), and the control, a masked OPTIONS, which is answered.

The client side: `streamgate testplayer --transport ws` plays serve without loss, and a mount with
`transport = "ws"` reaches its origin over a WebSocket (counted in the origin's log, so plain TCP fails) for
ffmpeg playing the mount.
"""

from __future__ import annotations

import json
import re
import unittest

from testnet import PEERS, PYTHON, TestNetwork, make_test_clip, require_tools, streamgate_bin

PORT = 8554
LOOP_PORT = 8555  # serve --loop: the mount's origin
GW_PORT = 8554
PAGE_PORT = 8000  # the web server of the player's page (Python's http.server): the WebSockets' Origin
CLIP_SECONDS = 3


class RtspWebSocket(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_tools("/usr/bin/chromium", "/usr/bin/chromedriver", "ffmpeg")
        cls.bin = streamgate_bin()
        cls.net = TestNetwork().start()
        cls.addClassCleanup(cls.net.close)  # runs when _start fails too
        cls._start()

    @classmethod
    def _start(cls):
        net = cls.net
        media = net.make_dir("media")
        make_test_clip(media / "clip.mp4", seconds=CLIP_SECONDS)
        # The page comes from a web server of its own, as a web player's does (the dashboard's CSP would not
        # let a page connect elsewhere).
        pages = net.make_dir("pages", {"index.html": "<!doctype html><title>player</title>\n"})
        net.start_peer("gw", [PYTHON, "-m", "http.server", str(PAGE_PORT), "--bind", "127.0.0.1", "--directory",
                              str(pages)], name="pages", ready=None)
        net.wait_port("gw", "127.0.0.1", PAGE_PORT)
        cls.page = f"http://127.0.0.1:{PAGE_PORT}/"
        page_origin = cls.page.rstrip("/")
        cls.o4 = net.addr("origin4", 4)
        cls.serve = net.start_peer("origin4", [cls.bin, "serve", str(media), "--listen", f"{cls.o4}:{PORT}",
                                               "--websocket-origin", page_origin, "--log-level", "debug"],
                                   name="serve", ready=None)
        cls.loop_serve = net.start_peer("origin4", [cls.bin, "serve", str(media), "--loop", "--listen",
                                                    f"{cls.o4}:{LOOP_PORT}", "--log-level", "debug"],
                                        name="serve-loop", ready=None)
        for port in (PORT, LOOP_PORT):
            net.wait_port("origin4", cls.o4, port)
        cls.gw4 = net.addr("gw", 4, peer="client4")
        config = net.write_file("gateway.toml", f"""
[gateway]
socks = ["127.0.0.1:1080"]
allow = ["198.18.0.0/15"]

[rtsp]
listen = ["{cls.gw4}:{GW_PORT}"]
websocket_origins = ["{page_origin}"]

[[rtsp.mount]]
name = "live"
url = "rtsp://{cls.o4}:{LOOP_PORT}/clip.mp4"
transport = "udp"

[[rtsp.mount]]
name = "over-ws"
url = "rtsp://{cls.o4}:{LOOP_PORT}/clip.mp4"
transport = "ws"
""")
        cls.gateway = net.start_peer("gw", [cls.bin, "gateway", "--config", str(config), "--log-level", "debug"],
                                     name="gateway", ready=None)
        net.wait_port("gw", cls.gw4, GW_PORT)

    def play(self, host: str, port: int, path: str, *options: str) -> dict:
        argv = [PYTHON, str(PEERS / "websocket_rtsp_player.py"), self.page, f"ws://{host}:{port}/{path}",
                f"rtsp://{host}:{port}/{path}", *options]
        done = self.net.run("gw", argv, timeout=120, check=False)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr[-2000:] + self.net.peer_logs()[-3000:])
        report = json.loads(done.stdout)
        self.assertEqual(report["protocol"], "rtsp.onvif.org")
        self.assertEqual(report["statuses"], {"OPTIONS": 200, "DESCRIBE": 200, "SETUP": 200, "PLAY": 200,
                                              "TEARDOWN": 200})
        self.assertEqual(sorted(report["rtp"]), ["0", "2"], report)  # video and audio, interleaved
        self.assertEqual(report["gaps"], {}, report)
        self.assertEqual(report["bad_version"], 0)
        self.assertEqual(report["close_code"], 1000)  # our close answered, nothing broken
        return report

    def probe(self, host: str, port: int, case: str) -> dict:
        done = self.net.run("gw", [PYTHON, str(PEERS / "websocket_refusal_probe.py"), host, str(port), case],
                            timeout=30)
        return json.loads(done.stdout)

    def test_chromium_plays_a_clip_from_serve_to_its_end(self):
        report = self.play(self.o4, PORT, "clip.mp4", "--seconds", "60", "--idle", "1.5")
        received = sum(report["rtp"].values())
        pattern = re.compile(r"session \S+ end: client=\S+ path=/?clip\.mp4 tracks=2 transport=tcp packets=(\d+) "
                             r"bytes=\d+ dropped=(\d+) .*reason=teardown")
        self.net.wait_until(lambda: pattern.search(self.serve.log_text()), "serve's session-end line")
        sent, dropped = map(int, pattern.search(self.serve.log_text()).groups())
        self.assertEqual(dropped, 0)
        self.assertEqual(received, sent, "every RTP packet serve sent arrived in the browser")
        self.assertIn("websocket /clip.mp4 (origin http://127.0.0.1", self.serve.log_text())

    def test_chromium_plays_a_mount_through_the_gateway(self):
        report = self.play(self.gw4, GW_PORT, "live", "--seconds", "3")
        self.assertGreater(report["rtp"]["0"], 25, report)  # at least a second of video
        pattern = re.compile(r"rtsp player \S+ mount live session \S+ transport tcp ended: teardown \((\d+) packets")
        self.net.wait_until(lambda: pattern.search(self.gateway.log_text()), "the gateway's player-end line")
        self.assertEqual(int(pattern.search(self.gateway.log_text()).group(1)), sum(report["rtp"].values()))

    def test_testplayer_over_websocket_plays_serve_without_loss(self):
        upgrades_before = self.serve.log_text().count("websocket /clip.mp4 (origin none)")
        report_path = self.net.tmpdir / "testplayer-ws.json"
        cp = self.net.run("gw", [self.bin, "testplayer", f"rtsp://{self.o4}:{PORT}/clip.mp4", "-n", "3", "--duration",
                                 "auto", "--transport", "ws", "--json", str(report_path), "-q"], check=False,
                          timeout=120)
        self.assertEqual(cp.returncode, 0, f"{cp.stdout}\n{cp.stderr[-3000:]}\n{self.net.peer_logs()[-3000:]}")
        report = json.loads(report_path.read_text())
        self.assertEqual(report["succeeded"], 3, report["errors"])
        self.assertEqual(report["rtp_lost"], 0)
        self.assertTrue(all(p["rtp_packets"] > 100 for p in report["players"]), report["players"])
        # Each player came as a WebSocket without an Origin (not a browser), not as plain RTSP.
        self.assertGreaterEqual(self.serve.log_text().count("websocket /clip.mp4 (origin none)") - upgrades_before, 3)

    def test_a_mount_whose_upstream_is_a_websocket(self):
        # `transport = "ws"`: the gateway reaches its origin over a WebSocket; the player uses plain TCP.
        upgrades_before = self.loop_serve.log_text().count("websocket /clip.mp4")
        cp = self.net.run("client4", ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "info", "-rtsp_transport",
                                      "tcp", "-timeout", "10000000", "-i", f"rtsp://{self.gw4}:{GW_PORT}/over-ws",
                                      "-map", "0:v", "-frames:v", "50", "-f", "null", "-"], timeout=60, check=False)
        counts = re.findall(r"frame=\s*(\d+)", cp.stderr)
        self.assertEqual(cp.returncode, 0, cp.stderr[-3000:] + self.net.peer_logs()[-3000:])
        self.assertEqual(int(counts[-1]) if counts else 0, 50, cp.stderr[-3000:])
        self.assertGreater(self.loop_serve.log_text().count("websocket /clip.mp4"), upgrades_before)

    def test_refusals_in_the_protocols_own_terms(self):
        for host, port, peer in ((self.o4, PORT, self.serve), (self.gw4, GW_PORT, self.gateway)):
            with self.subTest(listener=peer.name):
                origin = self.probe(host, port, "origin")
                self.assertEqual((origin["status"], origin["closed"]), (403, True), origin)
                self.assertIn("Origin http://elsewhere.example is not in websocket_origins", peer.log_text())
                version = self.probe(host, port, "version")
                self.assertEqual((version["status"], version["closed"]), (426, True), version)
                unmasked = self.probe(host, port, "unmasked")
                self.assertEqual((unmasked["status"], unmasked["close_code"], unmasked["closed"]),
                                 (101, 1002, True), unmasked)
                self.assertIsNone(unmasked["reply"])
                # The control: the same request masked, as every client must send it, is answered.
                answered = self.probe(host, port, "options")
                self.assertEqual((answered["status"], answered["reply"]), (101, "RTSP/1.0 200 OK"), answered)


if __name__ == "__main__":
    unittest.main()

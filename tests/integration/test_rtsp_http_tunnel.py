"""RTSP tunnelled in HTTP (the QuickTime scheme: a GET for the server's answers and the interleaved media, a
POST carrying base64 requests, paired by x-sessioncookie) on the RTSP port of `streamgate serve` and of the
gateway's RTSP proxy listener (issue 13, first bullet, server side).

Real players nobody here wrote: ffprobe/ffmpeg with `-rtsp_transport http` must decode every frame of a clip
from serve (IPv4 and IPv6) and 50 frames of a mount through the gateway; GStreamer's rtspsrc with an
`rtsph://` URL likewise. A hand-made client (peers/rtsp_http_tunnel_probe.py) checks what players do not:
the HTTP refusals, 461 to a SETUP asking for UDP, requests split anywhere in the base64, a bad tunnel closed
without disturbing another one, and a GET whose POST never comes closed after the wait.

The client side: `streamgate testplayer --transport http` plays serve without loss, and a mount with
`transport = "http"` reaches its origin through the tunnel (counted in the origin's log, so plain TCP fails).
"""

from __future__ import annotations

import json
import re
import subprocess
import unittest

from testnet import PEERS, PYTHON, TestNetwork, make_test_clip, require_tools, streamgate_bin

PORT = 8554
HTTP_PORT = 8080  # a second listener of the IPv4 serve, as an operator opens for HTTP-only firewalls
LOOP_PORT = 8555  # serve --loop: the probe's media must outlast its checks, the mount's origin
GW_PORT = 8554
HTTP_PORT = 8080  # a second listener of the IPv4 serve, as an operator opens for HTTP-only firewalls
FRAMES = 50
CLIP_SECONDS = 3
FPS = 25
POST_WAIT_S = 10  # RtspServerConnection::k_tunnel_post_wait


class RtspHttpTunnel(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_tools("ffmpeg", "ffprobe", "gst-launch-1.0")
        cls.bin = streamgate_bin()
        cls.net = TestNetwork().start()
        cls.addClassCleanup(cls.net.close)  # runs when _start fails too
        cls._start()

    @classmethod
    def _start(cls):
        net = cls.net
        media = net.make_dir("media")
        make_test_clip(media / "clip.mp4", seconds=CLIP_SECONDS, fps=FPS)
        cp = subprocess.run(["ffprobe", "-v", "error", "-count_packets", "-show_entries",
                             "stream=codec_name,nb_read_packets", "-of", "json", str(media / "clip.mp4")],
                            capture_output=True, text=True, timeout=60, check=True)
        cls.expected = {s["codec_name"]: int(s["nb_read_packets"]) for s in json.loads(cp.stdout)["streams"]}
        cls.o4 = net.addr("origin4", 4)
        cls.serves = {}
        for host, family in (("origin4", 4), ("origin6", 6)):
            addr = net.url_host(host, family)
            http = ["--listen", f"{addr}:{HTTP_PORT}"] if family == 4 else []
            cls.serves[family] = net.start_peer(host, [cls.bin, "serve", str(media), "--listen", f"{addr}:{PORT}", *http,
                                                       "--log-level", "debug"], name=f"serve-{host}", ready=None)
            net.wait_port(host, net.addr(host, family), PORT)
        cls.loop_serve = net.start_peer("origin4", [cls.bin, "serve", str(media), "--loop", "--listen", f"{cls.o4}:{LOOP_PORT}",
                                   "--log-level", "debug"], name="serve-loop", ready=None)
        net.wait_port("origin4", cls.o4, LOOP_PORT)

        cls.gw4 = net.addr("gw", 4, peer="client4")
        cls.gw6 = net.addr("gw", 6, peer="client6")
        config = net.tmpdir / "gateway.toml"
        config.write_text(f"""
[gateway]
socks = ["127.0.0.1:1080"]
allow = ["198.18.0.0/15", "2001:2::/48"]

[rtsp]
listen = ["{cls.gw4}:{GW_PORT}", "[{cls.gw6}]:{GW_PORT}"]

[[rtsp.mount]]
name = "served"
url = "rtsp://{cls.o4}:{LOOP_PORT}/clip.mp4"
transport = "udp"

[[rtsp.mount]]
name = "tunnelled"
url = "rtsp://{cls.o4}:{LOOP_PORT}/clip.mp4"
transport = "http"
""")
        net.start_peer("gw", [cls.bin, "gateway", "--config", str(config), "--log-level", "debug"],
                       name="gateway", ready=None)
        for addr in (cls.gw4, cls.gw6):
            net.wait_port("gw", addr, GW_PORT)

    def serve_url(self, family: int, path: str = "clip.mp4") -> str:
        host = "origin4" if family == 4 else "origin6"
        return f"rtsp://{self.net.url_host(host, family)}:{PORT}/{path}"

    def test_ffprobe_over_http_decodes_every_frame_from_serve_ipv4_ipv6(self):
        for family in (4, 6):
            with self.subTest(family=family):
                cp = self.net.run("gw", ["ffprobe", "-v", "error", "-rtsp_transport", "http", "-count_frames",
                                         "-show_entries", "stream=codec_name,nb_read_frames", "-of", "json",
                                         self.serve_url(family)], timeout=60, check=False)
                self.assertEqual(cp.returncode, 0, cp.stderr[-2000:] + self.net.peer_logs()[-3000:])
                counts = {s["codec_name"]: int(s["nb_read_frames"]) for s in json.loads(cp.stdout)["streams"]}
                self.assertEqual(counts, self.expected)
                self.assertEqual(cp.stderr.strip(), "")

    def test_ffprobe_over_http_on_an_http_port(self):
        # Through a firewall that passes only HTTP: any listener tells RTSP and tunnel HTTP apart by the first
        # bytes, so the HTTP port is one more --listen.
        net = self.net
        net.wait_port("origin4", self.o4, HTTP_PORT)
        cp = net.run("gw", ["ffprobe", "-v", "error", "-rtsp_transport", "http", "-count_frames", "-show_entries",
                            "stream=codec_name,nb_read_frames", "-of", "json",
                            f"rtsp://{self.o4}:{HTTP_PORT}/clip.mp4"], timeout=60, check=False)
        self.assertEqual(cp.returncode, 0, cp.stderr[-2000:] + net.peer_logs()[-3000:])
        counts = {s["codec_name"]: int(s["nb_read_frames"]) for s in json.loads(cp.stdout)["streams"]}
        self.assertEqual(counts, self.expected)

    def test_gstreamer_rtsph_plays_serve(self):
        # IPv4: the IPv6 server's tunnels are counted by the testplayer test.
        url = self.serve_url(4).replace("rtsp://", "rtsph://", 1)
        cp = self.net.run("gw", [PYTHON, str(PEERS / "gst_rtsp_count.py"), url, "tcp", "30"], timeout=60,
                          check=False)
        result = json.loads(cp.stdout)
        self.assertEqual(cp.returncode, 0, result)
        self.assertEqual(result["video_frames"], self.expected["h264"], result)

    def test_players_over_http_through_the_proxy_listener(self):
        # ffmpeg on the IPv6-only client, GStreamer on the IPv4-only one; the mount's upstream is UDP.
        cp = self.net.run("client6", ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "info",
                                      "-rtsp_transport", "http", "-timeout", "10000000", "-i",
                                      f"rtsp://[{self.gw6}]:{GW_PORT}/served", "-map", "0:v", "-frames:v",
                                      str(FRAMES), "-f", "null", "-"], timeout=60, check=False)
        counts = re.findall(r"frame=\s*(\d+)", cp.stderr)
        self.assertEqual(cp.returncode, 0, cp.stderr[-3000:] + self.net.peer_logs()[-3000:])
        self.assertEqual(int(counts[-1]) if counts else 0, FRAMES, cp.stderr[-3000:])
        cp = self.net.run("client4", [PYTHON, str(PEERS / "gst_rtsp_count.py"),
                                      f"rtsph://{self.gw4}:{GW_PORT}/served", "tcp", "6"], timeout=60,
                          check=False)
        result = json.loads(cp.stdout)
        # The mount loops, so the player stops at its timeout rather than at EOS: frames are what counts.
        self.assertGreaterEqual(result["video_frames"], FRAMES, result)

    def test_testplayer_over_http_plays_serve_without_loss(self):
        # The client side: streamgate testplayer's RTSP client core tunnels to serve (IPv6).
        tunnels_before = self.serves[6].log_text().count("tunnel GET")
        report_path = self.net.tmpdir / "testplayer-http.json"
        cp = self.net.run("gw", [self.bin, "testplayer", self.serve_url(6), "-n", "5", "--duration", "auto",
                                 "--transport", "http", "--json", str(report_path), "-q"], check=False,
                          timeout=120)
        self.assertEqual(cp.returncode, 0, f"{cp.stdout}\n{cp.stderr[-3000:]}\n{self.net.peer_logs()[-3000:]}")
        report = json.loads(report_path.read_text())
        self.assertEqual(report["succeeded"], 5, report["errors"])
        self.assertEqual(report["rtp_lost"], 0)
        # Every video and audio packet of the clip, one RTP packet per frame at most a few more (FU-A).
        self.assertTrue(all(p["rtp_packets"] >= sum(self.expected.values()) for p in report["players"]),
                        report["players"])
        # Each player's connection was a tunnel, not plain TCP (only ffprobe, before, used this server).
        self.assertGreaterEqual(self.serves[6].log_text().count("tunnel GET") - tunnels_before, 5)

    def test_a_mount_whose_upstream_is_tunnelled(self):
        # `transport = "http"`: the gateway reaches its origin through the tunnel; the player uses plain TCP.
        tunnels_before = self.loop_serve.log_text().count("tunnel GET")
        cp = self.net.run("client6", ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "info",
                                      "-rtsp_transport", "tcp", "-timeout", "10000000", "-i",
                                      f"rtsp://[{self.gw6}]:{GW_PORT}/tunnelled", "-map", "0:v", "-frames:v",
                                      str(FRAMES), "-f", "null", "-"], timeout=60, check=False)
        counts = re.findall(r"frame=\s*(\d+)", cp.stderr)
        self.assertEqual(cp.returncode, 0, cp.stderr[-3000:] + self.net.peer_logs()[-3000:])
        self.assertEqual(int(counts[-1]) if counts else 0, FRAMES, cp.stderr[-3000:])
        self.assertGreater(self.loop_serve.log_text().count("tunnel GET"), tunnels_before)  # not plain TCP

    def test_refusals_split_requests_and_a_bad_tunnel_beside_a_good_one(self):
        cp = self.net.run("gw", [PYTHON, str(PEERS / "rtsp_http_tunnel_probe.py"), self.o4, str(LOOP_PORT),
                                 "clip.mp4"], timeout=90)
        out = json.loads(cp.stdout)
        self.assertEqual(out["no_cookie"], 400, out)
        self.assertEqual(out["unknown_post"], 404, out)
        self.assertEqual(out["second_get"], 400, out)  # a cookie in use is not handed to a second GET
        self.assertEqual((out["get_status"], out["get_type"]), (200, "application/x-rtsp-tunnelled"), out)
        self.assertEqual([out[k] for k in ("options", "describe", "setup_udp", "setup_tcp", "play")],
                         [200, 200, 461, 200, 200], out)
        self.assertGreaterEqual(out["rtp_frames"], 20, out)
        self.assertTrue(out["bad_post_closes_get"], out)
        self.assertGreaterEqual(out["frames_after_bad_tunnel"], 20, out)
        self.assertIsNotNone(out["lonely_get_closed_s"], out)
        self.assertGreaterEqual(out["lonely_get_closed_s"], POST_WAIT_S - 1, out)


if __name__ == "__main__":
    unittest.main()

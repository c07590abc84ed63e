"""`streamgate testplayer` against a third-party RTSP origin (GstRtspServer) across the test network.

Counts are checked against an independent source: the origin serves a finite clip made by ffmpeg, one
pipeline per client, and GStreamer's own payloader, run offline on the same file, says how many RTP packets
each client must get. Live streams check that every player played with no loss and that all players agree.
Covered: UDP and TCP interleaved, IPv4 and IPv6 origins, Digest authentication, SOCKS5 CONNECT through
`streamgate gateway` (IPv6-only client to an IPv4-only origin, TCP interleaved media), and a wrong path.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import unittest

from testnet import PEERS, PYTHON, TestNetwork, require_tools, streamgate_bin

RTSP_PORT = 8554
AUTH_PORT = 8555
LIVE_PORT = 8556
SOCKS_PORT = 1080
PLAYERS = 20
CLIP_SECONDS = 4
PAYLOADER = "rtph264pay pt=96"
CLIP_CHAIN = "matroskademux ! h264parse ! " + PAYLOADER


class Testplayer(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_tools("ffmpeg", "gst-launch-1.0")
        cls.bin = streamgate_bin()
        cls.net = TestNetwork().start()
        try:
            cls._make_clip()
            cls._start_origins()
        except BaseException:
            cls.net.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.net.close()

    @classmethod
    def _make_clip(cls):
        cls.clip = cls.net.tmpdir / "clip.mkv"
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                        "testsrc=size=320x240:rate=25", "-t", str(CLIP_SECONDS), "-c:v", "libx264", "-g", "25",
                        "-pix_fmt", "yuv420p", str(cls.clip)], check=True, timeout=60)
        out = subprocess.run([PYTHON, str(PEERS / "count_rtp_packets.py"), str(cls.clip), CLIP_CHAIN],
                             check=True, timeout=60, capture_output=True, text=True).stdout
        cls.clip_packets = int(out.strip())
        assert cls.clip_packets > CLIP_SECONDS * 25, cls.clip_packets  # at least one packet per frame

    @classmethod
    def _start_origins(cls):
        net = cls.net
        clip_mount = f"/clip=filesrc location={cls.clip} ! {CLIP_CHAIN.replace(PAYLOADER, '')}" \
                     f"rtph264pay name=pay0 pt=96"
        for host, family in (("origin4", 4), ("origin6", 6)):
            # One pipeline per client for the clip, so that every client gets all of it.
            net.start_peer(host, [PYTHON, PEERS / "gst_rtsp_origin.py", "--address", net.addr(host, family),
                                  "--port", str(RTSP_PORT), "--not-shared", "--mount", clip_mount],
                           name=f"rtsp-{host}")
            net.wait_port(host, net.addr(host, family), RTSP_PORT)
        # One shared live pipeline (video and audio) for every client, as a camera would serve it.
        net.start_peer("origin6", [PYTHON, PEERS / "gst_rtsp_origin.py", "--address", net.addr("origin6", 6),
                                   "--port", str(LIVE_PORT), "--audio", "pcma", "--mount", "/test"],
                       name="rtsp-origin6-live")
        net.wait_port("origin6", net.addr("origin6", 6), LIVE_PORT)
        net.start_peer("origin4", [PYTHON, PEERS / "gst_rtsp_origin.py", "--address", net.addr("origin4", 4),
                                   "--port", str(AUTH_PORT), "--auth", "viewer:s3cret", "--auth-method", "digest",
                                   "--mount", "/test"], name="rtsp-origin4-auth")
        net.wait_port("origin4", net.addr("origin4", 4), AUTH_PORT)

    def run_testplayer(self, host, url, *flags, expect_rc=0, timeout=90):
        """Runs testplayer on `host`; returns its JSON report."""
        report = self.net.tmpdir / f"report-{self.id().rsplit('.', 1)[-1]}.json"
        cp = self.net.run(host, [self.bin, "testplayer", url, "--json", str(report), *flags],
                          check=False, timeout=timeout)
        self.assertEqual(cp.returncode, expect_rc, f"stdout:\n{cp.stdout}\nstderr:\n{cp.stderr[-3000:]}\n"
                                                   f"{self.net.peer_logs()[-3000:]}")
        self.assertIn("sessions ", cp.stdout)  # the text summary
        result = json.loads(report.read_text())
        if result["elapsed_s"] >= 1.5:  # a progress line every second while it runs
            self.assertIn("testplayer: ", cp.stderr)
        return result

    def assert_all_played(self, report, players):
        self.assertEqual(report["sessions"], players)
        self.assertEqual(report["succeeded"], players, report["errors"])
        self.assertEqual(report["failed"], 0)
        self.assertEqual(report["errors"], {})
        self.assertEqual(report["rtp_lost"], 0)
        self.assertEqual(report["rtp_invalid"], 0)
        for key in ("setup_ms", "first_rtp_ms"):
            self.assertEqual(report[key]["count"], players)
            self.assertGreater(report[key]["max"], 0)
            self.assertLessEqual(report[key]["p50"], report[key]["p99"])

    def assert_clip_counts(self, report, players):
        self.assert_all_played(report, players)
        counts = [p["rtp_packets"] for p in report["players"]]
        self.assertEqual(counts, [self.clip_packets] * players)
        self.assertEqual(report["rtp_packets"], self.clip_packets * players)

    def clip_url(self, host, family):
        return f"rtsp://{self.net.url_host(host, family)}:{RTSP_PORT}/clip"

    def test_clip_over_udp_from_ipv4_origin(self):
        report = self.run_testplayer("gw", self.clip_url("origin4", 4), "-n", str(PLAYERS), "--ramp", "50",
                                 "--duration", "auto", "--transport", "udp")
        self.assert_clip_counts(report, PLAYERS)
        # GstRtspServer sends RTCP sender reports over UDP; a player that saw none did not receive them.
        self.assertEqual(report["players_with_rtcp"], PLAYERS)

    def test_clip_over_tcp_from_ipv6_origin(self):
        report = self.run_testplayer("gw", self.clip_url("origin6", 6), "-n", str(PLAYERS), "--duration", "auto",
                                 "--transport", "tcp")
        self.assert_clip_counts(report, PLAYERS)

    def test_live_audio_and_video_over_udp_from_ipv6_origin(self):
        url = f"rtsp://{self.net.url_host('origin6', 6)}:{LIVE_PORT}/test"
        report = self.run_testplayer("gw", url, "-n", str(PLAYERS), "--duration", "4", "--transport", "udp")
        self.assert_all_played(report, PLAYERS)
        self.assertTrue(all(p["tracks"] == 2 for p in report["players"]))
        # Every player watches the same live pipeline for 4 s: their counts agree within a few frames,
        # and 25 fps of video plus 50 audio packets a second (20 ms PCMA) over 3 s is the floor.
        counts = [p["rtp_packets"] for p in report["players"]]
        median = statistics.median(counts)
        for count in counts:
            self.assertLess(abs(count - median), 0.2 * median, counts)
        self.assertGreater(median, 3 * (25 + 50))
        self.assertLess(report["jitter_ms"]["max"], 1000)

    def test_digest_authentication(self):
        url = f"rtsp://viewer:s3cret@{self.net.url_host('origin4', 4)}:{AUTH_PORT}/test"
        report = self.run_testplayer("gw", url, "-n", "3", "--duration", "2", "--transport", "tcp")
        self.assert_all_played(report, 3)
        bad = f"rtsp://viewer:wrong@{self.net.url_host('origin4', 4)}:{AUTH_PORT}/test"
        report = self.run_testplayer("gw", bad, "-n", "2", "--duration", "1", expect_rc=1)
        self.assertEqual(report["errors"], {"DESCRIBE 401": 2})

    def test_through_socks_gateway_ipv6_client_to_ipv4_origin(self):
        gw6 = self.net.addr("gw", 6, peer="client6")
        self.net.start_peer("gw", [self.bin, "gateway", "--socks", f"[{gw6}]:{SOCKS_PORT}",
                                   "--allow", "2001:2::/48", "--admin", "off"], name="gateway", ready=None)
        self.net.wait_port("gw", gw6, SOCKS_PORT)
        report = self.run_testplayer("client6", self.clip_url("origin4", 4), "-n", "5", "--duration", "auto",
                                 "--transport", "tcp", "--socks", f"[{gw6}]:{SOCKS_PORT}")
        self.assert_clip_counts(report, 5)
        self.assertEqual(report["socks"], f"[{gw6}]:{SOCKS_PORT}")

    def test_through_socks_gateway_with_username_and_password(self):
        gw6 = self.net.addr("gw", 6, peer="client6")
        port = SOCKS_PORT + 1
        self.net.start_peer("gw", [self.bin, "gateway", "--socks", f"[{gw6}]:{port}", "--allow", "2001:2::/48",
                                   "--user", "alice:pa55", "--admin", "off"], name="gateway-auth", ready=None)
        self.net.wait_port("gw", gw6, port)
        socks = ["--transport", "tcp", "--socks", f"[{gw6}]:{port}"]
        report = self.run_testplayer("client6", self.clip_url("origin4", 4), "-n", "2", "--duration", "auto",
                                     *socks, "--socks-user", "alice:pa55")
        self.assert_clip_counts(report, 2)
        report = self.run_testplayer("client6", self.clip_url("origin4", 4), "-n", "2", "--duration", "1",
                                     *socks, "--socks-user", "alice:wrong", expect_rc=1)
        self.assertEqual(report["errors"], {"socks auth refused": 2})
        report = self.run_testplayer("client6", self.clip_url("origin4", 4), "-n", "2", "--duration", "1",
                                     *socks, expect_rc=1)
        self.assertEqual(report["errors"], {"socks method refused": 2})

    def test_wrong_path_fails_every_player(self):
        url = f"rtsp://{self.net.url_host('origin4', 4)}:{RTSP_PORT}/no-such-mount"
        report = self.run_testplayer("gw", url, "-n", "3", "--duration", "1", expect_rc=1)
        self.assertEqual(report["succeeded"], 0)
        self.assertEqual(report["failed"], 3)
        self.assertEqual(report["errors"], {"DESCRIBE 404": 3})

    def test_nothing_listening(self):
        url = f"rtsp://{self.net.url_host('origin4', 4)}:9/test"
        report = self.run_testplayer("gw", url, "-n", "2", "--duration", "1", expect_rc=1)
        self.assertEqual(report["errors"], {"connect refused": 2})


if __name__ == "__main__":
    unittest.main()

"""Publishing to the gateway's RTSP proxy (issue 13, ANNOUNCE + RECORD): an encoder pushes to a publish mount
and players read that mount, the way cameras behind NAT reach a server (they dial out).

ffmpeg publishes a looped clip from origin4 (IPv4), over interleaved TCP with Digest credentials and over
UDP without; ffmpeg players on client4 (IPv4, UDP) and client6 (IPv6, TCP) must decode 50 frames each. A
wrong password gets 401, a second publisher to a busy mount 455, a mount with an upstream URL 405; the
publisher's loss ends a playing player cleanly (its ffmpeg exits) and the gateway logs the publisher's end.
"""

from __future__ import annotations

import re
import subprocess
import time
import unittest

from testnet import TestNetwork, make_test_clip, require_tools, streamgate_bin

GW_PORT = 8554
FRAMES = 50
FPS = 25
USER, PASSWORD = "encoder", "s3cret"
ADMIN = "127.0.0.1:9135"
TOKEN = "integration-token-publish-0123456789"


class RtspPublish(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_tools("ffmpeg")
        cls.bin = streamgate_bin()
        cls.net = TestNetwork().start()
        cls.addClassCleanup(cls.net.close)  # runs when _start fails too
        cls._start()

    @classmethod
    def _start(cls):
        net = cls.net
        cls.media = net.make_dir("media")
        make_test_clip(cls.media / "clip.mp4", seconds=4, fps=FPS)
        cls.gw4 = net.addr("gw", 4, peer="client4")
        cls.gw6 = net.addr("gw", 6, peer="client6")
        cls.gw_origin = net.addr("gw", 4, peer="origin4")
        config = net.tmpdir / "gateway.toml"
        config.write_text(f"""
[gateway]
socks = ["127.0.0.1:1080"]
allow = ["198.18.0.0/15", "2001:2::/48"]

[rtsp]
listen = ["{cls.gw4}:{GW_PORT}", "[{cls.gw6}]:{GW_PORT}", "{cls.gw_origin}:{GW_PORT}"]

[[rtsp.mount]]
name = "studio"
publish = true
publish_user = "{USER}"
publish_password = "{PASSWORD}"

[[rtsp.mount]]
name = "open"
publish = true

[[rtsp.mount]]
name = "pulled"
url = "rtsp://{net.addr("origin4", 4)}:{GW_PORT}/nothing"
""")
        cls.token_file = net.write_file("admin.token", TOKEN + "\n")
        cls.gateway = net.start_peer("gw", [cls.bin, "gateway", "--config", str(config), "--log-level", "debug",
                                            "--admin", ADMIN, "--admin-token-file", str(cls.token_file)],
                                     name="gateway", ready=None)
        for addr in (cls.gw4, cls.gw6, cls.gw_origin):
            net.wait_port("gw", addr, GW_PORT)

    def publisher_argv(self, mount: str, transport: str, credentials: str = "") -> list[str]:
        return ["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i",
                str(self.media / "clip.mp4"), "-c", "copy", "-f", "rtsp", "-rtsp_transport", transport,
                f"rtsp://{credentials}{self.gw_origin}:{GW_PORT}/{mount}"]

    def publish(self, mount: str, transport: str, credentials: str = ""):
        """Starts a publisher and waits until the gateway says the mount records."""
        before = self.recordings(mount)
        peer = self.net.start_peer("origin4", self.publisher_argv(mount, transport, credentials),
                                   name=f"publish-{mount}", ready=None)
        deadline = time.monotonic() + 20
        while self.recordings(mount) == before:
            if peer.proc.poll() is not None or time.monotonic() > deadline:
                self.fail(f"{mount} never recorded:\n{peer.log_text()[-2000:]}\n{self.gateway.log_text()[-3000:]}")
            time.sleep(0.1)
        return peer

    def recordings(self, mount: str) -> int:
        return len(re.findall(rf"rtsp publisher \S+ (?:user \S+ )?mount {mount} session \S+ recording",
                              self.gateway.log_text()))

    def play_frames(self, host: str, url: str, transport: str) -> int:
        cp = self.net.run(host, ["ffmpeg", "-hide_banner", "-rtsp_transport", transport, "-i", url, "-frames:v",
                                 str(FRAMES), "-f", "null", "-"], timeout=60, check=False)
        counts = re.findall(r"frame=\s*(\d+)", cp.stderr)
        self.assertEqual(cp.returncode, 0, cp.stderr[-3000:] + self.gateway.log_text()[-3000:])
        # A player joins at a key frame: the decoder never complains about missing references.
        self.assertNotRegex(cp.stderr, r"(?i)error while decoding|non-existing PPS|no frame!")
        return int(counts[-1]) if counts else 0

    def test_ffmpeg_publishes_over_tcp_and_players_decode_ipv4_udp_and_ipv6_tcp(self):
        publisher = self.publish("studio", "tcp", f"{USER}:{PASSWORD}@")
        try:
            self.assertEqual(self.play_frames("client4", f"rtsp://{self.gw4}:{GW_PORT}/studio", "udp"), FRAMES)
            self.assertEqual(self.play_frames("client6", f"rtsp://[{self.gw6}]:{GW_PORT}/studio", "tcp"), FRAMES)
        finally:
            publisher.stop()

    def test_ffmpeg_publishes_over_udp(self):
        publisher = self.publish("open", "udp")
        try:
            self.assertEqual(self.play_frames("client6", f"rtsp://[{self.gw6}]:{GW_PORT}/open", "tcp"), FRAMES)
        finally:
            publisher.stop()

    def test_refusals_wrong_password_busy_mount_and_a_mount_with_an_upstream(self):
        cp = self.net.run("origin4", self.publisher_argv("studio", "tcp", f"{USER}:guess@"), timeout=30, check=False)
        self.assertNotEqual(cp.returncode, 0)
        self.assertIn("401", cp.stderr)
        cp = self.net.run("origin4", self.publisher_argv("pulled", "tcp"), timeout=30, check=False)
        self.assertNotEqual(cp.returncode, 0)
        self.assertIn("405", cp.stderr)
        publisher = self.publish("studio", "tcp", f"{USER}:{PASSWORD}@")
        try:
            cp = self.net.run("origin4", self.publisher_argv("studio", "tcp", f"{USER}:{PASSWORD}@"), timeout=30,
                              check=False)
            self.assertNotEqual(cp.returncode, 0)
            self.assertIn("455", cp.stderr)
            self.assertIsNone(publisher.proc.poll(), "the first publisher must keep publishing")
        finally:
            publisher.stop()

    def test_the_publishers_loss_ends_a_playing_player(self):
        publisher = self.publish("open", "tcp")
        player = self.net.start_peer("client4", ["ffmpeg", "-hide_banner", "-rtsp_transport", "tcp", "-i",
                                                 f"rtsp://{self.gw4}:{GW_PORT}/open", "-f", "null", "-"],
                                     name="player-open", ready=None)
        deadline = time.monotonic() + 20
        while "frame=" not in player.log_text():
            self.assertLess(time.monotonic(), deadline, player.log_text()[-2000:])
            time.sleep(0.2)
        publisher.proc.kill()  # no TEARDOWN: the connection is lost
        try:
            player.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.fail("the player kept running after its publisher was gone:\n" + self.gateway.log_text()[-3000:])
        log = self.gateway.log_text()
        self.assertRegex(log, r"rtsp publisher \S+ mount open session \S+ ended: connection")
        self.assertRegex(log, r"rtsp player \S+ mount open session \S+ transport tcp ended: publisher gone")

    def test_the_operator_ends_a_publisher(self):
        publisher = self.publish("open", "tcp")
        self.addCleanup(publisher.stop)
        ctl = [self.bin, "ctl", "--admin", ADMIN, "--token-file", str(self.token_file), "end", "publisher", "open"]
        cp = self.net.run("gw", ctl, check=False)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertEqual(cp.stdout.strip(), "ended publisher open")
        # ffmpeg sees its connection closed and gives up publishing.
        publisher.proc.wait(timeout=20)
        self.net.wait_until(lambda: re.search(r"rtsp publisher \S+ mount open session \S+ ended: ended by operator",
                                              self.gateway.log_text()), "the publisher's end line")
        again = self.net.run("gw", ctl, check=False)
        self.assertEqual(again.returncode, 1)
        self.assertIn("no such publisher 'open'", again.stderr)


if __name__ == "__main__":
    unittest.main()

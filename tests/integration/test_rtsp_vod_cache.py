"""The VOD cache of the gateway's RTSP proxy (issue 13, seed 000's "proxy cache").

An IPv4-only `streamgate serve` origin holds the films; players on the IPv6-only host play them through the
gateway's mounts with `vod_cache = true`. The first player's pass is recorded (every packet, to the origin's
RTCP BYE); later players are served from the recording by serve's engine inside the gateway, each in its own
session: the origin sees no new connection (its accepted-connections counter, read from its own /metrics),
ffmpeg decodes every frame over TCP and UDP, the admin API lists and ends a cached player, and a seek lands
where it asked. A cache of 1 MiB keeps the
recently used film and evicts the least recently used one. After a restart the entries come back and are
checked against the origin (a DESCRIBE, no session); a film replaced at the origin (a new Last-Modified) is
dropped and played and recorded again.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import unittest

from testnet import TestNetwork, require_tools, streamgate_bin

GW_PORT = 8554
ADMIN = "127.0.0.1:9133"
ORIGIN_PORT = 8570
ORIGIN_ADMIN_PORT = 9134
FPS = 25
SECONDS = 4
FRAMES = FPS * SECONDS
TOKEN = "vod-cache-test-token-0123456789"


def ffmpeg_clip(path, seconds=SECONDS, noise=False):
    """H.264 with B-frames (libx264's default) and AAC. `noise`: a picture that does not compress, so the
    recording is about 600 KB."""
    video = (f"nullsrc=size=320x240:rate={FPS}:duration={seconds},geq=random(1)*255:128:128" if noise
             else f"testsrc=size=320x240:rate={FPS}:duration={seconds}")
    rate = ["-b:v", "1200k", "-maxrate", "1200k", "-bufsize", "600k"] if noise else []
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i", video, "-f", "lavfi",
                    "-i", f"sine=frequency=440:duration={seconds}", "-c:v", "libx264", "-g", str(FPS), *rate,
                    "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path)], check=True, timeout=120)


class VodCache(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_tools("ffmpeg", "curl")
        cls.bin = streamgate_bin()
        cls.net = TestNetwork().start()
        try:
            cls._start()
        except BaseException:
            cls.net.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.net.close()

    @classmethod
    def _start(cls):
        net = cls.net
        cls.o4 = net.addr("origin4", 4)
        cls.media = net.tmpdir / "media"
        cls.media.mkdir()
        ffmpeg_clip(cls.media / "film.mp4")
        ffmpeg_clip(cls.media / "big1.mp4", noise=True)
        ffmpeg_clip(cls.media / "big2.mp4", noise=True)
        cls.origin = net.start_peer("origin4", [cls.bin, "serve", str(cls.media), "--listen",
                                                f"{cls.o4}:{ORIGIN_PORT}", "--admin",
                                                f"127.0.0.1:{ORIGIN_ADMIN_PORT}"], name="origin", ready=None)
        net.wait_port("origin4", cls.o4, ORIGIN_PORT)
        cls.gw6 = net.addr("gw", 6, peer="client6")
        cls.cache_dir = net.tmpdir / "vod-cache"
        cls.gateway = cls.start_gateway(fresh_s=600)

    @classmethod
    def start_gateway(cls, fresh_s):
        config = cls.net.tmpdir / "gateway.toml"
        token_file = cls.net.tmpdir / "admin-token"
        token_file.write_text(TOKEN + "\n")
        mounts = "".join(f"""
[[rtsp.mount]]
name = "{name}"
url = "rtsp://{cls.o4}:{ORIGIN_PORT}/{name}.mp4"
transport = "tcp"
vod_cache = true
""" for name in ("film", "big1", "big2"))
        config.write_text(f"""
[gateway]
socks = ["127.0.0.1:1080"]
admin = "{ADMIN}"
admin_token_file = "{token_file}"
allow = ["2001:2::/48"]

[rtsp]
listen = ["[{cls.gw6}]:{GW_PORT}"]
vod_cache_dir = "{cls.cache_dir}"
vod_cache_max_mb = 1
vod_cache_fresh_s = {fresh_s}
{mounts}""")
        gateway = cls.net.start_peer("gw", [cls.bin, "gateway", "--config", str(config)], name="streamgate",
                                     ready=None)
        cls.net.wait_port("gw", cls.gw6, GW_PORT)
        cls.net.wait_port("gw", "127.0.0.1", int(ADMIN.rsplit(":", 1)[1]))
        return gateway

    # ----- helpers -----

    def play(self, mount, transport="tcp", extra=(), frames=None):
        """ffmpeg on the IPv6-only host: (exit status, frames decoded, stderr)."""
        limit = ["-frames:v", str(frames)] if frames else []
        argv = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "info", "-rtsp_transport", transport,
                "-timeout", "10000000", *extra, "-i", f"rtsp://[{self.gw6}]:{GW_PORT}/{mount}", "-map", "0:v",
                *limit, "-f", "null", "-"]
        cp = self.net.run("client6", argv, timeout=60, check=False)
        counts = re.findall(r"frame=\s*(\d+)", cp.stderr)
        return cp.returncode, int(counts[-1]) if counts else 0, cp.stderr

    def metrics(self, host, address):
        text = self.net.run(host, ["curl", "-sS", "--max-time", "5", f"http://{address}/metrics"]).stdout
        values = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                values[name] = float(value)
        return values

    def origin_counts(self):
        m = self.metrics("origin4", f"127.0.0.1:{ORIGIN_ADMIN_PORT}")
        return m["streamgate_serve_accepted_total"], m["streamgate_serve_sessions_started_total"]

    def gateway_metric(self, name):
        return self.metrics("gw", ADMIN).get(name, 0.0)

    def assert_decoded(self, result, frames=FRAMES):
        rc, decoded, err = result
        self.assertEqual(rc, 0, err[-3000:] + "\n" + self.net.peer_logs()[-3000:])
        self.assertEqual(decoded, frames, err[-3000:])
        self.assertNotRegex(err, r"(?i)error while decoding|non-existing PPS|no frame!")

    def record(self, mount):
        """The first player of `mount`: it plays the origin live while the gateway records the pass."""
        stored = f"rtsp mount {mount}: stored in the VOD cache"
        before = self.gateway.log_text().count(stored)
        self.assert_decoded(self.play(mount, frames=FRAMES))
        self.net.wait_until(lambda: self.gateway.log_text().count(stored) > before,
                            f"{mount} recorded into the VOD cache", timeout=20)

    # ----- tests -----

    def test_1_the_first_pass_is_recorded(self):
        accepted, sessions = self.origin_counts()
        self.record("film")
        self.assertEqual(self.origin_counts()[1], sessions + 1)  # the mount's own session, played live
        self.assertGreaterEqual(self.origin_counts()[0], accepted + 1)
        recordings = list(self.cache_dir.glob("*.mkv"))
        self.assertEqual(len(recordings), 1, recordings)
        self.assertEqual(self.gateway_metric("streamgate_vod_cache_recordings_total"), 1)

    def test_2_later_players_never_reach_the_origin(self):
        accepted, sessions = self.origin_counts()
        hits = self.gateway_metric("streamgate_vod_cache_hits_total")
        for transport in ("tcp", "udp", "tcp"):
            self.assert_decoded(self.play("film", transport))
        self.assertEqual(self.origin_counts(), (accepted, sessions), "the origin saw a connection")
        self.assertEqual(self.gateway_metric("streamgate_vod_cache_hits_total"), hits + 3)
        # Each player had its own session in the gateway's serve engine, played to the end of the film.
        ends = re.findall(r"session \S+ end: client=\S+ path=film tracks=2 transport=(\w+) .* reason=teardown "
                          r"after end of file", self.gateway.log_text())
        self.assertGreaterEqual(len(ends), 3, self.gateway.log_text()[-3000:])

    def test_2b_the_admin_api_lists_and_ends_a_cached_player(self):
        player = self.net.popen("client6", ["ffmpeg", "-nostdin", "-loglevel", "error", "-rtsp_transport", "tcp",
                                            "-i", f"rtsp://[{self.gw6}]:{GW_PORT}/film", "-f", "null", "-"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            def listed():
                text = self.net.run("gw", ["curl", "-sS", "--max-time", "5",
                                           f"http://{ADMIN}/api/v1/rtsp/players"]).stdout
                players = [p for p in json.loads(text)["players"] if p["mount"] == "film" and p["playing"]]
                return players[0] if players else None
            found = self.net.wait_until(listed, "the cached player listed by the API", timeout=10)
            self.assertEqual(found["transport"], "tcp")
            ended = self.net.run("gw", ["curl", "-sS", "--max-time", "5", "-X", "DELETE", "-H",
                                        f"Authorization: Bearer {TOKEN}",
                                        f"http://{ADMIN}/api/v1/rtsp/players/{found['id']}"])
            self.assertIn(found["id"], ended.stdout)
            self.net.wait_until(lambda: f"session {found['id']} end:" in self.gateway.log_text(),
                                "the cached session's end line", timeout=10)
            self.assertRegex(self.gateway.log_text(), rf"session {found['id']} end: .* reason=ended by operator")
        finally:
            player.kill()
            player.wait()

    def test_3_players_seek_in_the_recording(self):
        accepted, sessions = self.origin_counts()
        # -ss on the input: ffmpeg's PLAY carries Range: npt=2.000-, and the recording's cues put it on the
        # key frame at 2 s; what is left of the 4 s film decodes cleanly.
        rc, decoded, err = self.play("film", "udp", extra=("-ss", "2"))
        self.assertEqual(rc, 0, err[-3000:])
        self.assertTrue(FRAMES // 2 - 2 <= decoded <= FRAMES // 2 + 2, f"{decoded} frames after a seek to 2 s")
        self.assertNotRegex(err, r"(?i)error while decoding|non-existing PPS|no frame!")
        self.assertEqual(self.origin_counts(), (accepted, sessions))

    def test_4_the_least_recently_used_film_is_evicted(self):
        self.record("big1")
        self.assert_decoded(self.play("film"))  # film is now more recent than big1
        self.record("big2")  # film + big1 + big2 exceed 1 MiB: big1 goes
        self.assertRegex(self.gateway.log_text(), rf"vod cache: evicted rtsp://\S+/big1\.mp4")
        self.assertNotRegex(self.gateway.log_text(), rf"vod cache: evicted rtsp://\S+/film\.mp4")
        self.assertLessEqual(self.gateway_metric("streamgate_vod_cache_bytes"), 1 << 20)
        self.assertEqual(self.gateway_metric("streamgate_vod_cache_entries"), 2)
        accepted, sessions = self.origin_counts()
        self.assert_decoded(self.play("film"))
        self.assertEqual(self.origin_counts(), (accepted, sessions))
        # big1 is played from the origin again.
        self.assert_decoded(self.play("big1", frames=10), frames=10)
        self.assertEqual(self.origin_counts()[1], sessions + 1)

    def test_5_after_a_restart_entries_are_revalidated_and_a_changed_film_is_dropped(self):
        self.gateway.stop()
        type(self).gateway = self.start_gateway(fresh_s=1)
        self.assertRegex(self.gateway.log_text(), r"rtsp vod cache in \S+: [1-9]\d* recordings")
        accepted, sessions = self.origin_counts()
        self.assert_decoded(self.play("film"))
        # One DESCRIBE to check the entry; no session.
        self.assertEqual(self.origin_counts(), (accepted + 1, sessions))
        self.assertEqual(self.gateway_metric("streamgate_vod_cache_revalidations_total"), 1)
        # The origin's film is replaced by a 3 s one: its Last-Modified changes.
        time.sleep(1.1)
        ffmpeg_clip(self.media / "film.new.mp4", seconds=3)
        (self.media / "film.new.mp4").rename(self.media / "film.mp4")
        time.sleep(1.1)  # past vod_cache_fresh_s
        self.assert_decoded(self.play("film", frames=3 * FPS), frames=3 * FPS)
        self.assertRegex(self.gateway.log_text(), r"rtsp mount film: the upstream changed since it was recorded")
        self.assertEqual(self.gateway_metric("streamgate_vod_cache_invalidated_total"), 1)
        self.assertEqual(self.origin_counts()[1], sessions + 1)  # played live again, and recorded again
        self.net.wait_until(lambda: "rtsp mount film: stored in the VOD cache" in self.gateway.log_text(),
                            "the new film recorded", timeout=20)


if __name__ == "__main__":
    unittest.main()

"""`streamgate serve` played by third-party RTSP clients across the test network.

Clips are made with ffmpeg at test time. Servers run on origin4 (IPv4) and origin6 (IPv6); players run on
gw, which reaches both. ffprobe/ffmpeg (UDP and TCP) and GStreamer's rtspsrc must decode every video frame
of the source; a hand-made client (peers/rtsp_probe.py) checks error codes, RTP/RTCP details, seeking, the
session timeout and a client vanishing mid-stream, while another viewer keeps playing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import unittest

from testnet import PEERS, PYTHON, TestNetwork, require_tools, streamgate_bin

PORT = 8554
IDLE_PORT = 8555  # a second server: --loop and a 2 s session timeout
ADMIN_PORT = 9100  # Prometheus /metrics of the IPv4 server
CLIP_SECONDS = 3
FPS = 25


def count_packets(path: str) -> dict:
    """{codec: packets} of a local file. Every packet must come out of the RTSP session as one decoded frame:
    the file's own decoded-frame count can be lower (an MP4 edit list hides the AAC priming frame, which
    RTSP has no way to express)."""
    cp = subprocess.run(["ffprobe", "-v", "error", "-count_packets", "-show_entries",
                         "stream=codec_name,nb_read_packets", "-of", "json", path],
                        capture_output=True, text=True, timeout=60, check=True)
    return {s["codec_name"]: int(s["nb_read_packets"]) for s in json.loads(cp.stdout)["streams"]}


class Serve(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_tools("ffmpeg", "ffprobe", "gst-launch-1.0", "curl")
        cls.bin = streamgate_bin()
        cls.net = TestNetwork().start()
        try:
            cls._make_clips()
            cls._start_servers()
        except BaseException:
            cls.net.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.net.close()

    @classmethod
    def _make_clips(cls):
        cls.media = cls.net.make_dir("media")
        (cls.media / "sub").mkdir()
        src = ["-f", "lavfi", "-i", f"testsrc=size=320x240:rate={FPS}:duration={CLIP_SECONDS}",
               "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={CLIP_SECONDS}"]
        h264 = ["-c:v", "libx264", "-preset", "ultrafast", "-g", str(FPS), "-pix_fmt", "yuv420p"]
        for name, codecs in (("clip.mp4", [*h264, "-c:a", "aac"]), ("sub/clip.ts", [*h264, "-bf", "2", "-c:a", "aac"]),
                             ("opus.mkv", [*h264, "-c:a", "libopus", "-ar", "48000"])):
            subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *src, *codecs, "-shortest",
                            str(cls.media / name)], check=True, timeout=120)
        cls.expected = {name: count_packets(str(cls.media / name))
                        for name in ("clip.mp4", "sub/clip.ts", "opus.mkv")}
        # A file outside the served directory that no URL may reach, also through a symlink.
        (cls.net.tmpdir / "secret.mp4").write_bytes((cls.media / "clip.mp4").read_bytes())
        os.symlink(cls.net.tmpdir / "secret.mp4", cls.media / "escape.mp4")

    @classmethod
    def _start_servers(cls):
        net = cls.net
        cls.servers = {}
        for host, family, ports in (("origin4", 4, "30000-30999"), ("origin6", 6, "31000-31999")):
            addr = net.url_host(host, family)
            admin = ["--admin", f"{addr}:{ADMIN_PORT}"] if family == 4 else []
            cls.servers[family] = net.start_peer(
                host, [cls.bin, "serve", str(cls.media), "--listen", f"{addr}:{PORT}", "--rtp-ports", ports,
                       "--log-level", "debug", *admin], name=f"serve-{host}", ready=None)
            net.wait_port(host, net.addr(host, family), PORT)
        cls.idle_server = net.start_peer(
            "origin4", [cls.bin, "serve", str(cls.media), "--listen", f"{net.addr('origin4', 4)}:{IDLE_PORT}",
                        "--rtp-ports", "32000-32099", "--session-timeout", "2", "--loop",
                        "--threads", "3"],  # more event loops than cores: connections still spread and work
            name="serve-idle", ready=None)
        net.wait_port("origin4", net.addr("origin4", 4), IDLE_PORT)

    def url(self, family: int, path: str, port: int = PORT) -> str:
        host = "origin4" if family == 4 else "origin6"
        return f"rtsp://{self.net.url_host(host, family)}:{port}/{path}"

    def ffprobe(self, family: int, path: str, transport: str) -> tuple[dict, str]:
        cp = self.net.run("gw", ["ffprobe", "-v", "error", "-rtsp_transport", transport, "-count_frames",
                                 "-show_entries", "stream=codec_name,nb_read_frames", "-of", "json",
                                 self.url(family, path)], timeout=60)
        return {s["codec_name"]: int(s["nb_read_frames"]) for s in json.loads(cp.stdout)["streams"]}, cp.stderr

    def probe(self, scenario: str, family: int, path: str, *args, port: int = PORT) -> dict:
        host = "origin4" if family == 4 else "origin6"
        cp = self.net.run("gw", [PYTHON, str(PEERS / "rtsp_probe.py"), scenario, self.net.addr(host, family),
                                 str(port), path, *map(str, args)], timeout=60)
        return json.loads(cp.stdout)

    def open_fds(self, family: int) -> int:
        return len(os.listdir(f"/proc/{self.servers[family].pid}/fd"))

    def wait_fds(self, family: int, want: int, timeout: float = 15.0) -> int:
        deadline = time.monotonic() + timeout
        while (n := self.open_fds(family)) != want and time.monotonic() < deadline:
            time.sleep(0.2)
        return n

    def metrics(self) -> dict:
        cp = self.net.run("gw", ["curl", "-sf", f"http://{self.net.addr('origin4', 4)}:{ADMIN_PORT}/metrics"])
        return {line.split()[0]: float(line.split()[1]) for line in cp.stdout.splitlines()
                if line and not line.startswith("#")}

    def test_ffprobe_decodes_every_frame_udp_tcp_ipv4_ipv6(self):
        for family in (4, 6):
            for transport in ("udp", "tcp"):
                with self.subTest(family=family, transport=transport):
                    counts, stderr = self.ffprobe(family, "clip.mp4", transport)
                    self.assertEqual(counts, self.expected["clip.mp4"])
                    self.assertEqual(stderr.strip(), "")

    def test_ffmpeg_decodes_mpegts_and_opus_files(self):
        for path, transport in (("sub/clip.ts", "tcp"), ("opus.mkv", "udp")):
            with self.subTest(path=path):
                counts, stderr = self.ffprobe(4, path, transport)
                self.assertEqual(counts, self.expected[path])
                self.assertEqual(stderr.strip(), "")
        cp = self.net.run("gw", ["ffmpeg", "-hide_banner", "-v", "error", "-rtsp_transport", "udp", "-i",
                                 self.url(6, "sub/clip.ts"), "-f", "null", "-"], timeout=60)
        self.assertEqual(cp.stderr.strip(), "")

    def test_ffprobe_decodes_every_h265_frame_mp4_mkv_udp_tcp(self):
        # RFC 7798: x265 writes VPS/SPS/PPS into the hvcC record only, so every IRAP picture (one a second)
        # must be preceded by an AP, and 320x240 I pictures are larger than one packet (FU).
        for name in ("h265.mp4", "h265.mkv"):
            subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                            f"testsrc=size=320x240:rate={FPS}", "-t", str(CLIP_SECONDS), "-c:v", "libx265",
                            "-x265-params", f"log-level=error:keyint={FPS}", "-pix_fmt", "yuv420p",
                            str(self.media / name)], check=True, timeout=120)
            want = count_packets(str(self.media / name))
            self.assertEqual(want, {"hevc": FPS * CLIP_SECONDS})
            for transport in ("udp", "tcp"):
                with self.subTest(path=name, transport=transport):
                    counts, stderr = self.ffprobe(4, name, transport)
                    self.assertEqual(counts, want)
                    self.assertEqual(stderr.strip(), "")
        # The SDP carries the parameter sets too (RFC 7798 §7.1), base64 in sprop-vps/sps/pps.
        describe = ("import socket, sys\n"
                    "s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)\n"
                    "s.sendall(f'DESCRIBE {sys.argv[3]} RTSP/1.0\\r\\nCSeq: 1\\r\\n\\r\\n'.encode())\n"
                    "data = b''\n"
                    "while b'a=control:trackID=0' not in data and (chunk := s.recv(4096)):\n"
                    "    data += chunk\n"
                    "print(data.decode())\n")
        cp = self.net.run("gw", [PYTHON, "-c", describe, self.net.addr("origin4", 4), str(PORT),
                                 self.url(4, "h265.mkv")], timeout=30)
        self.assertRegex(cp.stdout, r"a=rtpmap:96 H265/90000\r?\na=fmtp:96 sprop-vps=[A-Za-z0-9+/=]+;"
                                    r"sprop-sps=[A-Za-z0-9+/=]+;sprop-pps=[A-Za-z0-9+/=]+\r?\n")

    def test_gstreamer_rtspsrc_plays_udp_ipv4_and_tcp_ipv6(self):
        want = self.expected["clip.mp4"]
        for family, transport in ((4, "udp"), (6, "tcp")):
            with self.subTest(family=family, transport=transport):
                cp = self.net.run("gw", [PYTHON, str(PEERS / "gst_rtsp_count.py"), self.url(family, "clip.mp4"),
                                         transport, "30"], timeout=60, check=False)
                result = json.loads(cp.stdout)
                self.assertEqual(cp.returncode, 0, result)
                self.assertEqual(result["video_frames"], want["h264"])
                # Audio is checked loosely here: rtspsrc's jitter buffer and decoder drop or merge a few
                # buffers around start-up (the same count varies run to run over TCP, so it is not loss on
                # the wire). ffprobe above checks audio frame for frame.
                self.assertGreater(result["audio_buffers"], want["aac"] * 0.8, result)

    def test_rtp_rtcp_and_pacing(self):
        for family in (4, 6):
            with self.subTest(family=family):
                r = self.probe("udp_play", family, "clip.mp4")
                self.assertEqual((r["setup"], r["play"], r["teardown"]), (200, 200, 200))
                self.assertIn("server_port=", r["transport"])
                self.assertEqual(r["range"], f"npt=0.000-{CLIP_SECONDS}.000")
                self.assertEqual(r["seq_errors"], 0)
                self.assertGreater(r["rtp_packets"], CLIP_SECONDS * FPS)
                self.assertEqual(r["first_seq"], r["rtpinfo_seq"])
                self.assertEqual(r["first_ts"], r["rtpinfo_rtptime"])  # the IDR at npt 0
                self.assertGreaterEqual(r["sr"], 1)
                self.assertTrue(r["sr_ssrc_ok"])
                self.assertTrue(r["cname"].startswith("streamgate-"))
                self.assertTrue(r["bye"])
                # Paced in real time, not as fast as possible (a lower bound only: load makes it slower).
                self.assertGreater(r["span_s"], CLIP_SECONDS - 0.5)

    def test_play_range_seeks(self):
        r = self.probe("udp_play", 4, "clip.mp4", 2.0)
        self.assertEqual(r["range"], f"npt=2.000-{CLIP_SECONDS}.000")
        self.assertEqual(r["first_ts"], r["rtpinfo_rtptime"])  # keyframe every second: one at 2.0
        self.assertTrue(r["bye"])
        self.assertLess(r["span_s"], 1.5)
        self.assertGreater(r["span_s"], 0.5)

    def test_trick_play_scale_forward_and_backward(self):
        """Scale 2 sends only key frames, two per second of viewing at a GOP of one second, with timestamps
        half a second apart, and ffprobe decodes every one of them; Scale -4 from npt 4 steps back through the
        key frames at 4, 3, 2, 1 and 0 and ends; slow motion (Scale 0.5) sends every frame. No audio meanwhile."""
        name = "trick.mp4"
        if not (self.media / name).exists():
            subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                            f"testsrc=size=320x240:rate={FPS}:duration=8", "-f", "lavfi", "-i",
                            "sine=frequency=440:sample_rate=44100:duration=8", "-c:v", "libx264", "-preset",
                            "ultrafast", "-g", str(FPS), "-keyint_min", str(FPS), "-sc_threshold", "0",
                            "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(self.media / name)],
                           check=True, timeout=120)
        out = self.net.tmpdir / "trick-forward.h264"
        r = self.probe("trick", 4, name, f"2,0,2.6,{out}")
        report = json.dumps(r)[:3000]
        self.assertEqual((r["setup"], r["play"], r["scale"]), ([200, 200], 200, "2"), report)
        self.assertEqual(r["audio_packets"], 0, report)
        frames = r["frames"]
        self.assertGreaterEqual(len(frames), 4, report)  # about 2.6 s x 2 key frames per second
        for frame in frames:
            self.assertIn(5, frame["types"], report)       # an IDR picture in every access unit...
            self.assertNotIn(1, frame["types"], report)    # ...and never a predicted one
        self.assertEqual(frames[0]["ts"], r["rtpinfo_rtptime"], report)
        deltas = {(b["ts"] - a["ts"]) % (1 << 32) for a, b in zip(frames, frames[1:])}
        self.assertEqual(deltas, {45000}, report)  # one second of media shown for half a second
        cp = self.net.run("gw", ["ffprobe", "-v", "error", "-count_frames", "-show_entries",
                                 "stream=nb_read_frames", "-of", "csv=p=0", str(out)], timeout=60)
        self.assertEqual(int(cp.stdout.strip()), len(frames), cp.stderr)
        self.assertEqual(cp.stderr.strip(), "")

        r = self.probe("trick", 4, name, f"-4,4,5,{self.net.tmpdir / 'trick-back.h264'}")
        report = json.dumps(r)[:3000]
        self.assertEqual((r["play"], r["scale"], r["range"]), (200, "-4", "npt=4.000-0"), report)
        self.assertEqual(len(r["frames"]), 5, report)  # the key frames at 4, 3, 2, 1 and 0 s
        self.assertTrue(r["bye"], report)              # then the start: the stream ends
        self.assertEqual({(b["ts"] - a["ts"]) % (1 << 32) for a, b in zip(r["frames"], r["frames"][1:])},
                         {22500}, report)  # one second back every quarter second, timestamps still rising
        self.assertEqual(r["audio_packets"], 0, report)

        r = self.probe("trick", 4, name, f"0.5,0,1.2,{self.net.tmpdir / 'trick-slow.h264'}")
        report = json.dumps(r)[:3000]
        self.assertEqual((r["play"], r["scale"]), (200, "0.5"), report)
        self.assertTrue(any(1 in f["types"] for f in r["frames"]), report)  # predicted frames too
        self.assertGreaterEqual(len(r["frames"]), 10, report)  # 25 fps at half speed: ~12 in 1.2 s
        self.assertLessEqual(len(r["frames"]), 20, report)
        self.assertEqual(r["audio_packets"], 0, report)

    def test_bad_requests_and_vanishing_client_while_another_plays(self):
        fds_before = self.open_fds(4)
        viewer = self.net.popen("gw", ["ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-count_frames",
                                       "-show_entries", "stream=codec_name,nb_read_frames", "-of", "json",
                                       self.url(4, "clip.mp4")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        errors = self.probe("errors", 4, "clip.mp4")
        self.assertEqual(errors, {
            "no_cseq": 400, "options": 200, "unknown_method": 501, "describe_unknown": 404,
            "describe_traversal": 404, "describe_encoded_traversal": 404, "describe_absolute": 404,
            "play_unknown_session": 454, "play_without_session": 454, "setup_multicast_only": 461,
            "setup_no_transport": 400, "setup_bad_track": 404, "setup": 200, "play_bad_range": 457, "play": 200,
            "setup_after_play": 455, "keepalive": 200, "pause": 200, "teardown": 200, "after_teardown": 454,
            "garbage": 400, "garbage_then": "closed"})
        # A symlink leading out of the served directory is refused like a missing file.
        self.assertEqual(self.probe("describe", 6, "escape.mp4")["status"], 404)
        self.assertEqual(self.probe("describe", 6, "sub/clip.ts")["status"], 200)
        vanish = self.probe("vanish", 4, "clip.mp4")
        self.assertEqual((vanish["setup"], vanish["play"]), (200, 200))
        self.assertGreater(vanish["received"], 0)
        out, err = viewer.communicate(timeout=60)
        self.assertEqual(viewer.returncode, 0, err)
        counts = {s["codec_name"]: int(s["nb_read_frames"]) for s in json.loads(out)["streams"]}
        self.assertEqual(counts, self.expected["clip.mp4"])
        self.assertEqual(err.strip(), "")
        # Every session's sockets (RTP/RTCP pairs, connections) are gone again.
        self.assertEqual(self.wait_fds(4, fds_before), fds_before)
        log = self.servers[4].log_text()
        self.assertIn("reason=connection lost", log)
        self.assertIn("reason=teardown", log)
        metrics = self.metrics()
        self.assertEqual(metrics["streamgate_serve_sessions"], 0)
        self.assertEqual(metrics["streamgate_serve_connections"], 0)
        self.assertGreaterEqual(metrics["streamgate_serve_bad_requests_total"], 3)  # no CSeq, no Transport, garbage
        self.assertGreater(metrics["streamgate_serve_rtp_packets_total"], 0)
        # The presentation cache: every DESCRIBE and SETUP so far probed each (unchanged) file at most once.
        files = [p for p in self.media.rglob("*") if p.is_file() and not p.is_symlink()]
        self.assertGreater(metrics["streamgate_serve_probes_total"], 0)
        self.assertLessEqual(metrics["streamgate_serve_probes_total"], len(files))
        self.assertGreater(metrics["streamgate_serve_sessions_started_total"], 0)

    def test_session_timeout(self):
        r = self.probe("idle", 4, "clip.mp4", 4.5, port=IDLE_PORT)
        self.assertEqual((r["setup"], r["play"]), (200, 200))
        self.assertTrue(r["session_header"].endswith(";timeout=2"), r["session_header"])
        self.assertEqual(r["after"], 454)
        self.assertIn("reason=timeout", self.idle_server.log_text())

    def test_loop_plays_past_the_end_kept_alive_by_the_player(self):
        # 6 s of a 3 s clip from the --loop server, whose 2 s session timeout only ffmpeg's keep-alives
        # (GET_PARAMETER every timeout/2) and RTCP receiver reports can satisfy.
        seconds = 2 * CLIP_SECONDS
        timeouts_before = self.idle_server.log_text().count("reason=timeout")
        cp = self.net.run("gw", ["ffmpeg", "-hide_banner", "-v", "error", "-rtsp_transport", "udp", "-i",
                                 self.url(4, "clip.mp4", IDLE_PORT), "-map", "0:v", "-t", str(seconds),
                                 "-f", "framecrc", "-"], timeout=60)
        frames = [line for line in cp.stdout.splitlines() if line.startswith("0,")]
        self.assertEqual(cp.stderr.strip(), "")
        self.assertGreaterEqual(len(frames), seconds * FPS - 2)
        self.assertEqual(self.idle_server.log_text().count("reason=timeout"), timeouts_before)

    def test_default_timeout_is_advertised(self):
        r = self.probe("idle", 6, "clip.mp4", 0)
        self.assertTrue(r["session_header"].endswith(";timeout=60"), r["session_header"])
        self.assertEqual(r["after"], 200)

    # Two connections from gw: the first is admitted and answered, the second gets 503 with its own CSeq,
    # Retry-After and a close, while the first stays usable.
    _TWO_VIEWERS = r"""
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
def options(s, cseq):
    s.sendall(f"OPTIONS rtsp://[{host}]:{port}/clip.mp4 RTSP/1.0\r\nCSeq: {cseq}\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace")
first = socket.create_connection((host, port), timeout=10)
print("FIRST", repr(options(first, 1)))
second = socket.create_connection((host, port), timeout=10)
print("SECOND", repr(options(second, 5)))
print("SECOND_EOF", second.recv(1) == b"")
print("FIRST_AGAIN", repr(options(first, 2)))
"""

    def test_a_viewer_over_the_per_client_cap_gets_503(self):
        port, addr = PORT + 2, self.net.addr("origin6", 6)
        capped = self.net.start_peer(
            "origin6", [self.bin, "serve", str(self.media), "--listen", f"[{addr}]:{port}", "--rtp-ports",
                        "33000-33099", "--max-connections-per-client", "1"], name="serve-capped", ready=None)
        try:
            self.net.wait_port("origin6", addr, port)
            cp = self.net.run("gw", [PYTHON, "-c", self._TWO_VIEWERS, addr, str(port)], timeout=30)
            out = dict(line.split(" ", 1) for line in cp.stdout.splitlines())
            self.assertIn("RTSP/1.0 200 OK", out["FIRST"], cp.stdout)
            self.assertIn("RTSP/1.0 503 Service Unavailable", out["SECOND"], cp.stdout)
            self.assertIn("CSeq: 5", out["SECOND"], cp.stdout)
            self.assertIn("Retry-After: ", out["SECOND"], cp.stdout)
            self.assertEqual(out["SECOND_EOF"], "True", cp.stdout)
            self.assertIn("RTSP/1.0 200 OK", out["FIRST_AGAIN"], cp.stdout)
            self.assertRegex(capped.log_text(), r"serve: answering 503 to \S+: over the per-client")
        finally:
            capped.stop()

    def test_stopping_ends_every_session_with_its_line(self):
        # SIGTERM while two players play (one over TCP, one over UDP): each session still gets its end line.
        port, addr = PORT + 3, self.net.addr("origin4", 4)
        server = self.net.start_peer("origin4", [self.bin, "serve", str(self.media), "--loop", "--listen",
                                                 f"{addr}:{port}", "--rtp-ports", "33100-33199"],
                                     name="serve-stopping", ready=None)
        self.net.wait_port("origin4", addr, port)
        players = [self.net.popen("gw", ["ffmpeg", "-nostdin", "-loglevel", "error", "-rtsp_transport", transport,
                                         "-i", f"rtsp://{addr}:{port}/clip.mp4", "-f", "null", "-"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                   for transport in ("tcp", "udp")]
        self.addCleanup(lambda: [p.kill() for p in players if p.poll() is None])
        established = ["ss", "-Htn", "state", "established", f"sport = :{port}"]
        self.net.wait_until(lambda: len(self.net.run("origin4", established).stdout.splitlines()) == 2,
                            "two players connected")
        time.sleep(1)  # both are playing
        self.assertEqual(server.stop(timeout=10), 0)
        log = server.log_text()
        self.assertIn("closing 2 connections", log)
        self.assertEqual(len(re.findall(r"session \S+ end: .*reason=server stopping", log)), 2, log[-3000:])
        self.assertNotIn("did not close", log)


if __name__ == "__main__":
    unittest.main()

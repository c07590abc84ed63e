"""`streamgate serve` sending files as one MPEG-TS track over RTP (RFC 2250, MP2T, payload type 33).

A file with a codec we have no RTP packetizer for (MPEG-2 video with MPEG-1 Layer II audio here) is remuxed
to a transport stream and sent whole; `--mp2t` does the same for an H.264/AAC file we could send natively.
Clips are made with ffmpeg at test time; servers run on origin4 and origin6, players on gw (as in
test_serve.py). ffprobe over UDP and TCP must decode every frame of the source without a decoder error,
GStreamer's rtspsrc ! rtpmp2tdepay ! tsdemux must play it, the RTP packets must be RFC 2250's (PT 33, no
marker, whole TS packets), and seeking and --loop must work as for native tracks.
"""

from __future__ import annotations

import json
import re
import subprocess
import unittest

from testnet import PEERS, PYTHON, TestNetwork, require_tools, streamgate_bin

PORT = 8554       # plain server, origin4 and origin6: MP2T for mpeg2.mkv only
FORCED_PORT = 8556  # --mp2t on origin4
LOOP_PORT = 8557    # --mp2t --loop on origin4
CLIP_SECONDS = 3
FPS = 25


def count_packets(path: str) -> dict:
    cp = subprocess.run(["ffprobe", "-v", "error", "-count_packets", "-show_entries",
                         "stream=codec_name,nb_read_packets", "-of", "json", path],
                        capture_output=True, text=True, timeout=60, check=True)
    return {s["codec_name"]: int(s["nb_read_packets"]) for s in json.loads(cp.stdout)["streams"]}


def count_frames(path: str) -> tuple[dict, str]:
    cp = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-show_entries",
                         "stream=codec_name,nb_read_frames", "-of", "json", path],
                        capture_output=True, text=True, timeout=60, check=True)
    return {s["codec_name"]: int(s["nb_read_frames"]) for s in json.loads(cp.stdout)["streams"]}, cp.stderr


class ServeMp2t(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_tools("ffmpeg", "ffprobe", "gst-launch-1.0")
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
        src = ["-f", "lavfi", "-i", f"testsrc=size=320x240:rate={FPS}:duration={CLIP_SECONDS}",
               "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={CLIP_SECONDS}"]
        clips = (("mpeg2.mkv", ["-c:v", "mpeg2video", "-g", str(FPS), "-c:a", "mp2"]),
                 # MPEG-4 Part 2 keeps its VOL header in the MKV's extradata only: it must be put in band.
                 ("mpeg4_ac3.mkv", ["-c:v", "mpeg4", "-g", str(FPS), "-c:a", "ac3"]),
                 ("h264.mp4", ["-c:v", "libx264", "-preset", "ultrafast", "-g", str(FPS), "-pix_fmt", "yuv420p",
                               "-c:a", "aac"]))
        for name, codecs in clips:
            subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *src, *codecs, "-shortest",
                            str(cls.media / name)], check=True, timeout=120)
        cls.expected = {name: count_packets(str(cls.media / name)) for name, _ in clips}

    @classmethod
    def _start_servers(cls):
        net = cls.net
        cls.servers = {}
        for host, family, ports in (("origin4", 4, "30000-30999"), ("origin6", 6, "31000-31999")):
            addr = net.url_host(host, family)
            cls.servers[family] = net.start_peer(
                host, [cls.bin, "serve", str(cls.media), "--listen", f"{addr}:{PORT}", "--rtp-ports", ports,
                       "--log-level", "debug"], name=f"serve-{host}", ready=None)
            net.wait_port(host, net.addr(host, family), PORT)
        addr4 = net.addr("origin4", 4)
        cls.forced = net.start_peer(
            "origin4", [cls.bin, "serve", str(cls.media), "--listen", f"{addr4}:{FORCED_PORT}", "--mp2t",
                        "--rtp-ports", "32000-32099"], name="serve-mp2t", ready=None)
        cls.looping = net.start_peer(
            "origin4", [cls.bin, "serve", str(cls.media), "--listen", f"{addr4}:{LOOP_PORT}", "--mp2t", "--loop",
                        "--rtp-ports", "32100-32199"], name="serve-mp2t-loop", ready=None)
        net.wait_port("origin4", addr4, FORCED_PORT)
        net.wait_port("origin4", addr4, LOOP_PORT)

    def url(self, family: int, path: str, port: int = PORT) -> str:
        host = "origin4" if family == 4 else "origin6"
        return f"rtsp://{self.net.url_host(host, family)}:{port}/{path}"

    def ffprobe(self, url: str, transport: str) -> tuple[dict, str]:
        cp = self.net.run("gw", ["ffprobe", "-v", "error", "-rtsp_transport", transport, "-count_frames",
                                 "-show_entries", "stream=codec_name,nb_read_frames", "-of", "json", url],
                          timeout=60)
        return {s["codec_name"]: int(s["nb_read_frames"]) for s in json.loads(cp.stdout)["streams"]}, cp.stderr

    def describe(self, family: int, path: str, port: int = PORT) -> str:
        script = ("import socket, sys\n"
                  "s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)\n"
                  "s.sendall(f'DESCRIBE {sys.argv[3]} RTSP/1.0\\r\\nCSeq: 1\\r\\n\\r\\n'.encode())\n"
                  "data = b''\n"
                  "while not data.endswith(b'\\r\\n') or b'a=control:trackID=' not in data:\n"
                  "    chunk = s.recv(4096)\n"
                  "    if not chunk: break\n"
                  "    data += chunk\n"
                  "print(data.decode())\n")
        host = "origin4" if family == 4 else "origin6"
        cp = self.net.run("gw", [PYTHON, "-c", script, self.net.addr(host, family), str(port),
                                 self.url(family, path, port)], timeout=30)
        return cp.stdout

    def capture(self, path: str, name: str, start: float = 0.0, port: int = PORT) -> tuple[dict, str]:
        out = self.net.tmpdir / name
        cp = self.net.run("gw", [PYTHON, str(PEERS / "rtsp_mp2t_capture.py"), self.net.addr("origin4", 4),
                                 str(port), path, str(out), str(start)], timeout=60)
        return json.loads(cp.stdout), str(out)

    def test_sdp_has_one_mp2t_track_for_unsupported_codecs_and_with_mp2t(self):
        mp2t = r"m=video 0 RTP/AVP 33\r?\na=rtpmap:33 MP2T/90000\r?\na=control:trackID=0\r?\n"
        for family, path, port in ((6, "mpeg2.mkv", PORT), (4, "h264.mp4", FORCED_PORT)):
            with self.subTest(path=path, port=port):
                sdp = self.describe(family, path, port)
                self.assertRegex(sdp, mp2t)
                self.assertEqual(sdp.count("m="), 1, sdp)
        # Without --mp2t, a file we can packetize keeps its native tracks.
        sdp = self.describe(4, "h264.mp4")
        self.assertIn("a=rtpmap:96 H264/90000", sdp)
        self.assertNotIn("MP2T", sdp)

    def test_ffprobe_decodes_every_frame_udp_tcp_ipv4_ipv6(self):
        want = self.expected["mpeg2.mkv"]
        self.assertEqual(want["mpeg2video"], CLIP_SECONDS * FPS)
        for family in (4, 6):
            for transport in ("udp", "tcp"):
                with self.subTest(family=family, transport=transport):
                    counts, stderr = self.ffprobe(self.url(family, "mpeg2.mkv"), transport)
                    self.assertEqual(counts, want)
                    self.assertEqual(stderr.strip(), "")

    def test_mpeg4_part2_and_ac3_decode_every_frame(self):
        want = self.expected["mpeg4_ac3.mkv"]
        self.assertEqual(want["mpeg4"], CLIP_SECONDS * FPS)
        counts, stderr = self.ffprobe(self.url(6, "mpeg4_ac3.mkv"), "tcp")
        self.assertEqual(counts, want)
        self.assertEqual(stderr.strip(), "")

    def test_forced_mp2t_h264_file_decodes_every_frame(self):
        want = self.expected["h264.mp4"]
        for transport in ("udp", "tcp"):
            with self.subTest(transport=transport):
                counts, stderr = self.ffprobe(self.url(4, "h264.mp4", FORCED_PORT), transport)
                self.assertEqual(counts, want)
                self.assertEqual(stderr.strip(), "")

    def test_gstreamer_rtspsrc_plays_udp_ipv4_and_tcp_ipv6(self):
        want = self.expected["mpeg2.mkv"]
        for family, transport in ((4, "udp"), (6, "tcp")):
            with self.subTest(family=family, transport=transport):
                cp = self.net.run("gw", [PYTHON, str(PEERS / "gst_rtsp_mp2t_count.py"), self.url(family, "mpeg2.mkv"),
                                         transport, "mpeg2", "30"], timeout=60, check=False)
                result = json.loads(cp.stdout)
                self.assertEqual(cp.returncode, 0, result)
                self.assertEqual(result["video_frames"], want["mpeg2video"])
                # Loosely, as in test_serve.py: rtspsrc's jitter buffer and the decoder may merge a few.
                self.assertGreater(result["audio_buffers"], want["mp2"] * 0.8, result)

    def test_rtp_packets_follow_rfc_2250_and_carry_the_whole_stream(self):
        r, ts_path = self.capture("mpeg2.mkv", "captured.ts")
        self.assertEqual((r["setup"], r["play"]), (200, 200))
        self.assertRegex(r["range"], rf"^npt=0\.000-{CLIP_SECONDS}\.0\d\d$")  # the MKV's duration
        self.assertTrue(r["bye"])
        self.assertEqual(r["payload_types"], [33])
        self.assertEqual(r["markers"], 0)
        self.assertEqual(r["bad_payloads"], 0)
        self.assertEqual(r["max_payload"], 7 * 188)
        self.assertEqual(r["seq_errors"], 0)
        self.assertEqual(r["ts_backwards"], 0)
        self.assertEqual(r["first_ts"], r["rtpinfo_rtptime"])
        # The payloads, joined, are a transport stream that decodes to every frame of the source.
        counts, stderr = count_frames(ts_path)
        self.assertEqual(counts, self.expected["mpeg2.mkv"])
        self.assertEqual(stderr.strip(), "")

    def test_play_range_seeks(self):
        # The keyframes of the MKV are at 0.011 s, 1.011 s and 2.011 s (one a second, after the encoder's
        # delay): a seek to 2.5 s starts at the last one before it, as for native tracks.
        r, ts_path = self.capture("mpeg2.mkv", "seek.ts", 2.5)
        self.assertRegex(r["range"], rf"^npt=2\.500-{CLIP_SECONDS}\.0\d\d$")
        self.assertTrue(r["bye"])
        self.assertEqual((r["payload_types"], r["markers"], r["bad_payloads"], r["seq_errors"]), ([33], 0, 0, 0))
        # RTP-Info's rtptime names npt 2.5; the stream starts about 0.5 s before it, at the keyframe.
        behind = (r["rtpinfo_rtptime"] - r["first_ts"]) & 0xFFFFFFFF
        self.assertGreater(behind, 90000 * 0.4)
        self.assertLess(behind, 90000 * 0.6)
        counts, stderr = count_frames(ts_path)
        self.assertEqual(counts["mpeg2video"], FPS)  # the last second's GOP, whole
        self.assertEqual(stderr.strip(), "")

    def test_loop_plays_past_the_end(self):
        seconds = 2 * CLIP_SECONDS
        cp = self.net.run("gw", ["ffmpeg", "-hide_banner", "-v", "error", "-rtsp_transport", "tcp", "-i",
                                 self.url(4, "mpeg2.mkv", LOOP_PORT), "-map", "0:v", "-t", str(seconds),
                                 "-f", "framecrc", "-"], timeout=60)
        frames = [line for line in cp.stdout.splitlines() if re.match(r"\d+,", line)]
        self.assertEqual(cp.stderr.strip(), "")
        self.assertGreaterEqual(len(frames), seconds * FPS - 2)


if __name__ == "__main__":
    unittest.main()

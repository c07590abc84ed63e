"""`streamgate mssr send|recv` carrying MPEG-TS across a path that loses 5 % of packets each way.

    snd (ffmpeg -> mssr send) --- rtr (nftables: numgen random mod 1000 < 50 drop) --- rcv (mssr recv -> sink)

A 10 s, 25 fps H.264 clip (GOP 25, 2 Mbit/s) is made once with ffmpeg and streamed in real time (-re) as
MPEG-TS over UDP in 1,316-octet datagrams, as ffmpeg and srt-live-transmit do. On rcv a small UDP sink writes
what arrives to a file, which ffprobe and ffmpeg then decode: frames, key frames, decoder errors.
  - Through MSSR (latency 120 ms): every key frame arrives and the decoder reports (next to) no error; the
    statistics show the losses were repaired by retransmission (so the router did drop).
  - Plain UDP on the same path (ffmpeg straight to the sink): decode errors, so the test can fail.
  - A budget no repair fits (5 ms: a request waits 5 ms for reordering, and this path's round trip is about
    2 ms): no retransmission at all, each frame gets a parity fragment that rebuilds one lost fragment; the
    decoder reports fewer errors than with the first-fragment copies (`--no-parity`) on the same path.
  - The roles of SRT's listener and caller swapped: `mssr send --listen` waits on snd and `mssr recv --from`
    calls it across the path; the stream arrives as whole, and what the sender's input queued before the
    call is dropped as stale, not sent.

RTSP in and out over the same path (the second test): `streamgate serve` on snd is the origin (an MP4 with
H.264 and AAC), `mssr send rtsp://...` plays it on snd and carries it, `mssr recv --serve rtsp://...` on rcv
serves it as a mount, and ffprobe on rcv decodes that mount over RTP/UDP (loopback, lossless). Plain RTP across
the same lossy path (ffprobe on rcv straight from the origin, RTP over UDP) must show decode errors; through
MSSR every key frame must arrive whole and the decoder report (next to) nothing.

RTP over UDP described by an SDP file in, RTSP out (the third test): ffmpeg on snd sends the MP4's tracks as
RTP to two loopback ports and writes the SDP file (`-f rtp ... -sdp_file`), `mssr send FILE.sdp` takes them
there and carries them across the lossy path, and ffprobe on rcv decodes the mount `mssr recv --serve` makes.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import unittest
from pathlib import Path

from testnet import PEERS, PYTHON, TestNetwork, require_tools, streamgate_bin

FPS = 25
SECONDS = 10
LOSS_PERMILLE = 50  # per forwarded packet, each direction
SND, RTR, RCV = "snd", "rtr", "rcv"
SND_ADDR, RCV_ADDR = "198.18.60.2", "198.18.61.2"
TS_IN_PORT = 5000     # mssr send's input, on snd
MSSR_PORT = 6000      # mssr recv's listener, on rcv
SINK_PORT = 7000      # the sink's port, on rcv (mssr recv's TS output, or plain UDP straight from snd)
ORIGIN_PORT = 8554    # streamgate serve on snd (the RTSP test)
RTSP_MSSR_PORT = 6001  # mssr recv --serve's MSSR listener, on rcv
SDP_MSSR_PORT = 6002  # the same for the SDP-input test
CALLED_SENDER_PORT = 6003  # mssr send --listen's port, on snd (the receiver calls the sender)
RTP_IN_PORT = 5010    # ffmpeg's RTP to mssr send FILE.sdp, on snd: video here, audio at + 2
MOUNT_PORT = 8555     # mssr recv --serve's RTSP listener, on rcv (loopback)
ADMIN_PORT = 9109     # mssr send's and recv's --admin (Prometheus /metrics), each on its host's loopback

SINK = PEERS / "udp_sink.py"  # writes every datagram to a file; ends 3 s after the last one


def build_lossy_path(net: TestNetwork, loss_permille: int) -> None:
    """snd and rcv, each on its own link to the router rtr, which drops loss_permille / 1000 of what it
    forwards, in both directions (this kernel has no netem)."""
    net.add_host(SND, families=(4,))
    net.add_host(RTR, families=(4,), forwarding=True)
    net.add_host(RCV, families=(4,))
    net.add_link(SND, "eth0", RTR, "to-snd")
    net.add_link(RCV, "eth0", RTR, "to-rcv")
    net.ip_batch(SND, [f"address add {SND_ADDR}/24 dev eth0", "route add default via 198.18.60.1"])
    net.ip_batch(RCV, [f"address add {RCV_ADDR}/24 dev eth0", "route add default via 198.18.61.1"])
    net.ip_batch(RTR, ["address add 198.18.60.1/24 dev to-snd", "address add 198.18.61.1/24 dev to-rcv"])
    # A wire loses datagrams, not the segmented runs serve sends (UDP GSO, one frame's packets as one
    # message), which a veth carries into rtr whole: each host's link cuts them before they leave, so the
    # router's drop rule sees and drops datagrams one by one, as on a real link.
    for host in (SND, RCV):
        net.ip_batch(host, ["link set dev eth0 gso_max_segs 1"])
    if loss_permille > 0:
        net.nft(RTR, "table ip loss { chain forward { type filter hook forward priority 0; policy accept; "
                     f"numgen random mod 1000 < {loss_permille} drop; }}; }}")


def make_clip(path: Path) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc2=size=640x360:rate={FPS}:duration={SECONDS}", "-c:v", "libx264", "-preset",
                    "veryfast", "-pix_fmt", "yuv420p", "-g", str(FPS), "-b:v", "2M", "-f", "mpegts", str(path)],
                   check=True, timeout=180)


def analyse(path: Path) -> dict:
    """Frames and key frames ffprobe decodes from a TS file, and the decoder's error lines."""
    cp = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "frame=key_frame",
                         "-of", "csv=p=0", str(path)], capture_output=True, text=True, timeout=120)
    keys = [line.strip() for line in cp.stdout.splitlines() if line.strip()]
    dec = subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-i", str(path), "-f", "null",
                          "-"], capture_output=True, text=True, timeout=120)
    errors = [line for line in dec.stderr.splitlines() if line.strip()]
    return {"frames": len(keys), "key_frames": sum(1 for k in keys if k.startswith("1")),
            "decode_errors": len(errors), "error_lines": errors[:20]}


def make_mp4(path: Path) -> None:
    """The RTSP origin's file: the same picture as make_clip, with AAC audio (a second MSSR stream)."""
    subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc2=size=640x360:rate={FPS}:duration={SECONDS}", "-f", "lavfi", "-i",
                    f"sine=frequency=440:duration={SECONDS}", "-c:v", "libx264", "-preset", "veryfast",
                    "-pix_fmt", "yuv420p", "-g", str(FPS), "-b:v", "2M", "-c:a", "aac", "-b:a", "64k",
                    str(path)], check=True, timeout=180)


def probe_rtsp(net: TestNetwork, host: str, url: str, out: Path):
    """Starts ffprobe decoding an RTSP URL over RTP/UDP: one key_frame flag per video frame into out.csv,
    decoder errors into out.err."""
    script = (f"ffprobe -v error -rtsp_transport udp -timeout 20000000 -select_streams v:0 -show_entries "
              f"frame=key_frame -of csv=p=0 '{url}' > '{out}.csv' 2> '{out}.err'")
    return net.start_peer(host, ["sh", "-c", script], name=f"ffprobe-{out.name}", ready=None)


def probe_result(peer, out: Path) -> dict:
    peer.proc.wait(timeout=60)
    keys = [line.strip() for line in Path(f"{out}.csv").read_text().splitlines() if line.strip()]
    errors = [line for line in Path(f"{out}.err").read_text().splitlines() if line.strip()]
    return {"frames": len(keys), "key_frames": sum(1 for k in keys if k.startswith("1")),
            "decode_errors": len(errors), "error_lines": errors[:20]}


def stream(net: TestNetwork, clip: Path, target: str) -> None:
    """Plays the clip in real time from snd to target (udp://HOST:PORT) as 1,316-octet TS datagrams."""
    net.run(SND, ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-re", "-i", str(clip), "-c",
                  "copy", "-f", "mpegts", f"udp://{target}?pkt_size=1316"], timeout=SECONDS + 60)


def scrape(net: TestNetwork, host: str) -> dict:
    """The samples of the /metrics page of the mssr tool on `host`, by series."""
    text = net.run(host, ["curl", "-sS", "--max-time", "5", f"http://127.0.0.1:{ADMIN_PORT}/metrics"]).stdout
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            series, value = line.rsplit(" ", 1)
            samples[series] = float(value)
    return samples


class Mssr(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_tools("ffmpeg", "ffprobe", "nft", "curl")
        cls.bin = streamgate_bin()
        cls.net = TestNetwork().start()
        try:
            build_lossy_path(cls.net, LOSS_PERMILLE)
            cls.clip = cls.net.tmpdir / "clip.ts"
            make_clip(cls.clip)
            cls.source = analyse(cls.clip)
        except BaseException:
            cls.net.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.net.close()

    def sink(self, name: str):
        out = self.net.tmpdir / f"{name}.ts"
        peer = self.net.start_peer(RCV, [PYTHON, str(SINK), "127.0.0.1" if name.startswith("mssr") else RCV_ADDR,
                                         str(SINK_PORT), str(out)], name=f"sink-{name}")
        return peer, out

    def wait_sink(self, peer) -> None:
        peer.proc.wait(timeout=90)

    def test_mssr_delivers_every_key_frame_where_plain_udp_breaks(self):
        net = self.net
        self.assertGreaterEqual(self.source["frames"], FPS * SECONDS - 2)
        self.assertEqual(self.source["decode_errors"], 0, self.source["error_lines"])

        # Plain UDP on the same path: the floor.
        sink, plain_ts = self.sink("plain")
        stream(net, self.clip, f"{RCV_ADDR}:{SINK_PORT}")
        self.wait_sink(sink)
        plain = analyse(plain_ts)

        # MSSR.
        sink, mssr_ts = self.sink("mssr")
        tmp = net.tmpdir
        recv = net.start_peer(RCV, [self.bin, "mssr", "recv", "--listen", f"{RCV_ADDR}:{MSSR_PORT}", "--ts-out",
                                    f"udp://127.0.0.1:{SINK_PORT}", "--stats-json", str(tmp / "recv.json"),
                                    "--admin", f"127.0.0.1:{ADMIN_PORT}"],
                              name="mssr-recv", ready=None)
        net.wait_port(RCV, RCV_ADDR, MSSR_PORT, proto="udp")
        send = net.start_peer(SND, [self.bin, "mssr", "send", f"udp://127.0.0.1:{TS_IN_PORT}", "--to",
                                    f"{RCV_ADDR}:{MSSR_PORT}", "--latency", "120", "--stats-json",
                                    str(tmp / "send.json"), "--admin", f"127.0.0.1:{ADMIN_PORT}"],
                              name="mssr-send", ready=None)
        net.wait_port(SND, "127.0.0.1", TS_IN_PORT, proto="udp")
        time.sleep(1.0)  # the HELLO handshake (repeated every 200 ms while the router drops)
        stream(net, self.clip, f"127.0.0.1:{TS_IN_PORT}")
        time.sleep(1.0)  # the last frames' repairs
        # While the session runs, Prometheus sees it from both ends (curl, each on its own host).
        send_metrics = scrape(net, SND)
        recv_metrics = scrape(net, RCV)
        self.assertEqual(send.stop(), 0, send.log_text())
        self.wait_sink(sink)
        self.assertEqual(recv.stop(), 0, recv.log_text())
        got = analyse(mssr_ts)
        sent = json.loads((tmp / "send.json").read_text())
        received = json.loads((tmp / "recv.json").read_text())
        report = (f"source {self.source}\nplain UDP {plain}\nMSSR {got}\nsender {json.dumps(sent)}\n"
                  f"receiver {json.dumps(received)}")
        print(report)

        # The path really loses: plain UDP breaks frames, and MSSR had to repair.
        self.assertGreaterEqual(plain["decode_errors"], 5, report)
        self.assertGreater(sent["sender"]["retransmissions"], 0, report)
        # Through MSSR: every key frame, (next to) no decoder error, (next to) every frame.
        video = received["streams"][0]
        self.assertEqual(video["key_adus_incomplete"], 0, report)
        self.assertEqual(got["key_frames"], self.source["key_frames"], report)
        self.assertLessEqual(got["decode_errors"], 2, report)
        self.assertGreaterEqual(got["frames"], self.source["frames"] - 2, report)
        self.assertLess(got["decode_errors"], plain["decode_errors"], report)
        # The /metrics series say what the statistics say (scraped after the stream, before the end).
        self.assertEqual(send_metrics["streamgate_mssr_sender_adus_total"], sent["sender"]["adus"], report)
        self.assertEqual(send_metrics["streamgate_mssr_sender_retransmissions_total"],
                         sent["sender"]["retransmissions"], report)
        self.assertEqual(recv_metrics['streamgate_mssr_receiver_adus_total{stream="video",outcome="complete"}'],
                         video["adus_complete"], report)

    def test_a_listening_sender_serves_a_receiver_that_calls_it(self):
        """The roles of SRT's listener and caller swapped: mssr send waits (--listen) on snd, mssr recv calls it
        across the lossy path (--from), and the stream arrives as whole as the other way round."""
        net = self.net

        def stale_input():
            # Input that arrives before any receiver calls is stale by the time one does: dropped, not sent.
            null_packet = "bytes([0x47, 0x1f, 0xff, 0x10]) + bytes(184)"  # one TS null packet per datagram
            net.run(SND, [PYTHON, "-c", "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
                                        f"[s.sendto({null_packet}, ('127.0.0.1', {TS_IN_PORT})) for _ in range(50)]"])
            time.sleep(0.5)

        got, sent, received = self.mssr_ts_session("mssr-called", [], sender_listens=True,
                                                   before_receiver=stale_input)
        report = f"source {self.source}\nMSSR {got}\nsender {json.dumps(sent)}\nreceiver {json.dumps(received)}"
        print(report)
        self.assertEqual(sent["input"]["stale_dropped"], 50, report)
        self.assertGreater(sent["sender"]["retransmissions"], 0, report)  # the path loses; MSSR repaired
        self.assertEqual(received["streams"][0]["key_adus_incomplete"], 0, report)
        self.assertEqual(got["key_frames"], self.source["key_frames"], report)
        self.assertLessEqual(got["decode_errors"], 2, report)
        self.assertGreaterEqual(got["frames"], self.source["frames"] - 2, report)

    def mssr_ts_session(self, name: str, send_args: list[str], sender_listens: bool = False,
                        before_receiver=None) -> tuple[dict, dict, dict]:
        """Streams the clip through mssr send | recv (TS in, TS out); the decoded result and both ends' stats.
        By default the receiver listens and the sender calls it; with sender_listens the sender waits and the
        receiver calls it, after before_receiver() (if given) has run."""
        net = self.net
        tmp = net.tmpdir
        sink, ts = self.sink(name)
        recv_cmd = [self.bin, "mssr", "recv", "--ts-out", f"udp://127.0.0.1:{SINK_PORT}", "--stats-json",
                    str(tmp / f"{name}-recv.json")]
        send_cmd = [self.bin, "mssr", "send", f"udp://127.0.0.1:{TS_IN_PORT}", "--stats-json",
                    str(tmp / f"{name}-send.json"), *send_args]
        if sender_listens:
            send = net.start_peer(SND, [*send_cmd, "--listen", f"{SND_ADDR}:{CALLED_SENDER_PORT}"],
                                  name=f"{name}-send", ready=None)
            net.wait_port(SND, SND_ADDR, CALLED_SENDER_PORT, proto="udp")
            net.wait_port(SND, "127.0.0.1", TS_IN_PORT, proto="udp")
            if before_receiver is not None:
                before_receiver()
            recv = net.start_peer(RCV, [*recv_cmd, "--from", f"{SND_ADDR}:{CALLED_SENDER_PORT}"],
                                  name=f"{name}-recv", ready=None)
        else:
            recv = net.start_peer(RCV, [*recv_cmd, "--listen", f"{RCV_ADDR}:{MSSR_PORT}"], name=f"{name}-recv",
                                  ready=None)
            net.wait_port(RCV, RCV_ADDR, MSSR_PORT, proto="udp")
            send = net.start_peer(SND, [*send_cmd, "--to", f"{RCV_ADDR}:{MSSR_PORT}"], name=f"{name}-send",
                                  ready=None)
            net.wait_port(SND, "127.0.0.1", TS_IN_PORT, proto="udp")
        time.sleep(1.0)  # the handshake (repeated every 200 ms while the router drops)
        stream(net, self.clip, f"127.0.0.1:{TS_IN_PORT}")
        time.sleep(1.0)  # the last frames' repairs
        self.assertEqual(send.stop(), 0, send.log_text())
        self.wait_sink(sink)
        self.assertEqual(recv.stop(), 0, recv.log_text())
        return (analyse(ts), json.loads((tmp / f"{name}-send.json").read_text()),
                json.loads((tmp / f"{name}-recv.json").read_text()))

    def test_parity_rebuilds_fragments_where_no_repair_fits(self):
        tight = ["--latency", "5", "--stream-kbps", "3000"]
        copied, copied_sent, _ = self.mssr_ts_session("mssr-copy", [*tight, "--no-parity"])
        got, sent, received = self.mssr_ts_session("mssr-parity", tight)
        report = (f"source {self.source}\nfirst-fragment copies {copied}\nparity {got}\n"
                  f"sender {json.dumps(sent)}\nreceiver {json.dumps(received)}")
        print(report)
        # No repair fits: nothing was retransmitted; the copies or the parity did what could be done.
        self.assertEqual(sent["sender"]["retransmissions"], 0, report)
        self.assertGreater(copied_sent["sender"]["first_fragment_copies"], 0, report)
        self.assertEqual(copied_sent["sender"]["parity_fragments"], 0, report)
        # With parity only key frames also get their first fragment's copy.
        self.assertLessEqual(sent["sender"]["first_fragment_copies"], sent["input"]["key_adus"], report)
        # Every frame was weighed for parity (when it is submitted) but the delta frames before the path's
        # first loss, and most were found worth it (the rest: small disposable frames, by the value rule at
        # this loss); what a 5 ms budget let out went.
        weighed = sent["sender"]["parity_adus"] + sent["sender"]["parity_declined"]
        self.assertGreaterEqual(weighed, sent["sender"]["adus"] - 10, report)
        self.assertGreater(sent["sender"]["parity_adus"], sent["sender"]["adus"] // 2, report)
        self.assertEqual(sent["sender"]["parity_rule"], "value", report)
        self.assertGreater(sent["sender"]["parity_fragments"], 0, report)
        self.assertGreater(received["receiver"]["parity_recovered"], 0, report)
        # Both processes settled on the Cauchy code for key frames' parity (the default) in the handshake.
        self.assertEqual(sent["sender"]["parity_code"], "cauchy", report)
        self.assertEqual(received["receiver"]["parity_code"], "cauchy", report)
        # And on version 3 headers, whose parity counts the sender chose from the loss it measured (the path
        # drops 5 % each way).
        self.assertEqual(sent["sender"]["parity_count"], "adaptive", report)
        self.assertEqual(received["receiver"]["parity_count"], "adaptive", report)
        self.assertGreater(sent["sender"]["loss_estimate"], 0.01, report)
        self.assertLess(sent["sender"]["loss_estimate"], 0.2, report)
        self.assertLess(got["decode_errors"], copied["decode_errors"], report)

    def test_rtp_described_by_an_sdp_file_crosses_the_lossy_path(self):
        net = self.net
        tmp = net.tmpdir
        clip = tmp / "sdp-clip.mp4"
        make_mp4(clip)
        sdp_file = tmp / "in.sdp"
        rtp_out = ["-map", "0:v", "-c", "copy", "-f", "rtp", f"rtp://127.0.0.1:{RTP_IN_PORT}", "-map", "0:a",
                   "-c", "copy", "-f", "rtp", f"rtp://127.0.0.1:{RTP_IN_PORT + 2}"]
        # The SDP ffmpeg writes for these outputs (payload types, parameter sets) is the same for every run:
        # a short run writes it before the receiving side starts.
        net.run(SND, ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-t", "0.1", "-i", str(clip),
                      *rtp_out, "-sdp_file", str(sdp_file)], timeout=60)
        self.assertIn("m=video", sdp_file.read_text())

        recv = net.start_peer(RCV, [self.bin, "mssr", "recv", "--listen", f"{RCV_ADDR}:{SDP_MSSR_PORT}",
                                    "--serve", f"rtsp://127.0.0.1:{MOUNT_PORT + 1}/live", "--stats-json",
                                    str(tmp / "sdp-recv.json")], name="mssr-recv-sdp", ready=None)
        net.wait_port(RCV, "127.0.0.1", MOUNT_PORT + 1)
        out = tmp / "mssr-sdp"
        player = probe_rtsp(net, RCV, f"rtsp://127.0.0.1:{MOUNT_PORT + 1}/live", out)
        send = net.start_peer(SND, [self.bin, "mssr", "send", str(sdp_file), "--to", f"{RCV_ADDR}:{SDP_MSSR_PORT}",
                                    "--latency", "200", "--stream-kbps", "3000", "--stats-json",
                                    str(tmp / "sdp-send.json")], name="mssr-send-sdp", ready=None)
        net.wait_port(SND, "127.0.0.1", RTP_IN_PORT, proto="udp")
        time.sleep(1.0)  # the handshake across the lossy path
        net.run(SND, ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-re", "-i", str(clip), *rtp_out],
                timeout=SECONDS + 60)
        # The input falls silent: mssr send ends by itself (3 s of silence, then the repairs' drain).
        self.assertEqual(send.proc.wait(timeout=30), 0, send.log_text())
        got = probe_result(player, out)
        self.assertEqual(recv.stop(), 0, recv.log_text())
        sent = json.loads((tmp / "sdp-send.json").read_text())
        received = json.loads((tmp / "sdp-recv.json").read_text())
        report = f"MSSR {got}\nsender {json.dumps(sent)}\nreceiver {json.dumps(received)}"
        print(report)

        tracks = sent["input"]["tracks"]
        self.assertEqual(len(tracks), 2, report)
        self.assertGreaterEqual(tracks[0]["adus"], FPS * SECONDS - 2, report)  # every video frame was taken
        self.assertGreater(tracks[1]["adus"], 0, report)
        self.assertGreater(sent["sender"]["retransmissions"], 0, report)  # the path lost, MSSR repaired
        video = next(s for s in received["streams"] if s["stream"] == 0)
        self.assertEqual(video["key_adus_incomplete"], 0, report)
        self.assertGreaterEqual(got["key_frames"], SECONDS - 2, report)
        self.assertGreaterEqual(got["frames"], FPS * (SECONDS - 2), report)
        self.assertLessEqual(got["decode_errors"], 2, report)

    def test_rtsp_in_and_out_keeps_every_key_frame_where_plain_rtp_breaks(self):
        net = self.net
        tmp = net.tmpdir
        media = tmp / "media"
        media.mkdir(exist_ok=True)
        make_mp4(media / "clip.mp4")
        origin = net.start_peer(SND, [self.bin, "serve", str(media), "--listen", f"{SND_ADDR}:{ORIGIN_PORT}"],
                                name="origin", ready=None)
        net.wait_port(SND, SND_ADDR, ORIGIN_PORT)
        origin_url = f"rtsp://{SND_ADDR}:{ORIGIN_PORT}/clip.mp4"

        # Plain RTP over UDP across the lossy path: the floor.
        plain_out = tmp / "plain-rtp"
        plain = probe_result(probe_rtsp(net, RCV, origin_url, plain_out), plain_out)

        # MSSR: the player waits on the mount (DESCRIBE is held until the session description arrives), so it
        # sees the stream from its first key frame.
        recv = net.start_peer(RCV, [self.bin, "mssr", "recv", "--listen", f"{RCV_ADDR}:{RTSP_MSSR_PORT}",
                                    "--serve", f"rtsp://127.0.0.1:{MOUNT_PORT}/live", "--rtp", "127.0.0.1:5004",
                                    "--sdp", str(tmp / "rtp-out.sdp"), "--stats-json",
                                    str(tmp / "rtsp-recv.json")], name="mssr-recv-rtsp", ready=None)
        net.wait_port(RCV, "127.0.0.1", MOUNT_PORT)
        mssr_out = tmp / "mssr-rtsp"
        player = probe_rtsp(net, RCV, f"rtsp://127.0.0.1:{MOUNT_PORT}/live", mssr_out)
        time.sleep(0.5)
        send = net.start_peer(SND, [self.bin, "mssr", "send", origin_url, "--to", f"{RCV_ADDR}:{RTSP_MSSR_PORT}",
                                    "--latency", "200", "--stream-kbps", "3000", "--stats-json",
                                    str(tmp / "rtsp-send.json")], name="mssr-send-rtsp", ready=None)
        self.assertEqual(send.proc.wait(timeout=SECONDS + 30), 0, send.log_text())
        got = probe_result(player, mssr_out)
        self.assertEqual(recv.stop(), 0, recv.log_text())
        origin.stop()
        sent = json.loads((tmp / "rtsp-send.json").read_text())
        received = json.loads((tmp / "rtsp-recv.json").read_text())
        report = (f"plain RTP {plain}\nMSSR {got}\nsender {json.dumps(sent)}\nreceiver {json.dumps(received)}\n"
                  f"recv log {recv.log_text()[-1500:]}")
        print(report)

        # The path really loses: plain RTP breaks frames, and MSSR had to repair.
        self.assertGreaterEqual(plain["decode_errors"], 5, report)
        self.assertGreater(sent["sender"]["retransmissions"], 0, report)
        # Through MSSR: every key frame whole, (next to) no decoder error, the whole clip.
        video = next(s for s in received["streams"] if s["stream"] == 0)
        self.assertEqual(video["key_adus_incomplete"], 0, report)
        self.assertGreater(video["key_adus_complete"], 0, report)
        # Audio packets are one-fragment ADUs: a lost one is requested and repaired within its deadline like
        # any fragment (it used to be given up after the reorder window: 4-12 of 432 stayed lost).
        audio = next(s for s in received["streams"] if s["stream"] == 1)
        self.assertLessEqual(audio["adus_lost"] + audio["adus_partial"], 2, report)
        # The player joins a live mount: it starts at the first key frame after its PLAY (the first GOP
        # usually goes by while it sets up), so up to two GOPs may be missing, never a broken one.
        self.assertGreaterEqual(got["key_frames"], SECONDS - 2, report)
        self.assertGreaterEqual(got["frames"], FPS * (SECONDS - 2), report)
        self.assertLessEqual(got["decode_errors"], 2, report)
        self.assertLess(got["decode_errors"], plain["decode_errors"], report)
        # The plain RTP output beside the mount: its SDP file puts track i on 5004 + 2 i.
        rtp_sdp = (tmp / "rtp-out.sdp").read_text()
        self.assertIn("m=video 5004 RTP/AVP", rtp_sdp)
        self.assertIn("m=audio 5006 RTP/AVP", rtp_sdp)
        self.assertIn("c=IN IP4 127.0.0.1", rtp_sdp)


if __name__ == "__main__":
    unittest.main()

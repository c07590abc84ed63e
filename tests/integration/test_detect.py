"""`streamgate detect` on real RTSP sessions captured in the test network, checked against tshark.

A GstRtspServer origin (H.264 video + PCMA audio) runs on origin4 (or origin6); ffmpeg on gw plays it over
RTP/UDP and over RTSP-interleaved TCP while tcpdump records gw's interface towards the origin. The detector
must report exactly the streams tshark finds in the same file (tshark follows the RTSP SETUP itself and has
its own RTP heuristic on as a fallback: an independent reading), with identical packet and loss counts, and
say they were found through RTSP. A live run (`-i`, stopped by SIGINT) must find the same streams. Broken
capture files must end in a clear error and a non-zero exit status, never a crash.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import signal
import subprocess
import sys
import time
import unittest
from pathlib import Path

from testnet import PEERS, PYTHON, TestNetwork, require_tools, streamgate_bin

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench" / "detect"))
from rtp_tables import parse_detect_json, parse_tshark  # noqa: E402

RTSP_PORT = 8554
PLAY_SECONDS = 4


def interface_with(net: TestNetwork, host: str, address: str) -> str:
    out = net.run(host, ["ip", "-o", "addr", "show"]).stdout
    for line in out.splitlines():
        fields = line.split()
        if any(f.split("/")[0] == address for f in fields):
            return fields[1].split("@")[0]
    raise AssertionError(f"no interface with {address} on {host}:\n{out}")


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


class Detect(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_tools("tcpdump", "tshark", "ffmpeg")
        cls.bin = streamgate_bin()
        cls.net = TestNetwork().start()
        cls.addClassCleanup(cls.net.close)
        cls.origins = {}
        for host, family in (("origin4", 4), ("origin6", 6)):
            cls.origins[family] = cls.net.start_peer(
                host, [PYTHON, str(PEERS / "gst_rtsp_origin.py"), "--address", cls.net.addr(host, family),
                       "--port", str(RTSP_PORT), "--mount", "/test", "--audio", "pcma"],
                name=f"origin-{host}", timeout=30)

    def capture_session(self, transport: str, family: int, live_json: Path | None = None) -> Path:
        """Plays the origin from gw with ffmpeg over `transport` while tcpdump (and optionally a live
        `streamgate detect -i`) watch gw's interface to the origin. Returns the capture file."""
        net = self.net
        origin = "origin4" if family == 4 else "origin6"
        iface = interface_with(net, "gw", net.addr("gw", family, peer=origin))
        pcap = net.tmpdir / f"{transport}{family}.pcap"
        dump = net.start_peer("gw", ["tcpdump", "-i", iface, "-s", "0", "-U", "-n", "-w", str(pcap)],
                              name=f"tcpdump-{transport}{family}", ready=None)
        wait_for(lambda: "listening on" in dump.log_text(), 15, "tcpdump to listen")
        live = None
        if live_json is not None:
            live = net.start_peer("gw", [self.bin, "detect", "-i", iface, "--json", str(live_json)],
                                  name=f"detect-live-{transport}{family}", ready=None)
            wait_for(lambda: "frames" in live.log_text(), 15, "the live detector's first summary")
        url = f"rtsp://{net.url_host(origin, family)}:{RTSP_PORT}/test"
        net.run("gw", ["ffmpeg", "-nostdin", "-loglevel", "error", "-rtsp_transport", transport, "-i", url,
                       "-map", "0", "-c", "copy", "-t", str(PLAY_SECONDS), "-f", "null", "-"], timeout=60)
        time.sleep(0.5)  # the TEARDOWN exchange and the last RTCP packets
        if live is not None:
            os.killpg(live.proc.pid, signal.SIGINT)
            self.assertEqual(live.proc.wait(timeout=20), 0, live.log_text())
        net.stop(dump.proc)
        self.assertGreater(pcap.stat().st_size, 10000)
        return pcap

    def detect(self, pcap: Path) -> dict:
        out = pcap.with_suffix(".json")
        cp = subprocess.run([self.bin, "detect", "-r", str(pcap), "--json", str(out)], capture_output=True,
                            text=True, timeout=60)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertIn("RTP Streams", cp.stdout)
        return json.loads(out.read_text())

    def tshark_table(self, pcap: Path) -> dict:
        cp = subprocess.run(["tshark", "-q", "-o", "rtp.heuristic_rtp:TRUE", "-z", "rtp,streams", "-r", str(pcap)],
                            capture_output=True, text=True, timeout=120, env={**os.environ, "LC_ALL": "C"})
        self.assertEqual(cp.returncode, 0, cp.stderr)
        return parse_tshark(cp.stdout)

    def tshark_packets(self, pcap: Path) -> dict:
        """RTP packets per (src, sport, dst, dport, ssrc) from tshark's per-packet dissection (it follows the
        RTSP SETUP itself). One frame may carry several interleaved RTP packets: all are counted."""
        cp = subprocess.run(["tshark", "-o", "rtp.heuristic_rtp:TRUE", "-r", str(pcap), "-Y", "rtp", "-T", "fields",
                             "-E", "separator=/t", "-e", "ip.src", "-e", "ipv6.src", "-e", "udp.srcport", "-e",
                             "tcp.srcport", "-e", "ip.dst", "-e", "ipv6.dst", "-e", "udp.dstport", "-e", "tcp.dstport",
                             "-e", "rtp.ssrc"], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "LC_ALL": "C"})
        self.assertEqual(cp.returncode, 0, cp.stderr)
        counts: dict = {}
        for line in cp.stdout.splitlines():
            f = line.split("\t")
            src, sport, dst, dport = f[0] or f[1], f[2] or f[3], f[4] or f[5], f[6] or f[7]
            for ssrc in f[8].split(","):
                key = (str(ipaddress.ip_address(src)), int(sport), str(ipaddress.ip_address(dst)), int(dport),
                       int(ssrc, 16))
                counts[key] = counts.get(key, 0) + 1
        return counts

    def check(self, transport: str, family: int, live: bool = False) -> None:
        live_json = self.net.tmpdir / f"live-{transport}{family}.json" if live else None
        pcap = self.capture_session(transport, family, live_json)
        report = self.detect(pcap)
        ours = parse_detect_json(json.dumps(report))
        truth = self.tshark_packets(pcap)
        # Every RTP packet tshark dissects belongs to a stream we report, with the same count, and nothing else.
        self.assertEqual(set(ours), set(truth), f"\nours:   {ours}\ntshark: {truth}")
        for key, packets in truth.items():
            self.assertEqual(ours[key]["packets"], packets, key)
        # The origin sent exactly one video and one audio stream. (ffmpeg's one-packet NAT "punch" streams
        # towards the origin's ports are RTP too, and both tools report them.)
        origin = self.net.addr("origin4" if family == 4 else "origin6", family)
        sent = {k: v for k, v in ours.items() if k[0] == origin}
        self.assertEqual(len(sent), 2, sent)
        for key in sent:
            self.assertGreater(ours[key]["packets"], 20, key)
            self.assertEqual(ours[key]["lost"], 0, key)  # a private network: nothing is lost
        if transport == "udp":
            # tshark's own stream table agrees on every count (its tap misfiles some interleaved packets
            # that share a TCP segment, so over TCP the per-packet count above is the reference).
            table = self.tshark_table(pcap)
            self.assertEqual(set(table), set(ours))
            for key, t in table.items():
                self.assertEqual((ours[key]["packets"], ours[key]["lost"]), (t["packets"], t["lost"]), key)
        expected_found_by = "rtsp" if transport == "udp" else "rtsp-interleaved"
        self.assertEqual({s["found_by"] for s in report["streams"]}, {expected_found_by})
        # Codecs and clock rates of the origin's streams come from the DESCRIBE reply's SDP.
        origin_streams = [s for s in report["streams"] if s["src"] == origin]
        self.assertEqual(sorted(s["codec"] for s in origin_streams), ["H264", "PCMA"])
        self.assertEqual(sorted(s["clock_rate"] for s in origin_streams), [8000, 90000])
        counters = report["counters"]
        self.assertEqual(counters["rtsp_connections"], 1)
        self.assertGreaterEqual(counters["rtsp_setups"], 2)
        self.assertGreater(counters["rtcp_packets"], 0)
        self.assertTrue(all(s["rtcp"]["sender_reports"] > 0 for s in origin_streams), origin_streams)
        if live:
            live_streams = parse_detect_json(live_json.read_text())
            self.assertEqual(set(live_streams), set(ours))
            for key in sent:
                self.assertGreater(live_streams[key]["packets"], 20)

    def test_rtp_over_udp_ipv4_with_live_capture(self):
        self.check("udp", 4, live=True)

    def test_rtp_over_udp_ipv6(self):
        self.check("udp", 6)

    def test_rtsp_interleaved_tcp_ipv4(self):
        self.check("tcp", 4)

    def test_broken_capture_files(self):
        tmp = self.net.tmpdir
        good = tmp / "udp4-for-truncation.pcap"
        if not good.exists():
            good = self.capture_session("udp", 4)
        data = good.read_bytes()
        cases = {
            "truncated.pcap": data[: len(data) // 2 + 7],  # cut inside a record
            "garbage.pcap": os.urandom(4096),
            "empty.pcap": b"",
            "header-only.pcap": data[:10],
        }
        for name, content in cases.items():
            path = tmp / name
            path.write_bytes(content)
            cp = subprocess.run([self.bin, "detect", "-r", str(path)], capture_output=True, text=True, timeout=60)
            self.assertNotEqual(cp.returncode, 0, f"{name}: {cp.stdout}")
            self.assertLess(cp.returncode, 128, f"{name} crashed: {cp.stderr}")
            self.assertRegex(cp.stderr, re.compile(r"streamgate detect: .*" + re.escape(str(path))), name)
        # The truncated file still yields the table of what was read before the cut.
        cp = subprocess.run([self.bin, "detect", "-r", str(tmp / "truncated.pcap")], capture_output=True, text=True)
        self.assertIn("RTP Streams", cp.stdout)
        self.assertIn("capture read error", cp.stderr)


if __name__ == "__main__":
    unittest.main()

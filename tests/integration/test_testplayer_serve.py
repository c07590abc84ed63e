"""`streamgate testplayer` against `streamgate serve` (issue 4: counts and loss agree with what was sent).

`serve` runs on origin4 (IPv4) and origin6 (IPv6) with a clip made by ffmpeg at test time; 20 players on gw
play it to the end (`--duration auto`) over UDP and over TCP interleaved. What the players counted is
checked against two sources outside testplayer:
- serve's own Prometheus counters (`streamgate_serve_rtp_packets_total` counts the RTP packets that ended
  sessions handed to the kernel or to the TCP queue; `dropped_total` the ones it could not): the delta over
  one run must equal the players' sum, with nothing dropped;
- for UDP, the wire itself: tcpdump on the origin counts the datagrams leaving serve's RTP ports (even
  ports of its --rtp-ports range; the odd ones are RTCP) towards gw. It must report no kernel drops. serve
  sends a video frame's equal-sized packets as one segmented message (UDP GSO), which the capture sees as
  one packet before the kernel cuts it: such a packet counts as the RTP packets it carries, found by their
  headers (same SSRC, consecutive sequence numbers at a fixed stride).
Every player plays the same file from the start, so every player's count is the same number too.
"""

from __future__ import annotations

import json
import signal
import subprocess
import struct
import time
import unittest
from pathlib import Path

from testnet import TestNetwork, require_tools, streamgate_bin

PORT = 8554
ADMIN_PORT = 9100
PLAYERS = 20
CLIP_SECONDS = 3
RTP_PORTS = {4: (30000, 30999), 6: (31000, 31999)}
HOSTS = {4: "origin4", 6: "origin6"}


def udp_payloads(pcap: Path):
    """(source port, UDP payload) of every UDP packet in a capture of tcpdump -i any (Linux cooked v1 or v2)."""
    data = pcap.read_bytes()
    magic = data[:4]
    endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    link = struct.unpack(endian + "I", data[20:24])[0]
    cooked = {113: (16, 14), 276: (20, 0)}[link]  # header length, offset of the protocol field
    pos = 24
    while pos + 16 <= len(data):
        length = struct.unpack(endian + "I", data[pos + 8:pos + 12])[0]
        frame = data[pos + 16:pos + 16 + length]
        pos += 16 + length
        protocol = struct.unpack(">H", frame[cooked[1]:cooked[1] + 2])[0]
        ip = frame[cooked[0]:]
        if protocol == 0x0800 and ip[9] == 17:
            udp = ip[(ip[0] & 0x0f) * 4:]
        elif protocol == 0x86dd and ip[6] == 17:
            udp = ip[40:]
        else:
            continue
        yield struct.unpack(">H", udp[:2])[0], udp[8:]


def rtp_packets_in(payload: bytes) -> int:
    """RTP packets in one captured UDP payload: 1, or the packets of a segmented run back to back, each
    `stride` long but the last, with the first one's SSRC and consecutive sequence numbers."""
    if len(payload) < 12 or payload[0] >> 6 != 2:
        return 1
    seq, ssrc = struct.unpack(">H", payload[2:4])[0], payload[8:12]

    def header_at(offset: int, n: int) -> bool:
        return (len(payload) >= offset + 12 and payload[offset] >> 6 == 2 and payload[offset + 8:offset + 12] == ssrc
                and struct.unpack(">H", payload[offset + 2:offset + 4])[0] == (seq + n) & 0xffff)

    stride = next((s for s in range(12, len(payload) - 11) if header_at(s, 1)), None)
    if stride is None:
        return 1
    count = (len(payload) + stride - 1) // stride
    assert all(header_at(k * stride, k) for k in range(count)), "a run whose packets are not consecutive"
    return count


def captured_datagrams(pcap: Path) -> tuple[int, int, int]:
    """RTP datagrams (even source ports), RTCP datagrams (odd) and segmented runs in a capture of serve."""
    rtp = rtcp = runs = 0
    for port, payload in udp_payloads(pcap):
        if port % 2:
            rtcp += 1
            continue
        n = rtp_packets_in(payload)
        rtp += n
        runs += n > 1
    return rtp, rtcp, runs


class TestplayerServe(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_tools("ffmpeg", "tcpdump", "curl")
        cls.bin = streamgate_bin()
        cls.net = TestNetwork().start()
        try:
            cls._make_clip()
            cls._start_servers()
        except BaseException:
            cls.net.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.net.close()

    @classmethod
    def _make_clip(cls):
        cls.media = cls.net.make_dir("media")
        # Video and audio, so that a player has two tracks; large enough frames that FU-A splits the IDRs.
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
                        "-f", "lavfi", "-i", f"testsrc=size=640x480:rate=25:duration={CLIP_SECONDS}",
                        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={CLIP_SECONDS}",
                        "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p",
                        "-c:a", "aac", "-shortest", str(cls.media / "clip.mp4")], check=True, timeout=120)

    @classmethod
    def _start_servers(cls):
        net = cls.net
        for family, host in HOSTS.items():
            addr = net.url_host(host, family)
            low, high = RTP_PORTS[family]
            net.start_peer(host, [cls.bin, "serve", str(cls.media), "--listen", f"{addr}:{PORT}",
                                  "--rtp-ports", f"{low}-{high}", "--admin", f"{addr}:{ADMIN_PORT}"],
                           name=f"serve-{host}", ready=None)
            net.wait_port(host, net.addr(host, family), PORT)
            net.wait_port(host, net.addr(host, family), ADMIN_PORT)

    def metrics(self, family: int) -> dict:
        url = f"http://{self.net.url_host(HOSTS[family], family)}:{ADMIN_PORT}/metrics"
        cp = self.net.run("gw", ["curl", "-sfg", url])
        return {line.split()[0]: float(line.split()[1]) for line in cp.stdout.splitlines()
                if line and not line.startswith("#")}

    def wait_sessions_ended(self, family: int, want: float, timeout: float = 30.0) -> dict:
        """The counters are added when a session ends (TEARDOWN or disconnect): wait for all of them."""
        deadline = time.monotonic() + timeout
        while True:
            metrics = self.metrics(family)
            if metrics["streamgate_serve_sessions_ended_total"] >= want or time.monotonic() > deadline:
                return metrics
            time.sleep(0.2)

    def start_capture(self, family: int, name: str):
        low, high = RTP_PORTS[family]
        pcap = self.net.tmpdir / f"{name}.pcap"
        gw = self.net.addr("gw", family, peer=HOSTS[family])
        expr = f"udp and src host {self.net.addr(HOSTS[family], family)} and dst host {gw} " \
               f"and src portrange {low}-{high}"
        # tcpdump prints "listening" and its final drop statistics on stderr: fold them into the peer's log.
        command = f'exec tcpdump -Z root -i any -n -U -B 8192 -w {pcap} "{expr}" 2>&1'
        peer = self.net.start_peer(HOSTS[family], ["sh", "-c", command],
                                   name=name, ready="tcpdump: listening", timeout=30)
        return peer, pcap

    def stop_capture(self, peer, pcap) -> int:  # RTP datagrams captured
        peer.proc.send_signal(signal.SIGINT)
        peer.proc.wait(timeout=30)
        deadline = time.monotonic() + 10
        while "dropped by kernel" not in peer.log_text() and time.monotonic() < deadline:
            time.sleep(0.1)  # the drain thread copies tcpdump's final statistics into the log
        log = peer.log_text()
        self.assertRegex(log, r"(?m)^0 packets dropped by kernel$")
        rtp, rtcp, runs = captured_datagrams(pcap)
        self.assertGreater(rtcp, 0)  # the RTCP sender reports were captured too
        print(f"capture: {rtp} RTP datagrams ({runs} segmented runs), {rtcp} RTCP")
        return rtp

    def play(self, family: int, transport: str) -> None:
        name = f"{transport}-ipv{family}"
        before = self.metrics(family)
        capture = self.start_capture(family, f"tcpdump-{name}") if transport == "udp" else None
        url = f"rtsp://{self.net.url_host(HOSTS[family], family)}:{PORT}/clip.mp4"
        report_path = self.net.tmpdir / f"report-{name}.json"
        cp = self.net.run("gw", [self.bin, "testplayer", url, "-n", str(PLAYERS), "--ramp", "20",
                                 "--duration", "auto", "--transport", transport, "--json", str(report_path), "-q"],
                          check=False, timeout=120)
        self.assertEqual(cp.returncode, 0, f"{cp.stdout}\n{cp.stderr[-3000:]}\n{self.net.peer_logs()[-3000:]}")
        report = json.loads(report_path.read_text())
        after = self.wait_sessions_ended(family, before["streamgate_serve_sessions_ended_total"] + PLAYERS)
        wire = self.stop_capture(*capture) if capture else None

        self.assertEqual(report["sessions"], PLAYERS)
        self.assertEqual(report["succeeded"], PLAYERS, report["errors"])
        self.assertEqual(report["errors"], {})
        self.assertEqual(report["rtp_lost"], 0)
        self.assertEqual(report["rtp_invalid"], 0)
        self.assertEqual(report["rtp_duplicates"], 0)
        self.assertTrue(all(p["tracks"] == 2 for p in report["players"]), report["players"])

        def delta(key):
            return after[key] - before[key]

        self.assertEqual(delta("streamgate_serve_sessions_ended_total"), PLAYERS)
        self.assertEqual(delta("streamgate_serve_dropped_total"), 0)
        sent = delta("streamgate_serve_rtp_packets_total")
        counts = [p["rtp_packets"] for p in report["players"]]
        # 25 fps of video and ~43 AAC frames a second: far more than one packet per second per player.
        self.assertGreater(sent, PLAYERS * CLIP_SECONDS * (25 + 43) * 0.9)
        self.assertEqual(report["rtp_packets"], sent)
        self.assertEqual(counts, [sent // PLAYERS] * PLAYERS)
        if wire is not None:
            self.assertEqual(wire, sent)
        print(f"{name}: {PLAYERS} players, {counts[0]} RTP packets each, serve counted {int(sent)}"
              + (f", tcpdump saw {wire}" if wire is not None else ""))

    def test_udp_ipv4(self):
        self.play(4, "udp")

    def test_tcp_ipv4(self):
        self.play(4, "tcp")

    def test_udp_ipv6(self):
        self.play(6, "udp")

    def test_tcp_ipv6(self):
        self.play(6, "tcp")


if __name__ == "__main__":
    unittest.main()

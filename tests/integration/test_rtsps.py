"""RTSPS, RTSP over TLS (issue 13; RFC 7826 §4.2, rtsps://): served by `streamgate serve` and by the gateway's
RTSP proxy listener, and used by the client core (a mount's rtsps:// upstream, `streamgate testplayer`).

A self-signed certificate names the origin's and the gateway's addresses; a second one names nobody here.
serve on origin4 listens for RTSPS (and plain RTSP). The gateway listens for RTSPS on both families and for
plain RTSP on IPv4, with three mounts of serve's clip over rtsps://: `sec` (interleaved), `secudp` (RTP over
UDP beside the TLS control connection) and `wrongca` (it trusts the other certificate only).

- ffmpeg (its own TLS client) decodes serve's clip over rtsps:// and the `sec` mount over rtsps:// from the
  IPv6 client: TLS on both legs of the gateway.
- testplayer checks serve's certificate: with the certificate as its CA it plays without loss, without it it
  fails with "certificate verify failed", and with --tls-insecure it plays; through the `secudp` mount it
  plays over UDP without loss; with --transport ws it plays RTSP over WebSocket inside TLS without loss.
- The `wrongca` mount refuses the origin's certificate: its player gets 502 and the gateway says why.
- A plain-text RTSP request to the RTSPS port gets no RTSP answer (the connection is closed), and the port
  goes on serving TLS clients.
"""

from __future__ import annotations

import json
import subprocess
import unittest

from testnet import TestNetwork, make_certificate, make_test_clip, require_tools, streamgate_bin

PLAIN_PORT = 8554
TLS_PORT = 8322
FPS = 25


class Rtsps(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_tools("ffmpeg", "ffprobe", "openssl", "curl")
        cls.bin = streamgate_bin()
        cls.net = TestNetwork().start()
        cls.addClassCleanup(cls.net.close)  # runs when _start fails too
        cls._start()

    @classmethod
    def _start(cls):
        net = cls.net
        media = net.make_dir("media")
        make_test_clip(media / "clip.mp4", seconds=4, fps=FPS)
        cls.o4 = net.addr("origin4", 4)
        cls.gw4 = net.addr("gw", 4, peer="client4")
        cls.gw6 = net.addr("gw", 6, peer="client6")
        certs = net.make_dir("certs")
        cls.cert, key = make_certificate(certs, "streamgate-test", [cls.o4, cls.gw4, cls.gw6])
        cls.other_cert, _ = make_certificate(certs, "somebody-else", ["192.0.2.1"])
        cls.serve = net.start_peer("origin4", [cls.bin, "serve", str(media), "--loop", "--listen",
                                               f"{cls.o4}:{PLAIN_PORT}", "--tls-listen", f"{cls.o4}:{TLS_PORT}",
                                               "--tls-cert", cls.cert, "--tls-key", key], name="serve", ready=None)
        net.wait_port("origin4", cls.o4, TLS_PORT)
        upstream = f"rtsps://{cls.o4}:{TLS_PORT}/clip.mp4"
        config = net.write_file("gateway.toml", f"""
[gateway]
socks = ["127.0.0.1:1080"]
allow = ["198.18.0.0/15", "2001:2::/48"]

[rtsp]
listen = ["{cls.gw4}:{PLAIN_PORT}"]
tls_listen = ["{cls.gw4}:{TLS_PORT}", "[{cls.gw6}]:{TLS_PORT}"]
tls_cert = "{cls.cert}"
tls_key = "{key}"

[[rtsp.mount]]
name = "sec"
url = "{upstream}"
transport = "tcp"
tls_ca = "{cls.cert}"

[[rtsp.mount]]
name = "secudp"
url = "{upstream}"
transport = "udp"
tls_ca = "{cls.cert}"

[[rtsp.mount]]
name = "wrongca"
url = "{upstream}"
tls_ca = "{cls.other_cert}"
""")
        cls.gateway = net.start_peer("gw", [cls.bin, "gateway", "--config", str(config)], name="gateway",
                                     ready=None)
        net.wait_port("gw", cls.gw4, TLS_PORT)
        net.wait_port("gw", cls.gw6, TLS_PORT)
        net.wait_port("gw", cls.gw4, PLAIN_PORT)

    def decoded_frames(self, host: str, url: str) -> int:
        """Video frames ffprobe decodes in the first three seconds of url (ffmpeg does not check
        certificates unless told to)."""
        cp = self.net.run(host, ["ffprobe", "-v", "error", "-count_frames", "-read_intervals", "%+3",
                                 "-select_streams", "v", "-show_entries", "stream=nb_read_frames", "-of", "json",
                                 url], check=False, timeout=60)
        self.assertEqual(cp.returncode, 0, f"{url}: {cp.stderr}\n{self.net.peer_logs()[-3000:]}")
        return int(json.loads(cp.stdout)["streams"][0]["nb_read_frames"])

    def run_testplayer(self, host: str, url: str, *options: str) -> dict:
        report = self.net.tmpdir / f"testplayer-{len(list(self.net.tmpdir.glob('testplayer-*')))}.json"
        self.net.run(host, [self.bin, "testplayer", url, "--duration", "2", "--json", str(report), "-q",
                            *options], check=False, timeout=60)
        return json.loads(report.read_text())

    def test_ffmpeg_decodes_serve_and_a_mount_over_rtsps(self):
        self.assertGreaterEqual(self.decoded_frames("gw", f"rtsps://{self.o4}:{TLS_PORT}/clip.mp4"), 2 * FPS)
        # TLS from the IPv6 player to the gateway, and from the gateway to serve.
        self.assertGreaterEqual(self.decoded_frames("client6", f"rtsps://[{self.gw6}]:{TLS_PORT}/sec"), 2 * FPS)

    def test_testplayer_checks_the_certificate(self):
        url = f"rtsps://{self.o4}:{TLS_PORT}/clip.mp4"
        trusted = self.run_testplayer("gw", url, "--tls-ca", self.cert, "--transport", "tcp")
        self.assertEqual((trusted["succeeded"], trusted["rtp_lost"]), (1, 0), trusted)
        self.assertGreater(trusted["rtp_packets"], 0)
        untrusted = self.run_testplayer("gw", url)
        self.assertEqual(untrusted["succeeded"], 0, untrusted)
        self.assertIn("tls: certificate verify failed", json.dumps(untrusted["errors"]))
        insecure = self.run_testplayer("gw", url, "--tls-insecure", "--transport", "udp")
        self.assertEqual((insecure["succeeded"], insecure["rtp_lost"]), (1, 0), insecure)

    def test_websocket_over_tls(self):
        # RTSP over WebSocket inside TLS (wss): the client core upgrades after the TLS handshake, the server
        # tells the upgrade from RTSP inside the TLS stream.
        report = self.run_testplayer("gw", f"rtsps://{self.o4}:{TLS_PORT}/clip.mp4", "--tls-ca", self.cert,
                                     "--transport", "ws")
        self.assertEqual((report["succeeded"], report["rtp_lost"]), (1, 0), report)
        self.assertGreater(report["rtp_packets"], 0)

    def test_mount_over_rtsps_with_udp_media(self):
        report = self.run_testplayer("client4", f"rtsp://{self.gw4}:{PLAIN_PORT}/secudp", "--transport", "udp")
        self.assertEqual((report["succeeded"], report["rtp_lost"]), (1, 0), report)
        self.assertGreater(report["rtp_packets"], 0)
        self.assertIn(f"rtsp mount secudp upstream rtsps://{self.o4}:{TLS_PORT}/clip.mp4 playing over udp",
                      self.gateway.log_text())

    def test_an_untrusted_upstream_is_refused(self):
        cp = self.net.run("client4", ["ffprobe", "-v", "error", f"rtsp://{self.gw4}:{PLAIN_PORT}/wrongca"],
                          check=False, timeout=60)
        self.assertNotEqual(cp.returncode, 0)
        self.assertIn("502", cp.stderr)
        self.net.wait_until(lambda: "mount wrongca" in (log := self.gateway.log_text())
                            and "certificate verify failed" in log, "the gateway's reason")

    def test_plain_text_on_the_tls_port_is_closed(self):
        # curl speaks plain RTSP; the TLS listener reads it as a broken handshake and closes: no RTSP reply.
        cp = self.net.run("client4", ["curl", "-sS", "--max-time", "10", "-X", "OPTIONS",
                                      f"rtsp://{self.gw4}:{TLS_PORT}/sec"], check=False, timeout=30)
        self.assertNotEqual(cp.returncode, 0, cp.stdout)
        self.assertNotIn("RTSP/1.0", cp.stdout)
        self.assertGreaterEqual(self.decoded_frames("client4", f"rtsps://{self.gw4}:{TLS_PORT}/sec"), 2 * FPS)


if __name__ == "__main__":
    unittest.main()

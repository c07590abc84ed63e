"""The RTSP application-level gateway in the SOCKS CONNECT path, driven by ffmpeg through proxychains4.

A player behind a TCP-only socksifier (proxychains4) on an IPv4-only host plays an RTSP stream from an
IPv6-only GStreamer origin (and the reverse) through the dual-stack gateway, whose forwarding is off. Over
RTP/UDP this works only because the gateway recognises RTSP on the CONNECT, rewrites the SETUP Transport
headers and relays the media across families; the same run with `[alg] enabled = false` fails, which shows
the test can fail. Interleaved RTP (TCP) works either way. Faults: the origin killed mid-stream and the player
killed mid-stream free their port pairs (gauge and /proc/net/udp of gw) and leak no descriptors, while the
gateway keeps serving.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import unittest

from testnet import PEERS, PYTHON, TestNetwork, require_tools, streamgate_bin

SOCKS_PORT = 1080
PLAIN_SOCKS_PORT = 1081  # a second gateway with the ALG off
RTSP_PORT = 8554
ADMIN = "127.0.0.1:9131"
ALG_PORTS = (40000, 40199)
FRAMES = 50  # 2 s of the origin's 25 fps


class GatewayRtspAlg(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_tools("ffmpeg", "proxychains4", "curl", "gst-launch-1.0")
        cls.bin = streamgate_bin()
        cls.net = TestNetwork().start()
        try:
            cls.origins = {}
            for host, family in (("origin4", 4), ("origin6", 6)):
                cls.origins[host] = cls._start_origin(host, family)
            cls._start_gateways()
        except BaseException:
            cls.net.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.net.close()

    @classmethod
    def _start_origin(cls, host, family):
        return cls.net.start_peer(host, [PYTHON, str(PEERS / "gst_rtsp_origin.py"), "--address",
                                         cls.net.addr(host, family), "--port", str(RTSP_PORT)],
                                  name=f"rtsp-{host}", ready="READY", timeout=30)

    @classmethod
    def _start_gateways(cls):
        net = cls.net
        cls.gw4 = net.addr("gw", 4, peer="client4")
        cls.gw6 = net.addr("gw", 6, peer="client6")
        common = ["--allow", "2001:2::/48", "--allow", "198.18.0.0/15"]
        cls.gateway = net.start_peer("gw", [cls.bin, "gateway", "--socks", f"{cls.gw4}:{SOCKS_PORT}",
                                            "--socks", f"[{cls.gw6}]:{SOCKS_PORT}", "--admin", ADMIN,
                                            "--alg-ports", f"{ALG_PORTS[0]}-{ALG_PORTS[1]}", *common],
                                     name="streamgate", ready=None)
        config = net.tmpdir / "no-alg.toml"
        config.write_text(f'[gateway]\nsocks = ["{cls.gw4}:{PLAIN_SOCKS_PORT}", "[{cls.gw6}]:{PLAIN_SOCKS_PORT}"]\n'
                          'admin = ""\n\n[alg]\nenabled = false\n')
        cls.plain = net.start_peer("gw", [cls.bin, "gateway", "--config", str(config), *common],
                                   name="streamgate-no-alg", ready=None)
        for port in (SOCKS_PORT, PLAIN_SOCKS_PORT):
            net.wait_port("gw", cls.gw4, port)
            net.wait_port("gw", cls.gw6, port)
        net.wait_port("gw", "127.0.0.1", int(ADMIN.rsplit(":", 1)[1]))
        cls.confs = {}
        for client, gw in (("client4", cls.gw4), ("client6", cls.gw6)):
            for port in (SOCKS_PORT, PLAIN_SOCKS_PORT):
                path = net.tmpdir / f"proxychains-{client}-{port}.conf"
                # proxy_dns: names are resolved by the gateway (the client cannot resolve the other family).
                path.write_text("strict_chain\nquiet_mode\nproxy_dns\nremote_dns_subnet 224\n"
                                "tcp_read_time_out 15000\ntcp_connect_time_out 8000\n"
                                f"[ProxyList]\nsocks5 {gw} {port}\n")
                cls.confs[(client, port)] = path

    # ----- helpers -----

    def ffmpeg_argv(self, client, port, origin, transport, frames=FRAMES):
        return ["proxychains4", "-q", "-f", str(self.confs[(client, port)]), "ffmpeg", "-nostdin", "-hide_banner",
                "-loglevel", "info", "-rtsp_transport", transport, "-timeout", "10000000",
                "-i", f"rtsp://{origin}.test:{RTSP_PORT}/test", "-map", "0:v", "-frames:v", str(frames),
                "-f", "null", "-"]

    def play(self, client, origin, transport, port=SOCKS_PORT, timeout=60):
        """Decodes FRAMES frames; returns (exit status, frames decoded, stderr)."""
        try:
            cp = self.net.run(client, self.ffmpeg_argv(client, port, origin, transport), timeout=timeout,
                              check=False)
        except subprocess.TimeoutExpired as e:
            err = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
            return None, self.frames_in(err), err
        return cp.returncode, self.frames_in(cp.stderr), cp.stderr

    @staticmethod
    def frames_in(stderr):
        counts = re.findall(r"frame=\s*(\d+)", stderr)
        return int(counts[-1]) if counts else 0

    def metrics(self):
        text = self.net.run("gw", ["curl", "-sS", "--max-time", "5", f"http://{ADMIN}/metrics"]).stdout
        values = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                values[name] = float(value)
        return values

    def metric(self, name):
        return self.metrics().get(name, 0.0)

    def alg_udp_ports_bound(self):
        """UDP ports of the ALG range bound in gw (from /proc/net/udp and udp6)."""
        ports = set()
        for table in ("/proc/net/udp", "/proc/net/udp6"):
            out = self.net.run("gw", ["cat", table]).stdout
            for line in out.splitlines()[1:]:
                local = line.split()[1]
                port = int(local.rsplit(":", 1)[1], 16)
                if ALG_PORTS[0] <= port <= ALG_PORTS[1]:
                    ports.add(port)
        return ports

    def gateway_sockets(self):
        fd_dir = f"/proc/{self.gateway.pid}/fd"
        count = 0
        for fd in os.listdir(fd_dir):
            try:
                count += os.readlink(f"{fd_dir}/{fd}").startswith("socket:")
            except FileNotFoundError:
                pass
        return count

    def wait_for(self, condition, timeout, what):
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                self.fail(f"timed out waiting for {what}\ngateway log:\n{self.gateway.log_text()[-4000:]}")
            time.sleep(0.2)

    def wait_ports_freed(self, timeout=20):
        self.wait_for(lambda: self.metric("streamgate_alg_port_pairs_in_use") == 0 and not self.alg_udp_ports_bound(),
                      timeout, "the ALG port pairs to be freed")

    def assert_plays(self, client, origin, transport):
        rc, frames, err = self.play(client, origin, transport)
        self.assertEqual(rc, 0, err[-3000:] + "\ngateway log:\n" + self.gateway.log_text()[-3000:])
        self.assertGreaterEqual(frames, FRAMES, err[-3000:])

    # ----- tests -----

    def test_ipv4_player_ipv6_origin_udp(self):
        before = self.metric('streamgate_alg_media_packets_total{direction="to_client"}')
        self.assert_plays("client4", "origin6", "udp")
        self.assertGreater(self.metric('streamgate_alg_media_packets_total{direction="to_client"}'), before + FRAMES)
        # The player's punch packets latched its endpoint, and RTCP went the other way.
        self.assertGreater(self.metric('streamgate_alg_media_packets_total{direction="to_origin"}'), 0)
        self.wait_for(lambda: "alg-media-end" in self.gateway.log_text(), 20, "the media relay's log line")
        line = [l for l in self.gateway.log_text().splitlines() if "alg-media-end" in l and "198.18.1.2" in l][-1]
        self.assertIn("origin=[2001:2:0:4::2]", line)
        self.assertRegex(line, r"rtp_down=[1-9]\d*")
        self.wait_ports_freed()

    def native_player_argv(self, packets, timeout=20):
        return [PYTHON, str(PEERS / "rtsp_socks_udp_player.py"), "--socks", self.gw6, str(SOCKS_PORT),
                "--url", f"rtsp://origin4.test:{RTSP_PORT}/test", "--packets", str(packets),
                "--timeout", str(timeout)]

    def test_ipv6_player_ipv4_origin_udp(self):
        # ffmpeg under proxychains4 opens its RTP sockets in the family of the origin address it believes in
        # (IPv4 here: /etc/hosts or proxychains' fake 224.x address), which an IPv6-only host cannot receive
        # on; no gateway can fix that. A native SOCKS client with IPv6 sockets shows the relay IPv4 -> IPv6.
        cp = self.net.run("client6", self.native_player_argv(200), timeout=40, check=False)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr + self.gateway.log_text()[-3000:])
        seen = json.loads(cp.stdout.strip().splitlines()[-1])
        self.assertGreaterEqual(seen["rtp_packets"], 200)
        self.assertEqual(seen["source"], self.gw6)  # the gateway's client-facing address, not the origin's
        server_port = int(re.search(r"server_port=(\d+)-", seen["transport"]).group(1))
        self.assertTrue(ALG_PORTS[0] <= server_port <= ALG_PORTS[1], seen["transport"])
        self.wait_ports_freed()
        # Over TCP (interleaved), ffmpeg itself plays.
        self.assert_plays("client6", "origin4", "tcp")

    def test_interleaved_tcp_passes_through(self):
        relays_before = self.metric("streamgate_alg_media_relays_total")
        for client, origin in (("client4", "origin6"), ("client6", "origin4")):
            with self.subTest(client=client):
                self.assert_plays(client, origin, "tcp")
        self.assertEqual(self.metric("streamgate_alg_media_relays_total"), relays_before)
        self.assertTrue([l for l in self.gateway.log_text().splitlines()
                         if "session-end" in l and "rtsp alg: 0 udp media relays" in l])

    def test_without_the_alg_udp_fails_and_tcp_works(self):
        rc, frames, err = self.play("client4", "origin6", "udp", port=PLAIN_SOCKS_PORT, timeout=45)
        self.assertTrue(rc != 0 or frames < FRAMES, f"UDP played without the ALG?\n{err[-2000:]}")
        self.assertEqual(frames, 0, err[-2000:])
        rc, frames, err = self.play("client4", "origin6", "tcp", port=PLAIN_SOCKS_PORT)
        self.assertEqual(rc, 0, err[-2000:])
        self.assertGreaterEqual(frames, FRAMES)

    def test_non_rtsp_connect_is_a_plain_relay(self):
        # An HTTP request on the RTSP port is not taken for RTSP: gst answers it (with an error) untouched.
        sessions = self.metric("streamgate_alg_sessions_total")
        self.net.run("client4", ["curl", "-sS", "--max-time", "10", "-o", "/dev/null", "--socks5-hostname",
                                 f"{self.gw4}:{SOCKS_PORT}", f"http://origin6.test:{RTSP_PORT}/"], check=False)
        self.assertEqual(self.metric("streamgate_alg_sessions_total"), sessions)

    def test_faults_free_ports_and_leak_nothing(self):
        self.wait_ports_freed()
        sockets_before = self.gateway_sockets()
        # A long-running session from client6 to origin4 that must survive what happens to the others.
        survivor = self.net.popen("client6", self.native_player_argv(10**9, timeout=300),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.wait_for(lambda: self.metric("streamgate_alg_port_pairs_in_use") >= 2, 30, "the survivor's SETUP")

        # 1. The player vanishes (SIGKILL): its control connection closes, its port pairs go.
        player = self.net.popen("client4", self.ffmpeg_argv("client4", SOCKS_PORT, "origin6", "udp", frames=100000),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.wait_for(lambda: self.metric("streamgate_alg_port_pairs_in_use") >= 4, 30, "the player's SETUP")
        packets = self.metric('streamgate_alg_media_packets_total{direction="to_client"}')
        self.wait_for(lambda: self.metric('streamgate_alg_media_packets_total{direction="to_client"}') > packets + 50,
                      20, "media to flow")
        os.killpg(player.pid, 9)
        player.wait(timeout=10)
        self.wait_for(lambda: self.metric("streamgate_alg_port_pairs_in_use") == 2, 20,
                      "the vanished player's ports to be freed")

        # 2. The origin dies mid-stream: the session ends, its port pairs go.
        try:
            self._origin_dies_mid_stream()
        finally:
            if self.origins["origin6"].proc.poll() is not None:
                self.origins["origin6"] = self._start_origin("origin6", 6)

        # The survivor kept playing all along.
        packets = self.metric('streamgate_alg_media_packets_total{direction="to_client"}')
        self.wait_for(lambda: self.metric('streamgate_alg_media_packets_total{direction="to_client"}') > packets + 25,
                      10, "the surviving session's media")
        self.assertIsNone(survivor.poll(), "the surviving player stopped")
        os.killpg(survivor.pid, 15)
        survivor.wait(timeout=10)
        self.wait_ports_freed()
        self.wait_for(lambda: self.gateway_sockets() <= sockets_before, 10, "the gateway's sockets to close")
        self.assertIsNone(self.gateway.proc.poll())

        # The restarted origin is served again.
        self.assert_plays("client4", "origin6", "udp")
        self.wait_ports_freed()

    def _origin_dies_mid_stream(self):
        viewer = self.net.popen("client4", self.ffmpeg_argv("client4", SOCKS_PORT, "origin6", "udp", frames=100000),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.wait_for(lambda: self.metric("streamgate_alg_port_pairs_in_use") >= 4, 30, "the viewer's SETUP")
        origin = self.origins["origin6"]
        os.killpg(origin.proc.pid, 9)
        origin.proc.wait(timeout=10)
        self.wait_for(lambda: self.metric("streamgate_alg_port_pairs_in_use") == 2, 20,
                      "the dead origin's session ports to be freed")
        try:
            viewer.wait(timeout=30)  # ffmpeg gives up on its own once the control connection is gone
        except subprocess.TimeoutExpired:
            os.killpg(viewer.pid, 9)
            viewer.wait()


if __name__ == "__main__":
    unittest.main()

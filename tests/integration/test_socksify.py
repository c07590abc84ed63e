"""`streamgate socksify -- CMD`: unmodified programs through the gateway (issue 6, RFC 3089).

The gateway on gw is the only way across (forwarding is off). The origin names (media4.example,
media6.example) exist only in gw's /etc/hosts, so a client that reaches them by name proves the name was
resolved by the gateway (ATYP 3), not locally. The IPv6-only client reaches the IPv4-only origin and the
IPv4-only client the IPv6-only origin: curl (HTTP), ffmpeg (RTSP interleaved over TCP, RTMP), UDP with
socat and with a Python sendto/recvfrom exchange. RTSP over UDP works through the gateway's RTSP ALG: the
player's RTP sockets are in its own family (the fake address is an IPv6 one), and the ALG sends media there.
"""

from __future__ import annotations

import json
import re
import time
import unittest

from testnet import PEERS, PYTHON, TestNetwork, require_tools, streamgate_bin

SOCKS_PORT = 1080
HTTP_PORT = 8080
RTSP_PORT = 8554
RTMP_PORT = 1935
ECHO_PORT = 7007
ORIGIN = {4: "origin4", 6: "origin6"}
NAME = {4: "media4.example", 6: "media6.example"}  # known to gw only

UDP_PROGRAM = r"""
import json, socket, sys
name, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
family = {"4": socket.AF_INET, "6": socket.AF_INET6}[sys.argv[4]]
info = socket.getaddrinfo(name, port, family, socket.SOCK_DGRAM)
target = info[0][4]
s = socket.socket(family, socket.SOCK_DGRAM)
s.settimeout(5)
matched, sources = 0, set()
for i in range(count):
    msg = b"socksify-%d-" % i + b"x" * 100
    s.sendto(msg, target)
    data, source = s.recvfrom(4096)
    matched += data == msg
    sources.add(source[0])
print(json.dumps({"target": target[0], "matched": matched, "sources": sorted(sources)}))
"""

CONNECT_PROGRAM = r"""
import errno, socket, sys, time
for attempt in range(2):
    start = time.monotonic()
    try:
        socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=20)
        print("CONNECTED")
    except OSError as e:
        print(errno.errorcode.get(e.errno, str(e.errno)), round(time.monotonic() - start, 2))
"""


class Socksify(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_tools("curl", "ffmpeg", "gst-launch-1.0", "socat", "getent")
        cls.bin = streamgate_bin()
        cls.net = TestNetwork().start()
        cls.addClassCleanup(cls.net.close)
        net = cls.net
        for family in (4, 6):
            net.add_name(NAME[family], net.addr(ORIGIN[family], family), hosts=["gw"])
        cls.gw = {6: net.addr("gw", 6, peer="client6"), 4: net.addr("gw", 4, peer="client4")}
        cls.proxy = {"client6": f"[{cls.gw[6]}]:{SOCKS_PORT}", "client4": f"{cls.gw[4]}:{SOCKS_PORT}"}
        cls.gateway = net.start_peer("gw", [cls.bin, "gateway", "--socks", cls.proxy["client6"], "--socks",
                                            cls.proxy["client4"], "--allow", "2001:2::/48", "--allow",
                                            "198.18.0.0/15", "--admin", "off", "--log-level", "debug"],
                                     name="streamgate", ready=None)
        net.wait_port("gw", cls.gw[6], SOCKS_PORT)
        net.wait_port("gw", cls.gw[4], SOCKS_PORT)

        # Origins: an HTTP server with a known file, a UDP echo server.
        cls.page = "socksify test page " + net.tag + "\n"
        root = net.tmpdir / "www"
        root.mkdir()
        (root / "page.txt").write_text(cls.page)
        for family in (4, 6):
            host = ORIGIN[family]
            net.start_peer(host, [PYTHON, "-m", "http.server", "--bind", net.addr(host, family), "--directory",
                                  str(root), str(HTTP_PORT)], name=f"http-{host}", ready=None)
            net.start_peer(host, [PYTHON, str(PEERS / "socks5_udp_client.py"), "echo", "--bind",
                                  net.addr(host, family), "--port", str(ECHO_PORT)], name=f"echo-{host}")
            net.wait_port(host, net.addr(host, family), HTTP_PORT)

    # ----- helpers -----

    def socksify(self, client: str, argv: list[str], timeout: float = 60, check: bool = True, proxy: str | None = None,
                 extra: list[str] | None = None):
        cmd = [self.bin, "socksify", "--proxy", proxy or self.proxy[client], *(extra or []), "--", *argv]
        cp = self.net.run(client, cmd, timeout=timeout, check=False)
        if check:
            self.assertEqual(cp.returncode, 0, f"{cp.stdout}\n{cp.stderr}\n{self.gateway.log_text()[-3000:]}")
        return cp

    def assert_gst_played(self, cp):
        """gst-launch played to EOS. After EOS, rtspsrc sends PAUSE and TEARDOWN from two threads; when the
        TEARDOWN wins (a loaded machine), the origin (GstRtspServer) closes and the PAUSE fails with "Received
        end-of-file", which gst-launch reports as an error after a complete run. Only that is forgiven: any other
        error, or no EOS, fails the test."""
        output = cp.stdout + cp.stderr
        self.assertIn("Got EOS", output, f"{output}\n{self.gateway.log_text()[-3000:]}")
        if cp.returncode == 0:
            return
        errors = [line for line in output.splitlines() if line.startswith("ERROR:")]
        details = [line.strip() for line in output.splitlines() if line.startswith("Could not send message")]
        teardown_race = errors and all("GstRTSPSrc" in line for line in errors) and details and all(
            line == "Could not send message. (Received end-of-file)" for line in details)
        if not teardown_race:
            self.fail(f"gst-launch exited {cp.returncode}:\n{output}\n{self.gateway.log_text()[-3000:]}")

    def session_lines(self, *needles: str) -> list[str]:
        return [l for l in self.gateway.log_text().splitlines()
                if "session-end" in l and all(n in l for n in needles)]

    def wait_session(self, *needles: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            lines = self.session_lines(*needles)
            if lines:
                return lines[-1]
            if time.monotonic() > deadline:
                self.fail(f"no session-end line with {needles!r}:\n{self.gateway.log_text()[-3000:]}")
            time.sleep(0.1)

    def other(self, family: int) -> str:
        return "client6" if family == 4 else "client4"  # the client of the other family

    # ----- names -----

    def test_clients_cannot_resolve_the_origin_names(self):
        for client in ("client4", "client6"):
            for family in (4, 6):
                cp = self.net.run(client, ["getent", "ahosts", NAME[family]], check=False)
                self.assertNotEqual(cp.returncode, 0, cp.stdout)

    def test_lookups_return_fake_addresses_in_the_family_asked_for(self):
        program = ("import socket, sys\n"
                   "for fam in (socket.AF_INET6, socket.AF_INET, socket.AF_UNSPEC):\n"
                   "    print(sorted({a[0].name + ' ' + a[4][0] for a in socket.getaddrinfo(sys.argv[1], 80, fam)}))\n"
                   "print(socket.gethostbyname(sys.argv[1]))\n")
        cp = self.socksify("client6", [PYTHON, "-c", program, NAME[4]])
        lines = cp.stdout.splitlines()
        self.assertEqual(lines[0], "['AF_INET6 64:ff9b:1::1']")
        self.assertEqual(lines[1], "['AF_INET 240.0.0.1']")
        self.assertEqual(lines[2], "['AF_INET 240.0.0.1', 'AF_INET6 64:ff9b:1::1']")
        self.assertEqual(lines[3], "240.0.0.1")

    # ----- TCP -----

    def test_curl_http_by_name_across_families(self):
        for family in (4, 6):
            client = self.other(family)
            with self.subTest(client=client, origin=ORIGIN[family]):
                url = f"http://{NAME[family]}:{HTTP_PORT}/page.txt"
                cp = self.socksify(client, ["curl", "-sS", "--max-time", "20", url])
                self.assertEqual(cp.stdout, self.page)
                origin = self.net.url_host(ORIGIN[family], family)
                line = self.wait_session(f"target={NAME[family]}:{HTTP_PORT}", "cmd=connect")
                self.assertIn(f"resolved={origin}:{HTTP_PORT}", line)
                self.assertIn("rep=succeeded", line)

    def test_curl_by_literal_of_the_other_family_through_a_shell(self):
        # An IPv4 literal on the IPv6-only host (and the reverse): the AF_INET socket is carried over the
        # proxy's IPv6. The shell in between shows the environment reaching children (fork/exec).
        for family in (4, 6):
            client = self.other(family)
            origin = self.net.url_host(ORIGIN[family], family)
            with self.subTest(client=client, origin=origin):
                script = f"curl -sS --max-time 20 http://{origin}:{HTTP_PORT}/page.txt"
                cp = self.socksify(client, ["sh", "-c", script])
                self.assertEqual(cp.stdout, self.page)
                self.wait_session(f"target={origin}:{HTTP_PORT}", "rep=succeeded")

    def test_ffmpeg_rtsp_over_tcp_by_name(self):
        for family in (4, 6):
            client = self.other(family)
            with self.subTest(client=client, origin=ORIGIN[family]):
                host = ORIGIN[family]
                origin = self.net.start_peer(host, [PYTHON, str(PEERS / "gst_rtsp_origin.py"), "--address",
                                                    self.net.addr(host, family), "--port", str(RTSP_PORT)],
                                             name=f"rtsp-{host}")
                try:
                    url = f"rtsp://{NAME[family]}:{RTSP_PORT}/test"
                    cp = self.socksify(client, ["ffmpeg", "-nostdin", "-v", "error", "-rtsp_transport", "tcp",
                                                "-i", url, "-frames:v", "25", "-f", "null", "-", "-progress",
                                                "pipe:1"], timeout=90)
                    frames = [int(m) for m in re.findall(r"^frame=(\d+)$", cp.stdout, re.M)]
                    self.assertTrue(frames and frames[-1] >= 25, cp.stdout + cp.stderr)
                    self.wait_session(f"target={NAME[family]}:{RTSP_PORT}", "rep=succeeded")
                finally:
                    self.net.stop(origin.proc)

    def test_gstreamer_rtspsrc_over_tcp_by_name(self):
        # GStreamer resolves in a GResolver thread and connects non-blocking through GSocketClient.
        host = ORIGIN[4]
        origin = self.net.start_peer(host, [PYTHON, str(PEERS / "gst_rtsp_origin.py"), "--address",
                                            self.net.addr(host, 4), "--port", str(RTSP_PORT)], name="rtsp-gst")
        try:
            url = f"rtsp://{NAME[4]}:{RTSP_PORT}/test"
            cp = self.socksify("client6", ["gst-launch-1.0", "rtspsrc", f"location={url}", "protocols=tcp", "!",
                                           "rtph264depay", "!", "h264parse", "!", "fakesink", "num-buffers=25"],
                               timeout=90, check=False)
            self.assert_gst_played(cp)
            self.wait_session(f"target={NAME[4]}:{RTSP_PORT}", "rep=succeeded")
        finally:
            self.net.stop(origin.proc)

    def test_rtsp_over_udp_through_the_alg(self):
        for family in (4, 6):  # IPv6-only player -> IPv4-only origin, and the reverse
            with self.subTest(origin=ORIGIN[family]):
                self.play_rtsp_over_udp(family)

    def play_rtsp_over_udp(self, family: int):
        host, client = ORIGIN[family], self.other(family)
        origin = self.net.start_peer(host, [PYTHON, str(PEERS / "gst_rtsp_origin.py"), "--address",
                                            self.net.addr(host, family), "--port", str(RTSP_PORT)],
                                     name=f"rtsp-udp-{family}")
        try:
            url = f"rtsp://{NAME[family]}:{RTSP_PORT}/test"
            relays_before = len(re.findall(r"alg-media-end .* rtp_down=[1-9]\d* .* latched=yes",
                                           self.gateway.log_text()))
            cp = self.socksify(client, ["ffmpeg", "-nostdin", "-v", "error", "-rtsp_transport", "udp", "-i", url,
                                        "-frames:v", "25", "-f", "null", "-", "-progress", "pipe:1"], timeout=90)
            frames = [int(m) for m in re.findall(r"^frame=(\d+)$", cp.stdout, re.M)]
            self.assertTrue(frames and frames[-1] >= 25, cp.stdout + cp.stderr)
            # The media came over UDP through the ALG's relay (latched on the player's address), not interleaved.
            deadline = time.monotonic() + 10
            while len(re.findall(r"alg-media-end .* rtp_down=[1-9]\d* .* latched=yes",
                                 self.gateway.log_text())) <= relays_before:
                self.assertLess(time.monotonic(), deadline, self.gateway.log_text()[-3000:])
                time.sleep(0.1)
            # rtspsrc opens its RTP sockets in the family of the SDP's c= line: across families the ALG names
            # its own client-facing address there (proxy/sdp_family_rewrite.hpp).
            cp = self.socksify(client, ["gst-launch-1.0", "rtspsrc", f"location={url}", "protocols=udp", "!",
                                        "rtph264depay", "!", "h264parse", "!", "fakesink", "num-buffers=25"],
                               timeout=90, check=False)
            self.assert_gst_played(cp)
        finally:
            self.net.stop(origin.proc)

    def test_ffmpeg_rtmp_by_name(self):
        # RTMP (not RTSP): ffmpeg serves a lavfi test pattern as an RTMP server, ffmpeg plays it by name.
        host = ORIGIN[4]
        addr = self.net.addr(host, 4)
        server = self.net.start_peer(host, ["ffmpeg", "-nostdin", "-v", "error", "-re", "-f", "lavfi", "-i",
                                            "testsrc=size=320x240:rate=25", "-t", "60", "-c:v", "flv", "-f", "flv",
                                            "-listen", "1", f"rtmp://{addr}:{RTMP_PORT}/live/test"],
                                     name="rtmp-server", ready=None)
        try:
            self.net.wait_port(host, addr, RTMP_PORT, timeout=20)
            cp = self.socksify("client6", ["ffmpeg", "-nostdin", "-v", "error", "-i",
                                           f"rtmp://{NAME[4]}:{RTMP_PORT}/live/test", "-frames:v", "25", "-f",
                                           "null", "-", "-progress", "pipe:1"], timeout=90)
            frames = [int(m) for m in re.findall(r"^frame=(\d+)$", cp.stdout, re.M)]
            self.assertTrue(frames and frames[-1] >= 25, cp.stdout + cp.stderr)
            self.wait_session(f"target={NAME[4]}:{RTMP_PORT}", "rep=succeeded")
        finally:
            self.net.stop(server.proc)

    # ----- UDP -----

    def test_udp_sendto_recvfrom_by_name_across_families(self):
        for family in (4, 6):
            client = self.other(family)
            for socket_family in (4, 6):
                with self.subTest(client=client, origin=ORIGIN[family], socket_family=socket_family):
                    cp = self.socksify(client, [PYTHON, "-c", UDP_PROGRAM, NAME[family], str(ECHO_PORT), "10",
                                                str(socket_family)])
                    result = json.loads(cp.stdout.strip().splitlines()[-1])
                    self.assertEqual(result["matched"], 10)
                    # Replies are reported from the address the program sent to (the fake one), as RFC 3089 asks.
                    self.assertEqual(result["sources"], [result["target"]])
                    line = self.wait_session("cmd=udp_associate", f"resolved={self.net.url_host(ORIGIN[family], family)}:{ECHO_PORT}")
                    self.assertIn("datagrams up=10 down=10", line)

    def test_socat_udp_by_name(self):
        # socat connects its UDP socket and then uses write/read: the connected-socket path.
        payload = "hello over socat " + self.net.tag + "\n"
        cmd = [self.bin, "socksify", "--proxy", self.proxy["client6"], "--", "socat", "-t", "5", "-T", "10", "-",
               f"UDP:{NAME[4]}:{ECHO_PORT}"]
        cp = self.net.run("client6", cmd, input=payload, timeout=60, check=False)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertEqual(cp.stdout, payload)
        self.assertIn(payload.strip(), self.net.peer_logs())

    # ----- policy and failures -----

    def test_direct_networks_bypass_the_gateway(self):
        # A server on client6 itself: through the gateway without --direct, straight with it.
        addr = self.net.addr("client6", 6)
        server = self.net.start_peer("client6", [PYTHON, "-m", "http.server", "--bind", addr, "--directory",
                                                 str(self.net.tmpdir / "www"), "9090"], name="http-client6",
                                     ready=None)
        try:
            self.net.wait_port("client6", addr, 9090)
            url = f"http://[{addr}]:9090/page.txt"
            cp = self.socksify("client6", ["curl", "-sS", "--max-time", "20", url])
            self.assertEqual(cp.stdout, self.page)
            self.wait_session(f"target=[{addr}]:9090", "rep=succeeded")
            before = len(self.session_lines(f"target=[{addr}]:9090"))
            cp = self.socksify("client6", ["curl", "-sS", "--max-time", "20", url], extra=["--direct", f"{addr}/128"])
            self.assertEqual(cp.stdout, self.page)
            # Loopback is direct by default.
            cp = self.socksify("client6", ["curl", "-sS", "--max-time", "20", url.replace(addr, "::1")],
                               check=False)
            self.assertNotEqual(cp.returncode, 0)  # nothing listens on ::1:9090; the point is no gateway session
            time.sleep(1)
            self.assertEqual(len(self.session_lines(f"target=[{addr}]:9090")), before)
            self.assertEqual(self.session_lines("target=[::1]:9090"), [])
        finally:
            self.net.stop(server.proc)

    def test_username_password_authentication(self):
        port = SOCKS_PORT + 1
        proxy = f"[{self.gw[6]}]:{port}"
        gateway = self.net.start_peer("gw", [self.bin, "gateway", "--socks", proxy, "--allow", "2001:2::/48",
                                             "--user", "alice:s3cret", "--admin", "off"],
                                      name="streamgate-auth", ready=None)
        try:
            self.net.wait_port("gw", self.gw[6], port)
            url = f"http://{NAME[4]}:{HTTP_PORT}/page.txt"
            cp = self.socksify("client6", ["curl", "-sS", "--max-time", "20", url], proxy=proxy,
                               extra=["--user", "alice:s3cret"])
            self.assertEqual(cp.stdout, self.page)
            cp = self.socksify("client6", ["curl", "-sS", "--max-time", "20", url], proxy=proxy, check=False)
            self.assertNotEqual(cp.returncode, 0)
            self.assertIn("requires authentication", cp.stderr)
            cp = self.socksify("client6", ["curl", "-sS", "--max-time", "20", url], proxy=proxy, check=False,
                               extra=["--user", "alice:wrong"])
            self.assertNotEqual(cp.returncode, 0)
            self.assertIn("refused the username or password", cp.stderr)
        finally:
            self.net.stop(gateway.proc)

    def test_unreachable_proxy_gives_econnrefused_and_one_message(self):
        cp = self.socksify("client6", [PYTHON, "-c", CONNECT_PROGRAM, NAME[4], str(HTTP_PORT)],
                           proxy=f"[{self.gw[6]}]:1999", timeout=60)
        results = cp.stdout.split()
        self.assertEqual(results[0::2], ["ECONNREFUSED", "ECONNREFUSED"], cp.stdout)
        self.assertTrue(all(float(t) < 5 for t in results[1::2]), cp.stdout)
        messages = [l for l in cp.stderr.splitlines() if l.startswith("streamgate-socksify:")]
        self.assertEqual(len(messages), 1, cp.stderr)
        self.assertIn(f"[{self.gw[6]}]:1999", messages[0])


if __name__ == "__main__":
    unittest.main()

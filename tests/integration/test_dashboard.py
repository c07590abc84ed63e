"""The web dashboard in a real browser: Debian's Chromium, headless, driven by Selenium through chromedriver.

peers/dashboard_probe.py loads the page at / where the admin listener is reachable and reports what the page
shows. Each case gives streamgate something to show, then checks that the tables list it with the right counts,
that the charts have data points, that the "end" button (the admin token typed once into the page's prompt)
ends what its row shows, and that the page fetched nothing from anywhere but the admin listener. A screenshot
of each page is kept as a test artefact (build/<preset>/test-artifacts/).

- relay: calls set up with ng `offer`s on loopback, as Kamailio sends them; "end" on one call.
- gateway (in the test network): two SOCKS sessions (slow curl downloads from the IPv6-only client to an
  IPv4-only origin) and a mount player (ffmpeg playing a GstRtspServer origin through the RTSP proxy);
  "end" on the player ends ffmpeg's session.
"""

from __future__ import annotations

import json
import socket
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

from testnet import PEERS, PYTHON, TestNetwork, require_tools, streamgate_bin

TOKEN = "dashboard-test-token-0123456789"
PROBE = PEERS / "dashboard_probe.py"


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def artefact(name: str) -> Path:
    directory = Path(streamgate_bin()).resolve().parents[2] / "test-artifacts"
    directory.mkdir(exist_ok=True)
    return directory / f"dashboard-{name}.png"


def wait_port(port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port}")


def probe_args(port: int, name: str, expect: dict[str, int], end: str) -> list[str]:
    argv = [PYTHON, str(PROBE), f"http://127.0.0.1:{port}/", "--end", end, "--token", TOKEN,
            "--screenshot", str(artefact(name))]
    for path, count in expect.items():
        argv += ["--expect", f"{path}={count}"]
    return argv


class DashboardChecks:
    """What every case asserts on the probe's report."""

    def check_report(self, done: subprocess.CompletedProcess, port: int, expect: dict[str, int], end: str):
        report = json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else {}
        self.assertEqual(done.returncode, 0, f"the page did not show what was expected: {report}\n{done.stderr}")
        self.assertEqual(report["counts"], expect)
        self.assertGreaterEqual(max(report["points"].values()), 2, report["points"])
        self.assertIsNotNone(report["ended"])
        self.assertEqual(report["after_end"], expect[end] - 1)
        origin = f"http://127.0.0.1:{port}/"
        self.assertTrue(report["requests"], "the page fetched nothing")
        self.assertEqual([u for u in report["requests"] if not u.startswith(origin)], [],
                         "requests outside the admin listener")
        return report


class RelayDashboard(DashboardChecks, unittest.TestCase):
    CALLS = 3

    def setUp(self):
        require_tools("/usr/bin/chromium", "/usr/bin/chromedriver")
        self.port = free_port()
        self.ng_port = free_port(socket.SOCK_DGRAM)
        directory = tempfile.TemporaryDirectory()
        self.addCleanup(directory.cleanup)
        token_file = Path(directory.name) / "token"
        token_file.write_text(TOKEN + "\n")
        self.relay = subprocess.Popen(
            [streamgate_bin(), "relay", "--listen-ng", f"127.0.0.1:{self.ng_port}", "--admin",
             f"127.0.0.1:{self.port}", "--admin-token-file", str(token_file), "--port-min", "43000",
             "--port-max", "43999", "--num-threads", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(self.stop_relay)
        wait_port(self.port)
        for i in range(self.CALLS):
            self.offer(f"dashboard-call-{i}")

    def stop_relay(self):
        self.relay.terminate()
        try:
            self.relay.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.relay.kill()
            self.relay.wait()

    def offer(self, call_id: str):
        """An ng offer as Kamailio sends it, through the rig's own control client (peers/relay_control.py)."""
        sdp = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
               "m=audio 40000 RTP/AVP 0\r\n")
        request = {"command": "offer", "call-id": call_id, "from-tag": "from-" + call_id, "sdp": sdp}
        done = subprocess.run([PYTHON, str(PEERS / "relay_control.py"), "ng", "127.0.0.1", str(self.ng_port),
                               json.dumps(request)], capture_output=True, text=True, timeout=30)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(json.loads(done.stdout)["result"], "ok", done.stdout)

    def test_calls_table_charts_and_end(self):
        path = "/api/v1/relay/calls"
        expect = {path: self.CALLS}
        done = subprocess.run(probe_args(self.port, "relay", expect, path), capture_output=True, text=True,
                              timeout=120)
        report = self.check_report(done, self.port, expect, path)
        self.assertTrue(report["ended"].startswith("dashboard-call-"), report["ended"])
        listed = subprocess.run(["curl", "-sS", f"http://127.0.0.1:{self.port}/api/v1/relay/calls"],
                                capture_output=True, text=True, timeout=10)
        ids = [call["call_id"] for call in json.loads(listed.stdout)["calls"]]
        self.assertNotIn(report["ended"], ids)
        self.assertEqual(len(ids), self.CALLS - 1)


SOCKS_PORT = 1080
HTTP_PORT = 8080
RTSP_PORT = 8554
ADMIN_PORT = 9131


class GatewayDashboard(DashboardChecks, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_tools("/usr/bin/chromium", "/usr/bin/chromedriver", "curl", "ffmpeg")
        cls.bin = streamgate_bin()
        cls.net = TestNetwork().start()
        cls.addClassCleanup(cls.net.close)
        net = cls.net
        o4 = net.addr("origin4", 4)
        net.start_peer("origin4", [PYTHON, str(PEERS / "trickle_http.py"), o4, str(HTTP_PORT)], name="http",
                       ready=None)
        net.wait_port("origin4", o4, HTTP_PORT)
        net.start_peer("origin4", [PYTHON, str(PEERS / "gst_rtsp_origin.py"), "--address", o4, "--port",
                                   str(RTSP_PORT)], name="origin", ready="READY", timeout=30)
        gw6 = net.addr("gw", 6, peer="client6")
        token_file = net.write_file("admin.token", TOKEN + "\n")
        config = net.write_file("gateway.toml", f"""
[gateway]
socks = ["[{gw6}]:{SOCKS_PORT}"]
admin = "127.0.0.1:{ADMIN_PORT}"
admin_token_file = "{token_file}"
allow = ["2001:2::/48"]

[rtsp]
listen = ["[{gw6}]:{RTSP_PORT}"]

[[rtsp.mount]]
name = "cam"
url = "rtsp://{o4}:{RTSP_PORT}/test"
transport = "udp"
""")
        net.start_peer("gw", [cls.bin, "gateway", "--config", str(config)], name="streamgate", ready=None)
        net.wait_port("gw", gw6, SOCKS_PORT)
        net.wait_port("gw", gw6, RTSP_PORT)
        net.wait_port("gw", "127.0.0.1", ADMIN_PORT)
        cls.downloads = [
            net.popen("client6", ["curl", "-sS", "--max-time", "120", "-o", "/dev/null", "--socks5",
                                  f"[{gw6}]:{SOCKS_PORT}", f"http://{o4}:{HTTP_PORT}/stream"],
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(2)]
        cls.player = net.popen("client6", ["ffmpeg", "-nostdin", "-hide_banner", "-rtsp_transport", "tcp",
                                           "-timeout", "10000000", "-i", f"rtsp://[{gw6}]:{RTSP_PORT}/cam",
                                           "-map", "0:v", "-f", "null", "-"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def api(self, path: str) -> dict:
        done = self.net.run("gw", ["curl", "-sS", f"http://127.0.0.1:{ADMIN_PORT}{path}"], check=False, timeout=10)
        return json.loads(done.stdout)

    def wait_for(self, predicate, what: str, timeout: float = 30):
        self.net.wait_until(predicate, what, timeout)

    def test_sessions_players_charts_and_end(self):
        self.wait_for(lambda: self.api("/api/v1/socks/sessions")["total"] == 2, "two SOCKS sessions")
        self.wait_for(lambda: self.api("/api/v1/rtsp/players")["total"] == 1, "the mount's player")
        players = "/api/v1/rtsp/players"
        expect = {"/api/v1/socks/sessions": 2, "/api/v1/rtsp/mounts": 1, players: 1}
        done = self.net.run("gw", probe_args(ADMIN_PORT, "gateway", expect, players), check=False,
                            timeout=180)
        self.check_report(done, ADMIN_PORT, expect, players)
        # The player's session was ended: ffmpeg sees its stream end and exits.
        try:
            self.player.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.fail("ffmpeg still plays after its player session was ended from the dashboard")
        self.assertEqual(self.api(players)["total"], 0)
        # The API describes itself: every list this page showed is in the served OpenAPI document.
        spec = self.api("/api/v1/openapi.json")
        self.assertTrue(spec["openapi"].startswith("3."))
        for path in expect:
            self.assertIn(path, spec["paths"])
        self.assertEqual(self.api("/api/v1/socks/sessions")["total"], 2, "ending a player touched the sessions")


if __name__ == "__main__":
    unittest.main()

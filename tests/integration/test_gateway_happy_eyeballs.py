"""Happy Eyeballs (RFC 8305) and the address-family policy of `streamgate gateway`, driven by curl.

On gw, 2001:2:0:99::/64 is a blackhole (packets vanish, connects hang) and three dual-stack names exist
only in gw's hosts file:

    dual.test     2001:2:0:99::1 (blackholed)   origin4's address (HTTP server)
    refused.test  origin6's address (nothing listens: RST)   origin4's address
    dead.test     2001:2:0:99::2 (blackholed)   origin4's address (the port asked for is closed)

client6 asks the gateway for these names with --socks5-hostname. With Happy Eyeballs the IPv4 attempt
starts 250 ms after the hanging IPv6 one (or at once after the refused one) and wins, long before the
connect timeout; without it the gateway would sit on the IPv6 address until the timeout.
"""

from __future__ import annotations

import time
import unittest

from testnet import PYTHON, TestNetwork, require_tools, streamgate_bin

HTTP_PORT = 8080
CLOSED_PORT = 9  # nothing listens there on origin4: RST
SOCKS_PORT = 1080
CONNECT_TIMEOUT_S = 4  # long enough that waiting for it is obvious, short enough to keep the test quick
PAGE = "happy eyeballs page\n" * 32
BLACKHOLE = "2001:2:0:99::/64"


class GatewayHappyEyeballs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_tools("curl")
        cls.bin = streamgate_bin()
        cls.net = TestNetwork().start()
        cls.addClassCleanup(cls.net.close)
        net = cls.net
        cls.origin4 = net.addr("origin4", 4)
        cls.gw6 = net.addr("gw", 6, peer="client6")

        net.blackhole("gw", BLACKHOLE)
        net.add_name("dual.test", ["2001:2:0:99::1", cls.origin4], hosts=["gw"])
        net.add_name("refused.test", [net.addr("origin6", 6), cls.origin4], hosts=["gw"])
        net.add_name("dead.test", ["2001:2:0:99::2", cls.origin4], hosts=["gw"])

        root = net.make_dir("www", {"page.txt": PAGE})
        net.start_peer("origin4", [PYTHON, "-m", "http.server", "--bind", cls.origin4,
                                   "--directory", str(root), str(HTTP_PORT)], name="http-origin4", ready=None)
        net.wait_port("origin4", cls.origin4, HTTP_PORT)
        cls.gateway = cls._start_gateway(SOCKS_PORT, "streamgate")

    @classmethod
    def _start_gateway(cls, port: int, name: str, *extra: str):
        cfg = cls.net.write_file(f"{name}.toml", "\n".join([
            "[gateway]",
            f'socks = ["[{cls.gw6}]:{port}"]',
            'allow = ["2001:2::/48"]',
            f"connect_timeout_s = {CONNECT_TIMEOUT_S}",
            "",
        ]))
        peer = cls.net.start_peer("gw", [cls.bin, "gateway", "--config", str(cfg), *extra], name=name,
                                  ready=None)
        cls.net.wait_port("gw", cls.gw6, port)
        return peer

    def curl(self, port: int, url: str, proxy_flag: str = "--socks5-hostname"):
        """curl from client6 through the gateway on `port` (by default the gateway resolves the name);
        returns (completed process, seconds)."""
        started = time.monotonic()
        argv = ["curl", "-sS", "--max-time", "20", proxy_flag, f"[{self.gw6}]:{port}", url]
        cp = self.net.run("client6", argv, check=False, timeout=30)
        return cp, time.monotonic() - started

    def session_line(self, peer, needle: str, timeout: float = 5.0) -> str:
        """The last session-end line of `peer`'s log that contains `needle` (waits for it to appear)."""
        deadline = time.monotonic() + timeout
        while True:
            lines = [l for l in peer.log_text().splitlines() if "session-end" in l and needle in l]
            if lines:
                return lines[-1]
            if time.monotonic() > deadline:
                self.fail(f"no session-end line with {needle!r}:\n{peer.log_text()}")
            time.sleep(0.1)

    # ----- Happy Eyeballs (default policy: any) -----

    def test_blackhole_really_swallows_connects(self):
        # Without this the fallback tests below could pass for the wrong reason (an instant IPv6 error).
        self.assertEqual(self.net.tcp_probe("gw", "2001:2:0:99::1", HTTP_PORT, timeout=1), "timeout")

    def test_blackholed_ipv6_address_falls_back_to_ipv4_quickly(self):
        cp, seconds = self.curl(SOCKS_PORT, f"http://dual.test:{HTTP_PORT}/page.txt")
        self.assertEqual(cp.returncode, 0, cp.stderr + self.net.peer_logs())
        self.assertEqual(cp.stdout, PAGE)
        self.assertLess(seconds, 2.0, "the gateway waited for the blackholed IPv6 address")
        line = self.session_line(self.gateway, f"target=dual.test:{HTTP_PORT}")
        self.assertIn(f"resolved={self.origin4}:{HTTP_PORT}", line)
        self.assertIn("rep=succeeded", line)

    def test_refused_ipv6_address_falls_back_at_once(self):
        cp, seconds = self.curl(SOCKS_PORT, f"http://refused.test:{HTTP_PORT}/page.txt")
        self.assertEqual(cp.returncode, 0, cp.stderr + self.net.peer_logs())
        self.assertEqual(cp.stdout, PAGE)
        self.assertLess(seconds, 2.0)
        line = self.session_line(self.gateway, f"target=refused.test:{HTTP_PORT}")
        self.assertIn(f"resolved={self.origin4}:{HTTP_PORT}", line)

    def test_total_failure_reports_the_most_informative_error(self):
        # IPv6 times out, IPv4 is refused: the refusal says more about the target (REP 0x05).
        cp, seconds = self.curl(SOCKS_PORT, f"http://dead.test:{CLOSED_PORT}/")
        self.assertEqual(cp.returncode, 97, cp.stderr)  # CURLE_PROXY
        self.assertRegex(cp.stderr, r"\(5\)")  # curl 7.88 prints the REP code
        self.assertGreaterEqual(seconds, CONNECT_TIMEOUT_S - 0.5)  # the IPv6 attempt had its chance
        line = self.session_line(self.gateway, f"target=dead.test:{CLOSED_PORT}")
        self.assertIn("rep=connection_refused", line)
        self.assertIn(f"resolved={self.origin4}:{CLOSED_PORT}", line)
        self.assertIn(f"[2001:2:0:99::2]:{CLOSED_PORT}", line)  # both failures are in the log line
        self.assertIn("timed out", line)

    # ----- family policy -----

    def _policy_gateway(self, policy: str, port: int):
        peer = self._start_gateway(port, f"streamgate-{policy}", "--family-policy", policy)
        self.addCleanup(peer.stop)
        return peer

    def test_ipv6_only_never_tries_ipv4(self):
        peer = self._policy_gateway("ipv6-only", SOCKS_PORT + 1)
        cp, seconds = self.curl(SOCKS_PORT + 1, f"http://dual.test:{HTTP_PORT}/page.txt")
        self.assertEqual(cp.returncode, 97, cp.stderr)
        self.assertRegex(cp.stderr, r"\(4\)")  # host unreachable: the only address timed out
        self.assertGreaterEqual(seconds, CONNECT_TIMEOUT_S - 0.5)
        line = self.session_line(peer, f"target=dual.test:{HTTP_PORT}")
        self.assertIn("rep=host_unreachable", line)
        self.assertNotIn(self.origin4, line)

        # An IPv4 literal is refused outright: REP 0x03, this gateway has no IPv4 network for the client.
        cp, seconds = self.curl(SOCKS_PORT + 1, f"http://{self.origin4}:{HTTP_PORT}/page.txt", "--socks5")
        self.assertEqual(cp.returncode, 97, cp.stderr)
        self.assertRegex(cp.stderr, r"\(3\)")
        self.assertLess(seconds, 2.0)
        line = self.session_line(peer, f"target={self.origin4}:{HTTP_PORT}")
        self.assertIn("rep=network_unreachable", line)

    def test_ipv4_only_skips_the_blackholed_ipv6_address(self):
        peer = self._policy_gateway("ipv4-only", SOCKS_PORT + 2)
        cp, seconds = self.curl(SOCKS_PORT + 2, f"http://dual.test:{HTTP_PORT}/page.txt")
        self.assertEqual(cp.returncode, 0, cp.stderr + peer.log_text())
        self.assertEqual(cp.stdout, PAGE)
        line = self.session_line(peer, f"target=dual.test:{HTTP_PORT}")
        self.assertIn(f"resolved={self.origin4}:{HTTP_PORT}", line)
        self.assertLess(seconds, 2.0)

        origin6 = self.net.addr("origin6", 6)
        cp, _ = self.curl(SOCKS_PORT + 2, f"http://[{origin6}]:{HTTP_PORT}/", "--socks5")
        self.assertEqual(cp.returncode, 97, cp.stderr)
        self.assertRegex(cp.stderr, r"\(3\)")
        self.assertIn("rep=network_unreachable", self.session_line(peer, f"target=[{origin6}]:{HTTP_PORT}"))


if __name__ == "__main__":
    unittest.main()

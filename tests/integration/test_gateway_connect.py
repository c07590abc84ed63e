"""SOCKS5 CONNECT through `streamgate gateway` across address families, driven by curl.

An IPv6-only client reaches an IPv4-only HTTP origin through the dual-stack gateway (forwarding off, so the
gateway is the only way across), and an IPv4-only client reaches an IPv6-only origin; by literal address
(--socks5) and by name resolved on the gateway (--socks5-hostname).
"""

from __future__ import annotations

import hashlib
import os
import re
import time
import unittest

from testnet import PYTHON, TestNetwork, require_tools, streamgate_bin

SOCKS_PORT = 1080
HTTP_PORT = 8080
PAGE = "streamgate integration page\n" * 64
BIG_SIZE = 20 * 1024 * 1024


class GatewayConnect(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_tools("curl")
        cls.bin = streamgate_bin()
        cls.net = TestNetwork().start()
        try:
            cls._start_origins()
            cls._start_gateway()
        except BaseException:
            cls.net.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.net.close()

    @classmethod
    def _start_origins(cls):
        big = bytes((i * 7 + 3) % 251 for i in range(65536)) * (BIG_SIZE // 65536)
        cls.big_sha = hashlib.sha256(big).hexdigest()
        root = cls.net.make_dir("www", {"page.txt": PAGE, "big.bin": big})
        for host, family in (("origin4", 4), ("origin6", 6)):
            cls.net.start_peer(host, [PYTHON, "-m", "http.server", "--bind", cls.net.addr(host, family),
                                      "--directory", str(root), str(HTTP_PORT)],
                               name=f"http-{host}", ready=None)
            cls.net.wait_port(host, cls.net.addr(host, family), HTTP_PORT)

    @classmethod
    def _start_gateway(cls):
        net = cls.net
        cls.gw6 = net.addr("gw", 6, peer="client6")
        cls.gw4 = net.addr("gw", 4, peer="client4")
        cls.gateway = net.start_peer("gw", [cls.bin, "gateway", "--socks", f"[{cls.gw6}]:{SOCKS_PORT}",
                                            "--socks", f"{cls.gw4}:{SOCKS_PORT}",
                                            "--allow", "2001:2::/48", "--allow", "198.18.0.0/15"],
                                     name="streamgate", ready=None)
        net.wait_port("gw", cls.gw6, SOCKS_PORT)
        net.wait_port("gw", cls.gw4, SOCKS_PORT)

    def curl(self, client, proxy_flag, proxy, url, *extra, check=True):
        return self.net.run(client, ["curl", "-sS", "--max-time", "20", proxy_flag, proxy, *extra, url],
                            check=check, timeout=30)

    def session_lines(self, needle, timeout=5.0):
        """session-end lines of the gateway's log that contain `needle` (waits for the line to appear)."""
        deadline = time.monotonic() + timeout
        while True:
            lines = [l for l in self.gateway.log_text().splitlines() if "session-end" in l and needle in l]
            if lines or time.monotonic() > deadline:
                return lines
            time.sleep(0.1)

    def test_ipv6_client_reaches_ipv4_origin_by_literal(self):
        cp = self.curl("client6", "--socks5", f"[{self.gw6}]:{SOCKS_PORT}",
                       f"http://{self.net.addr('origin4', 4)}:{HTTP_PORT}/page.txt")
        self.assertEqual(cp.stdout, PAGE)

    def test_ipv6_client_reaches_ipv4_origin_by_name(self):
        cp = self.curl("client6", "--socks5-hostname", f"[{self.gw6}]:{SOCKS_PORT}",
                       f"http://origin4.test:{HTTP_PORT}/page.txt")
        self.assertEqual(cp.stdout, PAGE)
        lines = self.session_lines("target=origin4.test:8080")
        self.assertTrue(lines, self.gateway.log_text())
        line = lines[-1]
        self.assertIn(f"resolved={self.net.addr('origin4', 4)}:{HTTP_PORT}", line)
        self.assertIn("cmd=connect", line)
        self.assertIn("rep=succeeded", line)
        self.assertRegex(line, r"client=\[2001:2:0:2::2\]:\d+")
        down = int(re.search(r" down=(\d+)", line).group(1))
        self.assertGreater(down, len(PAGE))  # the page plus HTTP headers
        self.assertRegex(line, r"duration=\d+\.\d{3}s")

    def test_ipv4_client_reaches_ipv6_origin_by_literal_and_name(self):
        origin6 = self.net.addr("origin6", 6)
        for flag, url in (("--socks5", f"http://[{origin6}]:{HTTP_PORT}/page.txt"),
                          ("--socks5-hostname", f"http://origin6.test:{HTTP_PORT}/page.txt")):
            with self.subTest(flag=flag):
                cp = self.curl("client4", flag, f"{self.gw4}:{SOCKS_PORT}", url)
                self.assertEqual(cp.stdout, PAGE)

    def test_large_transfer_is_intact(self):
        out = self.net.tmpdir / "big.out"
        self.curl("client6", "--socks5-hostname", f"[{self.gw6}]:{SOCKS_PORT}",
                  f"http://origin4.test:{HTTP_PORT}/big.bin", "-o", str(out))
        self.assertEqual(out.stat().st_size, BIG_SIZE)
        self.assertEqual(hashlib.sha256(out.read_bytes()).hexdigest(), self.big_sha)

    def test_without_the_gateway_the_client_cannot_reach_the_origin(self):
        cp = self.net.run("client6", ["curl", "-sS", "--max-time", "3", f"http://origin4.test:{HTTP_PORT}/"],
                          check=False)
        self.assertNotEqual(cp.returncode, 0)

    def test_unknown_name_gets_host_unreachable(self):
        cp = self.curl("client6", "--socks5-hostname", f"[{self.gw6}]:{SOCKS_PORT}",
                       f"http://no-such-origin.test:{HTTP_PORT}/", check=False)
        self.assertEqual(cp.returncode, 97, cp.stderr)  # curl: CURLE_PROXY
        self.assertTrue(self.session_lines("target=no-such-origin.test:8080"))
        self.assertIn("rep=host_unreachable", self.session_lines("target=no-such-origin.test")[-1])

    def test_refused_port_gets_connection_refused(self):
        cp = self.curl("client6", "--socks5", f"[{self.gw6}]:{SOCKS_PORT}",
                       f"http://{self.net.addr('origin4', 4)}:9/", check=False)
        self.assertEqual(cp.returncode, 97, cp.stderr)
        self.assertIn("rep=connection_refused", self.session_lines(f"target={self.net.addr('origin4', 4)}:9")[-1])

    def gateway_fds(self):
        """Sockets the gateway holds. Pipes are left out: the splice pipe pool keeps spare ones open by design."""
        fd_dir = f"/proc/{self.gateway.pid}/fd"
        count = 0
        for fd in os.listdir(fd_dir):
            try:
                count += os.readlink(f"{fd_dir}/{fd}").startswith("socket:")
            except FileNotFoundError:
                pass  # closed while we looked
        return count

    def test_bad_handshakes_get_closed_without_leaks_while_a_good_session_runs(self):
        # A slow, valid download runs through the gateway while garbage arrives on other connections.
        out = self.net.tmpdir / "during-garbage.out"
        good = self.net.popen("client6", ["curl", "-sS", "--max-time", "30", "--limit-rate", "4M", "-o", str(out),
                                          "--socks5-hostname", f"[{self.gw6}]:{SOCKS_PORT}",
                                          f"http://origin4.test:{HTTP_PORT}/big.bin"])
        time.sleep(0.3)
        baseline = self.gateway_fds()
        garbage = [
            b"\x05",                                   # truncated greeting (then close)
            b"\x05\x01\x00\x05\x01\x00\x03",          # truncated request
            b"\x05\x01\x00\x05\x01\x00\x03\x00\x00\x50",  # empty domain name
            b"\x05\x01\x00\x05\x01\x00\x09" + b"\x00" * 6,  # unknown ATYP -> REP 0x08
            b"\x04\x01\x00\x50\x7f\x00\x00\x01\x00",    # SOCKS4
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",          # not SOCKS at all
            bytes(range(256)) * 16,                     # oversized random bytes
        ]
        script = (
            "import socket, sys\n"
            "for payload in [bytes.fromhex(h) for h in sys.argv[3:]]:\n"
            "    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)\n"
            "    try:\n"
            "        s.sendall(payload)\n"
            "        s.shutdown(socket.SHUT_WR)\n"
            "        while s.recv(4096):\n"
            "            pass\n"
            "    except OSError:\n"
            "        pass\n"
            "    s.close()\n"
        )
        self.net.run("client6", [PYTHON, "-c", script, self.gw6, str(SOCKS_PORT), *[g.hex() for g in garbage]],
                     timeout=30)
        self.assertEqual(good.wait(timeout=40), 0, "the valid session was disturbed")
        self.assertEqual(out.stat().st_size, BIG_SIZE)
        deadline = time.monotonic() + 5
        while self.gateway_fds() > baseline - 2 and time.monotonic() < deadline:  # the download's 2 fds close too
            time.sleep(0.1)
        self.assertLessEqual(self.gateway_fds(), baseline - 2, "descriptors leaked after bad handshakes")
        self.assertIsNone(self.gateway.proc.poll())

    def test_default_config_refuses_non_loopback_clients(self):
        # A second gateway listening on the client-facing address, but with the default (loopback-only) ACL.
        port = SOCKS_PORT + 1
        strict = self.net.start_peer("gw", [self.bin, "gateway", "--socks", f"[{self.gw6}]:{port}"],
                                     name="streamgate-default-acl", ready=None)
        self.net.wait_port("gw", self.gw6, port)
        cp = self.curl("client6", "--socks5", f"[{self.gw6}]:{port}",
                       f"http://{self.net.addr('origin4', 4)}:{HTTP_PORT}/page.txt", check=False)
        # Closed at accept, before the greeting is read: curl gets no method selection at all (no REP).
        self.assertEqual(cp.returncode, 97, cp.stderr)
        self.assertNotRegex(cp.stderr, r"\(2\)")
        self.assertEqual(self.net.stop(strict.proc), 0)  # SIGTERM: clean exit
        self.assertIn("not in the allow-list", strict.log_text())


if __name__ == "__main__":
    unittest.main()

"""SOCKS5 BIND through `streamgate gateway` across address families (RFC 1928 section 4).

An IPv6-only client asks the gateway to BIND for an IPv4-only peer: the first reply must name the gateway's
IPv4 address on the peer's link, the peer connects there, the second reply names the peer, and data flows both
ways through the gateway (which does not forward, so it is the only way across). The same the other way round
(IPv4 client, IPv6 peer). Also: a connection from someone else is closed while the named peer still gets in,
and the failure REPs (unreachable network, unknown name, peer never coming).
"""

from __future__ import annotations

import hashlib
import re
import time
import unittest

from testnet import PEERS, PYTHON, TestNetwork, streamgate_bin

SOCKS_PORT = 1080
CONNECT_TIMEOUT_S = 3  # also bounds the gateway's wait for the peer
CLIENT = PEERS / "socks5_bind_client.py"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class GatewayBind(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.bin = streamgate_bin()
        cls.net = TestNetwork().start()
        cls.addClassCleanup(cls.net.close)
        net = cls.net
        cls.gw6 = net.addr("gw", 6, peer="client6")
        cls.gw4 = net.addr("gw", 4, peer="client4")
        cfg = net.write_file("streamgate.toml", "\n".join([
            "[gateway]",
            f'socks = ["[{cls.gw6}]:{SOCKS_PORT}", "{cls.gw4}:{SOCKS_PORT}"]',
            'allow = ["2001:2::/48", "198.18.0.0/15"]',
            f"connect_timeout_s = {CONNECT_TIMEOUT_S}",
            "",
        ]))
        cls.gateway = net.start_peer("gw", [cls.bin, "gateway", "--config", str(cfg)], name="streamgate",
                                     ready=None)
        net.wait_port("gw", cls.gw6, SOCKS_PORT)
        net.wait_port("gw", cls.gw4, SOCKS_PORT)

    # ----- helpers -----

    def start_bind(self, client: str, proxy: str, peer: str, *extra: str, name: str):
        return self.net.start_peer(client, [PYTHON, CLIENT, "bind", "--proxy", proxy, "--proxy-port",
                                            str(SOCKS_PORT), "--peer", peer, *extra],
                                   name=name, ready="BOUND", timeout=15)

    def finish(self, peer, timeout: float = 20.0) -> dict[str, list[str]]:
        """Waits for a bind client to exit; returns its output lines keyed by their first word."""
        rc = peer.proc.wait(timeout=timeout)
        lines: dict[str, list[str]] = {}
        for line in peer.log_text().splitlines():
            word, _, rest = line.partition(" ")
            lines.setdefault(word, []).append(rest)
        self.assertIn(rc, (0, 3), f"bind client exited with {rc}:\n{self.net.peer_logs()}")
        return lines

    def connect_peer(self, host: str, addr: str, port: int, *extra: str, check: bool = True):
        return self.net.run(host, [PYTHON, CLIENT, "connect", "--host", addr, "--port", str(port), *extra],
                            timeout=30, check=check)

    def session_line(self, needle: str, timeout: float = 5.0) -> str:
        """The last session-end line of the gateway's log containing `needle` (waits for it)."""
        deadline = time.monotonic() + timeout
        while True:
            lines = [l for l in self.gateway.log_text().splitlines() if "session-end" in l and needle in l]
            if lines:
                return lines[-1]
            if time.monotonic() > deadline:
                self.fail(f"no session-end line with {needle!r}:\n{self.gateway.log_text()}")
            time.sleep(0.1)

    def bind_across(self, client: str, proxy: str, origin: str, family: int, peer_arg: str):
        net = self.net
        up = b"client says hello " * 4096  # 72 KiB, more than one relay buffer
        down = b"peer answers " * 8192
        bind = self.start_bind(client, proxy, peer_arg, "--send", "client says hello ", "--repeat", "4096",
                               name=f"bind-{client}")
        bound_addr, bound_port = bind.ready_line.split()[1:3]
        # The first reply names the gateway's address on the link to the peer, in the peer's family.
        self.assertEqual(bound_addr, net.addr("gw", family, peer=origin))

        cp = self.connect_peer(origin, bound_addr, int(bound_port), "--send", "peer answers ", "--repeat",
                               "8192")
        peer_lines = dict(line.split(" ", 1) for line in cp.stdout.splitlines())
        local_addr, local_port = peer_lines["LOCAL"].split()
        self.assertEqual(local_addr, net.addr(origin, family))
        self.assertEqual(peer_lines["RECEIVED"], f"{len(up)} {sha256(up)}")

        out = self.finish(bind)
        self.assertEqual(out.get("PEER"), [f"{local_addr} {local_port}"], net.peer_logs())
        self.assertEqual(out.get("RECEIVED"), [f"{len(down)} {sha256(down)}"], net.peer_logs())
        return local_addr, local_port, len(up), len(down)

    # ----- tests -----

    def test_ipv6_client_binds_for_ipv4_peer(self):
        origin4 = self.net.addr("origin4", 4)
        addr, port, up, down = self.bind_across("client6", self.gw6, "origin4", 4, origin4)
        line = self.session_line(f"resolved={addr}:{port}")
        self.assertIn("cmd=bind", line)
        self.assertIn(f"target={origin4}:0", line)
        self.assertIn("rep=succeeded", line)
        self.assertRegex(line, r"client=\[2001:2:0:2::2\]:\d+")
        self.assertEqual(int(re.search(r" up=(\d+)", line).group(1)), up)
        self.assertEqual(int(re.search(r" down=(\d+)", line).group(1)), down)

    def test_ipv4_client_binds_for_ipv6_peer(self):
        self.bind_across("client4", self.gw4, "origin6", 6, self.net.addr("origin6", 6))

    def test_peer_named_by_dns_name_resolved_on_the_gateway(self):
        addr, port, _, _ = self.bind_across("client6", self.gw6, "origin4", 4, self.net.name("origin4"))
        self.assertIn("target=origin4.test:0", self.session_line(f"resolved={addr}:{port}"))

    def test_someone_else_is_turned_away_and_the_peer_still_gets_in(self):
        net = self.net
        bind = self.start_bind("client6", self.gw6, net.addr("origin4", 4), "--send", "secret",
                               name="bind-intruder")
        bound_addr, bound_port = bind.ready_line.split()[1:3]
        # client4 reaches the gateway's origin4-link address too (it is a local address of gw), but it is not
        # the peer named in the request: the gateway closes it without a byte.
        cp = self.connect_peer("client4", bound_addr, int(bound_port), check=False)
        self.assertRegex(cp.stdout, rf"RECEIVED 0 {sha256(b'')}|ERROR (ECONNRESET|EPIPE)", cp.stderr)
        cp = self.connect_peer("origin4", bound_addr, int(bound_port), "--send", "ok")
        self.assertIn(f"RECEIVED 6 {sha256(b'secret')}", cp.stdout)
        out = self.finish(bind)
        self.assertEqual(out.get("RECEIVED"), [f"2 {sha256(b'ok')}"], net.peer_logs())
        line = self.session_line("1 unexpected connection(s) closed")
        self.assertIn("rep=succeeded", line)
        self.assertIn("bind: closed connection from unexpected 198.18.1.2:", self.gateway.log_text())

    def test_network_without_a_route_gets_network_unreachable(self):
        # gw has no route to 2001:db8::/32 (only its links; forwarding is off and it has no default route).
        cp = self.net.run("client4", [PYTHON, CLIENT, "bind", "--proxy", self.gw4, "--peer", "2001:db8::1"],
                          check=False, timeout=30)
        self.assertEqual(cp.returncode, 3, cp.stdout + cp.stderr)
        self.assertIn("REPLY 3 network_unreachable", cp.stdout)
        self.assertIn("rep=network_unreachable", self.session_line("target=[2001:db8::1]:0"))

    def test_unknown_name_gets_host_unreachable(self):
        cp = self.net.run("client6", [PYTHON, CLIENT, "bind", "--proxy", self.gw6, "--peer", "no-such-peer.test"],
                          check=False, timeout=30)
        self.assertEqual(cp.returncode, 3, cp.stdout + cp.stderr)
        self.assertIn("REPLY 4 host_unreachable", cp.stdout)

    def test_peer_that_never_connects_gets_host_unreachable_in_time(self):
        started = time.monotonic()
        cp = self.net.run("client6", [PYTHON, CLIENT, "bind", "--proxy", self.gw6, "--peer",
                                      self.net.addr("origin4", 4), "--peer-port", "4999"],
                          check=False, timeout=30)
        elapsed = time.monotonic() - started
        self.assertEqual(cp.returncode, 3, cp.stdout + cp.stderr)
        self.assertRegex(cp.stdout, r"BOUND 198\.18\.3\.1 \d+\nREPLY 4 host_unreachable")
        self.assertGreaterEqual(elapsed, CONNECT_TIMEOUT_S - 0.5)
        self.assertLess(elapsed, CONNECT_TIMEOUT_S + 10)
        self.assertIn("the peer did not connect in time", self.session_line(":4999 "))


if __name__ == "__main__":
    unittest.main()

"""SOCKS5 UDP ASSOCIATE through `streamgate gateway` across address families (RFC 1928 sections 4, 6, 7).

An IPv6-only client exchanges datagrams with a UDP echo server on an IPv4-only origin through the dual-stack
gateway (forwarding off, so the relay is the only way across), and an IPv4-only client with an IPv6-only
origin; by literal address and by name resolved on the gateway. Datagrams sent at the relay by anyone but
the associated client (another port on the client's host, another host) must not be relayed. Dante's
client library (socksify) is tried too, on the IPv4 client, when it is installed.
"""

from __future__ import annotations

import json
import os
import re
import time
import unittest

from testnet import PEERS, PYTHON, TestNetwork, require_tools, streamgate_bin

SOCKS_PORT = 1080
ECHO_PORT = 7007
CLIENT = str(PEERS / "socks5_udp_client.py")


class GatewayUdp(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.bin = streamgate_bin()
        cls.net = TestNetwork().start()
        cls.addClassCleanup(cls.net.close)
        net = cls.net
        cls.echo = {}
        for host, family in (("origin4", 4), ("origin6", 6)):
            cls.echo[host] = net.start_peer(host, [PYTHON, CLIENT, "echo", "--bind", net.addr(host, family),
                                                   "--port", str(ECHO_PORT)], name=f"echo-{host}")
        cls.gw6 = net.addr("gw", 6, peer="client6")
        cls.gw4 = net.addr("gw", 4, peer="client4")
        cls.gateway = net.start_peer("gw", [cls.bin, "gateway", "--socks", f"[{cls.gw6}]:{SOCKS_PORT}",
                                            "--socks", f"{cls.gw4}:{SOCKS_PORT}", "--allow", "2001:2::/48",
                                            "--allow", "198.18.0.0/15", "--log-level", "debug"],
                                     name="streamgate", ready=None)
        net.wait_port("gw", cls.gw6, SOCKS_PORT)
        net.wait_port("gw", cls.gw4, SOCKS_PORT)
        cls.proxy = {"client6": f"[{cls.gw6}]:{SOCKS_PORT}", "client4": f"{cls.gw4}:{SOCKS_PORT}"}

    # ----- helpers -----

    def exchange(self, client: str, target: str, count: int = 20, size: int = 200, check: bool = True,
                 timeout: float = 3.0) -> dict:
        cp = self.net.run(client, [PYTHON, CLIENT, "exchange", "--proxy", self.proxy[client], "--target", target,
                                   "--count", str(count), "--size", str(size), "--timeout", str(timeout)],
                          check=False, timeout=60)
        if check:
            self.assertEqual(cp.returncode, 0, f"{cp.stdout}\n{cp.stderr}\n{self.gateway.log_text()[-3000:]}")
        return json.loads(cp.stdout.strip().splitlines()[-1])

    def session_line(self, *needles: str, timeout: float = 5.0) -> str:
        """The last session-end line of the gateway's log containing every needle (waits for it)."""
        deadline = time.monotonic() + timeout
        while True:
            lines = [l for l in self.gateway.log_text().splitlines()
                     if "session-end" in l and all(n in l for n in needles)]
            if lines:
                return lines[-1]
            if time.monotonic() > deadline:
                self.fail(f"no session-end line with {needles!r}:\n{self.gateway.log_text()[-3000:]}")
            time.sleep(0.1)

    def check_session(self, summary: dict, resolved: str, count: int, size: int) -> None:
        line = self.session_line(f"client={summary['control']} ")
        self.assertIn("cmd=udp_associate", line)
        self.assertIn("rep=succeeded", line)
        self.assertIn(f"resolved={resolved}", line)
        self.assertIn(f"up={count * size} down={count * size}", line)  # payload bytes, headers not counted
        self.assertIn(f'end="closed; datagrams up={count} down={count} dropped=0"', line)

    def relay_sockets(self) -> str:
        return self.net.run("gw", ["ss", "-H", "-u", "-a", "-n"]).stdout

    # ----- across families -----

    def test_ipv6_client_reaches_ipv4_echo_by_literal(self):
        origin4 = self.net.addr("origin4", 4)
        summary = self.exchange("client6", f"{origin4}:{ECHO_PORT}")
        self.assertEqual(summary["matched"], 20)
        self.assertEqual(summary["bnd"].rsplit(":", 1)[0], f"[{self.gw6}]")  # the control connection's address
        self.assertEqual(summary["relay_source"], [summary["bnd"]])
        self.assertEqual(summary["reply_from"], [f"{origin4}:{ECHO_PORT}"])
        self.check_session(summary, f"{origin4}:{ECHO_PORT}", 20, 200)
        # The association ended with its control connection: the relay socket is gone.
        relay_port = summary["bnd"].rsplit(":", 1)[1]
        self.assertNotRegex(self.relay_sockets(), rf"\[?{re.escape(self.gw6)}\]?:{relay_port}\s")

    def test_ipv6_client_reaches_ipv4_echo_by_name(self):
        origin4 = self.net.addr("origin4", 4)
        summary = self.exchange("client6", f"origin4.test:{ECHO_PORT}")
        self.assertEqual(summary["matched"], 20)
        self.assertEqual(summary["reply_from"], [f"{origin4}:{ECHO_PORT}"])  # replies name the address
        self.check_session(summary, f"{origin4}:{ECHO_PORT}", 20, 200)

    def test_ipv4_client_reaches_ipv6_echo_by_literal_and_name(self):
        origin6 = self.net.addr("origin6", 6)
        for target in (f"[{origin6}]:{ECHO_PORT}", f"origin6.test:{ECHO_PORT}"):
            with self.subTest(target=target):
                summary = self.exchange("client4", target)
                self.assertEqual(summary["matched"], 20)
                self.assertEqual(summary["bnd"].rsplit(":", 1)[0], self.gw4)
                self.assertEqual(summary["reply_from"], [f"[{origin6}]:{ECHO_PORT}"])
                self.check_session(summary, f"[{origin6}]:{ECHO_PORT}", 20, 200)

    def test_large_datagrams_cross_intact(self):
        # 8000 bytes: fragmented by IP on the 1500-byte links both ways, reassembled by the kernels.
        summary = self.exchange("client6", f"origin4.test:{ECHO_PORT}", count=5, size=8000)
        self.assertEqual(summary["matched"], 5)

    def test_unknown_name_is_dropped_and_counted(self):
        summary = self.exchange("client6", f"no-such-origin.test:{ECHO_PORT}", count=3, check=False, timeout=0.5)
        self.assertEqual(summary["matched"], 0)
        line = self.session_line(f"client={summary['control']} ")
        self.assertIn('end="closed; datagrams up=0 down=0 dropped=3"', line)
        self.assertIn("resolved=-", line)

    # ----- who may send -----

    def _hold(self, client: str, target: str):
        peer = self.net.start_peer(client, [PYTHON, CLIENT, "hold", "--proxy", self.proxy[client], "--target",
                                            target, "--interval", "0.1", "--duration", "30"],
                                   name=f"hold-{client}")
        fields = dict(kv.split("=", 1) for kv in peer.ready_line.split()[1:])
        return peer, fields["bnd"], fields["control"]

    def _echo_count(self, line_text: str) -> int:
        return sum(1 for l in line_text.splitlines() if l.startswith("ECHO "))

    def _check_not_relayed(self, hold, injector_host: str, relay: str, target: str, payload: str) -> None:
        before = self._echo_count(hold.log_text())
        cp = self.net.run(injector_host, [PYTHON, CLIENT, "inject", "--relay", relay, "--target", target,
                                          "--payload", payload, "--wait", "1.0"], timeout=20)
        self.assertEqual(cp.stdout.strip(), "NOTHING")
        time.sleep(0.5)
        # The association is still alive and relaying the real client's ticks...
        deadline = time.monotonic() + 5
        while self._echo_count(hold.log_text()) < before + 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertGreaterEqual(self._echo_count(hold.log_text()), before + 3, hold.log_text())
        # ...but the injected datagram reached neither the echo server nor, via its echo, the client.
        for host in ("origin4", "origin6"):
            self.assertNotIn(payload, self.echo[host].log_text())
        self.assertNotIn("UNEXPECTED", hold.log_text())

    def test_datagrams_from_another_port_or_host_are_not_relayed(self):
        target = f"{self.net.addr('origin4', 4)}:{ECHO_PORT}"
        hold, relay, control = self._hold("client6", target)
        try:
            # Another program on the client's own host (same address, another port).
            self._check_not_relayed(hold, "client6", relay, target, "SPOOF-other-port")
        finally:
            self.assertEqual(self.net.stop(hold.proc), 0)
        self.assertIn("DONE", hold.log_text())
        self.assertRegex(self.session_line(f"client={control} "), r"dropped=1\"")

        target6 = f"[{self.net.addr('origin6', 6)}]:{ECHO_PORT}"
        hold, relay, control = self._hold("client4", target6)
        try:
            # Another host altogether: origin4 reaches gw's client4-link address (local delivery on gw).
            self._check_not_relayed(hold, "origin4", relay, target6, "SPOOF-other-host")
            self._check_not_relayed(hold, "client4", relay, target6, "SPOOF-other-port-v4")
        finally:
            self.assertEqual(self.net.stop(hold.proc), 0)
        self.assertRegex(self.session_line(f"client={control} "), r"dropped=2\"")

    # ----- Dante's client library -----

    def test_dante_socksify_udp_exchange(self):
        require_tools("socksify")  # Dante's client
        conf = self.net.write_file("dante.conf", (
            "route {\n"
            f"  from: 0.0.0.0/0 to: 0.0.0.0/0 via: {self.gw4} port = {SOCKS_PORT}\n"
            "  protocol: tcp udp\n"
            "  proxyprotocol: socks_v5\n"
            "  method: none\n"
            "}\n"))
        # A plain UDP exchange; socksify routes its sendto/recvfrom through a UDP ASSOCIATE.
        program = (
            "import socket, sys\n"
            "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            "s.settimeout(5)\n"
            "ok = 0\n"
            "for i in range(5):\n"
            "    msg = b'dante-%d' % i\n"
            "    s.sendto(msg, (sys.argv[1], int(sys.argv[2])))\n"
            "    data, src = s.recvfrom(2048)\n"
            "    ok += data == msg\n"
            "print('OK', ok)\n")
        # client4 and origin4 are both IPv4-only but cannot reach each other (gw does not forward): only the
        # relay connects them.
        origin4 = self.net.addr("origin4", 4)
        env = dict(os.environ, SOCKS_CONF=str(conf))
        cp = self.net.run("client4", ["socksify", PYTHON, "-c", program, origin4, str(ECHO_PORT)],
                          check=False, timeout=30, env=env)
        self.assertEqual(cp.returncode, 0, f"{cp.stdout}\n{cp.stderr}\n{self.gateway.log_text()[-2000:]}")
        self.assertEqual(cp.stdout.strip(), "OK 5")
        self.assertIn("dante-4", self.echo["origin4"].log_text())
        line = self.session_line(f"client={self.net.addr('client4', 4)}:", "cmd=udp_associate",
                                 f"resolved={origin4}:{ECHO_PORT}")
        self.assertIn("datagrams up=5 down=5", line)


if __name__ == "__main__":
    unittest.main()

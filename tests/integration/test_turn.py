"""STUN and TURN through `streamgate turn`, driven by coturn's own clients (RFC 8489, RFC 8656).

The server runs on gw (dual-stack, forwarding off): it listens on gw's addresses towards client4 and client6
and relays from its addresses towards origin4 and origin6, where turnutils_peer echoes every datagram. Since
gw does not forward, a datagram from a client reaches a peer only through a TURN allocation.

  - turnutils_stunclient learns its own (client4's, client6's) address from a Binding;
  - turnutils_natdiscovery finds client4's (absent) NAT endpoint-independent through RFC 5780 answers from
    gw's other address and port;
  - turnutils_uclient with long-term credentials relays to the peer and gets every message back: with
    channels (ChannelBind, ChannelData), with Send/Data indications (-s), with RTP/RTCP allocation pairs
    (EVEN-PORT, RESERVATION-TOKEN), with DONT-FRAGMENT (-g), over TCP to the server (-t), over TLS (-t -S,
    port 5349), over IPv6, and from an IPv4 client through an
    IPv6 relayed address to an IPv6 peer (-x, REQUESTED-ADDRESS-FAMILY) or with relayed addresses of both
    families (-Z, ADDITIONAL-ADDRESS-FAMILY);
  - a wrong password gets no allocation, and a loopback peer or one in a --denied-peer-ip range no permission;
  - a second server runs from a [turn] configuration file (check-config accepts it); after the file changes
    its users, SIGHUP swaps the credentials (the old password refused, the new users relay), and a broken
    file on SIGHUP keeps the old ones;
  - every allocation ends with one log line counting what went each way.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
import unittest

from testnet import PYTHON, TestNetwork, make_certificate, require_tools, streamgate_bin

TURN_PORT = 3478
TLS_PORT = 5349  # TURN over TLS (turns:)
ALLOCATE_TIMEOUT = 2  # --max-allocate-timeout: a TCP client without an allocation is closed after it
PEER_PORT = 3480
USER, PASSWORD, REALM = "alice", "wonderland", "streamgate.test"
ADMIN = "127.0.0.1:9136"
ADMIN_TOKEN = "turn-admin-token-0123456789"
DENIED_RANGE = "198.19.0.0/16"  # --denied-peer-ip: RFC 2544's other half, nothing of the test network


class Turn(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_tools("turnutils_stunclient", "turnutils_uclient", "turnutils_peer", "turnutils_natdiscovery")
        cls.bin = streamgate_bin()
        cls.net = TestNetwork().start()
        cls.addClassCleanup(cls.net.close)
        net = cls.net
        for host, family in (("origin4", 4), ("origin6", 6)):
            net.start_peer(host, ["turnutils_peer", "-p", str(PEER_PORT), "-L", net.addr(host, family)],
                           name=f"peer-{host}", ready=None)
            net.wait_port(host, net.addr(host, family), PEER_PORT, proto="udp")
        cls.gw4 = net.addr("gw", 4, peer="client4")
        cls.gw6 = net.addr("gw", 6, peer="client6")
        cls.token_file = token_file = net.write_file("admin.token", ADMIN_TOKEN + "\n")
        cls.cert, key = make_certificate(net.make_dir("certs"), "turn-test", [cls.gw4, cls.gw6])
        cls.server = net.start_peer("gw", [cls.bin, "turn", "--listening-ip", cls.gw4, "--listening-ip", cls.gw6,
                                           "--relay-ip", net.addr("gw", 4, peer="origin4"),
                                           "--relay-ip", net.addr("gw", 6, peer="origin6"),
                                           "--min-port", "50000", "--max-port", "50999",
                                           "--user", f"{USER}:{PASSWORD}", "--realm", REALM, "--lt-cred-mech",
                                           "--denied-peer-ip", DENIED_RANGE,
                                           "--admin", ADMIN, "--admin-token-file", str(token_file),
                                           "--cert", cls.cert, "--pkey", key,
                                           "--max-allocate-timeout", str(ALLOCATE_TIMEOUT),
                                           "--log-level", "debug"],
                                    name="streamgate", ready=None)
        for addr in (cls.gw4, cls.gw6):
            net.wait_port("gw", addr, TURN_PORT, proto="udp")
            net.wait_port("gw", addr, TURN_PORT, proto="tcp")
            net.wait_port("gw", addr, TLS_PORT, proto="tcp")
        net.wait_port("gw", "127.0.0.1", int(ADMIN.rsplit(":", 1)[1]))

    # ----- helpers -----

    def uclient(self, client: str, server: str, peer: str, *flags: str, password: str = PASSWORD,
                count: int = 20, length: int = 170, user: str = USER, port: int = TURN_PORT) -> tuple[int, str]:
        cp = self.net.run(client, ["turnutils_uclient", *flags, "-p", str(port), "-e", peer,
                                   "-r", str(PEER_PORT), "-u", user, "-w", password, "-n", str(count), "-m", "1",
                                   "-l", str(length), server], check=False, timeout=60)
        return cp.returncode, cp.stdout + cp.stderr

    def assert_relayed(self, rc: int, out: str, count: int = 20, sessions: tuple[int, ...] = (1,)) -> None:
        """Every message came back: `count` per session (an RTP/RTCP pair is two, when both sent)."""
        context = f"{out[-2000:]}\n--- server ---\n{self.server.log_text()[-3000:]}"
        self.assertEqual(rc, 0, context)
        m = re.search(r"start_mclient: tot_send_msgs=(\d+), tot_recv_msgs=(\d+)", out)
        self.assertIsNotNone(m, context)
        sent, received = int(m.group(1)), int(m.group(2))
        self.assertIn(sent, [count * n for n in sessions], context)
        self.assertEqual(received, sent, context)
        self.assertIn("Total lost packets 0", out, context)

    def allocation_ends(self) -> list[str]:
        return [l for l in self.server.log_text().splitlines() if "turn-allocation-end" in l]

    def wait_allocation_end(self, before: int, timeout: float = 5.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            ends = self.allocation_ends()
            if len(ends) > before:
                return ends[-1]
            if time.monotonic() > deadline:
                self.fail(f"no new turn-allocation-end line:\n{self.server.log_text()[-3000:]}")
            time.sleep(0.1)

    # ----- STUN -----

    def test_stunclient_learns_its_mapped_address(self):
        for client, server, family in (("client4", self.gw4, 4), ("client6", self.gw6, 6)):
            cp = self.net.run(client, ["turnutils_stunclient", "-p", str(TURN_PORT), server], timeout=30)
            mine = self.net.addr(client, family)  # printed without brackets, IPv6 too
            self.assertRegex(cp.stdout, rf"UDP reflexive addr: {re.escape(mine)}:\d+", cp.stdout)

    def test_nat_behaviour_discovery(self):
        # RFC 5780 with gw's two IPv4 addresses (towards client4 and origin4; client4 reaches both, gw is a
        # host on both links) and the ports 3488/3489. client4 has no NAT in front of it: both behaviours
        # come out endpoint-independent, learnt from answers sent from the other address and port.
        net = self.net
        second = net.addr("gw", 4, peer="origin4")
        server = net.start_peer("gw", [self.bin, "turn", "--listening-ip", self.gw4, "--listening-ip", second,
                                       "--listening-port", "3488", "--no-tcp", "--min-port", "51000",
                                       "--max-port", "51099", "--log-level", "debug"],
                                name="streamgate-rfc5780", ready=None)
        self.addCleanup(server.stop)
        for addr in (self.gw4, second):
            for port in (3488, 3489):
                net.wait_port("gw", addr, port, proto="udp")
        cp = net.run("client4", ["turnutils_natdiscovery", "-m", "-f", "-p", "3488", self.gw4], check=False,
                     timeout=60)
        out = cp.stdout + cp.stderr
        context = f"{out[-3000:]}\n--- server ---\n{server.log_text()[-2000:]}"
        self.assertIn(f"Other addr: : {second}:3489", out, context)
        self.assertIn(f"Response origin: : {second}:3489", out, context)  # CHANGE-REQUEST honoured
        self.assertIn("NAT with Endpoint Independent Mapping!", out, context)
        self.assertIn("NAT with Endpoint Independent Filtering!", out, context)

    # ----- TURN -----

    def test_channels_ipv4(self):
        before = len(self.allocation_ends())
        rc, out = self.uclient("client4", self.gw4, self.net.addr("origin4", 4), "-c")
        self.assert_relayed(rc, out)
        line = self.wait_allocation_end(before)
        self.assertIn(f"user={USER} client={self.net.addr('client4', 4)}:", line)
        self.assertIn(f"relayed={self.net.addr('gw', 4, peer='origin4')}:50", line)
        self.assertIn("to_peer_bytes=3400 to_peer_packets=20 to_client_bytes=3400 to_client_packets=20", line)
        self.assertIn('reason="refreshed to 0"', line)

    def test_send_and_data_indications(self):
        rc, out = self.uclient("client4", self.gw4, self.net.addr("origin4", 4), "-c", "-s")
        self.assert_relayed(rc, out)

    def test_rtp_rtcp_pairs_with_reserved_ports(self):
        # Without -c every client allocates an RTP/RTCP pair: EVEN-PORT with the R bit, then RESERVATION-TOKEN.
        rc, out = self.uclient("client4", self.gw4, self.net.addr("origin4", 4))
        self.assert_relayed(rc, out, sessions=(1, 2))  # uclient counts the RTCP session's messages or not

    def test_dont_fragment(self):
        rc, out = self.uclient("client4", self.gw4, self.net.addr("origin4", 4), "-c", "-g")
        self.assert_relayed(rc, out)

    def test_channels_ipv6(self):
        rc, out = self.uclient("client6", self.gw6, self.net.addr("origin6", 6), "-c")
        self.assert_relayed(rc, out)

    def test_tcp_client_channels_with_padding(self):
        # TCP between client and server (-t), UDP on the relayed side; 171-octet messages make every
        # ChannelData towards the client carry padding (mandatory over TCP).
        before = len(self.allocation_ends())
        rc, out = self.uclient("client4", self.gw4, self.net.addr("origin4", 4), "-t", "-c", length=171)
        self.assert_relayed(rc, out)
        line = self.wait_allocation_end(before)
        self.assertIn("transport=tcp", line)
        self.assertIn("to_peer_bytes=3420 to_peer_packets=20", line)

    def test_tcp_client_send_indications_ipv6(self):
        rc, out = self.uclient("client6", self.gw6, self.net.addr("origin6", 6), "-t", "-c", "-s")
        self.assert_relayed(rc, out)

    def test_tls_client_channels_ipv4_and_ipv6(self):
        """turnutils_uclient -t -S: TURN over TLS to port 5349 ("turns:"), channels relayed to the UDP peer;
        the allocation-end line says tls. A plain TCP client on the TLS port gets nothing and is counted."""
        for client, server, family in (("client4", self.gw4, 4), ("client6", self.gw6, 6)):
            before = len(self.allocation_ends())
            self.assert_relayed(*self.uclient(client, server, self.net.addr(f"origin{family}", family), "-t",
                                              "-S", "-c", port=TLS_PORT))
            self.assertIn("transport=tls", self.wait_allocation_end(before))
        rc, out = self.uclient("client4", self.gw4, self.net.addr("origin4", 4), "-t", "-c", count=2,
                               port=TLS_PORT)
        self.assertNotIn("tot_recv_msgs=2", out)
        metrics = self.net.run("gw", ["curl", "-s", f"http://{ADMIN}/metrics"], capture_output=True, text=True,
                               timeout=10).stdout
        failed = [l for l in metrics.splitlines() if l.startswith("streamgate_turn_tls_handshakes_failed_total ")]
        self.assertTrue(failed and float(failed[0].split()[1]) >= 1, metrics[-2000:])

    def test_tcp_client_without_allocation_is_closed(self):
        """A TCP connection that never allocates holds a --max-tcp-connections slot only until
        --max-allocate-timeout (2 s here): the server closes it, and counts it."""
        script = ("import socket, sys, time\n"
                  "s = socket.create_connection((sys.argv[1], int(sys.argv[2])))\n"
                  "s.settimeout(15)\n"
                  "t = time.monotonic()\n"
                  "print(len(s.recv(100)), round(time.monotonic() - t, 1))\n")
        cp = self.net.run("client4", [PYTHON, "-c", script, self.gw4, str(TURN_PORT)], timeout=30)
        received, waited = cp.stdout.split()
        self.assertEqual(received, "0")  # closed by the server, nothing sent
        self.assertGreaterEqual(float(waited), ALLOCATE_TIMEOUT - 0.5)
        metrics = self.net.run("gw", ["curl", "-s", f"http://{ADMIN}/metrics"], capture_output=True, text=True,
                               timeout=10).stdout
        closed = [l for l in metrics.splitlines() if l.startswith("streamgate_turn_tcp_idle_closed_total ")]
        self.assertTrue(closed and float(closed[0].split()[1]) >= 1, metrics[-2000:])

    def test_ipv4_client_through_ipv6_relay(self):
        before = len(self.allocation_ends())
        rc, out = self.uclient("client4", self.gw4, self.net.addr("origin6", 6), "-c", "-x")
        self.assert_relayed(rc, out)
        line = self.wait_allocation_end(before)
        self.assertIn(f"relayed=[{self.net.addr('gw', 6, peer='origin6')}]:50", line)

    def test_dual_allocation(self):
        # -Z: ADDITIONAL-ADDRESS-FAMILY, one allocation with a relayed address of each family; relaying to
        # the IPv6 peer from the IPv4 client goes out of the IPv6 one.
        before = len(self.allocation_ends())
        rc, out = self.uclient("client4", self.gw4, self.net.addr("origin6", 6), "-Z")
        self.assert_relayed(rc, out)
        line = self.wait_allocation_end(before)
        self.assertIn(f"relayed={self.net.addr('gw', 4, peer='origin4')}:", line)
        self.assertIn(f",[{self.net.addr('gw', 6, peer='origin6')}]:", line)
        self.assertIn("to_peer_packets=20", line)

    def test_wrong_password_is_refused(self):
        before = len(self.allocation_ends())
        rc, out = self.uclient("client4", self.gw4, self.net.addr("origin4", 4), "-c", password="guess",
                               count=2)
        self.assertNotEqual(rc, 0, out)
        self.assertIn("Cannot complete Allocation", out)
        self.assertNotIn("tot_recv_msgs", out)
        time.sleep(0.5)
        self.assertEqual(len(self.allocation_ends()), before, self.server.log_text()[-2000:])

    def test_config_file_and_sighup_reload_of_the_users(self):
        """A second server from a [turn] file: check-config accepts it, its user relays; SIGHUP after the
        file changed the password swaps the credentials; a broken file on SIGHUP keeps the old ones."""
        port = 3490
        peer = self.net.addr("origin4", 4)

        def config(users: str) -> str:
            return (f'[turn]\nlistening-ip = ["{self.gw4}"]\nlistening-port = {port}\nalt-listening-port = 0\n'
                    f'relay-ip = "{self.net.addr("gw", 4, peer="origin4")}"\nmin-port = 51000\n'
                    f'max-port = 51999\nno-tcp = true\nrealm = "{REALM}"\nuser = [{users}]\n')

        path = self.net.write_file("turn.toml", config('"carol:one"'))
        checked = self.net.run("gw", [self.bin, "check-config", str(path)], capture_output=True, text=True,
                               check=False, timeout=10)
        self.assertEqual(checked.returncode, 0, checked.stderr)
        self.assertIn("ok (turn: 1 listening addresses, 1 users", checked.stdout)
        server = self.net.start_peer("gw", [self.bin, "turn", "--config-file", str(path)], name="turn-file",
                                     ready=None)
        try:
            self.net.wait_port("gw", self.gw4, port, proto="udp")
            self.assert_relayed(*self.uclient("client4", self.gw4, peer, "-c", user="carol", password="one",
                                              count=4, port=port), count=4)

            def reload(expect: str) -> None:
                server.proc.send_signal(signal.SIGHUP)
                deadline = time.monotonic() + 5
                while expect not in server.log_text():
                    if time.monotonic() > deadline:
                        self.fail(f"no '{expect}' after SIGHUP:\n{server.log_text()[-2000:]}")
                    time.sleep(0.1)

            path.write_text(config('"carol:two", "dave:three"'))
            reload("credentials reloaded (2 users, 0 short-term users)")
            rc, out = self.uclient("client4", self.gw4, peer, "-c", user="carol", password="one", count=2,
                                   port=port)
            self.assertNotEqual(rc, 0, out)
            self.assertIn("Cannot complete Allocation", out)
            self.assert_relayed(*self.uclient("client4", self.gw4, peer, "-c", user="dave", password="three",
                                              count=4, port=port), count=4)
            # A file that no longer parses: the server says why and keeps what it had.
            path.write_text("[turn]\nuser = [\n")
            reload("kept the old credentials")
            self.assert_relayed(*self.uclient("client4", self.gw4, peer, "-c", user="carol", password="two",
                                              count=4, port=port), count=4)
            self.assertIsNone(server.proc.poll(), server.log_text()[-2000:])
        finally:
            server.stop()

    def test_denied_range_peer_is_refused(self):
        rc, out = self.uclient("client4", self.gw4, "198.19.0.1", "-c", count=2)
        self.assertNotIn("tot_recv_msgs=2", out)
        self.assertIn("error 403", out, out[-2000:])

    def test_loopback_peer_is_refused(self):
        # The classic TURN SSRF: the server's own loopback is never a peer (403 to CreatePermission).
        rc, out = self.uclient("client4", self.gw4, "127.0.0.1", "-c", count=2)
        self.assertNotIn("tot_recv_msgs=2", out)
        self.assertIn("error 403", out, out[-2000:])


    # ----- admin API -----

    def ctl(self, *args, token=False):
        return self.net.run("gw", [self.bin, "ctl", "--admin", ADMIN,
                                   *(["--token-file", str(self.token_file)] if token else []), *args],
                            check=False, timeout=20)

    def test_allocations_listed_and_ended_by_operator(self):
        # 1000 messages 20 ms apart: allocations that live for 20 s unless ended (uclient may hold more than
        # one).
        client = self.net.popen("client4", ["turnutils_uclient", "-c", "-p", str(TURN_PORT), "-e",
                                            self.net.addr("origin4", 4), "-r", str(PEER_PORT), "-u", USER, "-w",
                                            PASSWORD, "-n", "1000", "-m", "1", "-l", "170", self.gw4],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        allocations = []
        while time.monotonic() < deadline:
            allocations = json.loads(self.ctl("allocations", "--json").stdout)["allocations"]
            if any(a["to_client"]["packets"] > 0 for a in allocations):
                break
            time.sleep(0.2)
        self.assertTrue(allocations, self.server.log_text()[-2000:])
        for allocation in allocations:
            self.assertEqual(allocation["user"], USER)
            self.assertEqual(allocation["transport"], "udp")
            self.assertTrue(allocation["client"].startswith(self.net.addr("client4", 4)), allocation)
            self.assertTrue(allocation["relayed"].startswith(self.net.addr("gw", 4, peer="origin4")), allocation)
        victim = allocations[0]["id"]
        self.assertIn(victim, self.ctl("allocations").stdout)
        self.assertEqual(json.loads(self.ctl("status", "--json").stdout)["allocations"], len(allocations))

        refused = self.ctl("end", "allocation", victim)
        self.assertEqual(refused.returncode, 1)
        self.assertIn("401", refused.stderr)
        before = len(self.allocation_ends())
        ended = self.ctl("end", "allocation", victim, token=True)
        self.assertEqual(ended.returncode, 0, ended.stderr)
        self.assertIn('reason="ended by operator"', self.wait_allocation_end(before))
        left = [a["id"] for a in json.loads(self.ctl("allocations", "--json").stdout)["allocations"]]
        self.assertNotIn(victim, left)
        self.assertEqual(len(left), len(allocations) - 1)
        self.net.stop(client)


if __name__ == "__main__":
    unittest.main()

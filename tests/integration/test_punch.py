"""UDP hole punching with `streamgate punch` through a rendezvous, and TURN where punching cannot work.

Topology (added to the test network; the fixed hosts are not used):

    cam  (10.0.1.2) --- nata (cone)      ---\
    view (10.0.2.2) --- natb (cone)      ----- inet (a router, forwarding) --- srv (198.18.30.2)
    sym  (10.0.3.2) --- natc (symmetric) ---|
    sym2 (10.0.4.2) --- natd (symmetric) ---|
    v6a (2001:2:0:135::2) --- fw6a ---------|     (IPv6: routed, stateful firewalls only)
    v6b (2001:2:0:136::2) --- fw6b ---------/

srv runs `streamgate turn --rendezvous`: the rendezvous and the TURN server on one port, with a second
address for RFC 5780, so each side also classifies its NAT. Each NAT router
masquerades its LAN (`masquerade` keeps ports: endpoint-independent mapping; `masquerade fully-random` picks a
new port per destination: a symmetric NAT), filters by address and port (conntrack: only replies come in), and
drops every unsolicited packet addressed to itself (an accepted one would leave a conntrack entry that makes
masquerade pick another port, and cone NATs could no longer punch; see issue 16).

  - cam <-> view (cone <-> cone): both sides report the direct path, to each other's mapped address, and
    classify their NATs as port-restricted cones;
  - cam <-> sym (cone <-> symmetric): the probes cannot cross, both fall back to TURN and report relayed;
    sym classifies its NAT as symmetric;
  - sym <-> sym2 (symmetric <-> symmetric): the same;
    (port prediction has no case here: no nftables rule makes a NAT that is symmetric and allocates ports
    in sequence, see docs/nat-traversal.md; fully-random is checked to announce no port step)
  - v6a <-> v6b over IPv6, each behind a router that only firewalls (no NAT66; replies only): direct;
  - --family: v6a <-> v6b given a name that lists srv's IPv4 address first and its IPv6 one second, with
    --family 6, punch directly over IPv6 (on these IPv6-only hosts the resolver may drop the IPv4 address
    by itself: the refusal is what only --family does); --family 6 with an IPv4 rendezvous address is
    refused (status 2);
  - against a second server on srv with --rendezvous-secret: a side with the wrong secret is refused (401,
    its run fails, the server logs and counts it) and never registers; two sides with the right one punch;
and in each case (but the secret's) ffmpeg on cam sends a live H.264 MPEG-TS stream to its local punch port, and ffprobe on the
other side decodes what its punch forwards.
"""

from __future__ import annotations

import json
import subprocess
import time
import unittest

from testnet import TestNetwork, require_tools, streamgate_bin

PORT = 3478
SRV = "198.18.30.2"
SRV_OTHER = "198.18.30.3"  # RFC 5780's second address: the NAT classification
USER, PASSWORD = "punch", "through"
SECRET_PORT = 3490  # the second server: a rendezvous that takes only registrations signed with SECRET
SECRET = "correct-horse-battery-staple"
ADMIN_PORT = 9135  # the first server's metrics
SECRET_ADMIN_PORT = 9134
LISTEN_PORT = 5000  # on each side: what the local program sends to
FORWARD_PORT = 5002  # on each side: where the peer's datagrams are delivered
FPS, SECONDS = 25, 6

SRV6 = "2001:2:0:30::2"
FIREWALLS = {  # IPv6 LAN host: (its router, index); routed, no NAT66, a stateful firewall
    "v6a": ("fw6a", 5),
    "v6b": ("fw6b", 6),
}

NATS = {  # LAN host: (its router, index, symmetric)
    "cam": ("nata", 1, False),
    "view": ("natb", 2, False),
    "sym": ("natc", 3, True),
    "sym2": ("natd", 4, True),
}


def nat_ruleset(symmetric: bool) -> str:
    random = " fully-random" if symmetric else ""
    return f"""
table ip nat {{
    chain postrouting {{
        type nat hook postrouting priority srcnat; policy accept;
        oifname "up0" masquerade{random}
    }}
}}
table ip filter {{
    chain input {{
        type filter hook input priority filter; policy drop;
    }}
    chain forward {{
        type filter hook forward priority filter; policy drop;
        iifname "lan0" oifname "up0" accept
        iifname "up0" oifname "lan0" ct state established,related accept
    }}
}}
"""


FIREWALL_RULESET = """
table ip6 filter {
    chain input {
        type filter hook input priority filter; policy drop;
        icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, nd-router-advert } accept
    }
    chain forward {
        type filter hook forward priority filter; policy drop;
        iifname "lan0" oifname "up0" accept
        iifname "up0" oifname "lan0" ct state established,related accept
    }
}
"""


def build(net: TestNetwork) -> None:
    net.add_host("inet", families=(4, 6), forwarding=True)
    net.add_host("srv", families=(4, 6))
    net.add_link("inet", "to-srv", "srv", "eth0")
    net.ip_batch("inet", ["address add 198.18.30.1/24 dev to-srv", "address add 2001:2:0:30::1/64 dev to-srv nodad"])
    net.ip_batch("srv", [f"address add {SRV}/24 dev eth0", f"address add {SRV_OTHER}/24 dev eth0",
                         f"address add {SRV6}/64 dev eth0 nodad", "route add default via 198.18.30.1",
                         "route add ::/0 via 2001:2:0:30::1"])
    for host, (router, index) in FIREWALLS.items():
        link = 30 + index
        net.add_host(router, families=(6,), forwarding=True)
        net.add_host(host, families=(6,))
        net.add_link("inet", f"to-{router}", router, "up0")
        net.add_link(router, "lan0", host, "eth0")
        net.ip_batch("inet", [f"address add 2001:2:0:{link}::1/64 dev to-{router} nodad",
                              f"route add 2001:2:0:{100 + link}::/64 via 2001:2:0:{link}::2"])
        net.ip_batch(router, [f"address add 2001:2:0:{link}::2/64 dev up0 nodad",
                              f"address add 2001:2:0:{100 + link}::1/64 dev lan0 nodad",
                              f"route add ::/0 via 2001:2:0:{link}::1"])
        net.ip_batch(host, [f"address add 2001:2:0:{100 + link}::2/64 dev eth0 nodad",
                            f"route add ::/0 via 2001:2:0:{100 + link}::1"])
        net.nft(router, FIREWALL_RULESET)
    for host, (router, index, symmetric) in NATS.items():
        link = 30 + index
        net.add_host(router, families=(4,), forwarding=True)
        net.add_host(host, families=(4,))
        net.add_link("inet", f"to-{router}", router, "up0")
        net.add_link(router, "lan0", host, "eth0")
        net.ip_batch("inet", [f"address add 198.18.{link}.1/24 dev to-{router}"])
        net.ip_batch(router, [f"address add 198.18.{link}.2/24 dev up0", f"address add 10.0.{index}.1/24 dev lan0",
                              f"route add default via 198.18.{link}.1"])
        net.ip_batch(host, [f"address add 10.0.{index}.2/24 dev eth0", f"route add default via 10.0.{index}.1"])
        net.nft(router, nat_ruleset(symmetric))


def path_reports(peer) -> list[dict]:
    return [json.loads(line) for line in peer.log_text().splitlines() if line.startswith("{")]


class Punch(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_tools("ffmpeg", "ffprobe", "nft", "turnutils_natdiscovery")
        cls.bin = streamgate_bin()
        cls.net = TestNetwork().start()
        cls.addClassCleanup(cls.net.close)
        build(cls.net)
        cls.server = cls.net.start_peer("srv", [cls.bin, "turn", "--listening-ip", SRV, "--listening-ip", SRV_OTHER,
                                                "--listening-ip", SRV6,
                                                "--rendezvous", "--no-tcp",
                                                "--user", f"{USER}:{PASSWORD}", "--min-port", "50000",
                                                "--max-port", "50999", "--log-level", "debug",
                                                "--admin", f"{SRV}:{ADMIN_PORT}"],
                                        name="turn", ready=None)
        cls.net.wait_port("srv", SRV, PORT, proto="udp")
        cls.secret_server = cls.net.start_peer("srv", [cls.bin, "turn", "--listening-ip", SRV, "--listening-port",
                                                       str(SECRET_PORT), "--rendezvous", "--rendezvous-secret",
                                                       SECRET, "--no-tcp", "--user", f"{USER}:{PASSWORD}",
                                                       "--min-port", "51000", "--max-port", "51999",
                                                       "--admin", f"{SRV}:{SECRET_ADMIN_PORT}"],
                                               name="turn-secret", ready=None)
        cls.net.wait_port("srv", SRV, SECRET_PORT, proto="udp")

    def start_punch(self, host: str, me: str, peer: str, server: str = f"{SRV}:{PORT}", extra: tuple = ()):
        return self.net.start_peer(host, [self.bin, "punch", "--rendezvous", server, "--id", me,
                                          "--peer", peer, "--listen", f"127.0.0.1:{LISTEN_PORT}",
                                          "--forward", f"127.0.0.1:{FORWARD_PORT}", "--turn", server,
                                          "--turn-user", f"{USER}:{PASSWORD}", "--deadline", "2000", "--json",
                                          *extra],
                                   name=f"punch-{me}", ready=None)

    def wait_path(self, peer, timeout: float = 20.0) -> dict:
        """The first report that names a path (direct, relayed) or a failure, and the NAT's class."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for report in path_reports(peer):
                if report["state"] == "failed" or (report["state"] in ("direct", "relayed")
                                                   and report["nat"] != "classifying"):
                    return report
            if peer.proc.poll() is not None:
                break
            time.sleep(0.1)
        self.fail(f"{peer.name} chose no path; log:\n{peer.log_text()}\nserver:\n{self.server.log_text()}")

    def stream_and_decode(self, sender: str, receiver: str) -> list[str]:
        """ffmpeg on `sender` streams live to its punch; ffprobe on `receiver` decodes what its punch forwards.
        Returns ffprobe's key_frame column, one entry per decoded video frame."""
        probe = self.net.popen(receiver, ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                                          "frame=key_frame", "-of", "csv=p=0",
                                          f"udp://127.0.0.1:{FORWARD_PORT}?timeout=5000000"],
                               stdout=subprocess.PIPE, text=True)
        time.sleep(0.5)
        self.net.run(sender, ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-re", "-f", "lavfi",
                              "-i", f"testsrc2=size=320x240:rate={FPS}:duration={SECONDS}", "-c:v", "libx264",
                              "-preset", "ultrafast", "-tune", "zerolatency", "-g", str(FPS), "-pix_fmt",
                              "yuv420p", "-f", "mpegts", f"udp://127.0.0.1:{LISTEN_PORT}?pkt_size=1316"],
                     timeout=SECONDS + 60)
        out, _ = probe.communicate(timeout=30)
        return [line.strip() for line in out.splitlines() if line.strip()]

    def assert_media_arrives(self, frames: list[str]) -> None:
        # ffprobe joins a live stream: it may miss the first GOP, never most of the stream.
        self.assertGreaterEqual(len(frames), FPS * (SECONDS - 2), f"decoded {len(frames)} frames")
        self.assertGreaterEqual(sum(1 for f in frames if f.startswith("1")), SECONDS - 2)

    def run_pair(self, a: str, a_host: str, b: str, b_host: str, server: str = f"{SRV}:{PORT}"):
        first = self.start_punch(a_host, a, b, server)
        second = self.start_punch(b_host, b, a, server)
        try:
            return first, second, self.wait_path(first), self.wait_path(second)
        except BaseException:
            first.stop()
            second.stop()
            raise

    def test_cone_to_cone_punches_directly(self):
        first, second, cam, view = self.run_pair("cam", "cam", "view", "view")
        try:
            self.assertEqual(cam["state"], "direct", cam)
            self.assertEqual(view["state"], "direct", view)
            # Each reaches the other at the address the rendezvous saw: the cone NATs kept their mappings.
            self.assertEqual(cam["peer_direct"], view["mapped"])
            self.assertEqual(view["peer_direct"], cam["mapped"])
            self.assertTrue(cam["mapped"].startswith("198.18.31.2:"), cam)
            self.assertTrue(view["mapped"].startswith("198.18.32.2:"), view)
            self.assertEqual(cam["relayed"], "-")
            for report in (cam, view):
                self.assertEqual(report["nat"], "port-restricted cone", report)
                self.assertEqual(report["nat_mapping"], "endpoint-independent")
                self.assertEqual(report["nat_filtering"], "address-and-port-dependent")
            self.assert_media_arrives(self.stream_and_decode("cam", "view"))
        finally:
            first.stop()
            second.stop()

    def test_cone_to_symmetric_falls_back_to_turn(self):
        first, second, cam, sym = self.run_pair("cam2", "cam", "sym", "sym")
        try:
            self.assertEqual(cam["state"], "relayed", cam)
            self.assertEqual(sym["state"], "relayed", sym)
            self.assertTrue(cam["relayed"].startswith(f"{SRV}:"), cam)
            self.assertEqual(cam["peer_relayed"], sym["relayed"])
            self.assertEqual(sym["peer_relayed"], cam["relayed"])
            self.assertEqual(cam["nat"], "port-restricted cone", cam)
            self.assertEqual(sym["nat"], "symmetric", sym)
            self.assertEqual(sym["nat_mapping"], "address-and-port-dependent")
            # fully-random allocates at random: the classifier finds no port step, so nobody predicts.
            self.assertEqual(sym["port_step"], "-", sym)
            self.assertFalse(cam["predicting"], cam)
            self.assert_media_arrives(self.stream_and_decode("cam", "sym"))
            # Both relayed through TURN with RFC 8489's newer credentials: our nonce offers them and the
            # punch client takes them (SHA-256 key, user hidden in USERHASH).
            self.assertGreaterEqual(self.metric("streamgate_turn_authenticated_sha256_total"), 2)
            self.assertGreaterEqual(self.metric("streamgate_turn_authenticated_userhash_total"), 2)
        finally:
            first.stop()
            second.stop()

    def test_coturn_natdiscovery_classifies_each_nat(self):
        """coturn's turnutils_natdiscovery (RFC 5780, -m mapping and -f filtering) against the server's two
        addresses, from behind each kind of NAT: masquerade maps endpoint-independently and filters by address
        and port; masquerade fully-random maps by address and port (symmetric). Our own classifier
        (test_cone_to_symmetric_falls_back_to_turn) says the same."""
        for host, mapping, filtering in (("cam", "Endpoint Independent Mapping", "Address and Port Dependent Filtering"),
                                         ("sym", "Address and Port Dependent Mapping", None)):
            cp = self.net.run(host, ["turnutils_natdiscovery", "-m", "-f", "-p", str(PORT), SRV], check=False,
                              timeout=60)
            out = cp.stdout + cp.stderr
            self.assertIn(f"Other addr: : {SRV_OTHER}:{PORT + 1}", out, out[-3000:])
            self.assertIn(f"NAT with {mapping}!", out, out[-3000:])
            if filtering:
                self.assertIn(f"NAT with {filtering}!", out, out[-3000:])

    def test_symmetric_to_symmetric_falls_back_to_turn(self):
        first, second, a, b = self.run_pair("syma", "sym", "symb", "sym2")
        try:
            self.assertEqual(a["state"], "relayed", a)
            self.assertEqual(b["state"], "relayed", b)
            self.assertEqual(a["peer_relayed"], b["relayed"])
            self.assert_media_arrives(self.stream_and_decode("sym", "sym2"))
        finally:
            first.stop()
            second.stop()

    def test_ipv6_through_stateful_firewalls_punches_directly(self):
        first, second, a, b = self.run_pair("v6a", "v6a", "v6b", "v6b", server=f"[{SRV6}]:{PORT}")
        try:
            self.assertEqual(a["state"], "direct", a)
            self.assertEqual(b["state"], "direct", b)
            # No NAT66: the mapped address is the host's own, and the firewalls opened for each other's.
            self.assertTrue(a["mapped"].startswith("[2001:2:0:135::2]:"), a)
            self.assertTrue(b["mapped"].startswith("[2001:2:0:136::2]:"), b)
            self.assertEqual(a["peer_direct"], b["mapped"])
            self.assertEqual(a["nat"], "unknown")  # one IPv6 server address: no RFC 5780
            self.assert_media_arrives(self.stream_and_decode("v6a", "v6b"))
        finally:
            first.stop()
            second.stop()

    def test_family_chooses_the_rendezvous_address(self):
        # Both IPv6-only hosts know srv by one name, IPv4 first: --family 6 takes the IPv6 address.
        self.net.add_name("rendezvous.test", [SRV, SRV6], hosts=["v6a", "v6b"])
        first = self.start_punch("v6a", "fam6a", "fam6b", f"rendezvous.test:{PORT}", ("--family", "6"))
        second = self.start_punch("v6b", "fam6b", "fam6a", f"rendezvous.test:{PORT}", ("--family", "6"))
        try:
            a, b = self.wait_path(first), self.wait_path(second)
            self.assertEqual(a["state"], "direct", a)
            self.assertEqual(b["state"], "direct", b)
            self.assertTrue(a["mapped"].startswith("[2001:2:0:135::2]:"), a)
            self.assertEqual(a["peer_direct"], b["mapped"])
        finally:
            first.stop()
            second.stop()
        # An address of the other family is refused before anything is sent.
        refused = self.net.run("v6a", [self.bin, "punch", "--rendezvous", f"{SRV}:{PORT}", "--family", "6",
                                       "--id", "x", "--peer", "y", "--forward", "[::1]:5002"], check=False,
                               timeout=10)
        self.assertEqual(refused.returncode, 2, refused)
        self.assertIn("no IPv6 address", refused.stderr)

    def secret_metric(self, name: str) -> float:
        return self.metric(name, SECRET_ADMIN_PORT)

    def metric(self, name: str, port: int = ADMIN_PORT) -> float:
        text = self.net.run("srv", ["curl", "-s", f"http://{SRV}:{port}/metrics"], capture_output=True,
                            text=True, timeout=10).stdout
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        self.fail(f"no {name} in /metrics:\n{text}")

    def test_rendezvous_secret_refuses_a_wrong_one_and_the_right_one_punches(self):
        server = f"{SRV}:{SECRET_PORT}"
        # The wrong secret: refused with 401 before anything is registered, so the run fails at once.
        wrong = self.start_punch("cam", "cams", "views", server, ("--rendezvous-secret", "guess"))
        try:
            report = self.wait_path(wrong)
            self.assertEqual(report["state"], "failed", report)
            self.assertIn("401", report["error"])
            self.assertEqual(wrong.proc.wait(timeout=10), 1)
        finally:
            wrong.stop()
        self.assertIn("refused a registration", self.secret_server.log_text())
        self.assertGreaterEqual(self.secret_metric("streamgate_turn_rendezvous_unauthorized_total"), 1)
        self.assertEqual(self.secret_metric("streamgate_turn_rendezvous_registrations_total"), 0)
        # The right secret on both sides: they register, pair and punch as without one.
        first = self.start_punch("cam", "cams", "views", server, ("--rendezvous-secret", SECRET))
        second = self.start_punch("view", "views", "cams", server, ("--rendezvous-secret", SECRET))
        try:
            a, b = self.wait_path(first), self.wait_path(second)
            self.assertEqual(a["state"], "direct", a)
            self.assertEqual(b["state"], "direct", b)
            self.assertEqual(a["peer_direct"], b["mapped"])
            self.assertEqual(b["peer_direct"], a["mapped"])
            self.assertGreaterEqual(self.secret_metric("streamgate_turn_rendezvous_pairings_total"), 1)
        finally:
            first.stop()
            second.stop()


if __name__ == "__main__":
    unittest.main()

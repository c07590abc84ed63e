"""The media relay with real SIP peers: Kamailio drives it, SIPp user agents behind NATs call through it.

Topology and helpers: siprig.py. The relay under test is `$STREAMGATE_BIN relay` unless SG_RELAY_PEER=rtpengine
(rtpengine userspace, the reference this rig was proven against). Every call case runs once per control
protocol: rtpengine's ng (Kamailio module rtpengine) and rtpproxy's (module rtpproxy). A call case asserts
that SIPp's call succeeded, that each UA received at least MIN_SHARE of the RTP packets the other one played
(g711a.pcap) and that every one of them came from the relay's public address: the UAs' NATs drop anything
else, and direct media between them is impossible, so only a relay that latched onto both NAT mappings passes.

RelayRecording* read a call's recording back with tshark and `streamgate detect`; RelayNodes runs two relay
nodes under one Kamailio and kills one of them mid-run (docs/relay.md, "Many nodes" and "Recording").
RelayCallsKernel runs the call cases again with the relay forwarding in the kernel (`--table`).
"""

from __future__ import annotations

import collections
import json
import os
import re
import signal
import struct
import subprocess
import time
import unittest

import siprig
from siprig import UAS, Call
from testnet import TestNetwork, require_tools, streamgate_bin

RELAY_KIND = siprig.relay_kind()
MIN_SHARE = 0.95  # of the file's packets: the first few may be lost while the relay latches onto a NAT
net: TestNetwork | None = None
relay = None


def setUpModule():
    global net, relay
    require_tools("kamailio", "sipp", "tshark", "tcpdump", "nft")
    if RELAY_KIND == "rtpengine":
        require_tools("rtpengine")
    siprig.check_relay_available(RELAY_KIND)
    net = TestNetwork().start()
    unittest.addModuleCleanup(net.close)
    siprig.build(net)
    relay = siprig.start_relay(net, RELAY_KIND)


def _known_rtpengine_bug(test):
    """rtpengine 10.5's rtpproxy interface leaves a D after a Q unanswered (issue 15; measured with this rig's
    options: with --delete-delay 0 the first D after Q gets no answer, with the default delay the second D;
    the daemon then ignores SIGTERM). Expected to fail against rtpengine only, never hidden for streamgate."""
    return unittest.expectedFailure(test) if RELAY_KIND == "rtpengine" else test


def restart_relay() -> None:
    """Replaces the shared relay (one that stopped answering must not take the later cases down with it)."""
    global relay
    relay.stop(timeout=2.0)
    relay = siprig.start_relay(net, RELAY_KIND)


class RelayCalls:
    """The call cases; subclasses pick the control protocol Kamailio speaks to the relay."""

    PROTOCOL = ""

    @classmethod
    def setUpClass(cls):
        cls.net = net
        cls.played = siprig.pcap_packet_count()
        cls.kamailio = siprig.start_kamailio(net, cls.PROTOCOL)
        cls.addClassCleanup(cls.kamailio.stop)

    def setUp(self):
        self.wait_no_calls()

    # ----- helpers -----

    def label(self) -> str:
        return f"{self.PROTOCOL}-{self._testMethodName.removeprefix('test_')}"

    def wait_no_calls(self, timeout: float = 2.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while (calls := siprig.relay_calls(self.net)) and time.monotonic() < deadline:
            time.sleep(0.2)
        return calls

    def check_media(self, result, *uas, factor: float = 1.0) -> None:
        want = int(self.played * factor * MIN_SHARE)
        print(f"\n  {self.label()}: RTP received by source: "
              + "; ".join(f"{ua.name} {dict(result.received[ua.name])}" for ua in uas) + f" (want >= {want})")
        for ua in uas:
            got = result.received[ua.name]
            self.assertGreaterEqual(sum(got.values()), want,
                                    f"{ua.name} received {dict(got)} RTP packets, want >= {want} from "
                                    f"{ua.relay_addr}\n{result.logs}")
            self.assertEqual(set(got), {ua.relay_addr},
                             f"{ua.name} received RTP from {dict(got)}, want only the relay\n{result.logs}")

    def call(self, caller: str, callee: str, **kw):
        result = Call(self.net, UAS[caller], UAS[callee], self.label(), **kw).start().finish()
        self.assertEqual((result.caller_rc, result.callee_rc), (0, 0), f"SIPp failed\n{result.logs}")
        self.check_media(result, UAS[caller], UAS[callee], factor=2 if kw.get("hold") else 1)
        return result

    # ----- cases -----

    def test_cone_nats(self):
        """Both UAs behind port-restricted cone NATs (plain masquerade)."""
        self.call("alice", "bob")

    def test_symmetric_nat(self):
        """The caller behind a symmetric NAT (fully-random ports): the SDP's port is useless, only latching
        onto where its media comes from works."""
        self.call("carol", "bob")

    def test_ipv6_caller_ipv4_callee(self):
        """An IPv6-only UA behind NAT66 calls an IPv4-only UA: the relay bridges the families."""
        self.call("dave", "bob")

    def test_hold_and_resume(self):
        """re-INVITE to hold (a=sendonly) and back: the call goes on, media flows again after it."""
        self.call("alice", "bob", hold=True, pause_ms=7500)

    def test_bye_frees_ports(self):
        """During the call the relay lists it and holds media ports; after the BYE both are gone."""
        call = Call(self.net, UAS["alice"], UAS["bob"], self.label(), pause_ms=4000).start()
        call_id = call.dialog_ids()[0]
        try:
            time.sleep(2.0)
            during_calls, during_ports = siprig.relay_calls(self.net), siprig.relay_ports_in_use(self.net)
        finally:
            result = call.finish()
        self.assertEqual((result.caller_rc, result.callee_rc), (0, 0), f"SIPp failed\n{result.logs}")
        self.assertEqual(during_calls, [call_id], f"ng list during the call\n{result.logs}")
        self.assertGreaterEqual(len(during_ports), 2, f"relay ports during the call: {during_ports}")
        query = siprig.ng(self.net, {"command": "query", "call-id": call_id})
        self.assertEqual(query.get("result"), "error", f"ng query after BYE still knows the call: {query}")
        self.assertEqual(self.wait_no_calls(timeout=1.0), [], "ng list after BYE")
        self.assertEqual(siprig.relay_ports_in_use(self.net), [], "relay media ports still bound after BYE")

    def test_vanished_uas_time_out(self):
        """Both UAs vanish mid-call (SIGKILL, no BYE): the relay ends the call after --timeout seconds."""
        call = Call(self.net, UAS["alice"], UAS["bob"], self.label(), pause_ms=60000).start()
        try:
            time.sleep(2.5)
            during = siprig.relay_calls(self.net)
        finally:
            call.kill()
            result = call.finish()
        self.assertEqual(len(during), 1, f"ng list during the call: {during}\n{result.logs}")
        self.check_media(result, UAS["alice"], factor=0.2)  # media did flow (about 2 s of it) before
        calls = self.wait_no_calls(timeout=siprig.RELAY_TIMEOUT + 5)
        self.assertEqual(calls, [], f"the relay kept the dead call past --timeout\n{relay.log_text()[-5000:]}")
        self.assertEqual(siprig.relay_ports_in_use(self.net), [], "relay media ports still bound after timeout")


class RelayCallsNg(RelayCalls, unittest.TestCase):
    PROTOCOL = "ng"


class RelayCallsRtpproxy(RelayCalls, unittest.TestCase):
    PROTOCOL = "rtpp"

    @_known_rtpengine_bug
    def test_query_during_call_and_after_bye(self):
        """Q for a call Kamailio set up is answered with its stats during the call; after the BYE (Kamailio's
        D) the relay still answers: Q with an error, ng query with result error."""
        self.addCleanup(restart_relay)
        call = Call(self.net, UAS["alice"], UAS["bob"], self.label(), pause_ms=3000).start()
        call_id, from_tag, to_tag = call.dialog_ids()
        query = f"Q {call_id} {from_tag} {to_tag}"
        try:
            time.sleep(1.5)
            during = siprig.control(self.net, "rtpp", query)[0]["reply"]
        finally:
            result = call.finish()
        self.assertEqual((result.caller_rc, result.callee_rc), (0, 0), f"SIPp failed\n{result.logs}")
        self.assertRegex(during or "", r"^\d", f"{query!r} during the call")
        after = siprig.control(self.net, "rtpp", query)[0]["reply"]
        self.assertRegex(after or "", r"^E\d+$", f"{query!r} after the BYE\n{relay.log_text()[-3000:]}")
        ng_query = siprig.ng(self.net, {"command": "query", "call-id": call_id})
        self.assertEqual((ng_query or {}).get("result"), "error", f"ng query after the BYE: {ng_query}")


class RelayCallsKernel(RelayCalls, unittest.TestCase):
    """The call cases again with the relay forwarding latched media in the kernel (`--table 0`, nftables;
    docs/relay.md "Forwarding in the kernel"). gw forwards for this class (the relay refuses the kernel path
    on a host that does not, and says why), and the UAs still receive
    media only from the relay's address: the kernel rewrote both ends. The IPv6-to-IPv4 call stays in
    userspace (the kernel does not translate families), the hold takes a direction back and gives it again,
    and vanished UAs still time out although the kernel, not the relay's sockets, counted their media."""

    PROTOCOL = "ng"
    ADMIN = "127.0.0.1:9190"

    @classmethod
    def setUpClass(cls):
        if RELAY_KIND != "streamgate":
            raise unittest.SkipTest("kernel forwarding is streamgate's (rtpengine's needs its kernel module)")
        global relay
        keys = ("net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding")
        before = [net.run("gw", ["sysctl", "-n", key]).stdout.strip() for key in keys]
        net.run("gw", ["sysctl", "-q", "-w", *(f"{key}=1" for key in keys)])
        cls.addClassCleanup(net.run, "gw", ["sysctl", "-q", "-w", *(f"{k}={v}" for k, v in zip(keys, before))])
        relay.stop(timeout=2.0)
        relay = siprig.start_relay(net, RELAY_KIND, table=0, admin=cls.ADMIN)
        cls.addClassCleanup(restart_relay)
        super().setUpClass()

    def test_media_goes_through_the_kernel(self):
        """During a call both directions' RTP and RTCP are flows in the kernel's table and most packets are
        counted there; after the BYE the flows are gone, and with the relay its table."""
        self.assertIn("forwarded in the kernel, nftables table inet streamgate_0", relay.log_text())
        status = json.loads(siprig.admin_get(self.net, self.ADMIN, "/api/v1/status"))
        self.assertEqual(status.get("kernel_table"), "streamgate_0", status)
        call = Call(self.net, UAS["alice"], UAS["bob"], self.label()).start()
        try:
            time.sleep(3.0)
            during = siprig.kernel_flows(self.net)
        finally:
            result = call.finish()
        self.assertEqual((result.caller_rc, result.callee_rc), (0, 0), f"SIPp failed\n{result.logs}")
        self.check_media(result, UAS["alice"], UAS["bob"])
        print(f"  kernel flows during the call: {during}")
        rtp = [flow for flow in (during or []) if flow["key"][2] == siprig.PUB4 and flow["packets"] > 0]
        self.assertGreaterEqual(len(rtp), 2, f"flows in the kernel during the call: {during}")
        # 3 s into a 30 ms stream each way: about 100 packets per direction, a few of them latched in userspace
        self.assertGreaterEqual(sum(flow["packets"] for flow in rtp), 120, f"kernel flows: {during}")
        self.assertEqual(self.wait_no_calls(timeout=2.0), [], "ng list after BYE")
        self.assertEqual(siprig.kernel_flows(self.net), [], "flows left in the kernel after the BYE")
        metrics = siprig.admin_get(self.net, self.ADMIN, "/metrics")
        kernel_packets = re.search(r"^streamgate_relay_kernel_packets_total (\d+)", metrics, re.M)
        self.assertTrue(kernel_packets and int(kernel_packets.group(1)) >= 120,
                        f"streamgate_relay_kernel_packets_total: {kernel_packets and kernel_packets.group(0)}")
        ended = [line for line in relay.log_text().splitlines() if "ended (deleted)" in line]
        self.assertTrue(ended, "no call-end log line")
        sent = [int(n) for n in re.findall(r"sent (\d+) packets", ended[-1])]
        self.assertEqual(len(sent), 2, ended[-1])
        self.assertTrue(all(n >= int(self.played * MIN_SHARE) for n in sent),
                        f"the call's log line must count what the kernel forwarded: {ended[-1]}")

    def test_the_table_goes_with_the_relay(self):
        global relay
        self.assertEqual(siprig.kernel_flows(self.net), [])
        relay.stop(timeout=2.0)
        self.assertIsNone(siprig.kernel_flows(self.net), "the relay left its nftables table behind")
        relay = siprig.start_relay(net, RELAY_KIND, table=0, admin=self.ADMIN)

    def test_a_host_that_does_not_forward_keeps_userspace(self):
        """With IP forwarding off, the kernel could not route what it forwards: the relay makes no table, says
        why (log and status) and relays in userspace."""
        net.run("gw", ["sysctl", "-q", "-w", "net.ipv4.ip_forward=0"])
        self.addCleanup(net.run, "gw", ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])
        admin = "127.0.0.1:9191"
        other = siprig.start_relay(net, RELAY_KIND, name="relay-no-forwarding", ng_port=2226, rtpp_port=7725,
                                   port_min=32000, port_max=32199, table=1, admin=admin)
        self.addCleanup(other.stop, timeout=2.0)
        status = json.loads(siprig.admin_get(self.net, admin, "/api/v1/status"))
        self.assertNotIn("kernel_table", status)
        self.assertIn("net.ipv4.ip_forward is 0", status.get("kernel_note", ""), status)
        self.assertIn("kernel forwarding is off", other.log_text())
        self.assertIsNone(siprig.kernel_flows(self.net, table=1))


class RtpproxySequences(unittest.TestCase):
    """Command sequences sent straight to the rtpproxy-protocol socket of a relay of their own (a relay that
    stops answering must not take the call cases down with it): every command gets an answer."""

    NG_PORT, RTPP_PORT, PORT_MIN, PORT_MAX = 2224, 7723, 31000, 31999

    def setUp(self):
        self.relay = siprig.start_relay(net, RELAY_KIND, name=f"relay-{self._testMethodName}",
                                        ng_port=self.NG_PORT, rtpp_port=self.RTPP_PORT,
                                        port_min=self.PORT_MIN, port_max=self.PORT_MAX)
        self.addCleanup(self.relay.stop, timeout=2.0)

    def run_sequence(self, *verbs: str) -> None:
        call_id = f"seq-{self._testMethodName}"
        lines = {
            "U": f"U {call_id} 198.18.11.2 6000 fromtag;1",
            "L": f"L {call_id} 198.18.12.2 6000 fromtag;1 totag;1",
            "Q": f"Q {call_id} fromtag totag",
            "D": f"D {call_id} fromtag totag",
        }
        replies = siprig.control(net, "rtpp", *[lines[v] for v in verbs], port=self.RTPP_PORT, timeout=2.0)
        self.assertEqual(len(replies), len(verbs), replies)
        unanswered = [r["command"] for r in replies if r["reply"] is None]
        self.assertEqual(unanswered, [], f"commands without an answer: {replies}\n"
                                         f"{self.relay.log_text()[-3000:]}")
        self.assertRegex(replies[0]["reply"], r"^\d+ ", f"U must answer with a port: {replies}")

    @_known_rtpengine_bug
    def test_offer_answer_query_delete_delete(self):
        self.run_sequence("U", "L", "Q", "D", "D")

    @_known_rtpengine_bug
    def test_offer_answer_query_delete_query(self):
        self.run_sequence("U", "L", "Q", "D", "Q")


LINKTYPE_RAW = 101  # pcap link type: each record an IPv4 or IPv6 packet, no link-layer header


def _tshark_fields(path, *args: str) -> list[list[str]]:
    cp = subprocess.run(["tshark", "-r", str(path), *args], capture_output=True, text=True, timeout=60,
                        stdin=subprocess.DEVNULL)
    if cp.returncode != 0:
        raise RuntimeError(f"tshark failed on {path}: {cp.stderr}")
    return [[f for f in line.split("\t") if f.strip()] for line in cp.stdout.splitlines()]


def recorded_rtp(path) -> collections.Counter:
    """RTP packets in a recording by direction ((src, src port, dst, dst port)), as tshark decodes them.
    A recording has no signalling to learn the ports from, and tshark's RTP heuristic loses to other
    heuristics on some ports (UAUDP claims 32000), so every UDP port the packets were sent to (the relay's)
    is decoded as RTP (-d udp.port==N,rtp)."""
    relay_ports = sorted({int(f[0]) for f in _tshark_fields(path, "-T", "fields", "-e", "udp.dstport") if f})
    decode_as = [arg for port in relay_ports for arg in ("-d", f"udp.port=={port},rtp")]
    directions = collections.Counter()
    for fields in _tshark_fields(path, *decode_as, "-Y", "rtp", "-T", "fields", "-e", "ip.src", "-e", "ipv6.src",
                                 "-e", "udp.srcport", "-e", "ip.dst", "-e", "ipv6.dst", "-e", "udp.dstport"):
        if len(fields) == 4:
            directions[(fields[0], int(fields[1]), fields[2], int(fields[3]))] += 1
    return directions


def detected_rtp(path) -> tuple[collections.Counter, dict]:
    """`streamgate detect -r` on a recording: RTP packets per direction as its JSON report counts them."""
    out = path.with_suffix(".detect.json")
    cp = subprocess.run([streamgate_bin(), "detect", "-r", str(path), "--json", str(out), "-q"],
                        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    if cp.returncode != 0:
        raise RuntimeError(f"streamgate detect failed on {path} ({cp.returncode}): {cp.stderr}")
    report = json.loads(out.read_text())
    directions = collections.Counter()
    for stream in report["streams"]:
        directions[(stream["src"], stream["src_port"], stream["dst"], stream["dst_port"])] += stream["packets"]
    return directions, report


@unittest.skipIf(RELAY_KIND == "rtpengine", "rtpengine writes its recordings in its own layout (pcaps/, "
                                            "metadata/ with --recording-method); these cases read streamgate's")
class RelayRecording:
    """A call Kamailio records (start_recording() on the 200 OK, RECORD_CALLS): ng `start recording` or
    rtpproxy `R` to a relay of its own with --recording-dir. After the BYE the call's one pcap holds both
    directions as the relay received them (from each UA's NAT mapping to the relay's port); tshark and
    `streamgate detect` read it back with the same counts."""

    PROTOCOL = ""
    NG_PORT, RTPP_PORT, PORT_MIN, PORT_MAX = 2225, 7724, 29000, 29999

    @classmethod
    def setUpClass(cls):
        cls.net = net
        cls.played = siprig.pcap_packet_count()
        cls.recordings = net.make_dir(f"recordings-{cls.PROTOCOL}")
        cls.relay = siprig.start_relay(net, RELAY_KIND, name=f"relay-recording-{cls.PROTOCOL}",
                                       ng_port=cls.NG_PORT, rtpp_port=cls.RTPP_PORT, port_min=cls.PORT_MIN,
                                       port_max=cls.PORT_MAX, recording_dir=cls.recordings)
        cls.addClassCleanup(cls.relay.stop, timeout=2.0)
        port = cls.NG_PORT if cls.PROTOCOL == "ng" else cls.RTPP_PORT
        cls.kamailio = siprig.start_kamailio(net, cls.PROTOCOL, sockets=siprig.relay_sockets(cls.PROTOCOL, port),
                                             defines=("RECORD_CALLS",), name=f"kamailio-recording-{cls.PROTOCOL}")
        cls.addClassCleanup(cls.kamailio.stop)

    def test_recording_holds_both_directions(self):
        caller, callee = UAS["alice"], UAS["bob"]
        label = f"{self.PROTOCOL}-recording"
        started = int(time.time())
        call = Call(self.net, caller, callee, label).start()
        call_id = call.dialog_ids()[0]
        result = call.finish()
        ended = int(time.time())
        logs = f"{result.logs}\n{self.relay.log_text()[-5000:]}"
        self.assertEqual((result.caller_rc, result.callee_rc), (0, 0), f"SIPp failed\n{logs}")

        # One file, named <call-id>-<unix time>.pcap with the Call-ID's '@' made safe.
        files = sorted(self.recordings.glob("*.pcap"))
        self.assertEqual(len(files), 1, f"recordings: {files}\n{logs}")
        name = re.fullmatch(re.escape(call_id.replace("@", "_")) + r"-(\d+)\.pcap", files[0].name)
        self.assertIsNotNone(name, f"recording named {files[0].name!r} for Call-ID {call_id!r}")
        self.assertTrue(started <= int(name.group(1)) <= ended, f"{files[0].name}: time not in [{started}, {ended}]")
        with open(files[0], "rb") as f:
            header = f.read(24)
        magic, linktype = struct.unpack("<I", header[:4])[0], struct.unpack("<I", header[20:24])[0]
        self.assertEqual((magic, linktype), (0xA1B2C3D4, LINKTYPE_RAW), "pcap global header (magic, link type)")

        # tshark: exactly two directions, each from a UA's NAT mapping to the relay's public address.
        recorded = recorded_rtp(files[0])
        print(f"\n  {label}: recorded RTP by direction: {dict(recorded)}; received: "
              + "; ".join(f"{n} {dict(c)}" for n, c in result.received.items()))
        by_sender = {src: (n, dst) for (src, _, dst, _), n in recorded.items()}
        self.assertEqual(len(recorded), 2, f"recorded directions: {dict(recorded)}")
        self.assertEqual(set(by_sender), {caller.nat_public, callee.nat_public},
                         f"recorded senders: {dict(recorded)}")
        want = int(self.played * MIN_SHARE)
        for sender, receiver in ((caller, callee), (callee, caller)):
            count, dst = by_sender[sender.nat_public]
            self.assertEqual(dst, siprig.PUB4, f"{sender.name}'s packets recorded towards {dst}")
            self.assertGreaterEqual(count, want, f"{sender.name}: {count} packets recorded, it played "
                                                 f"{self.played}\n{logs}")
            self.assertLessEqual(count, self.played, f"{sender.name}: more packets recorded than it played")
            # The relay forwards only what it received (and recorded): the other UA cannot have got more.
            got = sum(result.received[receiver.name].values())
            self.assertGreaterEqual(count, got, f"{receiver.name} received {got} packets of {sender.name}'s "
                                                f"{count} recorded")

        # streamgate detect: the same two streams, the same counts, packet for packet.
        detected, report = detected_rtp(files[0])
        self.assertEqual(dict(detected), dict(recorded),
                         f"detect's streams differ from tshark's\n{json.dumps(report, indent=1)[:6000]}")

        # The call is over: the relay holds nothing of it.
        self.assertEqual(siprig.relay_calls(self.net, port=self.NG_PORT), [], "ng list after BYE")
        self.assertEqual(siprig.relay_ports_in_use(self.net, self.PORT_MIN, self.PORT_MAX), [],
                         "relay media ports still bound after BYE")


class RelayRecordingNg(RelayRecording, unittest.TestCase):
    PROTOCOL = "ng"


class RelayRecordingRtpproxy(RelayRecording, unittest.TestCase):
    PROTOCOL = "rtpp"


class RelayNodes(unittest.TestCase):
    """Two relay nodes behind one Kamailio (docs/relay.md, "Many nodes"): the shared relay (node A: ng 2223,
    ports 30000-30999) and one of this case's own (node B: ng 2224, ports 31000-31999), both in the rtpengine
    module's socket list with weight 1 (MANY_NODES: a dead node is disabled for 60 s after one failed
    request). The module picks a node per Call-ID, so SIPp's consecutive Call-IDs land on both."""

    NODE_B = {"ng_port": 2224, "rtpp_port": 7723, "port_min": 31000, "port_max": 31999}
    CALLS = 4  # per SIPp run, all at once

    @classmethod
    def setUpClass(cls):
        cls.net = net
        cls.played = siprig.pcap_packet_count()
        media_io = {"media_io": "epoll"} if RELAY_KIND == "streamgate" else {}
        cls.node_b = siprig.start_relay(net, RELAY_KIND, name="relay-node-b", **cls.NODE_B, **media_io)
        cls.addClassCleanup(cls.node_b.stop, timeout=2.0)
        sockets = siprig.relay_sockets("ng", siprig.NG_PORT, cls.NODE_B["ng_port"])
        cls.kamailio = siprig.start_kamailio(net, "ng", sockets=sockets, defines=("MANY_NODES",),
                                             name="kamailio-nodes")
        cls.addClassCleanup(cls.kamailio.stop)

    def node_of(self, relay_port: int) -> str:
        if siprig.PORT_MIN <= relay_port <= siprig.PORT_MAX:
            return "A"
        if self.NODE_B["port_min"] <= relay_port <= self.NODE_B["port_max"]:
            return "B"
        return "?"

    def flows_by_node(self, result) -> dict:
        """{ua name: {node: [packets of each call leg the UA received from that node]}}: every flow to a UA is
        one call's leg, and the relay's source port tells which node relayed it."""
        out = {}
        for name, flows in result.flows.items():
            out[name] = collections.defaultdict(list)
            for (addr, port), n in sorted(flows.items()):
                self.assertEqual(addr, siprig.PUB4, f"{name} received RTP from {addr}:{port}")
                out[name][self.node_of(port)].append(n)
        return out

    def test_calls_survive_a_dead_node(self):
        if RELAY_KIND == "streamgate":
            for peer, backend in ((relay, "io_uring"), (self.node_b, "epoll")):
                self.assertIn(f"event loops ({backend})", peer.log_text(), f"{peer.name}'s media I/O")
        alice, bob = UAS["alice"], UAS["bob"]
        want = int(self.played * MIN_SHARE)
        node_a_ng, node_b_ng = siprig.NG_PORT, self.NODE_B["ng_port"]

        # Round 1: CALLS calls at once; once all are set up, node B is killed (SIGKILL: no goodbye).
        first = Call(self.net, alice, bob, "nodes-1", calls=self.CALLS).start()
        try:
            deadline = time.monotonic() + 10
            while True:
                on_a, on_b = siprig.relay_calls(self.net, node_a_ng), siprig.relay_calls(self.net, node_b_ng)
                if len(on_a) + len(on_b) >= self.CALLS or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            time.sleep(1.0)  # media flows on every call before the kill
            os.kill(self.node_b.pid, signal.SIGKILL)
            self.node_b.proc.wait(timeout=5)
        finally:
            result1 = first.finish()
        print(f"\n  nodes: round 1 calls on node A {on_a}, on node B {on_b}; received per leg by node: "
              f"{ {ua: dict(nodes) for ua, nodes in self.flows_by_node(result1).items()} }")
        self.assertEqual(len(on_a) + len(on_b), self.CALLS, f"calls listed by the nodes\n{result1.logs}")
        self.assertTrue(on_a and on_b, f"calls did not land on both nodes: A {on_a}, B {on_b}")
        # The SIP side of every call completes (Kamailio's delete for node B's calls fails, the BYE goes on).
        self.assertEqual((result1.caller_rc, result1.callee_rc), (0, 0), f"SIPp failed\n{result1.logs}")
        for ua, nodes in self.flows_by_node(result1).items():
            # Node A's calls go on to the end; node B's are lost: their media stopped with the node.
            self.assertEqual(len(nodes["A"]), len(on_a), f"{ua}: legs from node A {nodes['A']}")
            self.assertTrue(all(n >= want for n in nodes["A"]), f"{ua}: node A's legs {nodes['A']}, want >= {want}")
            self.assertEqual(len(nodes["B"]), len(on_b), f"{ua}: legs from node B {nodes['B']}")
            self.assertTrue(all(0 < n < want for n in nodes["B"]),
                            f"{ua}: node B's legs {nodes['B']}: media should have flowed, then stopped at the kill")

        # Round 2: every new call goes to the survivor, and all of them carry their media to the end.
        second = Call(self.net, alice, bob, "nodes-2", calls=self.CALLS).start()
        result2 = second.finish()
        by_node = self.flows_by_node(result2)
        print(f"  nodes: round 2 received per leg by node: { {ua: dict(nodes) for ua, nodes in by_node.items()} }")
        self.assertEqual((result2.caller_rc, result2.callee_rc), (0, 0), f"SIPp failed\n{result2.logs}")
        for ua, nodes in by_node.items():
            self.assertEqual(set(nodes), {"A"}, f"{ua}: round 2 legs by node {dict(nodes)}")
            self.assertEqual(len(nodes["A"]), self.CALLS, f"{ua}: round 2 legs {nodes['A']}")
            self.assertTrue(all(n >= want for n in nodes["A"]), f"{ua}: round 2 legs {nodes['A']}, want >= {want}")

        # The survivor holds nothing once the BYEs are through.
        deadline = time.monotonic() + 2
        while (calls := siprig.relay_calls(self.net, node_a_ng)) and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertEqual(calls, [], f"node A's calls after the BYEs\n{relay.log_text()[-5000:]}")
        self.assertEqual(siprig.relay_ports_in_use(self.net), [], "node A's media ports still bound after the BYEs")


if __name__ == "__main__":
    unittest.main()

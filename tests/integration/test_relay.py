"""The media relay with real SIP peers: Kamailio drives it, SIPp user agents behind NATs call through it.

Topology and helpers: siprig.py. The relay under test is `$STREAMGATE_BIN relay` unless SG_RELAY_PEER=rtpengine
(rtpengine userspace, the reference this rig was proven against). Every call case runs once per control
protocol: rtpengine's ng (Kamailio module rtpengine) and rtpproxy's (module rtpproxy). A call case asserts
that SIPp's call succeeded, that each UA received at least MIN_SHARE of the RTP packets the other one played
(g711a.pcap) and that every one of them came from the relay's public address: the UAs' NATs drop anything
else, and direct media between them is impossible, so only a relay that latched onto both NAT mappings passes.
"""

from __future__ import annotations

import time
import unittest

import siprig
from siprig import UAS, Call
from testnet import TestNetwork, require_tools

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


if __name__ == "__main__":
    unittest.main()

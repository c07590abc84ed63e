#!/usr/bin/env python3
"""Writes the seed corpora of relay_bencode_fuzz, relay_ng_fuzz and relay_rtpproxy_fuzz: control messages
shaped like the ones Kamailio 5.6's rtpengine and rtpproxy modules send (see docs/relay.md), a few replies,
and a few broken ones. Run from the repository root: fuzz/make_relay_seeds.py"""

import hashlib
import pathlib

SDP = ("v=0\r\no=- 1545997027 1 IN IP4 10.0.1.2\r\ns=-\r\nc=IN IP4 10.0.1.2\r\nt=0 0\r\n"
       "m=audio 6000 RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n")
SDP6 = SDP.replace("IP4 10.0.1.2", "IP6 2001:db8::9")
CALL = "a84b4c76e66710@pc33.example.com"


class D(list):
    """A dictionary as a list of (key, value) pairs, in the order they are written."""


def b(value):
    """bencode, keeping dictionary order as given (ng clients do not sort)."""
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, D):
        return b"d" + b"".join(b(k) + b(v) for k, v in value) + b"e"
    if isinstance(value, list):
        return b"l" + b"".join(b(v) for v in value) + b"e"
    raise TypeError(value)


def ng(cookie, pairs):
    return cookie.encode() + b" " + b(D(pairs))


def kamailio(cookie, command, extra, sdp=SDP, to_tag=None, source=("IP4", "198.51.100.7")):
    pairs = [("supports", ["load limit"])]
    if command in ("offer", "answer"):
        pairs.append(("sdp", sdp))
    pairs += extra
    pairs += [("call-id", CALL), ("received-from", list(source)), ("from-tag", "1928301774")]
    if to_tag:
        pairs.append(("to-tag", to_tag))
    pairs.append(("command", command))
    return ng(cookie, pairs)


NG = [
    ng("5323_1", [("command", "ping")]),
    kamailio("18451_2_0", "offer", [("ICE", "remove"), ("flags", ["trust-address"]),
                                    ("replace", ["origin", "session-connection"]),
                                    ("transport-protocol", "RTP/AVP")]),
    kamailio("18451_2_1", "answer", [("flags", ["SIP-source-address", "strict-source"]),
                                     ("rtcp-mux", ["demux"])], to_tag="a6c85cf"),
    kamailio("18451_2_2", "offer", [("address-family", "IP6"), ("direction", ["external", "internal"]),
                                    ("flags", ["asymmetric", "port-latching", "loop-protect"])], sdp=SDP6,
             source=("IP6", "2001:db8::7")),
    kamailio("18451_2_3", "delete", [], to_tag="a6c85cf"),
    kamailio("18451_2_4", "query", [], to_tag="a6c85cf"),
    kamailio("18451_2_5", "start recording", []),
    kamailio("18451_2_6", "play media", [("file", "/var/lib/moh.wav"), ("repeat-times", 2)]),
    kamailio("18451_2_7", "stop media", []),
    ng("x1", [("command", "offer"), ("call-id", "c"), ("from-tag", "f"), ("sdp", "v=0\r\n"),
              ("address family", "IP4"), ("received from", ["IP4", "10.65.31.43"]),
              ("media address", "192.0.2.1"), ("transport protocol", "RTP/SAVP"),
              ("flags", ["SIP source address", "trust address", "address-family=IP6", "ICE=force"])]),
    ng("x2", [("command", "list"), ("limit", 32)]),
    ng("x3", [("command", "statistics")]),
    ng("t1", [("command", "ping")]) + b"\r\n" + ng("t2", [("command", "query"), ("call-id", "c")]),  # TCP
    b"x4 d7:command4:ping",  # truncated
    b"d7:command4:pinge",  # no cookie
]

RTPP = [
    "18451_2_0 V",
    "18451_2_1 VF 20050322",
    "18451_2_2 VF 20081102",
    "18451_2_3 Uc8,101 %s 198.51.100.7 6000 1928301774;1" % CALL,
    "18451_2_4 Lc8,101 %s 203.0.113.9 7000 1928301774;1 a6c85cf;1" % CALL,
    "18451_2_5 UEI6c0,8,101 %s;z9hG4bK776 2001:db8::9 6000 1928301774;1 a6c85cf;1" % CALL,
    "18451_2_6 UASZ20 %s 198.51.100.7 0 1928301774;2" % CALL,
    "18451_2_7 D %s 1928301774 a6c85cf" % CALL,
    "18451_2_8 Q %s 1928301774;1 a6c85cf" % CALL,
    "18451_2_9 R %s 1928301774 a6c85cf" % CALL,
    "18451_2_10 P5 %s /var/moh.wav session 1928301774;1 a6c85cf;1" % CALL,
    "18451_2_11 S %s 1928301774;1 a6c85cf;1" % CALL,
    "18451_2_12 Ib",
    "18451_2_13 UWL192.0.2.1R[2001:db8::1]n %s 198.51.100.7 4000 t1;1 t2;1 unix:/run/k.sock" % CALL,
    "18451_2_14 X",
]

BENCODE = [n.split(b" ", 1)[1] for n in NG if b" " in n] + [
    b"i-9223372036854775808e", b"li0ei-1e0:d1:ale1:bdeee", b"d4:blob6:a\x00b:e\xffe",
]


def write(target, items):
    directory = pathlib.Path("fuzz/corpus") / target
    directory.mkdir(parents=True, exist_ok=True)
    for item in items:
        data = item.encode() if isinstance(item, str) else item
        (directory / hashlib.sha1(data).hexdigest()).write_bytes(data)


write("relay_ng_fuzz", NG)
write("relay_rtpproxy_fuzz", RTPP)
write("relay_bencode_fuzz", BENCODE)

#!/usr/bin/env python3
"""Writes the seed corpus of punch_rendezvous_fuzz: Register requests (with and without PUNCH-RELAYED, with
PUNCH-PORT-STEP, one signed with the fuzz target's secret), Register answers (alone, paired, error), a probe
and its ack, as src/punch/wire.hpp builds them. Run from the repository root."""
import hashlib
import hmac
import pathlib
import struct
import zlib

COOKIE = 0x2112A442
TID = bytes(range(1, 13))
REGISTER, PROBE = 0x0C0, 0x0C1
ID, PEER, DELAY, RELAYED, PORT_STEP = 0xC0A1, 0xC0A2, 0xC0A3, 0xC0A4, 0xC0A5
XOR_MAPPED, XOR_PEER, ERROR_CODE, FINGERPRINT = 0x0020, 0x0012, 0x0009, 0x8028
MESSAGE_INTEGRITY_SHA256 = 0x001C
SECRET = b"s3cret"  # punch_rendezvous_fuzz.cpp's


def mtype(cls, method):
    return (method & 0xF) | ((method & 0x70) << 1) | ((method & 0xF80) << 2) | ((cls & 1) << 4) | ((cls & 2) << 7)


def attr(t, value):
    return struct.pack("!HH", t, len(value)) + value + b"\0" * (-len(value) % 4)


def xaddr(ip, port):
    x = bytes(a ^ b for a, b in zip(bytes(map(int, ip.split("."))), struct.pack("!I", COOKIE)))
    return struct.pack("!BBH", 0, 1, port ^ (COOKIE >> 16)) + x


def message(cls, method, attrs, key=None):
    body = b"".join(attrs)
    if key is not None:  # RFC 8489 §14.6: the length counts MESSAGE-INTEGRITY-SHA256, not what follows it
        head = struct.pack("!HHI", mtype(cls, method), len(body) + 36, COOKIE) + TID
        body += attr(MESSAGE_INTEGRITY_SHA256, hmac.new(key, head + body, hashlib.sha256).digest())
    head = struct.pack("!HHI", mtype(cls, method), len(body) + 8, COOKIE) + TID
    crc = zlib.crc32(head + body) ^ 0x5354554E
    return head + body + attr(FINGERPRINT, struct.pack("!I", crc))


SEEDS = {
    "register": message(0, REGISTER, [attr(ID, b"camera"), attr(PEER, b"viewer")]),
    "register_relayed": message(0, REGISTER, [attr(ID, b"a"), attr(PEER, b"b"),
                                              attr(RELAYED, xaddr("198.18.0.1", 50000))]),
    "register_port_step": message(0, REGISTER, [attr(ID, b"sym"), attr(PEER, b"cam"),
                                                attr(PORT_STEP, struct.pack("!i", -2))]),
    "register_signed": message(0, REGISTER, [attr(ID, b"camera"), attr(PEER, b"viewer")], SECRET),
    "answer_alone": message(2, REGISTER, [attr(XOR_MAPPED, xaddr("198.18.11.2", 40000))]),
    "answer_paired": message(2, REGISTER, [attr(XOR_MAPPED, xaddr("198.18.11.2", 40000)),
                                           attr(XOR_PEER, xaddr("198.18.12.2", 40001)),
                                           attr(DELAY, struct.pack("!I", 750)),
                                           attr(RELAYED, xaddr("198.18.0.1", 50001))]),
    "answer_error": message(3, REGISTER, [attr(ERROR_CODE, struct.pack("!HBB", 0, 5, 8) + b"Insufficient Capacity")]),
    "probe": message(0, PROBE, [attr(ID, b"b"), attr(PEER, b"a")]),
    "probe_ack": message(2, PROBE, [attr(ID, b"b")]),
}

out = pathlib.Path("fuzz/corpus/punch_rendezvous_fuzz")
out.mkdir(parents=True, exist_ok=True)
for name, data in SEEDS.items():
    (out / name).write_bytes(data)

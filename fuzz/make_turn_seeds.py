#!/usr/bin/env python3
"""Writes the seed corpora of stun_message_fuzz (the RFC 5769 sample messages, and TURN requests, indications
and an error response of the kinds turnutils_uclient exchanges with `streamgate turn`) and turn_channel_data_fuzz
(records [kind u8][length u8][octets]: 0 client datagram, 1 datagram from the permitted peer, 2 from another
peer, 3 clock step of `kind` seconds, 4 expiry run). Run from the repository root."""
import pathlib
import struct
import zlib

COOKIE = 0x2112A442
TID = bytes(range(1, 13))

RFC5769 = {
    "rfc5769_request": "000100582112a442b7e7a701bc34d686fa87dfae802200105354554e20746573742063"
                       "6c69656e74002400046e0001ff80290008932ff9b151263b36000600096576746a3a6836"
                       "765920202000080014 9aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a280280004e57a3bcf",
    "rfc5769_response_ipv4": "0101003c2112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f"
                             "72200020000800 01a147e112a64300080014 2b91f599fd9e90c38c7489f92af9ba53"
                             "f06be7d780280004c07d4c96",
    "rfc5769_response_ipv6": "010100482112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f"
                             "7220002000140002a1470113a9faa5d3f179bc25f4b5bed2b9d900080014a382954e"
                             "4be67bf11784c97c8292c275bfe3ed4180280004c8fb0b4c",
    "rfc5769_long_term": "000100602112a44278ad3433c6ad72c029da412e00060012e3839ee38388e383aae383"
                         "83e382afe382b900000015001c662f2f3439396b39353464364f4c33346f4c3946535476"
                         "79363473410014000b6578616d706c652e6f72670000080014f67024656dd64a3e02b8e0"
                         "712e85c9a28ca89666",
}


def attr(t, value):
    pad = (-len(value)) % 4
    return struct.pack("!HH", t, len(value)) + value + b"\0" * pad


def xor_addr(t, ip4, port):
    x = bytes(a ^ b for a, b in zip(bytes(ip4), struct.pack("!I", COOKIE)))
    return attr(t, struct.pack("!BBH", 0, 1, port ^ (COOKIE >> 16)) + x)


def message(mtype, attrs, fingerprint=True):
    body = b"".join(attrs)
    head = struct.pack("!HHI", mtype, len(body) + (8 if fingerprint else 0), COOKIE) + TID
    msg = head + body
    if fingerprint:
        msg += attr(0x8028, struct.pack("!I", (zlib.crc32(msg) ^ 0x5354554E) & 0xFFFFFFFF))
    return msg


def channel_data(channel, payload, pad=False):
    out = struct.pack("!HH", channel, len(payload)) + payload
    return out + b"\0" * ((-len(out)) % 4 if pad else 0)


def record(kind, data):
    assert len(data) < 256
    return bytes([kind, len(data)]) + data


PEER = (198, 19, 2, 2)

STUN_SEEDS = {
    "allocate": message(0x0003, [attr(0x0019, b"\x11\0\0\0"), attr(0x000D, struct.pack("!I", 600)),
                                 attr(0x0017, b"\x01\0\0\0")]),
    "allocate_even_port": message(0x0003, [attr(0x0019, b"\x11\0\0\0"), attr(0x0018, b"\x80")]),
    "create_permission": message(0x0008, [xor_addr(0x0012, PEER, 5000), xor_addr(0x0012, (198, 19, 2, 3), 1)]),
    "channel_bind": message(0x0009, [attr(0x000C, b"\x40\x00\0\0"), xor_addr(0x0012, PEER, 5000)]),
    "send_indication": message(0x0016, [xor_addr(0x0012, PEER, 5000), attr(0x0013, b"hello, peer")], False),
    "error_420": message(0x0113, [attr(0x0009, b"\0\0\x04\x14Unknown Attribute"), attr(0x000A, b"\x00\x31\x7f\xff")]),
    "reservation_token": message(0x0003, [attr(0x0019, b"\x11\0\0\0"), attr(0x0022, bytes(range(8)))]),
}

TURN_SEEDS = {
    "channel_data_both_ways": record(0, channel_data(0x4000, b"to the peer")) + record(1, b"back to the client"),
    "channel_data_padded": record(0, channel_data(0x4000, b"abcde", pad=True)) + record(0, channel_data(0x4001, b"x")),
    "send_and_data": record(0, STUN_SEEDS["send_indication"]) + record(2, b"stranger") + record(1, b"peer"),
    "expiry": record(0, channel_data(0x4000, b"a")) + record(3, b"") * 3 + record(4, b"") + record(1, b"late"),
    "binding": record(0, message(0x0001, [])) + record(0, bytes.fromhex(RFC5769["rfc5769_request"].replace(" ", ""))),
}


def write(directory, seeds):
    out = pathlib.Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    for name, data in seeds.items():
        (out / name).write_bytes(data)


def main():
    stun = {name: bytes.fromhex(text.replace(" ", "")) for name, text in RFC5769.items()}
    stun.update(STUN_SEEDS)
    write("fuzz/corpus/stun_message_fuzz", stun)
    write("fuzz/corpus/turn_channel_data_fuzz", TURN_SEEDS)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes the seed corpus of capture_reader_fuzz: small pcap files (both byte orders, micro- and nanosecond)
and pcapng files (two sections of opposite byte order, interfaces with if_tsresol and if_tsoffset, Enhanced,
Simple and obsolete Packet blocks, a skipped block), each holding a UDP frame. Run from the repository root."""
import pathlib
import struct

OUT = pathlib.Path("fuzz/corpus/capture_reader_fuzz")

IPV4_UDP = (bytes.fromhex("45000024000040004011") + b"\0\0" + bytes([10, 0, 0, 1, 10, 0, 0, 2])
            + struct.pack("!HHHH", 5004, 5006, 16, 0) + bytes([0x80, 96, 0, 1, 0, 0, 0, 1]))
ETHERNET = bytes(6) + bytes(6) + b"\x08\x00" + IPV4_UDP


def pcap(order, magic, linktype, frames):
    out = struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, 65535, linktype)
    for i, f in enumerate(frames):
        out += struct.pack(order + "IIII", 1_700_000_000 + i, 123 + i, len(f), len(f)) + f
    return out


def block(order, btype, body):
    body += b"\0" * (-len(body) % 4)
    total = 12 + len(body)
    return struct.pack(order + "II", btype, total) + body + struct.pack(order + "I", total)


def shb(order):
    return block(order, 0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1))


def idb(order, linktype, options=b""):
    return block(order, 1, struct.pack(order + "HHI", linktype, 0, 0) + options + struct.pack(order + "HH", 0, 0))


def opt(order, code, value):
    return struct.pack(order + "HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def epb(order, interface, ticks, frame):
    return block(order, 6, struct.pack(order + "IIIII", interface, ticks >> 32, ticks & 0xFFFFFFFF, len(frame),
                                       len(frame)) + frame)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    seeds = {
        "pcap_le_us": pcap("<", 0xA1B2C3D4, 1, [ETHERNET, ETHERNET[:20]]),
        "pcap_be_ns": pcap(">", 0xA1B23C4D, 1, [ETHERNET]),
        "pcap_raw": pcap("<", 0xA1B2C3D4, 101, [IPV4_UDP]),
        "pcapng_two_sections": (
            shb("<") + idb("<", 1) + idb("<", 101, opt("<", 9, b"\x09") + opt("<", 14, struct.pack("<q", 5)))
            + block("<", 4, b"\0" * 8) + epb("<", 0, 1_500_000, ETHERNET) + epb("<", 1, 7, IPV4_UDP)
            + block("<", 3, struct.pack("<I", len(ETHERNET)) + ETHERNET)
            + shb(">") + idb(">", 228, opt(">", 9, b"\x83")) + epb(">", 0, 2500, IPV4_UDP)
            + block(">", 2, struct.pack(">HHIIII", 0, 0, 0, 9, len(IPV4_UDP), len(IPV4_UDP)) + IPV4_UDP)),
    }
    for name, data in seeds.items():
        (OUT / name).write_bytes(data)


if __name__ == "__main__":
    main()

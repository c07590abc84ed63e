"""End-to-end delay of every MPEG-TS packet through one rig run (rig.py --e2e): from the datagram ffmpeg sent
into the protocol's sender to the datagram the receiving side wrote to the sink, both captured by tcpdump on
one machine (one clock). TS packets are matched by their 188 octets (continuity counters and PCRs make nearly
all of them unique); a packet that occurs twice in the input is left out, as its match would be ambiguous.

    /usr/bin/python3 bench/mssr/e2e_delay.py IN.pcap OUT.pcap     (prints the summary as JSON)
"""

from __future__ import annotations

import hashlib
import json
import struct
import sys
from pathlib import Path

TS_PACKET = 188
FRAME_S = 0.04  # the clip's frame interval (25 fps): the stream's last frame is reported apart

# pcap link types: Ethernet (lo and veth), Linux cooked v1 and v2.
LINK_HEADER = {1: 14, 113: 16, 276: 20}


def udp_payloads(path: Path):
    """(timestamp in s, UDP payload) of every IPv4 UDP datagram in a classic pcap file."""
    data = path.read_bytes()
    magic = struct.unpack("<I", data[:4])[0]
    scale = {0xA1B2C3D4: 1e-6, 0xA1B23C4D: 1e-9}.get(magic)
    if scale is None:
        raise ValueError(f"{path}: not a little-endian pcap file")
    link = struct.unpack("<I", data[20:24])[0]
    if link not in LINK_HEADER:
        raise ValueError(f"{path}: link type {link}")
    offset = 24
    while offset + 16 <= len(data):
        sec, frac, caplen, _ = struct.unpack("<IIII", data[offset:offset + 16])
        packet = data[offset + 16:offset + 16 + caplen]
        offset += 16 + caplen
        ip = packet[LINK_HEADER[link]:]
        if link == 1 and packet[12:14] != b"\x08\x00":
            continue
        if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        udp = ip[(ip[0] & 15) * 4:]
        length = struct.unpack("!H", udp[4:6])[0]
        yield sec + frac * scale, udp[8:length]


def ts_packet_times(path: Path) -> dict[bytes, list[float]]:
    """Every TS packet of the capture (by a hash of its octets) and the times it was seen."""
    times: dict[bytes, list[float]] = {}
    for stamp, payload in udp_payloads(path):
        for i in range(0, len(payload) - TS_PACKET + 1, TS_PACKET):
            chunk = payload[i:i + TS_PACKET]
            if chunk[0] == 0x47:
                times.setdefault(hashlib.blake2b(chunk, digest_size=12).digest(), []).append(stamp)
    return times


def percentile(sorted_values: list[float], q: float) -> float:
    k = (len(sorted_values) - 1) * q / 100
    low = int(k)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (k - low)


def summary(in_pcap: Path, out_pcap: Path) -> dict:
    sent = ts_packet_times(in_pcap)
    received = ts_packet_times(out_pcap)
    unique = {h: t[0] for h, t in sent.items() if len(t) == 1}
    pairs = sorted((t, (received[h][0] - t) * 1e3) for h, t in unique.items() if h in received)
    if not pairs:
        return {"matched": 0, "lost": len(unique)}
    delays = sorted(d for _, d in pairs)
    end = max(unique.values())
    # The stream's last frame has no next frame behind it: a sender that cuts frames where the next one
    # starts holds it until its input idles.
    before_end = [d for t, d in pairs if t < end - FRAME_S]
    return {"matched": len(pairs), "lost": sum(1 for h in unique if h not in received),
            "ambiguous": sum(len(t) for t in sent.values() if len(t) > 1),
            "min_ms": round(delays[0], 1), "p50_ms": round(percentile(delays, 50), 1),
            "p90_ms": round(percentile(delays, 90), 1), "p99_ms": round(percentile(delays, 99), 1),
            "max_ms": round(delays[-1], 1), "max_before_last_frame_ms": round(max(before_end, default=0.0), 1)}


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    print(json.dumps(summary(Path(sys.argv[1]), Path(sys.argv[2]))))
